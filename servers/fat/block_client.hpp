// lib/fat's block device over a block device object (a driver's disk or partition): sector
// reads and writes become do_io reads and writes at byte offsets (the object's `arg`), split
// at the object's largest transfer; flush is Op::kSync. The object is held as a
// user::Reopening with Retry::kPositioned: when its driver dies (PeerGone) and init restarts
// it, the object is opened again by its path and the read, write or sync is sent again (at an
// explicit offset each is the same performed twice as once; this server is its partition's
// only writer), so the volume above never sees the restart (issue 21, "stacked services").
#pragma once

#include <keel/fat/block_device.hpp>
#include <keel/fat/page_cache.hpp>
#include <keel/fat/volume.hpp>

#include "queue.hpp"
#include "reopen.hpp"
#include "runtime.hpp"

namespace keel::fatserver {

class BlockClient final : public fat::BlockDevice {
  public:
    // Opens `path` under `dir` (dir and path stay: the path is opened again from it after a
    // restart) and reads the object's BlockInfo; 0 or -Error (kInvalidArgument for a geometry
    // lib/fat cannot use).
    int64_t attach(user::Handle dir, const char* path, uint64_t length);
    // The current handle on the object (a new one after each restart of its driver).
    user::Handle object() const { return device_ == nullptr ? 0 : device_->handle(); }
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
    // Reopening's check of a new handle on the device: the same sector size and count as at
    // attach, or kIo (the volume stays on the device it was mounted on; every operation fails
    // from then on).
    static int64_t same_device(user::Handle fresh, void* self);
    // The device's io(), saying on the console when it opened the device again.
    int64_t io(user::Op op, void* data, uint64_t length, uint64_t at);
    // Moves count sectors at `sector` in requests of at most max_transfer_ bytes.
    fat::Error transfer(user::Op op, uint64_t sector, uint32_t count, uint8_t* data);
    // The device's range check, in sectors: the library never asks past the end, so a
    // request past it is a bug caught here rather than sent.
    bool inside(uint64_t sector, uint32_t count) const {
        return sector <= sector_count && count <= sector_count - sector;
    }
    // Made in attach, as queue_ below (a member with a destructor would need __cxa_atexit).
    user::Reopening* device_ = nullptr;
    const char* path_ = "";  // attach's (the caller keeps it)
    uint64_t reopens_said_ = 0;
    uint32_t max_transfer_ = 0;
    // Made at the first read_ahead (a member with a destructor would need __cxa_atexit for the
    // server's global BlockClient); null when it cannot be made or broke.
    user::Queue* queue_ = nullptr;
    bool queue_failed_ = false;
};

}  // namespace keel::fatserver
