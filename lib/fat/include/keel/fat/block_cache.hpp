// A write-back sector cache over caller-provided memory: N sector-sized slots, least recently
// used eviction. A dirty slot is written when it is evicted and by write_back()/sync(). The
// volume orders its metadata writes with sync() (see lib/fat/README.md, "Write ordering"):
// everything dirtied before a sync() reaches the device, and is flushed, before anything
// dirtied after it can.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/fat/block_device.hpp>
#include <keel/fat/error.hpp>

namespace keel::fat {

struct CacheStats {
    uint64_t hits = 0, misses = 0;      // get()/get_for_write() answered from a slot, or not
    uint64_t reads = 0, writes = 0;     // sectors read from and written to the device
    uint64_t evictions = 0, syncs = 0;  // slots reused; sync() calls
};

class BlockCache {
  public:
    // Bookkeeping per slot, kept at the start of the caller's memory.
    struct Slot {
        uint64_t sector;
        uint64_t used;  // the LRU clock value of the last access
        bool valid, dirty;
    };

    // Bytes of memory that hold `slots` slots of `sector_size` bytes (with alignment slack).
    static constexpr size_t bytes_for(uint32_t slots, uint32_t sector_size) {
        return static_cast<size_t>(slots) * (sizeof(Slot) + sector_size) + alignof(Slot);
    }

    // Takes `memory` (not owned; it must outlive the cache) for as many slots as fit.
    // kNoSpace if fewer than kMinSlots fit. Accesses go to `device` only inside
    // [0, device.sector_count).
    Error init(BlockDevice& device, uint8_t* memory, size_t bytes);

    // The sector's bytes (sector_size of them), read from the device on a miss. The pointer
    // is valid until the next get/get_for_write/ drop. kCorrupt for a sector outside the
    // device, kIo if the device fails (or an eviction's write does).
    Error get(uint64_t sector, uint8_t** data);
    // The same, marked dirty. `whole`: the caller overwrites every byte, so a miss does not
    // read the device.
    Error get_for_write(uint64_t sector, bool whole, uint8_t** data);
    // Writes every dirty slot (ascending sector order).
    Error write_back();
    // write_back(), then the device's flush(): the ordering barrier.
    Error sync();

    uint32_t slots() const { return count_; }
    uint32_t dirty() const;
    const CacheStats& stats() const { return stats_; }
    BlockDevice* device() const { return device_; }

    static constexpr uint32_t kMinSlots = 2;  // one FAT sector and one data sector at once

  private:
    Error lookup(uint64_t sector, bool read, bool dirty, uint8_t** data);
    Error write_slot(uint32_t i);

    BlockDevice* device_ = nullptr;
    Slot* slot_ = nullptr;
    uint8_t* data_ = nullptr;
    uint32_t count_ = 0;
    uint32_t last_ = 0;  // the slot of the last hit or fill: checked first (entries and FAT
                         // entries come many to a sector)
    uint32_t sector_size_ = 0;
    uint64_t clock_ = 0;
    CacheStats stats_;
};

}  // namespace keel::fat
