// Name operations: create, remove, rename. Each orders its writes with cache syncs so that an
// interruption leaves a volume fsck.fat can repair without losing a file that was complete
// before (lib/fat/README.md, "Write ordering").
#include <keel/fat/volume.hpp>

#include "endian.hpp"
#include "layout.hpp"
#include "name.hpp"

namespace keel::fat {

using namespace detail;

namespace {

void set_cluster(uint8_t* raw, uint32_t c, bool fat32) {
    put16(raw + kClusLo, c & 0xFFFF);
    put16(raw + kClusHi, fat32 ? c >> 16 : 0);
}

void dot_entry(uint8_t* raw, const char* name, uint32_t cluster, bool fat32, DateTime now) {
    fill(raw, 0, kEntrySize);
    fill(raw, ' ', 11);
    for (uint32_t i = 0; name[i] != '\0'; ++i)
        raw[i] = static_cast<uint8_t>(name[i]);
    raw[kAttr] = kAttrDirectory;
    raw[kCrtTenth] = now.tenths;
    put16(raw + kCrtTime, now.time);
    put16(raw + kCrtDate, now.date);
    put16(raw + kAccDate, now.date);
    put16(raw + kWrtTime, now.time);
    put16(raw + kWrtDate, now.date);
    set_cluster(raw, cluster, fat32);
}

}  // namespace

Error Volume::create(const Node& dir, const char* name, size_t length, bool directory, DateTime now,
                     Node* out) {
    uint32_t first = 0, n = 0;
    uint16_t units[kMaxName];
    Error e = open_name(dir, name, length, &first, units, &n);
    if (e != Error::kOk)
        return e;
    if (!valid_long_name(units, n))
        return Error::kBadName;
    uint32_t fi = 0, idx = 0;
    uint8_t raw[kEntrySize];
    e = find(first, units, n, &fi, &idx, raw, nullptr);
    if (e == Error::kOk)
        return Error::kExists;
    if (e != Error::kNotFound)
        return e;
    bool needs_long = false;
    const bool fat32 = type_ == FatType::kFat32;
    dot_entry(raw + 0, "", 0, fat32, now);  // times and attributes; the name is set below
    e = pick_short(first, units, n, raw, &needs_long);
    if (e != Error::kOk)
        return e;
    raw[kAttr] = directory ? kAttrDirectory : kAttrArchive;
    uint32_t cluster = 0;
    if (directory) {
        // The new directory's cluster holds "." and ".." (and zeros) before any entry names it.
        e = allocate(1, &cluster);
        if (e != Error::kOk)
            return e;
        e = zero_cluster(cluster);
        uint8_t dots[kEntrySize];
        if (e == Error::kOk) {
            dot_entry(dots, ".", cluster, fat32, now);
            e = write_entry(cluster, 0, dots);
        }
        if (e == Error::kOk) {
            dot_entry(dots, "..", dir.is_root ? 0 : first, fat32, now);
            e = write_entry(cluster, 1, dots);
        }
        if (e != Error::kOk)
            return e;
        set_cluster(raw, cluster, fat32);
    }
    e = cache_.sync();
    if (e == Error::kOk)
        e = insert(first, needs_long ? units : nullptr, needs_long ? n : 0, raw, &idx);
    if (e != Error::kOk) {
        if (cluster != 0 && e == Error::kNoSpace)
            free_chain(cluster);  // nothing names it yet
        return e;
    }
    return node_from(first, idx, raw, out);
}

Error Volume::remove(const Node& dir, const char* name, size_t length) {
    uint32_t first = 0, n = 0;
    uint16_t units[kMaxName];
    Error e = open_name(dir, name, length, &first, units, &n);
    if (e != Error::kOk)
        return e;
    if (is_dot(units, n))
        return Error::kInvalid;
    uint32_t fi = 0, idx = 0;
    uint8_t raw[kEntrySize];
    Node node;
    e = find(first, units, n, &fi, &idx, raw, &node);
    if (e != Error::kOk)
        return e;
    if (node.directory()) {
        uint32_t sub = 0;
        e = dir_start(node, &sub);
        bool empty = false;
        if (e == Error::kOk)
            e = is_empty(sub, &empty);
        if (e != Error::kOk)
            return e;
        if (!empty)
            return Error::kNotEmpty;
    }
    // The entries are marked deleted (and on the device) before the chain is freed: an
    // interruption leaves lost clusters, never an entry naming free ones.
    e = mark_deleted(first, fi, idx);
    if (e == Error::kOk)
        e = cache_.sync();
    if (e != Error::kOk)
        return e;
    if (node.first_cluster == 0 || !cluster_ok(node.first_cluster))
        return Error::kOk;  // no chain (or one outside the volume: nothing to free)
    return free_chain(node.first_cluster);
}

Error Volume::rename(const Node& dir, const char* name, size_t length, const Node& new_dir,
                     const char* new_name, size_t new_length) {
    uint32_t from = 0, to = 0, old_n = 0, n = 0;
    uint16_t old_units[kMaxName], units[kMaxName];
    Error e = open_name(dir, name, length, &from, old_units, &old_n);
    if (e == Error::kOk)
        e = open_name(new_dir, new_name, new_length, &to, units, &n);
    if (e != Error::kOk)
        return e;
    if (!valid_long_name(units, n))
        return Error::kBadName;
    if (is_dot(old_units, old_n))
        return Error::kInvalid;
    uint32_t ofi = 0, oidx = 0;
    uint8_t raw[kEntrySize];
    Node node;
    e = find(from, old_units, old_n, &ofi, &oidx, raw, &node);
    if (e != Error::kOk)
        return e;
    const bool moving_dir = node.directory() && to != from;
    if (moving_dir) {
        // The target must not be the directory itself or below it: walk up from the target to
        // the root through "..", at most one step per cluster (a ".." loop is corruption).
        const uint32_t top = type_ == FatType::kFat32 ? root_cluster_ : 0;
        uint32_t c = to;
        for (uint32_t steps = 0; c != top; ++steps) {
            if (c == node.first_cluster)
                return Error::kInvalid;
            if (steps > clusters_)
                return corrupt("directory: \"..\" entries form a loop");
            e = parent_of(c, &c);
            if (e != Error::kOk)
                return e;
        }
    }
    uint32_t tfi = 0, tidx = 0;
    uint8_t taken[kEntrySize];
    e = find(to, units, n, &tfi, &tidx, taken, nullptr);
    if (e == Error::kOk && !(to == from && tidx == oidx))
        return Error::kExists;
    if (e != Error::kOk && e != Error::kNotFound)
        return e;
    // The new entry first, on the device before anything else changes: interrupted, both
    // names show the same clusters (fsck.fat reports them shared), and no file is lost.
    uint8_t fresh[kEntrySize];
    copy(fresh, raw, kEntrySize);
    bool needs_long = false;
    e = pick_short(to, units, n, fresh, &needs_long);
    if (e != Error::kOk)
        return e;
    fresh[kNtCase] = 0;
    uint32_t idx = 0;
    e = insert(to, needs_long ? units : nullptr, needs_long ? n : 0, fresh, &idx);
    if (e == Error::kOk)
        e = cache_.sync();
    if (e != Error::kOk)
        return e;
    if (moving_dir) {
        uint8_t dots[kEntrySize];
        e = read_entry(node.first_cluster, 1, dots);
        if (e != Error::kOk)
            return e;
        if (dots[0] != '.' || dots[1] != '.')
            return corrupt("directory: no \"..\" entry");
        set_cluster(dots, new_dir.is_root ? 0 : to, type_ == FatType::kFat32);
        e = write_entry(node.first_cluster, 1, dots);
        if (e == Error::kOk)
            e = cache_.sync();
        if (e != Error::kOk)
            return e;
    }
    // The old entries may have moved only if the insert grew the same directory: it never
    // reuses live entries, so from..oidx still hold the old name.
    return mark_deleted(from, ofi, oidx);
}

}  // namespace keel::fat
