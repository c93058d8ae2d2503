// The sector cache: the last slot used is checked first (directory entries and FAT entries
// come many to a sector), then a hash of the sector number (chains through Slot::next_hash):
// a hit costs the same with 256 slots as with 2. A miss picks its victim by a pass over the
// slots (least recently used by a 64-bit access clock); misses are the rare case.
#include <keel/fat/block_cache.hpp>

#include "endian.hpp"

namespace keel::fat {

Error BlockCache::init(BlockDevice& device, uint8_t* memory, size_t bytes) {
    device_ = &device;
    sector_size_ = device.sector_size;
    count_ = 0;
    last_ = 0;
    clock_ = 0;
    unflushed_ = false;
    stats_ = CacheStats{};
    if (memory == nullptr || sector_size_ == 0)
        return Error::kNoSpace;
    // The slot table first (aligned for its 64-bit fields), then the hash table's heads, then
    // the sector bytes.
    const uintptr_t start = reinterpret_cast<uintptr_t>(memory);
    const uintptr_t aligned =
        (start + alignof(Slot) - 1) & ~static_cast<uintptr_t>(alignof(Slot) - 1);
    const size_t slack = aligned - start;
    if (bytes < slack)
        return Error::kNoSpace;
    size_t n = (bytes - slack) / (sizeof(Slot) + sector_size_ + 2 * sizeof(int32_t));
    if (n < kMinSlots)
        return Error::kNoSpace;
    if (n > 0x40000000u)
        n = 0x40000000u;  // slot indices are int32_t
    count_ = static_cast<uint32_t>(n);
    buckets_ = 1;
    while (buckets_ < count_)
        buckets_ *= 2;  // at most 2 * count_: inside the two int32_t a slot was given
    slot_ = reinterpret_cast<Slot*>(aligned);
    bucket_ = reinterpret_cast<int32_t*>(slot_ + count_);
    data_ = reinterpret_cast<uint8_t*>(bucket_ + buckets_);
    for (uint32_t i = 0; i < count_; ++i)
        slot_[i] = Slot{0, 0, -1, false, false, false};
    for (uint32_t b = 0; b < buckets_; ++b)
        bucket_[b] = -1;
    return Error::kOk;
}

int32_t BlockCache::find(uint64_t sector) const {
    for (int32_t i = bucket(sector); i >= 0; i = slot_[i].next_hash) {
        if (slot_[i].sector == sector)
            return i;
    }
    return -1;
}

// Takes valid slot i out of its hash chain and marks it invalid.
void BlockCache::unhash(uint32_t i) {
    int32_t* link = &bucket(slot_[i].sector);
    while (*link != static_cast<int32_t>(i))
        link = &slot_[*link].next_hash;
    *link = slot_[i].next_hash;
    slot_[i].next_hash = -1;
    slot_[i].valid = false;
}

template <typename F>
void BlockCache::each_in(uint64_t sector, uint32_t count, F f) {
    if (count < count_) {
        for (uint32_t k = 0; k < count; ++k) {
            const int32_t i = find(sector + k);
            if (i >= 0)
                f(static_cast<uint32_t>(i));
        }
        return;
    }
    for (uint32_t i = 0; i < count_; ++i) {
        if (slot_[i].valid && slot_[i].sector >= sector && slot_[i].sector - sector < count)
            f(i);
    }
}

Error BlockCache::write_slot(uint32_t i) {
    // The last line of defence: a sector outside the device is never addressed.
    if (slot_[i].sector >= device_->sector_count)
        return Error::kCorrupt;
    const Error e =
        device_->write(slot_[i].sector, 1, data_ + static_cast<size_t>(i) * sector_size_);
    if (e != Error::kOk)
        return e;
    ++stats_.writes;
    unflushed_ = true;
    slot_[i].dirty = false;
    slot_[i].late = false;
    return Error::kOk;
}

Error BlockCache::lookup(uint64_t sector, bool read, bool dirty, bool late, uint8_t** data) {
    if (count_ == 0)
        return Error::kNoSpace;
    if (sector >= device_->sector_count)
        return Error::kCorrupt;
    auto hit = [&](uint32_t i) {
        last_ = i;
        ++stats_.hits;
        slot_[i].used = ++clock_;
        slot_[i].dirty = slot_[i].dirty || dirty;
        slot_[i].late = slot_[i].late || late;
        *data = data_ + static_cast<size_t>(i) * sector_size_;
        return Error::kOk;
    };
    if (slot_[last_].valid && slot_[last_].sector == sector)
        return hit(last_);
    if (const int32_t i = find(sector); i >= 0)
        return hit(static_cast<uint32_t>(i));
    uint32_t victim = 0;
    for (uint32_t i = 0; i < count_; ++i) {
        if (!slot_[i].valid)
            victim = i;  // an empty slot beats any used one
        else if (slot_[victim].valid && slot_[i].used < slot_[victim].used)
            victim = i;
    }
    ++stats_.misses;
    if (slot_[victim].valid) {
        ++stats_.evictions;
        if (slot_[victim].dirty && slot_[victim].late) {
            // A late slot may reach the device only after every other dirty slot is flushed:
            // the whole ordered sync, which leaves the victim clean.
            const Error e = sync();
            if (e != Error::kOk)
                return e;
        } else if (slot_[victim].dirty) {
            const Error e = write_slot(victim);
            if (e != Error::kOk)
                return e;
        }
    }
    uint8_t* bytes = data_ + static_cast<size_t>(victim) * sector_size_;
    if (slot_[victim].valid)
        unhash(victim);
    if (read) {
        const Error e = device_->read(sector, 1, bytes);
        if (e != Error::kOk)
            return e;
        ++stats_.reads;
    }
    int32_t& head = bucket(sector);
    slot_[victim] = Slot{sector, ++clock_, head, true, dirty, dirty && late};
    head = static_cast<int32_t>(victim);
    last_ = victim;
    *data = bytes;
    return Error::kOk;
}

Error BlockCache::get(uint64_t sector, uint8_t** data) {
    return lookup(sector, true, false, false, data);
}

Error BlockCache::get_for_write(uint64_t sector, bool whole, uint8_t** data, bool late) {
    return lookup(sector, !whole, true, late, data);
}

bool BlockCache::range_ok(uint64_t sector, uint32_t count) const {
    return device_ != nullptr && sector < device_->sector_count &&
           count <= device_->sector_count - sector;
}

Error BlockCache::read_through(uint64_t sector, uint32_t count, uint8_t* out) {
    if (count == 0)
        return Error::kOk;
    if (!range_ok(sector, count))
        return Error::kCorrupt;
    const Error e = device_->read(sector, count, out);
    if (e != Error::kOk)
        return e;
    ++stats_.direct_reads;
    stats_.reads += count;
    // A dirty slot holds bytes the device has not seen yet: copied over the device's (older)
    // copy. Copying rather than writing the slots back first keeps the device's write order
    // what the volume asked for and costs no device call. A clean slot equals the device.
    each_in(sector, count, [&](uint32_t i) {
        if (slot_[i].dirty) {
            detail::copy(out + static_cast<size_t>(slot_[i].sector - sector) * sector_size_,
                         data_ + static_cast<size_t>(i) * sector_size_, sector_size_);
        }
    });
    return Error::kOk;
}

Error BlockCache::write_through(uint64_t sector, uint32_t count, const uint8_t* in) {
    if (count == 0)
        return Error::kOk;
    if (!range_ok(sector, count))
        return Error::kCorrupt;
    const Error e = device_->write(sector, count, in);
    if (e != Error::kOk)
        return e;
    ++stats_.direct_writes;
    stats_.writes += count;
    unflushed_ = true;
    // Any slot of the range now equals the device: it takes the new bytes and is clean (a
    // dirty slot's older bytes are overwritten whole, so nothing is lost). Only a corrupt
    // volume (a file cluster that is also a directory's) puts a late slot here.
    each_in(sector, count, [&](uint32_t i) {
        Slot& s = slot_[i];
        detail::copy(data_ + static_cast<size_t>(i) * sector_size_,
                     in + static_cast<size_t>(s.sector - sector) * sector_size_, sector_size_);
        s.dirty = false;
        s.late = false;
    });
    return Error::kOk;
}

void BlockCache::drop_clean() {
    for (uint32_t i = 0; i < count_; ++i) {
        if (slot_[i].valid && !slot_[i].dirty)
            unhash(i);
    }
}

uint32_t BlockCache::dirty() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < count_; ++i)
        n += slot_[i].valid && slot_[i].dirty ? 1 : 0;
    return n;
}

