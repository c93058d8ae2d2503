// File contents: whole-sector runs over physically consecutive clusters move between the
// caller's buffer and the device in one call each (BlockCache::read_through/write_through,
// coherent with the cache); partial sectors go through the cache. The size and first cluster
// stored in the directory entry reach the device only after the data and the FAT: an entry
// that names new clusters is dirtied `late`, so the cache writes it in the epoch after the next
// flush (lib/fat/README.md, "Write ordering"). An interrupted write leaves at worst clusters
// fsck.fat frees, never an entry that names clusters the FAT does not hold.
#include <keel/fat/volume.hpp>

#include "endian.hpp"
#include "layout.hpp"

namespace keel::fat {

using namespace detail;

namespace {

// The source of zero-fill runs: a gap of N bytes costs N / kZeroBytes device writes.
constexpr uint32_t kZeroBytes = 32768;
alignas(64) constexpr uint8_t kZeros[kZeroBytes] = {};

}  // namespace

// Re-reads the node's short entry: the entry must still be a live entry of the same kind.
Error Volume::load(Node* node) {
    if (node->is_root) {
        *node = root();
        return Error::kOk;
    }
    uint8_t raw[kEntrySize];
    Error e = read_entry(node->dir_cluster, node->entry, raw);
    if (e != Error::kOk)
        return e;
    if (raw[0] == kEnd || raw[0] == kDeleted || (raw[kAttr] & 0x3F) == kAttrLongName ||
        ((raw[kAttr] & kAttrDirectory) != 0) != ((node->attributes & kAttrDirectory) != 0))
        return Error::kNotFound;
    const Node hint = *node;  // the chain position survives a re-read (hint_ok checks it)
    e = node_from(node->dir_cluster, node->entry, raw, node);
    node->hint_first = hint.hint_first;
    node->hint_index = hint.hint_index;
    node->hint_cluster = hint.hint_cluster;
    node->hint_generation = hint.hint_generation;
    return e;
}

// `late`: the entry names clusters allocated since the last sync (BlockCache::get_for_write).
Error Volume::store(const Node& node, bool late) {
    if (node.is_root)
        return Error::kOk;  // the root has no entry
    uint8_t raw[kEntrySize];
    Error e = read_entry(node.dir_cluster, node.entry, raw);
    if (e != Error::kOk)
        return e;
    if (raw[0] == kEnd || raw[0] == kDeleted || (raw[kAttr] & 0x3F) == kAttrLongName)
        return Error::kNotFound;
    put16(raw + kClusLo, node.first_cluster & 0xFFFF);
    put16(raw + kClusHi, type_ == FatType::kFat32 ? node.first_cluster >> 16 : 0);
    put32(raw + kFileSize, node.directory() ? 0 : node.size);
    raw[kAttr] = node.attributes;
    put16(raw + kWrtDate, node.modified.date);
    put16(raw + kWrtTime, node.modified.time);
    put16(raw + kAccDate, node.accessed_date);
    return write_entry(node.dir_cluster, node.entry, raw, late);
}

Error Volume::stat(Node* node) {
    return load(node);
}

Error Volume::read(Node& file, uint64_t offset, uint8_t* out, size_t length, size_t* done) {
    return read_or_map(file, offset, out, length, done, nullptr, 0, nullptr);
}

Error Volume::map(Node& file, uint64_t offset, size_t length, Extent* out, uint32_t max,
                  uint32_t* count) {
    size_t done = 0;
    *count = 0;
    return read_or_map(file, offset, nullptr, length, &done, out, max, count);
}

Error Volume::read_or_map(Node& file, uint64_t offset, uint8_t* out, size_t length, size_t* done,
                          Extent* extents, uint32_t max, uint32_t* count) {
    *done = 0;
    Node n = file;
    Error e = load(&n);
    if (e != Error::kOk)
        return e;
    if (n.directory())
        return Error::kIsDirectory;
    if (offset >= n.size || length == 0)
        return Error::kOk;
    uint64_t left = n.size - offset;
    if (length < left)
        left = length;
    if (n.first_cluster == 0)
        return corrupt("file: a size but no first cluster");
    if (offset == 0) {
        // A read from the start checks the whole chain once (bounded by the cluster count):
        // a loop or a size larger than the chain is reported before any byte is trusted. Reads
        // further on walk only as far as they need, so a sequential pass stays linear.
        uint32_t have = 0, last = 0;
        e = chain_length(n.first_cluster, &have, &last, nullptr);
        if (e != Error::kOk)
            return e;
        if (static_cast<uint64_t>(have) * cluster_bytes_ < n.size)
            return corrupt("file: size larger than its cluster chain");
    }
    uint32_t c = 0, index = static_cast<uint32_t>(offset / cluster_bytes_);
    e = chain_at(n.first_cluster, index, &c, &n);
    if (e != Error::kOk)
        return e;
    uint32_t in = static_cast<uint32_t>(offset % cluster_bytes_);
    while (left > 0) {
        if (in == cluster_bytes_) {
            e = step(n.first_cluster, index, &c);
            if (e != Error::kOk)
                return e;
            remember(&n, n.first_cluster, ++index, c);
            in = 0;
        }
        if (in % sector_size_ == 0 && left >= sector_size_) {
            // Whole sectors: one device read for the run of consecutive clusters.
            const uint64_t sector = cluster_sector(c) + in / sector_size_;
            const uint32_t from = index;
            uint64_t run = 0;
            extend_run(n.first_cluster, &c, &index, in, left / sector_size_ * sector_size_, &run);
            if (index != from)
                remember(&n, n.first_cluster, index, c);
            const auto sectors = static_cast<uint32_t>(run / sector_size_);
            if (extents != nullptr) {
                if (*count == max)
                    break;
                extents[(*count)++] = {sector, sectors};
            } else {
                e = cache_.read_through(sector, sectors, out + *done);
                if (e != Error::kOk)
                    return e;
            }
            *done += run;
            left -= run;
            in = static_cast<uint32_t>(in + run -
                                       static_cast<uint64_t>(index - from) * cluster_bytes_);
            continue;
        }
        const uint32_t at = in % sector_size_;
        uint32_t chunk = sector_size_ - at;
        if (chunk > left)
            chunk = static_cast<uint32_t>(left);
        if (extents != nullptr) {
            if (*count == max)
                break;
            extents[(*count)++] = {cluster_sector(c) + in / sector_size_, 1};
        } else {
            uint8_t* s = nullptr;
            e = cache_.get(cluster_sector(c) + in / sector_size_, &s);
            if (e != Error::kOk)
                return e;
            copy(out + *done, s + at, chunk);
        }
        *done += chunk;
        left -= chunk;
        in += chunk;
    }
    file = n;
    return Error::kOk;
}

// From byte `in` (sector-aligned) of *cluster, at chain index *index, the run of whole sectors
// that goes on through physically consecutive clusters of the chain, up to `want` bytes (whole
// sectors, at least one): *run bytes, and *cluster/*index moved to the run's last cluster. As
// far as a known run of the chain goes it moves without the FAT (the run's clusters were each
// range-checked when it was noted); beyond, each step is fat_next's (range-checked, so the run
// stays inside the data area). The run is bounded by `want`; a chain that ends, breaks or
// jumps just ends the run, and the caller's next step along the chain meets (and reports) any
// error itself.
void Volume::extend_run(uint32_t first, uint32_t* cluster, uint32_t* index, uint32_t in,
                        uint64_t want, uint64_t* run) {
    uint64_t got = cluster_bytes_ - in;
    const uint32_t from_index = *index, from_cluster = *cluster;
    // As far as a known run of the chain goes, without reading the FAT.
    if (const Run* r = run_near(first, *index);
        got < want && r != nullptr && *index - r->index < r->length) {
        const uint64_t need = (want - got + cluster_bytes_ - 1) / cluster_bytes_;
        const uint32_t known = r->index + r->length - 1 - *index;
        const uint32_t take = need < known ? static_cast<uint32_t>(need) : known;
        // From the run's own line, not *cluster: the run is what was seen on the FAT.
        *cluster = r->cluster + (*index - r->index) + take;
        *index += take;
        got += static_cast<uint64_t>(take) * cluster_bytes_;
    }
    while (got < want) {
        uint32_t next = 0;
        bool end = false;
        if (fat_next(*cluster, &next, &end) != Error::kOk || end || next != *cluster + 1)
            break;
        *cluster = next;
        ++*index;
        got += cluster_bytes_;
    }
    note_run(first, from_index, from_cluster, *index - from_index + 1);
    *run = got < want ? got : want;
}

Error Volume::write_zeros(uint64_t sector, uint32_t count) {
    const uint32_t per = kZeroBytes / sector_size_;
    while (count > 0) {
        const uint32_t n = count < per ? count : per;
        const Error e = cache_.write_through(sector, n, kZeros);
        if (e != Error::kOk)
            return e;
        sector += n;
        count -= n;
    }
    return Error::kOk;
}

// Writes `length` bytes (zeros if `in` is null) at `offset` into the file's chain, which
// already holds enough clusters. Whole-sector runs go to the device at once, ahead of any
// dirty metadata (new clusters are reached only through an entry written after a flush, and
// overwritten data never had an order); partial sectors are dirtied in the cache.
Error Volume::write_span(Node& file, uint64_t offset, const uint8_t* in, uint64_t length) {
    uint32_t c = 0, index = static_cast<uint32_t>(offset / cluster_bytes_);
    Error e = chain_at(file.first_cluster, index, &c, &file);
    if (e != Error::kOk)
        return e;
    uint32_t pos = static_cast<uint32_t>(offset % cluster_bytes_);
    uint64_t done = 0;
    while (done < length) {
        if (pos == cluster_bytes_) {
            e = step(file.first_cluster, index, &c);
            if (e != Error::kOk)
                return e;
            remember(&file, file.first_cluster, ++index, c);
            pos = 0;
        }
        const uint32_t at = pos % sector_size_;
        if (at == 0 && length - done >= sector_size_) {
            const uint64_t sector = cluster_sector(c) + pos / sector_size_;
            const uint32_t from = index;
            uint64_t run = 0;
            extend_run(file.first_cluster, &c, &index, pos,
                       (length - done) / sector_size_ * sector_size_, &run);
            if (index != from)
                remember(&file, file.first_cluster, index, c);
            const uint32_t count = static_cast<uint32_t>(run / sector_size_);
            e = in != nullptr ? cache_.write_through(sector, count, in + done)
                              : write_zeros(sector, count);
            if (e != Error::kOk)
                return e;
            done += run;
            pos = static_cast<uint32_t>(pos + run -
                                        static_cast<uint64_t>(index - from) * cluster_bytes_);
            continue;
        }
        uint32_t chunk = sector_size_ - at;
        if (chunk > length - done)
            chunk = static_cast<uint32_t>(length - done);
        uint8_t* s = nullptr;
        e = cache_.get_for_write(cluster_sector(c) + pos / sector_size_, false, &s);
        if (e != Error::kOk)
            return e;
        if (in != nullptr)
            copy(s + at, in + done, chunk);
        else
            fill(s + at, 0, chunk);
        done += chunk;
        pos += chunk;
    }
    return Error::kOk;
}

// Makes the file's chain hold `size` bytes: new clusters are allocated as one chain and linked
// to the old tail (or become the first cluster, stored by the caller later); *grew says so.
// kNoSpace changes nothing.
Error Volume::ensure_clusters(Node& file, uint64_t size, bool* grew) {
    *grew = false;
    const uint64_t need = (size + cluster_bytes_ - 1) / cluster_bytes_;
    const uint64_t held = (static_cast<uint64_t>(file.size) + cluster_bytes_ - 1) / cluster_bytes_;
    uint32_t have = 0, last = 0;
    if (file.first_cluster != 0) {
        const Error e = chain_length(file.first_cluster, &have, &last, &file);
        if (e != Error::kOk)
            return e;
    }
    if (have < held)
        return corrupt("file: size larger than its cluster chain");
    if (need <= have)
        return Error::kOk;
    if (need - have > clusters_)
        return Error::kNoSpace;
    uint32_t head = 0, tail = 0;
    Error e = allocate(static_cast<uint32_t>(need - have), &head, &tail);
    if (e != Error::kOk)
        return e;
    *grew = true;
    if (have == 0) {
        // The entry naming it is late: nothing reaches the chain before a sync.
        file.first_cluster = head;
        note_unreachable_tail(0, tail);
        return Error::kOk;
    }
    if (unreachable_tail(last)) {
        note_unreachable_tail(last, tail);
        return fat_set(last, head);
    }
    // The old tail may be reachable from the entry on the device: the new chain's marks must be
    // durable before the link to it can be written (the cache writes a FAT sector whenever it
    // likes, and the link and the marks may lie in two sectors), or an interrupted sync leaves
    // a file whose chain runs into a free cluster. Interrupted after this barrier, the new
    // chain is lost clusters; after the link, the chain is longer than the size. (The late
    // entries stay cached: the chains they name stay unreachable.)
    e = cache_.barrier();
    if (e == Error::kOk)
        e = fat_set(last, head);
    return e;
}

Error Volume::write(Node& file, uint64_t offset, const uint8_t* in, size_t length, DateTime now) {
    Error e = load(&file);
    if (e != Error::kOk)
        return e;
    if (file.directory())
        return Error::kIsDirectory;
    if (offset > kMaxFileSize || length > kMaxFileSize - offset)
        return Error::kTooLarge;
    if (length == 0)
        return Error::kOk;
    const uint64_t end = offset + length;
    const uint32_t old = file.size;
    Node next = file;
    bool grew = false;
    e = ensure_clusters(next, end > old ? end : old, &grew);
    if (e != Error::kOk)
        return e;
    if (offset > old)
        e = write_span(next, old, nullptr, offset - old);
    if (e == Error::kOk)
        e = write_span(next, offset, in, length);
    if (e != Error::kOk)
        return e;
    // An entry that is to name new clusters is dirtied late: the cache writes it only after
    // the FAT and the data are on the device and flushed (at the next sync, flush or eviction
    // of it), so a sequential write costs no device flush per call. Without new clusters the
    // entry names only clusters the file holds already (a size grown inside the last cluster
    // may show stale bytes of it after a power cut, never another file's clusters): no order.
    next.size = static_cast<uint32_t>(end > old ? end : old);
    next.modified = now;
    next.accessed_date = now.date;
    next.attributes = static_cast<uint8_t>(next.attributes | kAttrArchive);
    e = store(next, grew);
    if (e == Error::kOk)
        file = next;
    return e;
}

Error Volume::truncate(Node& file, uint64_t size, DateTime now) {
    Error e = load(&file);
    if (e != Error::kOk)
        return e;
    if (file.directory())
        return Error::kIsDirectory;
    if (size > kMaxFileSize)
        return Error::kTooLarge;
    Node next = file;
    next.modified = now;
    next.attributes = static_cast<uint8_t>(next.attributes | kAttrArchive);
    if (size >= file.size) {
        bool grew = false;
        e = ensure_clusters(next, size, &grew);
        if (e == Error::kOk && size > file.size)
            e = write_span(next, file.size, nullptr, size - file.size);
        if (e != Error::kOk)
            return e;
        next.size = static_cast<uint32_t>(size);
        e = store(next, grew);  // late, as in write()
        if (e == Error::kOk)
            file = next;
        return e;
    }
    // Shrinking: the entry first (its size, and no first cluster if nothing is kept), then the
    // clusters past the new end are freed. Interrupted between, the chain is only longer than
    // the size, which fsck.fat trims.
    const uint32_t keep = static_cast<uint32_t>((size + cluster_bytes_ - 1) / cluster_bytes_);
    const uint32_t old_first = file.first_cluster;
    uint32_t cut = 0;
    if (keep > 0 && old_first != 0) {
        e = chain_at(old_first, keep - 1, &cut, nullptr);
        if (e != Error::kOk)
            return e;
    }
    next.size = static_cast<uint32_t>(size);
    if (keep == 0)
        next.first_cluster = 0;
    e = store(next);
    if (e == Error::kOk)
        e = cache_.sync();
    if (e != Error::kOk)
        return e;
    file = next;
    if (old_first == 0)
        return Error::kOk;
    if (keep == 0)
        return free_chain(old_first);
    uint32_t rest = 0;
    bool end = false;
    e = fat_next(cut, &rest, &end);
    if (e != Error::kOk || end)
        return e;
    // The new end must be durable before any of the rest is freed: the cache writes FAT
    // sectors in any order, and a file whose chain ran on into a freed cluster would be corrupt
    // (its chain is walked whole by a read from 0, a truncate, a growth).
    ++generation_;  // positions remembered past the cut are not the chain's any more
    e = fat_set(cut, end_of_chain());
    if (e == Error::kOk)
        e = cache_.barrier();
    if (e != Error::kOk)
        return e;
    return free_chain(rest);
}

Error Volume::set_times(Node& node, DateTime modified, uint16_t accessed_date) {
    Error e = load(&node);
    if (e != Error::kOk)
        return e;
    node.modified = modified;
    node.accessed_date = accessed_date;
    return store(node);
}

}  // namespace keel::fat
