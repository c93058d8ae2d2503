// A FAT12/16/32 volume with long file names, over a BlockDevice and a BlockCache in the
// caller's memory. The volume's bytes are untrusted: the boot sector is validated whole at
// mount, every cluster number read from disk is range-checked before use, every chain walk is
// bounded by the cluster count, and no sector outside the volume is ever addressed. A corrupt
// file or directory gives kCorrupt for that file (reason() says why), not a crash or a hang.
// Times come in as arguments, so tests are deterministic. Not thread-safe: one caller.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/fat/block_cache.hpp>
#include <keel/fat/block_device.hpp>
#include <keel/fat/error.hpp>

namespace keel::fat {

enum class FatType : uint8_t { kFat12, kFat16, kFat32 };

inline constexpr uint32_t kMaxName = 255;                // UTF-16 code units in a long name
inline constexpr uint32_t kMaxNameBytes = 3 * kMaxName;  // its UTF-8 form, at most
inline constexpr uint32_t kMaxFileSize = 0xFFFFFFFFu;

// Directory entry attribute bits.
inline constexpr uint8_t kAttrReadOnly = 0x01, kAttrHidden = 0x02, kAttrSystem = 0x04,
                         kAttrVolumeId = 0x08, kAttrDirectory = 0x10, kAttrArchive = 0x20;

// A date and time as FAT stores them: date = (year - 1980) << 9 | month << 5 | day,
// time = hour << 11 | minute << 5 | second / 2; tenths (0-199) refines the creation time.
struct DateTime {
    uint16_t date = 0, time = 0;
    uint8_t tenths = 0;
};

// Encodes a calendar time (year 1980-2107; out-of-range fields are clamped).
DateTime make_time(uint32_t year, uint32_t month, uint32_t day, uint32_t hour, uint32_t minute,
                   uint32_t second);

// A file or directory: where its short directory entry lives and what it said when read.
// Valid until the node (or a directory above it) is renamed or removed; operations re-read
// the entry, so a stale size or first cluster is refreshed, not trusted.
struct Node {
    uint32_t dir_cluster = 0;    // first cluster of the directory holding the entry (0: the
                                 // FAT12/16 fixed root)
    uint32_t entry = 0;          // index of the short entry in that directory
    uint32_t first_cluster = 0;  // 0: no data yet (or the FAT12/16 root)
    uint32_t size = 0;           // bytes (0 for directories)
    uint8_t attributes = 0;
    bool is_root = false;
    DateTime created, modified;
    uint16_t accessed_date = 0;
    // Where the last read or write left off in the cluster chain (cluster number `hint_cluster`
    // at chain index `hint_index` of the chain from `hint_first`), so a sequential pass walks
    // the chain once, not once per call. Trusted only while no cluster of the volume has been
    // freed, no chain cut and the volume not mounted again since (`hint_generation`):
    // allocation only appends to chains.
    uint32_t hint_first = 0, hint_index = 0, hint_cluster = 0;
    uint64_t hint_generation = 0;

    bool directory() const { return is_root || (attributes & kAttrDirectory) != 0; }
};

// One listed entry: the long name in UTF-8 (a lone surrogate becomes '?'), or the short name
// when there is no valid long one (an OEM byte >= 0x80 becomes '?').
struct Entry {
    char name[kMaxNameBytes + 1];
    uint32_t name_length;
    char short_name[13];  // "FOO~1.TXT"
    Node node;
};

struct Usage {
    uint32_t cluster_count, free_clusters, cluster_bytes;
};

class Volume {
  public:
    // Validates the boot sector and takes `cache_memory` (at least
    // BlockCache::bytes_for(BlockCache::kMinSlots, sector_size) bytes; more is faster).
    // kCorrupt with reason() for a volume this library will not touch, kIo if the device
    // fails, kNoSpace if the cache memory is too small. Nothing is written.
    Error mount(BlockDevice& device, uint8_t* cache_memory, size_t cache_bytes);

    FatType type() const { return type_; }
    uint32_t cluster_count() const { return clusters_; }
    uint32_t cluster_bytes() const { return cluster_bytes_; }
    // Why the last kCorrupt was returned (a static string), or "" if none yet.
    const char* reason() const { return reason_; }
    BlockCache& cache() { return cache_; }

    Node root() const;

    // Finds `name` (UTF-8, `length` bytes) in `dir`, case-insensitively for ASCII letters, by
    // long or short name. "." and ".." are found as FAT stores them (".." of a top-level
    // directory is the root).
    Error lookup(const Node& dir, const char* name, size_t length, Node* out);
    // Re-reads the node's entry (size, first cluster, times). kNotFound if it was removed.
    Error stat(Node* node);
    // The entry at or after *cursor (start with 0); *cursor moves past it. Skips deleted
    // entries, the volume label, "." and "..". kNotFound at the end of the directory.
    Error list(const Node& dir, uint32_t* cursor, Entry* out);

