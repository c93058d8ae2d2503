// lib/fat's block device over a block device object (a driver's disk or partition): sector
// reads and writes become do_io reads and writes at byte offsets (the object's `arg`), split
// at the object's largest transfer; flush is Op::kSync.
#pragma once

#include <keel/fat/block_device.hpp>
#include <keel/fat/page_cache.hpp>
#include <keel/fat/volume.hpp>

#include "queue.hpp"

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

    // Reads the `count` runs of sectors with up to kAhead requests in flight at once (a queue
    // on the object; the runs split at max_transfer) and hands each to pages.fill(). A run
    // that fails is only left out: the read that wanted it asks the device again and gets the
    // error itself.
    void read_ahead(const fat::Volume::Extent* runs, uint32_t count, fat::PageCache& pages);
    static constexpr uint32_t kAhead = 32;

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
    // Made at the first read_ahead (a member with a destructor would need __cxa_atexit for the
    // server's global BlockClient); null when it cannot be made or broke.
    user::Queue* queue_ = nullptr;
    bool queue_failed_ = false;
};

}  // namespace keel::fatserver
