#include "crash.hpp"

#include <keel/c/mem.hpp>

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

bool crash_args(const user::StartInfo& start, uint64_t* crashes, uint64_t* seconds, char* word,
                uint64_t size) {
    char storage[128];
    const char* words[4];  // one more than allowed: split_args fails on too many words
    const int n =
        user::split_args(start.args, start.args_length, storage, sizeof storage, words, 4);
    word[0] = '\0';
    uint64_t* const out[2] = {crashes, seconds};
    for (int w = 0; w < n && w < 2; ++w) {
        uint64_t v = 0;
        const char* p = words[w];
        while (*p >= '0' && *p <= '9' && v < 1'000'000'000)
            v = v * 10 + static_cast<uint64_t>(*p++ - '0');
        if (*p == '\0' && p != words[w] && v > 0)
            *out[w] = v;
    }
    if (n == 3) {
        const uint64_t length = c::length(words[2]);
        if (length >= size)
            return false;
        c::copy(word, words[2], length + 1);
    }
    return n <= 3;
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
