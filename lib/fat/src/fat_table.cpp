// The file allocation table: entries read and written through the cache (a FAT12 entry may
// straddle two sectors, so every entry is accessed byte by byte), every FAT copy written
// alike (or only the active one when FAT32 mirroring is off), and every chain walk bounded
// by the cluster count, so a looping chain ends as kCorrupt instead of a hang.
#include <keel/fat/volume.hpp>

#include "endian.hpp"

namespace keel::fat {

namespace {

constexpr uint32_t kFat32Mask = 0x0FFFFFFF;

}  // namespace

uint32_t Volume::end_of_chain() const {
    return type_ == FatType::kFat12 ? 0xFFF : type_ == FatType::kFat16 ? 0xFFFF : kFat32Mask;
}

Error Volume::fat_get(uint32_t cluster, uint32_t* value) {
    const uint64_t offset = type_ == FatType::kFat12   ? cluster + cluster / 2
                            : type_ == FatType::kFat16 ? static_cast<uint64_t>(cluster) * 2
                                                       : static_cast<uint64_t>(cluster) * 4;
    uint32_t width = type_ == FatType::kFat32 ? 4 : 2;
    const uint64_t base = fat_start_ + static_cast<uint64_t>(active_fat_) * fat_sectors_;
    uint32_t v = 0;
    if ((offset + width - 1) / sector_size_ == offset / sector_size_) {
        // The usual case (always for FAT16/32): one sector holds the whole entry.
        uint8_t* s = nullptr;
        const Error e = cache_.get(base + offset / sector_size_, &s);
        if (e != Error::kOk)
            return e;
        const uint8_t* p = s + offset % sector_size_;
        v = width == 4 ? detail::le32(p) : detail::le16(p);
        width = 0;
    }
    for (uint32_t i = 0; i < width; ++i) {
        const uint64_t at = offset + i;
        uint8_t* s = nullptr;
        const Error e = cache_.get(base + at / sector_size_, &s);
        if (e != Error::kOk)
            return e;
        v |= static_cast<uint32_t>(s[at % sector_size_]) << (8 * i);
    }
    if (type_ == FatType::kFat12)
        v = (cluster & 1) != 0 ? v >> 4 : v & 0xFFF;
    else if (type_ == FatType::kFat32)
        v &= kFat32Mask;
    *value = v;
    return Error::kOk;
}

Error Volume::fat_set(uint32_t cluster, uint32_t value) {
    const uint64_t offset = type_ == FatType::kFat12   ? cluster + cluster / 2
                            : type_ == FatType::kFat16 ? static_cast<uint64_t>(cluster) * 2
                                                       : static_cast<uint64_t>(cluster) * 4;
    const uint32_t width = type_ == FatType::kFat32 ? 4 : 2;
    for (uint32_t copy = 0; copy < fat_count_; ++copy) {
        if (!mirror_ && copy != active_fat_)
            continue;
        const uint64_t base = fat_start_ + static_cast<uint64_t>(copy) * fat_sectors_;
        for (uint32_t i = 0; i < width; ++i) {
            const uint64_t at = offset + i;
            uint8_t* s = nullptr;
            const Error e = cache_.get_for_write(base + at / sector_size_, false, &s);
            if (e != Error::kOk)
                return e;
            uint8_t& byte = s[at % sector_size_];
            const uint8_t v = static_cast<uint8_t>(value >> (8 * i));
            if (type_ == FatType::kFat12) {
                // Odd clusters hold the high 12 bits of their 3 bytes' pair, even the low 12.
                if ((cluster & 1) != 0)
                    byte = i == 0 ? static_cast<uint8_t>((byte & 0x0F) | (value << 4 & 0xF0))
                                  : static_cast<uint8_t>(value >> 4);
                else
                    byte = i == 0 ? static_cast<uint8_t>(value)
                                  : static_cast<uint8_t>((byte & 0xF0) | (value >> 8 & 0x0F));
            } else if (type_ == FatType::kFat32 && i == 3) {
                byte = static_cast<uint8_t>((byte & 0xF0) | (v & 0x0F));  // keep the top 4 bits
            } else {
                byte = v;
            }
        }
    }
    return Error::kOk;
}

Error Volume::fat_next(uint32_t cluster, uint32_t* next, bool* end) {
    if (!cluster_ok(cluster))
        return corrupt("cluster chain: cluster number outside the volume");
    uint32_t v = 0;
    const Error e = fat_get(cluster, &v);
    if (e != Error::kOk)
        return e;
    // End-of-chain values: 0xFF8-0xFFF, 0xFFF8-0xFFFF, 0x0FFFFFF8-0x0FFFFFFF.
    if (v >= end_of_chain() - 7) {
        *end = true;
        *next = 0;
        return Error::kOk;
    }
    if (v == 0)
        return corrupt("cluster chain: runs into a free cluster");
    if (v == end_of_chain() - 8)
        return corrupt("cluster chain: runs into a bad cluster");
    if (!cluster_ok(v))
        return corrupt("cluster chain: points outside the volume");
    *end = false;
    *next = v;
    return Error::kOk;
}

bool Volume::hint_ok(const Node* hint, uint32_t first, uint32_t index) const {
    return hint != nullptr && hint->hint_generation == generation_ && hint->hint_first == first &&
           hint->hint_cluster != 0 && hint->hint_index <= index;
}

void Volume::remember(Node* hint, uint32_t first, uint32_t index, uint32_t cluster) const {
    if (hint == nullptr)
        return;
    hint->hint_first = first;
    hint->hint_index = index;
    hint->hint_cluster = cluster;
    hint->hint_generation = generation_;
}

// The chain's length and last cluster, walked from the node's hint if it has a valid one, or
// from the end of a known run of the chain if that is further.
Error Volume::chain_length(uint32_t first, uint32_t* length, uint32_t* last, Node* hint) {
    uint32_t n = 0, c = first;
    if (hint_ok(hint, first, 0xFFFFFFFFu)) {  // any position will do
        n = hint->hint_index;
        c = hint->hint_cluster;
    }
    if (const Run* r = run_near(first, 0xFFFFFFFFu); r != nullptr && r->index + r->length - 1 > n) {
        n = r->index + r->length - 1;
        c = r->cluster + r->length - 1;
    }
    uint32_t run_n = n, run_c = c;  // the contiguous run being walked
    for (;;) {
        if (n >= clusters_)
            return corrupt("cluster chain: longer than the volume (a loop)");
        uint32_t next = 0;
        bool end = false;
        const Error e = fat_next(c, &next, &end);
        if (e != Error::kOk)
            return e;
        if (end)
            break;
        if (next != c + 1) {
            note_run(first, run_n, run_c, n - run_n + 1);
            run_n = n + 1;
            run_c = next;
        }
        ++n;
        c = next;
    }
    note_run(first, run_n, run_c, n - run_n + 1);
    *length = n + 1;
    *last = c;
    remember(hint, first, n, c);
    return Error::kOk;
}

// The cluster at chain index `index`: from a known run of the chain that holds it, else
// walked from the nearest of the node's hint (if valid and not past the index), the end of a
// run before it and a checkpoint.
Error Volume::chain_at(uint32_t first, uint32_t index, uint32_t* cluster, Node* hint) {
    if (index >= clusters_)
        return corrupt("cluster chain: longer than the volume (a loop)");
    uint32_t i = 0, c = first;
    if (hint_ok(hint, first, index)) {
        i = hint->hint_index;
        c = hint->hint_cluster;
    }
    if (const Run* r = run_near(first, index); r != nullptr) {
        const uint32_t end = r->index + r->length - 1;
        const uint32_t at = index < end ? index : end;
        if (at >= i) {
            i = at;
            c = r->cluster + (at - r->index);
        }
    }
    // A checkpoint of this chain at or before the index, nearer than the hint.
    const uint32_t mark = index / kCheckpointStride * kCheckpointStride;
    const Checkpoint& cp = checkpoint_slot(first, mark);
    if (mark > i && cp.generation == generation_ && cp.first == first && cp.index == mark &&
        cluster_ok(cp.cluster)) {
        i = mark;
        c = cp.cluster;
    }
    if (!cluster_ok(c))
        return corrupt("cluster chain: cluster number outside the volume");
    uint32_t run_i = i, run_c = c;  // the contiguous run being walked
    for (; i < index; ++i) {
        const uint32_t from = c;
        const Error e = next_cluster(&c);
        if (e != Error::kOk)
            return e;
        if (c != from + 1) {
            note_run(first, run_i, run_c, i - run_i + 1);
            run_i = i + 1;
            run_c = c;
        }
        if ((i + 1) % kCheckpointStride == 0)
            checkpoint_slot(first, i + 1) = Checkpoint{first, i + 1, c, generation_};
    }
    note_run(first, run_i, run_c, index - run_i + 1);
    *cluster = c;
    remember(hint, first, index, c);
    return Error::kOk;
}

// Steps *cluster, chain `first`'s cluster at `index`, to the next: by a known run without the
// FAT if one holds both, else by the FAT (next_cluster).
Error Volume::step(uint32_t first, uint32_t index, uint32_t* cluster) {
    if (const Run* r = run_near(first, index + 1);
        r != nullptr && index >= r->index && index + 1 - r->index < r->length) {
        *cluster = r->cluster + (index + 1 - r->index);
        return Error::kOk;
    }
    return next_cluster(cluster);
}

const Volume::Run* Volume::run_near(uint32_t first, uint32_t index) const {
    const Run* best = nullptr;
    for (const Run& r : runs_) {
        if (r.generation != generation_ || r.first != first || r.length == 0 || r.index > index)
            continue;
        if (index - r.index < r.length)
            return &r;  // holds it
        if (best == nullptr || r.index + r.length > best->index + best->length)
            best = &r;
    }
    return best;
}

void Volume::note_run(uint32_t first, uint32_t index, uint32_t cluster, uint32_t length) {
    if (length < 2)
        return;  // a single position: the hint and the checkpoints have it
    for (Run& r : runs_) {
        if (r.generation != generation_ || r.first != first || r.length == 0)
            continue;
        // Overlapping or touching, and the same line (index - cluster): one run. Chain
        // positions are unique, so two runs that agree where they meet are contiguous across.
        const bool touch = index <= r.index + r.length && r.index <= index + length;
        if (!touch || r.index - r.cluster != index - cluster)
            continue;
        const uint32_t lo = index < r.index ? index : r.index;
        const uint32_t hi_new = index + length, hi_old = r.index + r.length;
        r.length = (hi_new > hi_old ? hi_new : hi_old) - lo;
        r.cluster = r.cluster - (r.index - lo);
        r.index = lo;
        return;
    }
    runs_[runs_next_] = Run{first, index, cluster, length, generation_};
    runs_next_ = (runs_next_ + 1) % kRuns;
}

// Steps *cluster along its chain; the chain's end is corrupt here (the caller needs more).
Error Volume::next_cluster(uint32_t* cluster) {
    uint32_t next = 0;
    bool end = false;
    const Error e = fat_next(*cluster, &next, &end);
    if (e != Error::kOk)
        return e;
    if (end)
        return corrupt("cluster chain: ends before the file does");
    *cluster = next;
    return Error::kOk;
}

Error Volume::usage(Usage* out) {
    if (!free_known_) {
        uint32_t n = 0;
        if (type_ == FatType::kFat12) {
            for (uint32_t c = 2; c < clusters_ + 2; ++c) {
                uint32_t v = 0;
                const Error e = fat_get(c, &v);
                if (e != Error::kOk)
                    return e;
                n += v == 0 ? 1 : 0;
            }
        } else {
            // A sector at a time: one cache lookup per sector, not per entry.
            const uint32_t width = type_ == FatType::kFat32 ? 4 : 2;
            const uint32_t per = sector_size_ / width;
            const uint64_t base = fat_start_ + static_cast<uint64_t>(active_fat_) * fat_sectors_;
            for (uint32_t c = 2; c < clusters_ + 2;) {
                uint8_t* s = nullptr;
                const Error e = cache_.get(base + c / per, &s);
                if (e != Error::kOk)
                    return e;
                for (uint32_t k = c % per; k < per && c < clusters_ + 2; ++k, ++c) {
                    const uint32_t v =
                        width == 4 ? detail::le32(s + 4 * k) & kFat32Mask : detail::le16(s + 2 * k);
                    n += v == 0 ? 1 : 0;
                }
            }
        }
        free_count_ = n;
        free_known_ = true;
    }
    *out = Usage{clusters_, free_count_, cluster_bytes_};
    return Error::kOk;
}

// Allocates `count` clusters as one new chain (each marked in the FAT before the next is
// linked to it), searching from next_free_ and wrapping once; *head and (if asked) *tail are
// its ends. On kNoSpace the clusters taken so far are freed again, so the FAT is as it was.
Error Volume::allocate(uint32_t count, uint32_t* head, uint32_t* tail) {
    Usage u;
    Error e = usage(&u);
    if (e != Error::kOk)
        return e;
    if (count > u.free_clusters)
        return Error::kNoSpace;
    uint32_t first = 0, prev = 0, c = cluster_ok(next_free_) ? next_free_ : 2;
    for (uint32_t got = 0, seen = 0; got < count; ++seen) {
        if (seen >= clusters_) {
            // The counted free clusters were not there: the count was wrong.
            if (first != 0)
                free_chain(first);
            free_known_ = false;
            return Error::kNoSpace;
        }
        uint32_t v = 0;
        e = fat_get(c, &v);
        if (e != Error::kOk)
            return e;
        if (v == 0) {
            e = fat_set(c, end_of_chain());
            if (e == Error::kOk && prev != 0)
                e = fat_set(prev, c);
            if (e != Error::kOk)
                return e;
            if (first == 0)
                first = c;
            prev = c;
            ++got;
            --free_count_;
        }
        c = c + 1 > clusters_ + 1 ? 2 : c + 1;
    }
    next_free_ = c;
    *head = first;
    if (tail != nullptr)
        *tail = prev;
    return Error::kOk;
}

bool Volume::unreachable_tail(uint32_t tail) const {
    if (unreachable_syncs_ != cache_.stats().syncs)
        return false;  // a sync since: the entries naming them may be on the device
    for (const uint32_t t : unreachable_)
        if (t == tail && t != 0)
            return true;
    return false;
}

// `new_tail` ends a chain nothing on the device reaches; it replaces `old_tail` (the tail it
// was linked to), or the oldest one remembered.
void Volume::note_unreachable_tail(uint32_t old_tail, uint32_t new_tail) {
    const uint64_t syncs = cache_.stats().syncs;
    if (unreachable_syncs_ != syncs) {
        for (uint32_t& t : unreachable_)
            t = 0;
        unreachable_syncs_ = syncs;
    }
    for (uint32_t& t : unreachable_) {
        if (old_tail != 0 && t == old_tail) {
            t = new_tail;
            return;
        }
    }
    unreachable_[unreachable_next_] = new_tail;
    unreachable_next_ = (unreachable_next_ + 1) % kUnreachableTails;
}

Error Volume::free_chain(uint32_t first) {
    ++generation_;  // every remembered chain position may now name a free cluster
    uint32_t c = first;
    for (uint32_t n = 0;; ++n) {
        if (n >= clusters_)
            return corrupt("cluster chain: longer than the volume (a loop)");
        uint32_t next = 0;
        bool end = false;
        Error e = fat_next(c, &next, &end);
        if (e != Error::kOk)
            return e;
        e = fat_set(c, 0);
        if (e != Error::kOk)
            return e;
        if (free_known_)
            ++free_count_;
        if (end)
            return Error::kOk;
        c = next;
    }
}

Error Volume::zero_cluster(uint32_t c) {
    for (uint32_t i = 0; i < sectors_per_cluster_; ++i) {
        uint8_t* s = nullptr;
        const Error e = cache_.get_for_write(cluster_sector(c) + i, true, &s);
        if (e != Error::kOk)
            return e;
        detail::fill(s, 0, sector_size_);
    }
    return Error::kOk;
}

}  // namespace keel::fat
