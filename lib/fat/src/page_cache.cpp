// The page cache: pages found by a hash of their number (chains through Page::next_hash), in
// a doubly linked LRU list (oldest_ .. newest_). A page is either valid and hashed, or free
// (then it sits at the old end of the list and is the next one claimed).
#include <keel/fat/page_cache.hpp>

#include "endian.hpp"

namespace keel::fat {

namespace {

constexpr uint32_t kMinPages = 4;

uintptr_t align_up(uintptr_t v, size_t a) {
    return (v + a - 1) & ~static_cast<uintptr_t>(a - 1);
}

}  // namespace

Error PageCache::init(BlockDevice& device, uint8_t* memory, size_t bytes) {
    device_ = &device;
    sector_size = device.sector_size;
    sector_count = device.sector_count;
    count_ = 0;
    stats_ = PageCacheStats{};
    oldest_ = newest_ = -1;
    if (sector_size == 0 || sector_size > kPageBytes || kPageBytes % sector_size != 0)
        return Error::kInvalid;
    if (memory == nullptr)
        return Error::kNoSpace;
    const uintptr_t start = reinterpret_cast<uintptr_t>(memory);
    const uintptr_t aligned = align_up(start, alignof(Page));
    const size_t fixed = (aligned - start) + kMaxSpan + alignof(Page);
    if (bytes < fixed)
        return Error::kNoSpace;
    size_t n = (bytes - fixed) / (sizeof(Page) + kPageBytes + 2 * sizeof(int32_t));
    if (n > 0x40000000u)
        n = 0x40000000u;
    if (n < kMinPages)
        return Error::kNoSpace;
    count_ = static_cast<uint32_t>(n);
    buckets_ = 1;
    while (buckets_ < count_)
        buckets_ *= 2;  // at most 2 * count_: inside the two int32_t a page was given
    page_ = reinterpret_cast<Page*>(aligned);
    bucket_ = reinterpret_cast<int32_t*>(page_ + count_);
    span_ = reinterpret_cast<uint8_t*>(
        align_up(reinterpret_cast<uintptr_t>(bucket_ + buckets_), alignof(Page)));
    data_ = span_ + kMaxSpan;
    for (uint32_t b = 0; b < buckets_; ++b)
        bucket_[b] = -1;
    for (uint32_t i = 0; i < count_; ++i) {
        page_[i] = Page{0, -1, static_cast<int32_t>(i) - 1,
                        i + 1 < count_ ? static_cast<int32_t>(i) + 1 : -1, false};
    }
    oldest_ = 0;
    newest_ = static_cast<int32_t>(count_) - 1;
    return Error::kOk;
}

int32_t PageCache::find(uint64_t number) const {
    for (int32_t i = bucket_[number & (buckets_ - 1)]; i >= 0; i = page_[i].next_hash) {
        if (page_[i].number == number)
            return i;
    }
    return -1;
}

void PageCache::unlink(int32_t i) {
    Page& p = page_[i];
    if (p.older >= 0)
        page_[p.older].newer = p.newer;
    else
        oldest_ = p.newer;
    if (p.newer >= 0)
        page_[p.newer].older = p.older;
    else
        newest_ = p.older;
    p.older = p.newer = -1;
}

// Moves page i to the new end of the list (or the old end).
void PageCache::to_end(int32_t i, bool newest) {
    unlink(i);
    int32_t& end = newest ? newest_ : oldest_;
    if (end >= 0)
        (newest ? page_[end].newer : page_[end].older) = i;
    else
        (newest ? oldest_ : newest_) = i;
    (newest ? page_[i].older : page_[i].newer) = end;
    end = i;
}

void PageCache::touch(int32_t i) {
    if (i != newest_)
        to_end(i, true);
}

// Takes page i out of its hash chain and puts it at the old end of the list.
void PageCache::drop(int32_t i) {
    Page& p = page_[i];
    if (p.valid) {
        int32_t* link = &bucket_[p.number & (buckets_ - 1)];
        while (*link != i)
            link = &page_[*link].next_hash;
        *link = p.next_hash;
        p.next_hash = -1;
        p.valid = false;
    }
    to_end(i, false);
}

int32_t PageCache::claim(uint64_t number) {
    int32_t i = find(number);
    if (i < 0) {
        i = oldest_;
        if (page_[i].valid) {
            ++stats_.evictions;
            drop(i);
        }
        Page& p = page_[i];
        p.number = number;
        p.valid = true;
        int32_t& head = bucket_[number & (buckets_ - 1)];
        p.next_hash = head;
        head = i;
    }
    touch(i);
    return i;
}

void PageCache::keep(uint64_t first_byte, uint64_t length, const uint8_t* from) {
    const uint64_t first = (first_byte + kPageBytes - 1) / kPageBytes;
    const uint64_t end = (first_byte + length) / kPageBytes;
    for (uint64_t n = first; n < end; ++n) {
        const int32_t i = claim(n);
        detail::copy(bytes(i), from + (n * kPageBytes - first_byte), kPageBytes);
    }
}

Error PageCache::read(uint64_t sector, uint32_t count, uint8_t* out) {
    if (count == 0)
        return Error::kOk;
    if (sector >= sector_count || count > sector_count - sector)
        return Error::kCorrupt;  // never sent: the device's range check, as BlockCache's
    const uint64_t first = sector * sector_size;
    const uint64_t length = static_cast<uint64_t>(count) * sector_size;
    const uint64_t first_page = first / kPageBytes, last_page = (first + length - 1) / kPageBytes;
    bool all = true;
    for (uint64_t n = first_page; n <= last_page && all; ++n)
        all = find(n) >= 0;
    if (all) {
        ++stats_.hits;
        for (uint64_t n = first_page; n <= last_page; ++n) {
            const int32_t i = find(n);
            const uint64_t from = n == first_page ? first - n * kPageBytes : 0;
            const uint64_t to = n == last_page ? first + length - n * kPageBytes : kPageBytes;
            detail::copy(out + (n * kPageBytes + from - first), bytes(i) + from,
                         static_cast<uint32_t>(to - from));
            touch(i);
        }
        return Error::kOk;
    }
    ++stats_.misses;
    ++stats_.device_reads;
    // Widened to whole pages (inside the device) if that stays small: the neighbours of a
    // small read (the rest of a FAT sector's page, a file's next block) come with it.
    const uint64_t lo = first_page * kPageBytes;
    uint64_t hi = (last_page + 1) * kPageBytes;
    const uint64_t device_end = sector_count * sector_size;
    if (hi > device_end)
        hi = device_end;
    if (hi - lo <= kMaxSpan) {
        const Error e =
            device_->read(lo / sector_size, static_cast<uint32_t>((hi - lo) / sector_size), span_);
        if (e != Error::kOk)
            return e;
        detail::copy(out, span_ + (first - lo), static_cast<uint32_t>(length));
        keep(lo, hi - lo, span_);
        return Error::kOk;
    }
    const Error e = device_->read(sector, count, out);
    if (e != Error::kOk)
        return e;
    keep(first, length, out);
    // The pages at the ends that the read covers only in part are fetched whole as well, else a
    // long read that does not start and end on page boundaries (a file's 32 KiB pieces where
    // the data area is not page-aligned on the device) would miss again every time it is
    // repeated: B10's 16 MiB file went to the device on every download. Best effort: the
    // caller's bytes are already read, so a failure here only leaves the page out.
    keep_page_around(first_page);
    if (last_page != first_page)
        keep_page_around(last_page);
    return Error::kOk;
}

void PageCache::keep_page_around(uint64_t page) {
    if (find(page) >= 0)
        return;
    const uint64_t lo = page * kPageBytes;
    uint64_t hi = lo + kPageBytes;
    const uint64_t device_end = sector_count * sector_size;
    if (hi > device_end)
        hi = device_end;
    ++stats_.device_reads;
    if (device_->read(lo / sector_size, static_cast<uint32_t>((hi - lo) / sector_size), span_) ==
        Error::kOk)
        keep(lo, hi - lo, span_);
}

Error PageCache::write(uint64_t sector, uint32_t count, const uint8_t* in) {
    if (count == 0)
        return Error::kOk;
    if (sector >= sector_count || count > sector_count - sector)
        return Error::kCorrupt;
    const Error e = device_->write(sector, count, in);
    const uint64_t first = sector * sector_size;
    const uint64_t length = static_cast<uint64_t>(count) * sector_size;
    for (uint64_t n = first / kPageBytes; n <= (first + length - 1) / kPageBytes; ++n) {
        const int32_t i = find(n);
        if (i < 0)
            continue;
        if (e != Error::kOk) {
            drop(i);  // what the device holds there now is not known
            continue;
        }
        const uint64_t page = n * kPageBytes;
        const uint64_t from = first > page ? first - page : 0;
        const uint64_t to = first + length < page + kPageBytes ? first + length - page : kPageBytes;
        detail::copy(bytes(i) + from, in + (page + from - first), static_cast<uint32_t>(to - from));
    }
    // Counted once the pages kept match the device again: a fetch handed over while the write
    // was on its way (its caller collecting reads before it sends the write) was kept and then
    // written over above; one handed over from now on may predate the write and is refused.
    ++writes_;
    return e;
}

bool PageCache::missing(uint64_t sector, uint32_t count, uint64_t* first, uint32_t* sectors) const {
    if (count == 0 || count_ == 0 || sector >= sector_count || count > sector_count - sector)
        return false;
    const uint64_t from = sector * sector_size / kPageBytes;
    const uint64_t to = ((sector + count) * sector_size - 1) / kPageBytes;
    bool all = true;
    for (uint64_t n = from; n <= to && all; ++n)
        all = find(n) >= 0;
    if (all)
        return false;
    uint64_t end = (to + 1) * kPageBytes / sector_size;
    if (end > sector_count)
        end = sector_count;
    *first = from * kPageBytes / sector_size;
    *sectors = static_cast<uint32_t>(end - *first);
    return true;
}

void PageCache::fill(uint64_t sector, uint32_t count, const uint8_t* data, uint64_t sent_at) {
    if (count_ == 0 || sector >= sector_count || count > sector_count - sector ||
        sent_at != writes_)
        return;
    keep(sector * sector_size, static_cast<uint64_t>(count) * sector_size, data);
}

void PageCache::drop_all() {
    for (uint32_t i = 0; i < count_; ++i) {
        if (page_[i].valid)
            drop(static_cast<int32_t>(i));
    }
    ++writes_;  // a fetch sent before would fill the emptied cache again: refused as well
}

Error PageCache::flush() {
    return device_->flush();
}

}  // namespace keel::fat
