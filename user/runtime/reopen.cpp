#include "reopen.hpp"

#include <keel/c/libc.hpp>

namespace keel::user {

namespace {
constexpr int64_t kPeerGone = -static_cast<int64_t>(abi::Error::kPeerGone);
constexpr int64_t kNotFound = -static_cast<int64_t>(abi::Error::kNotFound);
constexpr uint64_t kPauseNs = 2'000'000;
}  // namespace

int64_t Reopening::open(Handle dir, const char* path, uint64_t length, Retry retry) {
    close();
    if (length > kMaxPath)
        return -static_cast<int64_t>(abi::Error::kTooLarge);
    const int64_t h = open_path(dir, path, length);
    if (h < 0)
        return h;
    dir_ = dir;
    handle_ = static_cast<Handle>(h);
    memcpy(path_, path, length);
    length_ = length;
    retry_ = retry;
    return 0;
}

int64_t Reopening::reopen(uint64_t timeout_ns) {
    if (handle_ != 0)
        (void)sys::do_io(handle_, Op::kClose);
    handle_ = 0;
    const uint64_t until = sys::clock_ns() + timeout_ns;
    for (;;) {
        const int64_t h = open_path(dir_, path_, length_);
        if (h >= 0) {
            handle_ = static_cast<Handle>(h);
            ++reopens_;
            return 0;
        }
        // NotFound: the service is down (init removed its name); PeerGone: a path through the
        // name still reached the dead object (a file below a mount point).
        if ((h != kNotFound && h != kPeerGone) || sys::clock_ns() >= until)
            return h;
        (void)sys::sleep_ns(kPauseNs);
    }
}

int64_t Reopening::io(Op op, void* buffer, uint64_t length, uint64_t arg, uint64_t timeout_ns) {
    const uint64_t until = sys::clock_ns() + timeout_ns;
    for (;;) {
        const int64_t r = handle_ == 0 ? kPeerGone : sys::do_io(handle_, op, buffer, length, arg);
        if (r != kPeerGone) {
            fresh_ = false;
            return r;
        }
        const uint64_t now = sys::clock_ns();
        if (now >= until)
            return r;
        // A PeerGone on a handle opened again since the last one: the name still named the
        // dead object (init removes it moments after the end): a pause, not a busy loop.
        if (fresh_)
            (void)sys::sleep_ns(kPauseNs);
        if (reopen(until - now) < 0)
            return r;
        fresh_ = true;
        if (check_ != nullptr) {
            const int64_t e = check_(handle_, check_context_);
            if (e == kPeerGone) {  // gone again already: open (and check) once more
                close();
                continue;
            }
            if (e < 0) {
                close();
                return e;
            }
        }
        const bool again =
            op == Op::kRead || op == Op::kReadAt
                ? retry_ != Retry::kNothing
                : (op == Op::kWrite || op == Op::kSync) && retry_ == Retry::kPositioned;
        if (!again)
            return r;
        ++retries_;
    }
}

void Reopening::close() {
    if (handle_ != 0)
        (void)sys::do_io(handle_, Op::kClose);
    handle_ = 0;
}

}  // namespace keel::user
