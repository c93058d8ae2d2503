// Reopening: an object opened by its path, opened again by the same path when its server died
// (PeerGone) and init restarted it (issue 21; user/README.md, "Supervision").
//
// Use: open(dir, path); io() instead of sys::do_io on handle(). After a PeerGone the handle is
// replaced by a new open of the path (waiting while the name is missing or still names the
// dead object). Only operations the program names as safe to perform twice are sent again
// (Retry): reads at an explicit offset (a block device's read at its byte offset arg, any
// object's read_at) change nothing;
// with kPositioned also writes at an explicit offset (the same bytes at the same place: twice
// is the same as once, provided nothing else writes there in between, which the program
// guarantees: the FAT server is the only writer of its partition) and Sync (flushing again
// flushes what the device holds). Every other operation answers PeerGone once the handle is
// new again: a write may or may not have happened, and the program decides.
// One thread at a time per Reopening. Not copyable.
#pragma once

#include "runtime.hpp"

namespace keel::user {

class Reopening {
  public:
    // What io() sends again after a PeerGone (the header comment says why each is safe).
    enum class Retry { kNothing, kReads, kPositioned };

    Reopening() = default;
    Reopening(const Reopening&) = delete;
    Reopening& operator=(const Reopening&) = delete;
    ~Reopening() { close(); }

    // Opens `path` from `dir` (open_path) and keeps both for reopening (the path is copied: at
    // most kMaxPath bytes; dir must stay open). retry: what io() sends again after a PeerGone.
    // 0 or -Error (open_path's; kTooLarge for a longer path).
    int64_t open(Handle dir, const char* path, uint64_t length, Retry retry);
    // A check of each new handle before anything is sent again on it: whether the path still
    // names the same thing (the block client: a device of the same geometry; a partition table
    // rewritten between two starts of the driver would put the same name at another place, and
    // a write sent again would land there). 0, or the -Error io() then answers: the handle is
    // closed and every later io() opens and checks again.
    using Check = int64_t (*)(Handle fresh, void* context);
    void set_check(Check check, void* context) {
        check_ = check;
        check_context_ = context;
    }
    // The current handle (0 when closed or when a reopen failed).
    Handle handle() const { return handle_; }
    // do_io on the handle; on PeerGone, reopens (see reopen) and sends the operation again
    // when `retry` covers it, for at most timeout_ns in all. Its result, or -Error: PeerGone for
    // any other operation (the handle is new again) or when the service did not come back in time;
    // the check's error (set_check); what do_io answers otherwise.
    int64_t io(Op op, void* buffer, uint64_t length, uint64_t arg,
               uint64_t timeout_ns = kDefaultTimeoutNs);
    // Closes the handle and opens the path again, every 2 ms while it is NotFound (the
    // service is down: init removed its name) or PeerGone (a path below the name still reached
    // the dead object), for at most timeout_ns. 0 or -Error.
    int64_t reopen(uint64_t timeout_ns = kDefaultTimeoutNs);
    void close();

    // How often io() sent an operation again and how often the handle was opened again.
    uint64_t retries() const { return retries_; }
    uint64_t reopens() const { return reopens_; }

    static constexpr uint64_t kMaxPath = 128;
    static constexpr uint64_t kDefaultTimeoutNs = 10'000'000'000;

  private:
    Handle dir_ = 0;
    Handle handle_ = 0;
    char path_[kMaxPath] = {};
    uint64_t length_ = 0;
    Retry retry_ = Retry::kNothing;
    bool fresh_ = false;  // opened again after a PeerGone, nothing answered since
    Check check_ = nullptr;
    void* check_context_ = nullptr;
    uint64_t retries_ = 0, reopens_ = 0;
};

}  // namespace keel::user
