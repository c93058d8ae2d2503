// Reopening: an object opened by its path, opened again by the same path when its server died
// (PeerGone) and init restarted it (issue 21; user/README.md, "Supervision").
//
// Use: open(dir, path); io() instead of sys::do_io on handle(). After a PeerGone the handle is
// replaced by a new open of the path (waiting while the name is missing or still names the
// dead object). Only reads at an explicit offset (arg: a block device's byte offset) are sent
// again, and only when the program asked for it (retry_reads): such a read changes nothing,
// so performing it twice is the same as once. Every other operation answers PeerGone once the
// handle is new again: a write may or may not have happened, and the program decides.
// One thread at a time per Reopening. Not copyable.
#pragma once

#include "runtime.hpp"

namespace keel::user {

class Reopening {
  public:
    Reopening() = default;
    Reopening(const Reopening&) = delete;
    Reopening& operator=(const Reopening&) = delete;
    ~Reopening() { close(); }

    // Opens `path` from `dir` (open_path) and keeps both for reopening (the path is copied: at
    // most kMaxPath bytes; dir must stay open). retry_reads: io(kRead, ...) is sent again
    // after a PeerGone. 0 or -Error (open_path's; kTooLarge for a longer path).
    int64_t open(Handle dir, const char* path, uint64_t length, bool retry_reads);
    // The current handle (0 when closed or when a reopen failed).
    Handle handle() const { return handle_; }
    // do_io on the handle; on PeerGone, reopens (see reopen) and sends a kRead again when
    // retry_reads, for at most timeout_ns in all. Its result, or -Error: PeerGone for any
    // other operation (the handle is new again) or when the service did not come back in
    // time; what do_io answers otherwise.
    int64_t io(Op op, void* buffer, uint64_t length, uint64_t arg,
               uint64_t timeout_ns = kDefaultTimeoutNs);
    // Closes the handle and opens the path again, every 2 ms while it is NotFound (the
    // service is down: init removed its name) or PeerGone (a path below the name still reached
    // the dead object), for at most timeout_ns. 0 or -Error.
    int64_t reopen(uint64_t timeout_ns = kDefaultTimeoutNs);
    void close();

    // How often io() sent a read again and how often the handle was opened again.
    uint64_t retries() const { return retries_; }
    uint64_t reopens() const { return reopens_; }

    static constexpr uint64_t kMaxPath = 128;
    static constexpr uint64_t kDefaultTimeoutNs = 10'000'000'000;

  private:
    Handle dir_ = 0;
    Handle handle_ = 0;
    char path_[kMaxPath] = {};
    uint64_t length_ = 0;
    bool retry_reads_ = false;
    bool fresh_ = false;  // opened again after a PeerGone, nothing answered since
    uint64_t retries_ = 0, reopens_ = 0;
};

}  // namespace keel::user
