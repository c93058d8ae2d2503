// The FAT server's objects: the volume's root directory (object 0, the one serve_create made)
// and one object per open (a file or a directory), each with its own position. Every
// forwarded operation on them is performed here on lib/fat's Volume; the answers are the
// ordinary object API's (docs/syscalls.md), so the shell and every program use files and
// directories on the volume as they use the kernel's.
#pragma once

#include <span>

#include <ipc/server.hpp>
#include <keel/fat/page_cache.hpp>
#include <keel/fat/volume.hpp>

#include "runtime.hpp"

namespace keel::fatserver {

inline constexpr uint32_t kMaxOpen = 1024;  // objects open at once (besides the root)

class Files {
  public:
    // `pages`: the page cache under the volume, if there is one (DropCaches empties it).
    Files(fat::Volume& volume, fat::PageCache* pages) : volume_(volume), pages_(pages) {}

    // One forwarded operation on `object`: its completion status and value.
    uint16_t perform(const ipc::abi::Submission& s, std::span<std::byte> data, uint64_t* value);

    // The device sectors (whole pages of the page cache, not yet in it) that the file reads
    // among `count` operations taken together would read, in order, with the positions their
    // seeks and earlier reads leave: at most `max` runs in `out`, their number returned. Nothing
    // changes (a copy of each open's node and position is walked). `lengths[i]` is operation
    // i's buffer length.
    // Only reads of at most kMostAhead bytes are planned: for them the device's time per
    // request dominates, and the batch overlaps it; a 64 KiB read is one large request already
    // (fetched ahead too, row B9's 64 KiB reads at depth 32 came out slower: the pages are
    // copied once more and the batch waits for its slowest fetch).
    static constexpr uint64_t kMostAhead = 16 * 1024;
    uint32_t plan(const ipc::abi::Submission* const* ops, const uint64_t* lengths, uint32_t count,
                  fat::Volume::Extent* out, uint32_t max);

    uint32_t open_count() const { return open_count_; }
    bool dirty() const { return dirty_; }
    // Writes back every dirty sector and flushes the device (kSync, idle, shutdown).
    fat::Error flush();

  private:
    struct Open {
        bool used = false;
        bool gone = false;  // its entry was removed: every operation fails kNotFound
        bool append = false;
        fat::Node node;
        uint64_t position = 0;
        // The last listing's end: the next read from cursor `listed` resumes at volume
        // cursor `resume` instead of walking the directory again.
        uint64_t listed = 0;
        uint32_t resume = 0;
    };

    Open* lookup_object(uint32_t object);
    uint16_t open(Open& dir, std::span<std::byte> name, uint64_t flags, uint64_t* value);
    uint16_t read(Open& o, std::span<std::byte> data, uint64_t cursor, bool advance,
                  uint64_t* value);
    uint16_t read_at(Open& o, uint64_t at, std::span<std::byte> data, uint64_t* value);
    uint16_t list(Open& dir, std::span<std::byte> data, uint64_t cursor, uint64_t* value);
    uint16_t write(Open& o, std::span<std::byte> data, uint64_t* value);
    uint16_t get_meta(Open& o, uint64_t key, std::span<std::byte> data, uint64_t* value);
    uint16_t set_meta(Open& o, uint64_t key, std::span<std::byte> data, uint64_t* value);
    uint16_t destroy(Open& dir, std::span<std::byte> name);
    uint16_t rename(Open& dir, std::span<std::byte> names);
    // Walks a '/'-separated path from `dir` to its last component's directory; *last and
    // *last_length name that component. kOk or why not.
    fat::Error walk_parent(const fat::Node& dir, const char* path, size_t length, fat::Node* parent,
                           const char** last, size_t* last_length);
    // Every open object of the entry `from` now describes `to` (a rename), or is gone.
    void moved(const fat::Node& from, const fat::Node* to);
    fat::DateTime now() const;

    fat::Volume& volume_;
    fat::PageCache* pages_;
    Open root_{};
    Open opens_[kMaxOpen];
    uint32_t open_count_ = 0;
    bool dirty_ = false;
};

// lib/fat's error as the object API's.
abi::Error to_abi(fat::Error e);

}  // namespace keel::fatserver
