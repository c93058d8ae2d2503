// lib/fat's block device over a block device object (a driver's disk or partition): sector
// reads and writes become do_io reads and writes at byte offsets (the object's `arg`), split
// at the object's largest transfer; flush is Op::kSync. The object is held as a
// user::Reopening with Retry::kPositioned: when its driver dies (PeerGone) and init restarts
// it, the object is opened again by its path and the read, write or sync is sent again (at an
// explicit offset each is the same performed twice as once; this server is its partition's
// only writer), so the volume above never sees the restart (issue 21, "stacked services").
#pragma once

#include <keel/fat/block_device.hpp>
#include <keel/fat/page_cache.hpp>
#include <keel/fat/volume.hpp>

#include "queue.hpp"
#include "reopen.hpp"
#include "runtime.hpp"

namespace keel::fatserver {

class BlockClient final : public fat::BlockDevice {
  public:
    // Opens `path` under `dir` (dir and path stay: the path is opened again from it after a
    // restart) and reads the object's BlockInfo; 0 or -Error (kInvalidArgument for a geometry
    // lib/fat cannot use).
    int64_t attach(user::Handle dir, const char* path, uint64_t length);
    // The current handle on the object (a new one after each restart of its driver).
    user::Handle object() const { return device_ == nullptr ? 0 : device_->handle(); }
    uint32_t max_transfer() const { return max_transfer_; }

    fat::Error read(uint64_t sector, uint32_t count, uint8_t* out) override;
    fat::Error write(uint64_t sector, uint32_t count, const uint8_t* in) override;
    fat::Error flush() override;

    // Fetching ahead, asynchronously: runs of sectors read through a queue on the object with
    // up to kAhead requests in flight (split at max_transfer), each handed to pages.fill() as
    // it arrives, while the server goes on serving. Runs are numbered in the order given,
    // from 0; fetch() queues `count` more (sending what fits) and returns the number after the
    // last one it accepted (it accepts at most kRuns not yet finished: a read whose run was
    // not accepted reads the device itself). A run that fails is only left out: the read that
    // wanted it asks the device again and gets the error itself.
    // `pages` gets the fetched bytes (fill() refuses any piece a write to the device overtook).
    uint64_t fetch(const fat::Volume::Extent* runs, uint32_t count, fat::PageCache& pages);
    // The number the next run given to fetch() gets.
    uint64_t next_run() const { return accepted_; }
    // Every run numbered below this has been filled in or has failed.
    uint64_t fetched() const { return finished_; }
    // Whether runs are queued or in flight (fetched() is below the last fetch()'s number).
    bool fetching() const { return finished_ != accepted_; }
    // Waits for at least one fetch to complete (nothing when none is in flight), hands what
    // arrived to fetch()'s pages.fill() and sends what is queued. When the queue breaks (no
    // completion within kAheadTimeoutNs, or no queue could be made), every run is counted finished
    // and nothing is fetched this way again.
    void fetch_wait();
    static constexpr uint32_t kAhead = 32;  // requests in flight
    static constexpr uint32_t kRuns = 256;  // runs queued or in flight

  private:
    // Reopening's check of a new handle on the device: the same sector size and count as at
    // attach, or kIo (the volume stays on the device it was mounted on; every operation fails
    // from then on).
    static int64_t same_device(user::Handle fresh, void* self);
    // The device's io(), saying on the console when it opened the device again.
    int64_t io(user::Op op, void* data, uint64_t length, uint64_t at);
    // Moves count sectors at `sector` in requests of at most max_transfer_ bytes.
    fat::Error transfer(user::Op op, uint64_t sector, uint32_t count, uint8_t* data);
    // The device's range check, in sectors: the library never asks past the end, so a
    // request past it is a bug caught here rather than sent.
    bool inside(uint64_t sector, uint32_t count) const {
        return sector <= sector_count && count <= sector_count - sector;
    }
    // Made in attach, as queue_ below (a member with a destructor would need __cxa_atexit).
    user::Reopening* device_ = nullptr;
    const char* path_ = "";  // attach's (the caller keeps it)
    uint64_t reopens_said_ = 0;
    uint32_t max_transfer_ = 0;
    // Sends queued pieces while requests and buffers are free.
    void send();
    // send(), and what it sent published to the kernel at once.
    void send_now();
    // Waits for at least one piece in flight to come back and takes every one that did: its
    // bytes to pages_->fill(), its run finished once all its pieces are back (and read_queued's
    // read, into its caller's memory).
    void collect();
    // A read of at most max_transfer_ bytes sent through the queue, among the fetches, and
    // waited for; false when it could not be sent or failed (the caller then uses do_io, which
    // also reopens a restarted device and reports the error).
    bool read_queued(void* data, uint64_t length, uint64_t at);
    static constexpr uint64_t kReadTag = ~0ull;  // read_queued's user_data
    struct QueuedRead {
        uint8_t* out;
        uint64_t length;
        bool done, ok;
    };
    QueuedRead read_ = {};
    // Gives up on fetching: every accepted run counts as finished.
    void break_queue();
    // Made at the first fetch (a member with a destructor would need __cxa_atexit for the
    // server's global BlockClient); null when it cannot be made or broke.
    user::Queue* queue_ = nullptr;
    bool queue_failed_ = false;
    struct Run {
        uint64_t sector;
        uint32_t count;
        uint32_t sent;         // sectors of it sent so far
        uint32_t outstanding;  // its pieces in flight
    };
    Run runs_[kRuns] = {};             // run number n at n % kRuns
    fat::PageCache* pages_ = nullptr;  // fetch()'s
    struct Piece {
        uint64_t run;      // its number
        uint64_t sent_at;  // pages_->writes() when it was sent
        uint64_t sector;
        uint32_t count;
        bool used;
    };
    Piece flight_[kAhead] = {};
    uint32_t in_flight_ = 0;
    // Runs below finished_ are done; below sending_ fully sent; below accepted_ accepted.
    uint64_t finished_ = 0, sending_ = 0, accepted_ = 0;
};

}  // namespace keel::fatserver
