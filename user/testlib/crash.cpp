#include "crash.hpp"

namespace keel::testlib {

void CrashLog::observe(bool up) {
    const uint64_t now = user::sys::clock_ns();
    if (up && down_) {
        const int n = crashes_.load();
        if (n <= kMax)
            restore_ns_[n - 1] = now - down_at_;
        down_ = false;
    } else if (!up && !down_) {
        down_ = true;
        down_at_ = now;
        crashes_.fetch_add(1);
    }
}

bool CrashLog::wait(const char* who, uint64_t want, uint64_t seconds, int count,
                    uint64_t (*last)(int client), uint64_t hang_ns, uint64_t* ran_ms) const {
    const uint64_t start = user::sys::clock_ns();
    bool hang = false;
    while (static_cast<uint64_t>(crashes()) < want &&
           user::sys::clock_ns() - start < seconds * 1'000'000'000 && !hang) {
        (void)user::sys::sleep_ns(50'000'000);
        const uint64_t now = user::sys::clock_ns();
        for (int i = 0; i < count; ++i) {
            const uint64_t at = last(i);
            if (now > at && now - at > hang_ns) {
                user::print("%s: client %d: no progress for %lu s\n", who, i,
                            hang_ns / 1'000'000'000);
                hang = true;
            }
        }
    }
    *ran_ms = (user::sys::clock_ns() - start) / 1'000'000;
    return !hang;
}

int CrashLog::report(const char* who) const {
    const int n = crashes() < kMax ? crashes() : kMax;
    uint64_t times[kMax];
    int measured = 0;
    for (int i = 0; i < n; ++i) {
        if (restore_ns_[i] == 0)
            continue;
        int k = measured++;  // insertion sort: at most kMax
        while (k > 0 && times[k - 1] > restore_ns_[i]) {
            times[k] = times[k - 1];
            --k;
        }
        times[k] = restore_ns_[i];
    }
    if (measured > 0) {
        user::print(
            "%s: crash to service restored: median %lu ms, worst %lu ms (%d crashes "
            "measured)\n",
            who, times[measured / 2] / 1'000'000, times[measured - 1] / 1'000'000, measured);
    }
    return measured;
}

}  // namespace keel::testlib
