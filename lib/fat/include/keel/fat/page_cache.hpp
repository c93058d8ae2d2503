// A write-through cache of a block device's contents in 4 KiB pages, over caller-provided
// memory, itself a BlockDevice: the server puts it between its block device object and the
// volume, so file data read once (and the FAT's and directories' sectors) is served again
// from memory. Every write goes to the device at once and then into the cached pages it
// touches, so the pages always hold what the device holds and the volume's write order
// (lib/fat/README.md, "Write ordering") is the device's; a failed write drops the pages it
// touched. A read that misses reads the whole pages around it (at most kMaxSpan bytes,
// inside the device) with one device call and keeps them; a longer read goes straight to
// the caller's buffer and keeps the pages it covers whole, and the pages at its two ends
// that it covers only in part are then read whole and kept too (so the same read hits next
// time). Least recently used pages are
// reused; lookups are by a hash of the page number.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/fat/block_device.hpp>
#include <keel/fat/error.hpp>

namespace keel::fat {

struct PageCacheStats {
    uint64_t hits = 0, misses = 0;  // read() calls answered from pages alone, or not
    uint64_t device_reads = 0;      // read calls passed to the device
    uint64_t evictions = 0;         // pages reused for another page number
};

class PageCache final : public BlockDevice {
  public:
    static constexpr uint32_t kPageBytes = 4096;
    // A missing read is widened to whole pages when it then spans at most this many bytes.
    static constexpr uint32_t kMaxSpan = 32 * 1024;

    struct Page {
        uint64_t number;  // device byte offset / kPageBytes
        int32_t next_hash;
        int32_t older, newer;  // the LRU list
        bool valid;
    };

    // Bytes that hold `pages` pages (with the hash table, the miss buffer and alignment).
    static constexpr size_t bytes_for(uint32_t pages) {
        return static_cast<size_t>(pages) * (sizeof(Page) + kPageBytes + 2 * sizeof(int32_t)) +
               kMaxSpan + 2 * alignof(Page);
    }

    // Caches `device` (whose sector_size must divide kPageBytes) in `memory` (not owned).
    // kNoSpace if fewer than 4 pages fit, kInvalid for a sector size above kPageBytes.
    Error init(BlockDevice& device, uint8_t* memory, size_t bytes);

    Error read(uint64_t sector, uint32_t count, uint8_t* out) override;
    Error write(uint64_t sector, uint32_t count, const uint8_t* in) override;
    Error flush() override;
    // Whether a read of `count` sectors at `sector` would miss: then true, with the whole pages
    // around it (inside the device) in *first and *sectors, for a caller that reads them ahead
    // (several at once) and hands them to fill().
    bool missing(uint64_t sector, uint32_t count, uint64_t* first, uint32_t* sectors) const;
    // Keeps the whole pages inside `count` sectors at `sector` from `data`, the device's bytes
    // there, read by a request sent when writes() was `sent_at`. When a write has gone through
    // the cache since, or drop_all() (writes() moved on), those bytes may be older than the
    // device's, or the caller wanted the cache empty, and nothing is kept: a write-through
    // cache must never hold what the device no longer does.
    void fill(uint64_t sector, uint32_t count, const uint8_t* data, uint64_t sent_at);
    // How many writes have gone through this cache, and drop_all()s: a caller reading ahead
    // notes it when it sends a read, for fill(). A write is counted when it returns (its bytes
    // in the device and in the pages kept), so a fill handed over while it was on its way is
    // kept and then written over.
    uint64_t writes() const { return writes_; }
    // Forgets every page (they are never dirty: nothing is lost).
    void drop_all();

    uint32_t pages() const { return count_; }
    const PageCacheStats& stats() const { return stats_; }

  private:
    int32_t find(uint64_t number) const;
    // A page for `number` (the least recently used one, unhashed and rehashed), most recent.
    int32_t claim(uint64_t number);
    void drop(int32_t i);
    void touch(int32_t i);
    void to_end(int32_t i, bool newest);
    void unlink(int32_t i);
    uint8_t* bytes(int32_t i) const { return data_ + static_cast<size_t>(i) * kPageBytes; }
    // Keeps every page wholly inside [first_byte, first_byte + length) from `from`.
    void keep(uint64_t first_byte, uint64_t length, const uint8_t* from);
    // Reads page `page` from the device and keeps it, unless it is kept already (the ends of
    // a long read that covers them only in part).
    void keep_page_around(uint64_t page);

    BlockDevice* device_ = nullptr;
    Page* page_ = nullptr;
    int32_t* bucket_ = nullptr;
    uint8_t* span_ = nullptr;  // kMaxSpan bytes: a widened miss lands here
    uint8_t* data_ = nullptr;
    uint32_t count_ = 0, buckets_ = 0;  // buckets_: a power of two
    int32_t oldest_ = -1, newest_ = -1;
    PageCacheStats stats_;
    uint64_t writes_ = 0;
};

}  // namespace keel::fat
