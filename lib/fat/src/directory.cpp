// Directories: entries addressed by index (the fixed FAT12/16 root, or a cluster chain walked
// from its start or from the last position), long-name sequences assembled and checked as the
// entries go by (order, checksum, length; a broken sequence falls back to the short name), free
// slot runs found and the directory grown when there are none. Every walk is bounded by
// kMaxDirEntries, so a looping directory chain ends the directory instead of hanging.
#include <keel/fat/volume.hpp>

#include "endian.hpp"
#include "layout.hpp"
#include "name.hpp"

namespace keel::fat {

using namespace detail;

struct Volume::Scan {
    uint32_t dir = 0, index = 0;
    uint32_t hint_index = 0, hint_cluster = 0;
    // The long-name sequence being assembled.
    uint16_t units[20 * kUnitsPerEntry];
    uint32_t length = 0, expect = 0, start = 0;
    uint8_t sum = 0;
    bool active = false;
};

struct Volume::Item {
    uint32_t first_index = 0, index = 0;  // its first (long-name) entry and its short entry
    uint8_t raw[kEntrySize];
    uint16_t name[kMaxName];
    uint32_t units = 0;  // the long name, or the short one
    uint16_t short_name[12];
    uint32_t short_units = 0;
};

Error Volume::entry_sector(uint32_t dir_first, uint32_t index, uint64_t* sector, uint32_t* offset,
                           uint32_t* hint_index, uint32_t* hint_cluster) {
    const uint64_t byte = static_cast<uint64_t>(index) * kEntrySize;
    if (dir_first == 0) {
        if (type_ == FatType::kFat32)
            return corrupt("directory: FAT32 directory at cluster 0");
        if (index >= root_entries_)
            return Error::kNotFound;
        *sector = root_start_ + byte / sector_size_;
        *offset = static_cast<uint32_t>(byte % sector_size_);
        return Error::kOk;
    }
    if (index >= kMaxDirEntries)
        return Error::kNotFound;
    const uint32_t want = static_cast<uint32_t>(byte / cluster_bytes_);
    uint32_t at = 0, c = dir_first;
    if (*hint_cluster != 0 && *hint_index <= want) {
        at = *hint_index;
        c = *hint_cluster;
    }
    if (!cluster_ok(c))
        return corrupt("directory: first cluster outside the volume");
    while (at < want) {
        uint32_t next = 0;
        bool end = false;
        const Error e = fat_next(c, &next, &end);
        if (e != Error::kOk)
            return e;
        if (end)
            return Error::kNotFound;
        c = next;
        ++at;
    }
    *hint_index = at;
    *hint_cluster = c;
    const uint32_t in = static_cast<uint32_t>(byte % cluster_bytes_);
    *sector = cluster_sector(c) + in / sector_size_;
    *offset = in % sector_size_;
    return Error::kOk;
}

// The entry's 32 bytes in the cache (valid until the next cache call); the hints as for
// entry_sector. `late`: a write that must follow the data and FAT dirtied before it
// (BlockCache::get_for_write).
Error Volume::entry_at(uint32_t dir_first, uint32_t index, bool write, uint8_t** entry,
                       uint32_t* hint_index, uint32_t* hint_cluster, bool late) {
    uint64_t sector = 0;
    uint32_t offset = 0;
    Error e = entry_sector(dir_first, index, &sector, &offset, hint_index, hint_cluster);
    uint8_t* s = nullptr;
    if (e == Error::kOk)
        e = write ? cache_.get_for_write(sector, false, &s, late) : cache_.get(sector, &s);
    if (e == Error::kOk)
        *entry = s + offset;
    return e;
}

Error Volume::read_entry(uint32_t dir_first, uint32_t index, uint8_t* raw) {
    uint8_t* p = nullptr;
    uint32_t hi = 0, hc = 0;
    const Error e = entry_at(dir_first, index, false, &p, &hi, &hc);
    if (e == Error::kOk)
        copy(raw, p, kEntrySize);
    return e;
}

Error Volume::write_entry(uint32_t dir_first, uint32_t index, const uint8_t* raw, bool late) {
    uint8_t* p = nullptr;
    uint32_t hi = 0, hc = 0;
    const Error e = entry_at(dir_first, index, true, &p, &hi, &hc, late);
    if (e == Error::kOk)
        copy(p, raw, kEntrySize);
    return e;
}

// The next file or directory entry (not deleted, not a volume label) at or after scan.index,
// with its long name if a valid sequence precedes it. kNotFound at the directory's end.
Error Volume::next_item(Scan& s, Item* item) {
    for (;; ++s.index) {
        uint8_t* raw = nullptr;
        const Error e = entry_at(s.dir, s.index, false, &raw, &s.hint_index, &s.hint_cluster);
        if (e != Error::kOk)
            return e;
        if (raw[0] == kEnd)
            return Error::kNotFound;
        if (raw[0] == kDeleted) {
            s.active = false;
            continue;
        }
        if ((raw[kAttr] & 0x3F) == kAttrLongName) {
            const uint32_t ord = raw[kOrd] & 0x1F;
            if ((raw[kOrd] & kLastLong) != 0) {
                s.active = ord >= 1 && ord <= 20 && raw[kLongType] == 0;
                s.expect = ord;
                s.sum = raw[kLongSum];
                s.start = s.index;
                s.length = ord * kUnitsPerEntry;
                // The name ends at the first NUL unit of its last entry (or fills it).
                for (uint32_t k = 0; k < kUnitsPerEntry && s.active; ++k) {
                    if (le16(raw + kUnitOffset[k]) == 0) {
                        s.length = (ord - 1) * kUnitsPerEntry + k;
                        break;
                    }
                }
                if (s.length == 0 || s.length > kMaxName)
                    s.active = false;
            } else if (!s.active || ord != s.expect - 1 || raw[kLongSum] != s.sum ||
                       raw[kLongType] != 0) {
                s.active = false;
                continue;
            } else {
                s.expect = ord;
            }
            if (s.active) {
                for (uint32_t k = 0; k < kUnitsPerEntry; ++k)
                    s.units[(s.expect - 1) * kUnitsPerEntry + k] = le16(raw + kUnitOffset[k]);
            }
            continue;
        }
        if ((raw[kAttr] & kAttrVolumeId) != 0) {
            s.active = false;
            continue;
        }
        copy(item->raw, raw, kEntrySize);
        item->index = s.index;
        item->short_units = short_units(raw, raw[kNtCase], item->short_name);
        const bool long_ok = s.active && s.expect == 1 && checksum(raw) == s.sum;
        item->first_index = long_ok ? s.start : s.index;
        if (long_ok) {
            for (uint32_t k = 0; k < s.length; ++k)
                item->name[k] = s.units[k];
            item->units = s.length;
        } else {
            for (uint32_t k = 0; k < item->short_units; ++k)
                item->name[k] = item->short_name[k];
            item->units = item->short_units;
        }
        s.active = false;
        ++s.index;
        return Error::kOk;
    }
}

// Finds a name (long or short, ASCII case-insensitively): its entries' range, its short
// entry's bytes and (if `node`) the node it describes.
Error Volume::find(uint32_t dir_first, const uint16_t* name, uint32_t units, uint32_t* first_index,
                   uint32_t* index, uint8_t* raw, Node* node) {
    Scan s;
    s.dir = dir_first;
    Item it;
    for (;;) {
        const Error e = next_item(s, &it);
        if (e != Error::kOk)
            return e;
        if (same_name(it.name, it.units, name, units) ||
            same_name(it.short_name, it.short_units, name, units)) {
            *first_index = it.first_index;
            *index = it.index;
            copy(raw, it.raw, kEntrySize);
            return node == nullptr ? Error::kOk : node_from(dir_first, it.index, it.raw, node);
        }
    }
}

Error Volume::is_empty(uint32_t dir_first, bool* empty) {
    Scan s;
    s.dir = dir_first;
    Item it;
    for (;;) {
        const Error e = next_item(s, &it);
        if (e == Error::kNotFound) {
            *empty = true;
            return Error::kOk;
        }
        if (e != Error::kOk)
            return e;
        if (it.raw[0] != '.') {
            *empty = false;
            return Error::kOk;
        }
    }
}

// A short name for `name` in raw[0..10]: the name itself if it is an upper-case 8.3 name
// (no long entries needed), otherwise the first free "BASIS~n" for n = 1..kTails.
Error Volume::pick_short(uint32_t dir_first, const uint16_t* name, uint32_t units, uint8_t* raw,
                         bool* needs_long) {
    if (exact_short(name, units, raw)) {
        *needs_long = false;
        return Error::kOk;
    }
    *needs_long = true;
    constexpr uint32_t kTails = 64;  // candidates tried per create
    uint8_t candidates[kTails][11];
    uint64_t taken = 0;
    // Tails ~1 to ~9 first; then, as Windows does for crowded directories, two letters of the
    // basis, four hex digits of a hash of the long name (varied per candidate), and ~1.
    uint32_t hash = 2166136261u;
    for (uint32_t k = 0; k < units; ++k)
        hash = (hash ^ name[k]) * 16777619u;
    for (uint32_t n = 0; n < kTails; ++n) {
        uint8_t* c = candidates[n];
        if (n < 9) {
            numbered_short(name, units, n + 1, c);
            continue;
        }
        numbered_short(name, units, 1, c);
        uint32_t keep = 0;
        while (keep < 2 && c[keep] != '~')
            ++keep;
        const uint32_t h = (hash ^ (n * 0x9E3779B9u)) >> 16;
        for (uint32_t d = 0; d < 4; ++d)
            c[keep + d] = static_cast<uint8_t>("0123456789ABCDEF"[(h >> (12 - 4 * d)) & 0xF]);
        c[keep + 4] = '~';
        c[keep + 5] = '1';
        for (uint32_t k = keep + 6; k < 8; ++k)
            c[k] = ' ';
    }
    Scan s;
    s.dir = dir_first;
    Item it;
    for (;;) {
        const Error e = next_item(s, &it);
        if (e == Error::kNotFound)
            break;
        if (e != Error::kOk)
            return e;
        for (uint32_t n = 0; n < kTails; ++n) {
            bool same = true;
            for (uint32_t k = 0; k < 11 && same; ++k)
                same = it.raw[k] == candidates[n][k];
            if (same)
                taken |= uint64_t{1} << n;
        }
    }
    for (uint32_t n = 0; n < kTails; ++n) {
        if ((taken & uint64_t{1} << n) == 0) {
            copy(raw, candidates[n], 11);
            return Error::kOk;
        }
    }
    return Error::kNoSpace;  // every short-name tail for this basis is taken
}

// The index of a run of `count` free entries, growing a cluster directory if none is free.
Error Volume::find_slots(uint32_t dir_first, uint32_t count, uint32_t* index) {
    uint32_t run = 0, start = 0, i = 0, hi = 0, hc = 0;
    for (;; ++i) {
        uint8_t* p = nullptr;
        Error e = entry_at(dir_first, i, false, &p, &hi, &hc);
        if (e == Error::kNotFound)
            break;
        if (e != Error::kOk)
            return e;
        if (p[0] == kEnd) {
            // The rest of the directory is free: the run (deleted entries just before this
            // one, if any) goes on to the directory's end, if that is far enough.
            if (run == 0)
                start = i;
            run = 1;
            uint64_t last_sector = 0;
            uint32_t last_offset = 0, h1 = hi, h2 = hc;
            e = entry_sector(dir_first, start + count - 1, &last_sector, &last_offset, &h1, &h2);
            if (e == Error::kOk) {
                *index = start;
                return Error::kOk;
            }
            if (e != Error::kNotFound)
                return e;
            break;  // the directory must grow
        }
        if (p[0] == kDeleted) {
            if (run++ == 0)
                start = i;
            if (run == count) {
                *index = start;
                return Error::kOk;
            }
        } else {
            run = 0;
        }
    }
    // No room: start the run at the first free entry at the end (or the end itself) and add
    // zeroed clusters. The new clusters reach the disk, zeroed, before the FAT links them in.
    if (dir_first == 0)
        return Error::kNoSpace;  // the FAT12/16 root has a fixed size
    if (run == 0)
        start = i;
    const uint64_t need_entries = static_cast<uint64_t>(start) + count;
    if (need_entries > kMaxDirEntries)
        return Error::kNoSpace;
    const uint32_t per_cluster = cluster_bytes_ / kEntrySize;
    uint32_t have = 0, last = 0;
    Error e = chain_length(dir_first, &have, &last, nullptr);
    if (e != Error::kOk)
        return e;
    const uint64_t want = (need_entries + per_cluster - 1) / per_cluster;
    if (want <= have) {
        *index = start;
        return Error::kOk;
    }
    uint32_t head = 0;
    e = allocate(static_cast<uint32_t>(want - have), &head);
    if (e != Error::kOk)
        return e;
    for (uint32_t c = head, n = 0; n < want - have; ++n) {
        e = zero_cluster(c);
        if (e != Error::kOk)
            return e;
        uint32_t next = 0;
        bool end = false;
        e = fat_next(c, &next, &end);
        if (e != Error::kOk)
            return e;
        c = next;
    }
    e = cache_.sync();
    if (e == Error::kOk)
        e = fat_set(last, head);
    *index = start;
    return e;
}

Error Volume::insert(uint32_t dir_first, const uint16_t* name, uint32_t units, uint8_t* raw,
                     uint32_t* index) {
    const uint32_t longs = units == 0 ? 0 : (units + kUnitsPerEntry - 1) / kUnitsPerEntry;
    uint32_t at = 0;
    Error e = find_slots(dir_first, longs + 1, &at);
    if (e != Error::kOk)
        return e;
    const uint8_t sum = checksum(raw);
    for (uint32_t k = 0; k < longs; ++k) {
        const uint32_t seq = longs - k;  // the last part of the name comes first
        uint8_t l[kEntrySize];
        fill(l, 0, kEntrySize);
        l[kOrd] = static_cast<uint8_t>(seq | (k == 0 ? kLastLong : 0));
        l[kAttr] = kAttrLongName;
        l[kLongSum] = sum;
        for (uint32_t j = 0; j < kUnitsPerEntry; ++j) {
            const uint32_t pos = (seq - 1) * kUnitsPerEntry + j;
            put16(l + kUnitOffset[j], pos < units ? name[pos] : pos == units ? 0 : 0xFFFF);
        }
        e = write_entry(dir_first, at + k, l);
        if (e != Error::kOk)
            return e;
    }
    e = write_entry(dir_first, at + longs, raw);
    *index = at + longs;
    return e;
}

Error Volume::mark_deleted(uint32_t dir_first, uint32_t from, uint32_t to) {
    for (uint32_t i = from; i <= to; ++i) {
        uint8_t raw[kEntrySize];
        Error e = read_entry(dir_first, i, raw);
        if (e != Error::kOk)
            return e;
        raw[0] = kDeleted;
        e = write_entry(dir_first, i, raw);
        if (e != Error::kOk)
            return e;
    }
    return Error::kOk;
}

Error Volume::node_from(uint32_t dir_first, uint32_t index, const uint8_t* raw, Node* out) {
    Node n;
    n.dir_cluster = dir_first;
    n.entry = index;
    n.first_cluster = le16(raw + kClusLo);
    if (type_ == FatType::kFat32)
        n.first_cluster |= static_cast<uint32_t>(le16(raw + kClusHi)) << 16;
    n.attributes = raw[kAttr];
    n.size = (n.attributes & kAttrDirectory) != 0 ? 0 : le32(raw + kFileSize);
    n.created = DateTime{le16(raw + kCrtDate), le16(raw + kCrtTime), raw[kCrtTenth]};
    n.modified = DateTime{le16(raw + kWrtDate), le16(raw + kWrtTime), 0};
    n.accessed_date = le16(raw + kAccDate);
    // ".." of a top-level directory names the root by cluster 0.
    if (raw[0] == '.' && raw[1] == '.' && n.first_cluster == 0 &&
        (n.attributes & kAttrDirectory) != 0)
        n = root();
    *out = n;
    return Error::kOk;
}

Error Volume::dir_start(const Node& dir, uint32_t* first) {
    if (!dir.directory())
        return Error::kNotDirectory;
    if (dir.is_root) {
        *first = type_ == FatType::kFat32 ? root_cluster_ : 0;
        return Error::kOk;
    }
    if (!cluster_ok(dir.first_cluster))
        return corrupt("directory entry: first cluster outside the volume");
    *first = dir.first_cluster;
    return Error::kOk;
}

// The directory holding `dir_first` (its ".." entry), as a first cluster (the root's is 0 on
// FAT12/16, root_cluster_ on FAT32).
Error Volume::parent_of(uint32_t dir_first, uint32_t* parent) {
    uint8_t raw[kEntrySize];
    const Error e = read_entry(dir_first, 1, raw);
    if (e == Error::kNotFound)
        return corrupt("directory: no \"..\" entry");
    if (e != Error::kOk)
        return e;
    if (raw[0] != '.' || raw[1] != '.' || (raw[kAttr] & kAttrDirectory) == 0)
        return corrupt("directory: no \"..\" entry");
    uint32_t c = le16(raw + kClusLo);
    if (type_ == FatType::kFat32)
        c |= static_cast<uint32_t>(le16(raw + kClusHi)) << 16;
    if (c == 0)
        c = type_ == FatType::kFat32 ? root_cluster_ : 0;
    else if (!cluster_ok(c))
        return corrupt("directory: \"..\" outside the volume");
    *parent = c;
    return Error::kOk;
}

Node Volume::root() const {
    Node n;
    n.is_root = true;
    n.attributes = kAttrDirectory;
    n.first_cluster = type_ == FatType::kFat32 ? root_cluster_ : 0;
    return n;
}

// The directory's first cluster and the name in UTF-16: the start of every name operation.
Error Volume::open_name(const Node& dir, const char* name, size_t length, uint32_t* first,
                        uint16_t* units, uint32_t* count) {
    const Error e = dir_start(dir, first);
    return e != Error::kOk ? e : to_utf16(name, length, units, count);
}

Error Volume::lookup(const Node& dir, const char* name, size_t length, Node* out) {
    uint32_t first = 0, n = 0;
    uint16_t units[kMaxName];
    const Error e = open_name(dir, name, length, &first, units, &n);
    if (e != Error::kOk)
        return e;
    // "." is the directory itself; the root has no ".." entry of its own.
    if (is_dot(units, n) && (n == 1 || dir.is_root)) {
        *out = dir;
        return Error::kOk;
    }
    uint32_t fi = 0, idx = 0;
    uint8_t raw[kEntrySize];
    return find(first, units, n, &fi, &idx, raw, out);
}

Error Volume::list(const Node& dir, uint32_t* cursor, Entry* out) {
    uint32_t first = 0;
    Error e = dir_start(dir, &first);
    if (e != Error::kOk)
        return e;
    Scan s;
    s.dir = first;
    s.index = *cursor;
    Item it;
    for (;;) {
        e = next_item(s, &it);
        if (e != Error::kOk)
            return e;
        *cursor = s.index;
        if (it.raw[0] == '.')
            continue;  // "." and ".."
        break;
    }
    out->name_length = to_utf8(it.name, it.units, out->name);
    uint32_t k = 0;
    for (; k < it.short_units; ++k)
        out->short_name[k] = static_cast<char>(it.short_name[k]);
    out->short_name[k] = '\0';
    return node_from(first, it.index, it.raw, &out->node);
}

}  // namespace keel::fat