Error BlockCache::write_back() {
    return write_dirty(false);
}

// Writes the dirty slots of one epoch (late or not) in ascending sector order: a sequential
// pass for the device (O(N^2) in slots; N is small).
Error BlockCache::write_dirty(bool late) {
    uint64_t floor = 0;
    bool any = true;
    while (any) {
        any = false;
        uint32_t best = 0;
        for (uint32_t i = 0; i < count_; ++i) {
            if (slot_[i].valid && slot_[i].dirty && slot_[i].late == late &&
                slot_[i].sector >= floor && (!any || slot_[i].sector < slot_[best].sector)) {
                best = i;
                any = true;
            }
        }
        if (any) {
            const Error e = write_slot(best);
            if (e != Error::kOk)
                return e;
            floor = slot_[best].sector;
        }
    }
    return Error::kOk;
}

Error BlockCache::flush_device() {
    // Nothing written since the last flush: the barrier holds already.
    if (device_ == nullptr || !unflushed_)
        return Error::kOk;
    ++stats_.flushes;
    const Error e = device_->flush();
    if (e == Error::kOk)
        unflushed_ = false;
    return e;
}

Error BlockCache::barrier() {
    const Error e = write_dirty(false);
    return e != Error::kOk ? e : flush_device();
}

Error BlockCache::sync() {
    ++stats_.syncs;
    Error e = write_dirty(false);
    bool late = false;
    for (uint32_t i = 0; i < count_ && !late; ++i)
        late = slot_[i].valid && slot_[i].dirty && slot_[i].late;
    if (e == Error::kOk && late) {
        // Epoch two: the late slots, after everything else (and every direct write) is durable.
        e = flush_device();
        if (e == Error::kOk)
            e = write_dirty(true);
    }
    if (e != Error::kOk)
        return e;
    return flush_device();
}

}  // namespace keel::fat
