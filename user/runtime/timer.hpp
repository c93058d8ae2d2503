// Timer objects (docs/syscalls.md, "Timers"): thin wrappers over object_new and do_io. A queue
// waits for a timer by submitting an Op::kRead of 8 bytes on its handle.
#pragma once

#include "syscall.hpp"

namespace keel::user::timer {

// A new, disarmed timer (Read|Write|Share): the handle, or -Error.
inline int64_t create() {
    Handle h = 0;
    const int64_t r = sys::object_new(abi::Kind::kTimer, 0, &h);
    return r < 0 ? r : static_cast<int64_t>(h);
}
// Arms t for the monotonic time deadline_ns (sys::clock_ns()'s scale; 0 disarms), then every
// period_ns after it (0: once; else at least 100 us). Clears the expirations not yet read.
// 16, or -Error.
inline int64_t arm(Handle t, uint64_t deadline_ns, uint64_t period_ns = 0) {
    const abi::TimerSet set{deadline_ns, period_ns};
    return sys::do_io(t, Op::kWrite, &set, sizeof set);
}
// Waits for an expiration: the number since the last wait (>= 1), or -Error.
inline int64_t wait(Handle t) {
    uint64_t n = 0;
    const int64_t r = sys::do_io(t, Op::kRead, &n, sizeof n);
    return r < 0 ? r : static_cast<int64_t>(n);
}
// The expirations not yet read, without waiting (get_meta kSize), or -Error.
inline int64_t pending(Handle t) {
    uint64_t n = 0;
    const int64_t r =
        sys::do_io(t, Op::kGetMeta, &n, sizeof n, static_cast<uint64_t>(abi::Meta::kSize));
    return r < 0 ? r : static_cast<int64_t>(n);
}

}  // namespace keel::user::timer