    // Reads up to `length` bytes at `offset`; *done is how many (short at the end of file).
    // kCorrupt, with *done bytes valid, if the chain ends or breaks before the size says.
    // Updates the node (its entry re-read, its chain position remembered).
    Error read(Node& file, uint64_t offset, uint8_t* out, size_t length, size_t* done);
    // Where such a read would take its bytes from, without reading them: up to `max` runs of
    // device sectors in file order (*count of them; a partial sector is a run of one), the
    // chain walked and checked as read() walks it. For a server that fetches those sectors
    // ahead (several reads at once) before it performs the reads.
    struct Extent {
        uint64_t sector;
        uint32_t count;
    };
    Error map(Node& file, uint64_t offset, size_t length, Extent* out, uint32_t max,
              uint32_t* count);
    // Writes `length` bytes at `offset`, growing the file (zero-filled up to offset) and
    // allocating clusters. All or nothing for space: kNoSpace leaves the file as it was.
    Error write(Node& file, uint64_t offset, const uint8_t* in, size_t length, DateTime now);
    // Sets the size: shrinking frees clusters, growing appends zeros.
    Error truncate(Node& file, uint64_t size, DateTime now);
    // Sets the modification time and access date.
    Error set_times(Node& node, DateTime modified, uint16_t accessed_date);

    // Creates an empty file or directory (with "." and ".."). A name that is not a valid
    // upper-case 8.3 name gets long-name entries and a generated short name ("FOO~1.TXT").
    Error create(const Node& dir, const char* name, size_t length, bool directory, DateTime now,
                 Node* out);
    // Removes a file, or an empty directory (kNotEmpty otherwise), and frees its clusters.
    Error remove(const Node& dir, const char* name, size_t length);
    // Moves `name` in `dir` to `new_name` in `new_dir` (kExists if that is taken by another
    // entry; a case-only change of the same entry is allowed). A moved directory's ".." is
    // updated; moving a directory into itself or below it is kInvalid.
    Error rename(const Node& dir, const char* name, size_t length, const Node& new_dir,
                 const char* new_name, size_t new_length);

    // Counts free clusters (a FAT scan).
    Error usage(Usage* out);
    // Writes every dirty sector, the FAT32 FSInfo hints (free count, next free), then flushes
    // the device.
    Error flush();
    // flush(), then forgets what is cached: the sector cache's clean sectors and the chain
    // checkpoints (nodes keep their own hints). The device below keeps its own caches.
    Error drop_caches();

    // A directory walk's state and one entry found by it (directory.cpp).
    struct Scan;
    struct Item;

  private:
    struct Run;  // a contiguous piece of a chain (runs_, below)
    Error corrupt(const char* why) {
        reason_ = why;
        return Error::kCorrupt;
    }
    bool cluster_ok(uint32_t c) const { return c >= 2 && c <= clusters_ + 1; }
    uint64_t cluster_sector(uint32_t c) const {
        return data_start_ + static_cast<uint64_t>(c - 2) * sectors_per_cluster_;
    }
    Error parse_boot(const uint8_t* b);

    // The FAT (fat_table.cpp).
    Error fat_get(uint32_t cluster, uint32_t* value);
    Error fat_set(uint32_t cluster, uint32_t value);
    Error fat_next(uint32_t cluster, uint32_t* next, bool* end);
    Error allocate(uint32_t count, uint32_t* head, uint32_t* tail = nullptr);
    Error free_chain(uint32_t first);
    Error chain_length(uint32_t first, uint32_t* length, uint32_t* last, Node* hint);
    Error chain_at(uint32_t first, uint32_t index, uint32_t* cluster, Node* hint);
    bool hint_ok(const Node* hint, uint32_t first, uint32_t index) const;
    void remember(Node* hint, uint32_t first, uint32_t index, uint32_t cluster) const;
    Error next_cluster(uint32_t* cluster);
    Error step(uint32_t first, uint32_t index, uint32_t* cluster);
    // The run of chain `first` that holds `index`, or else the one ending nearest before it;
    // null if neither is known.
    const Run* run_near(uint32_t first, uint32_t index) const;
    // Notes that chain `first`'s indices [index, index + length) are clusters [cluster,
    // cluster + length), merged with a known run it overlaps or touches.
    void note_run(uint32_t first, uint32_t index, uint32_t cluster, uint32_t length);
    Error zero_cluster(uint32_t c);
    uint32_t end_of_chain() const;
    bool unreachable_tail(uint32_t tail) const;
    void note_unreachable_tail(uint32_t old_tail, uint32_t new_tail);

    // Files (file_io.cpp).
    Error load(Node* node);
    Error store(const Node& node, bool late = false);
    void extend_run(uint32_t first, uint32_t* cluster, uint32_t* index, uint32_t in, uint64_t want,
                    uint64_t* run);
    // read() (extents null) or map() (out null): the one walk of both.
    Error read_or_map(Node& file, uint64_t offset, uint8_t* out, size_t length, size_t* done,
                      Extent* extents, uint32_t max, uint32_t* count);
    Error write_zeros(uint64_t sector, uint32_t count);
    Error write_span(Node& file, uint64_t offset, const uint8_t* in, uint64_t length);
    Error ensure_clusters(Node& file, uint64_t size, bool* grew);

