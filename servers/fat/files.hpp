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
    // among operations `first` to `count` - 1 will want, for a caller that fetches them ahead
    // (several device requests in flight) before it performs the reads: at most `max` runs
    // in `out`, their number returned. The runs get the fetch numbers base, base + 1, ... (the
    // caller's BlockClient::fetch numbering), and ready[i] (i from `first`) is the number
    // below which every run operation i reads has been fetched: 0 when it needs none, the
    // number after its own runs, or the read-ahead's that fetched its pages earlier.
    // Positions are those the seeks and reads before each operation leave (from operation 0:
    // the window of operations not yet performed; a copy of each open's node and position is
    // walked, nothing of the file changes). `lengths[i]` is operation i's buffer length.
    // - Every read length the served buffers carry (64 KiB) is planned: a batch of them is read
    //   from the device in parallel (row B9's 64 KiB reads at depth 32: 63 -> 96 MiB/s, 7 Dec,
    //   when each was its own device request, one after another) at the price of one more copy
    //   (the queue's buffer into the pages). With `lone` (the only read in the window) a read's
    //   own pages are listed only when it reads on sequentially (else it asks the device
    //   itself, straight into its buffer).
    // - Reading ahead: a read that starts where the previous read of its open ended also lists
    //   the pages of the next kReadAhead bytes of the file not asked for yet (each open keeps
    //   how far that went and the fetch numbers of its last kAheadChunks pieces), so a program
    //   reading a file in order, one read at a time, finds its next read's pages fetched or in
    //   flight while it handles the last, as Linux's read-ahead does.
    static constexpr uint64_t kReadAhead = 256 * 1024;
    static constexpr uint32_t kAheadChunks = 8;
    uint32_t plan(const ipc::abi::Submission* const* ops, const uint64_t* lengths, uint32_t count,
                  uint32_t first, bool lone, uint64_t base, fat::Volume::Extent* out, uint32_t max,
                  uint64_t* ready);

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
        // Read-ahead (plan): where the last planned read ended, how far the file has been
        // asked for ahead of it, and the last pieces of that: each one's file bytes, with the
        // fetch number below which they are in (0: none was missing), a ring, `chunks` so far.
        uint64_t read_end = 0, ahead_end = 0;
        struct Chunk {
            uint64_t start, end, ready;
        };
        Chunk chunk[kAheadChunks] = {};
        uint32_t chunks = 0;
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
