// lib/fat's block device over a block device object (a driver's disk or partition): sector
// reads and writes become do_io reads and writes at byte offsets (the object's `arg`), split
// at the object's largest transfer; flush is Op::kSync.
#pragma once

#include <keel/fat/block_device.hpp>

#include "runtime.hpp"

namespace keel::fatserver {

class BlockClient final : public fat::BlockDevice {
  public:
    // Reads the object's BlockInfo; 0 or -Error (kInvalidArgument for a geometry lib/fat
    // cannot use).
    int64_t attach(user::Handle object);
    user::Handle object() const { return object_; }
    uint32_t max_transfer() const { return max_transfer_; }

    fat::Error read(uint64_t sector, uint32_t count, uint8_t* out) override;
    fat::Error write(uint64_t sector, uint32_t count, const uint8_t* in) override;
    fat::Error flush() override;

  private:
    // Moves count sectors at `sector` in requests of at most max_transfer_ bytes.
    fat::Error transfer(user::Op op, uint64_t sector, uint32_t count, uint8_t* data);
    // The device's range check, in sectors: the library never asks past the end, so a
    // request past it is a bug caught here rather than sent.
    bool inside(uint64_t sector, uint32_t count) const {
        return sector <= sector_count && count <= sector_count - sector;
    }
    user::Handle object_ = 0;
    uint32_t max_transfer_ = 0;
};

}  // namespace keel::fatserver