    // Directories (directory.cpp, name ops in volume.cpp).
    Error dir_start(const Node& dir, uint32_t* first);
    Error entry_sector(uint32_t dir_first, uint32_t index, uint64_t* sector, uint32_t* offset,
                       uint32_t* hint_index, uint32_t* hint_cluster);
    Error entry_at(uint32_t dir_first, uint32_t index, bool write, uint8_t** entry,
                   uint32_t* hint_index, uint32_t* hint_cluster, bool late = false);
    Error read_entry(uint32_t dir_first, uint32_t index, uint8_t* raw);
    Error write_entry(uint32_t dir_first, uint32_t index, const uint8_t* raw, bool late = false);
    Error next_item(Scan& scan, Item* item);
    Error open_name(const Node& dir, const char* name, size_t length, uint32_t* first,
                    uint16_t* units, uint32_t* count);
    Error find(uint32_t dir_first, const uint16_t* name, uint32_t units, uint32_t* first_index,
               uint32_t* index, uint8_t* raw, Node* node);
    Error find_slots(uint32_t dir_first, uint32_t count, uint32_t* index);
    Error pick_short(uint32_t dir_first, const uint16_t* name, uint32_t units, uint8_t* raw,
                     bool* needs_long);
    Error parent_of(uint32_t dir_first, uint32_t* parent);
    Error insert(uint32_t dir_first, const uint16_t* name, uint32_t units, uint8_t* raw,
                 uint32_t* index);
    Error mark_deleted(uint32_t dir_first, uint32_t from, uint32_t to);
    Error is_empty(uint32_t dir_first, bool* empty);
    Error node_from(uint32_t dir_first, uint32_t index, const uint8_t* raw, Node* out);

    BlockCache cache_;
    const char* reason_ = "";
    FatType type_ = FatType::kFat12;
    uint32_t sector_size_ = 0, sectors_per_cluster_ = 0, cluster_bytes_ = 0;
    uint32_t fat_count_ = 0, fat_sectors_ = 0, active_fat_ = 0;
    bool mirror_ = true;
    uint64_t fat_start_ = 0, root_start_ = 0, data_start_ = 0, total_sectors_ = 0;
    uint32_t root_entries_ = 0, root_sectors_ = 0, root_cluster_ = 0;
    uint32_t clusters_ = 0;
    uint32_t fsinfo_sector_ = 0;  // 0: none (or its signatures are wrong)
    uint32_t next_free_ = 2;      // where allocation searches first
    uint32_t free_count_ = 0;
    bool free_known_ = false;  // free_count_ is exact (counted, then kept up to date)
    uint64_t generation_ = 1;  // counts free_chain() calls, truncates' cuts and mounts: a
                               // remembered chain position (a node's hint, a checkpoint, a
                               // run) is older if its generation differs
    // Tails of file chains that nothing on the device reaches yet: a file's first chain, or a
    // chain linked to such a tail, allocated since the cache's last sync (the entry naming it
    // is late, so only a sync can write it). Growing one needs no barrier before the link;
    // any other tail does (ensure_clusters). Valid while the cache's sync count is
    // unreachable_syncs_; a tail forgotten (more files growing at once) only costs a barrier.
    static constexpr uint32_t kUnreachableTails = 8;
    uint32_t unreachable_[kUnreachableTails] = {};
    uint32_t unreachable_next_ = 0;
    uint64_t unreachable_syncs_ = ~uint64_t{0};
    // Chain checkpoints: the cluster at every kCheckpointStride-th index of chains walked, so
    // that a position before a node's hint (a backward seek, a random read) walks at most a
    // stride, not the chain from its start. Trusted, like hints, only within one generation.
    static constexpr uint32_t kCheckpointStride = 16;
    static constexpr uint32_t kCheckpoints = 2048;
    struct Checkpoint {
        uint32_t first = 0, index = 0, cluster = 0;
        uint64_t generation = 0;
    };
    Checkpoint checkpoints_[kCheckpoints];
    // Contiguous runs of the chains walked: chain `first`'s indices [index, index + length)
    // are clusters [cluster, cluster + length), each link seen as c -> c + 1 (or two such runs
    // meeting). A file written in one piece (by mtools, or by this library growing it from
    // one free area) is a single run, so mapping any position of it costs no FAT lookup once
    // walked: before, a 4 KiB read at a random position of a file of 512-byte clusters took
    // about 22 FAT lookups (bench row B9's image). Trusted only within one generation.
    static constexpr uint32_t kRuns = 32;
    struct Run {
        uint32_t first = 0, index = 0, cluster = 0, length = 0;
        uint64_t generation = 0;
    };
    Run runs_[kRuns];
    uint32_t runs_next_ = 0;  // the slot a new run takes (round robin)
    Checkpoint& checkpoint_slot(uint32_t first, uint32_t index) {
        const uint32_t k = index / kCheckpointStride;
        return checkpoints_[(first * 2654435761u + k * 40503u) % kCheckpoints];
    }
};

}  // namespace keel::fat
