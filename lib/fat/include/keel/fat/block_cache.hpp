// A write-back sector cache over caller-provided memory: N sector-sized slots, least recently
// used eviction. A dirty slot is written when it is evicted and by write_back()/sync(). The
// volume orders its metadata writes with sync() (see lib/fat/README.md, "Write ordering"):
// everything dirtied before a sync() reaches the device, and is flushed, before anything
// dirtied after it can. A slot dirtied as `late` (a directory entry naming clusters just
// allocated) goes one epoch later still: sync() writes every other dirty slot, flushes the
// device, and only then writes the late ones (and flushes again), so a late sector never
// reaches the device before the data and FAT sectors dirtied with it. Whole-sector runs of file
// data bypass the slots (read_through/write_through: one device call per run) and stay
// coherent with them.
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
    uint64_t flushes = 0;               // BlockDevice::flush() calls
    uint64_t direct_reads = 0, direct_writes = 0;  // read_through/write_through device calls
};

class BlockCache {
  public:
    // Bookkeeping per slot, kept at the start of the caller's memory.
    struct Slot {
        uint64_t sector;
        uint64_t used;      // the LRU clock value of the last access
        int32_t next_hash;  // the next valid slot in this one's hash chain, or -1
        bool valid, dirty;
        bool late;  // dirty, and to be written only after the other dirty slots are flushed
    };

    // Bytes of memory that hold `slots` slots of `sector_size` bytes (with their share of the
    // hash table, at most two heads a slot, and alignment slack).
    static constexpr size_t bytes_for(uint32_t slots, uint32_t sector_size) {
        return static_cast<size_t>(slots) * (sizeof(Slot) + sector_size + 2 * sizeof(int32_t)) +
               alignof(Slot);
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
    // read the device. `late`: the slot is written only in sync()'s second epoch, after every
    // other dirty slot is on the device and flushed (it stays late until written). Evicting a
    // late dirty slot costs a sync() first.
    Error get_for_write(uint64_t sector, bool whole, uint8_t** data, bool late = false);
    // Reads `count` sectors from `sector` into `out` with one device call (none if count is
    // 0), then copies every dirty slot in the range over its sector in `out`: the cache's copy
    // is the newer one. Slots are not filled. Cost: one device read, and a hash lookup a
    // sector (a pass over the slots when the run is longer than the cache). kCorrupt (the device
    // untouched) if the range leaves the device, kIo if it fails.
    Error read_through(uint64_t sector, uint32_t count, uint8_t* out);
    // Writes `count` sectors from `in` at `sector` with one device call, then gives every slot
    // in the range the new bytes and marks it clean (the device holds them now). Errors as
    // read_through; after kIo the slots are unchanged.
    Error write_through(uint64_t sector, uint32_t count, const uint8_t* in);
    // Writes every dirty slot that is not late (ascending sector order).
    Error write_back();
    // sync()'s first epoch alone: write_back(), then the device's flush(). The late slots stay
    // dirty (so it is not counted as a sync).
    Error barrier();
    // The ordering barrier: write_back(); then, if late slots are dirty, the device's flush()
    // and the late slots; then flush(). A flush is skipped when nothing was written since the
    // last one.
    Error sync();
    // Forgets every slot that is not dirty (the next get reads the device again).
    void drop_clean();

    uint32_t slots() const { return count_; }
    uint32_t dirty() const;
    const CacheStats& stats() const { return stats_; }
    BlockDevice* device() const { return device_; }

    static constexpr uint32_t kMinSlots = 2;  // one FAT sector and one data sector at once

  private:
    Error lookup(uint64_t sector, bool read, bool dirty, bool late, uint8_t** data);
    // The valid slot holding `sector`, or -1.
    int32_t find(uint64_t sector) const;
    int32_t& bucket(uint64_t sector) const { return bucket_[sector & (buckets_ - 1)]; }
    void unhash(uint32_t i);
    // Calls f(slot index) for every valid slot inside [sector, sector + count).
    template <typename F>
    void each_in(uint64_t sector, uint32_t count, F f);
    Error write_slot(uint32_t i);
    Error write_dirty(bool late);
    Error flush_device();
    bool range_ok(uint64_t sector, uint32_t count) const;

    BlockDevice* device_ = nullptr;
    Slot* slot_ = nullptr;
    int32_t* bucket_ = nullptr;  // buckets_ heads of hash chains (by sector), -1 for none
    uint8_t* data_ = nullptr;
    uint32_t count_ = 0, buckets_ = 0;  // buckets_: a power of two, at most 2 * count_
    uint32_t last_ = 0;  // the slot of the last hit or fill: checked first (entries and FAT
                         // entries come many to a sector)
    uint32_t sector_size_ = 0;
    uint64_t clock_ = 0;
    bool unflushed_ = false;  // the device took a write since its last flush
    CacheStats stats_;
};

}  // namespace keel::fat
