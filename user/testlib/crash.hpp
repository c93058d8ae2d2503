// What the crash tests (blkcrash, fatcrash: issue 21) share: a count of a service's crashes as
// a monitor thread sees them, the main thread's wait for enough of them (watching the clients
// for a hang), and the crash-to-service-restored times.
#pragma once

#include <atomic>

#include "runtime.hpp"

namespace keel::testlib {

class CrashLog {
  public:
    static constexpr int kMax = 256;  // crashes whose restore time is kept

    // The monitor's step after each probe of the service (`up`: it answered): the first failure
    // after an answer is a crash, the next answer ends it. One thread only.
    void observe(bool up);
    int crashes() const { return crashes_.load(); }

    // The main thread: waits until `want` crashes were seen or `seconds` passed, checking every
    // 50 ms that each of the `count` clients made progress (last(i): the clock of client i's
    // last completion) within hang_ns; says which did not. False on a hang. *ran_ms gets the
    // time waited.
    bool wait(const char* who, uint64_t want, uint64_t seconds, int count,
              uint64_t (*last)(int client), uint64_t hang_ns, uint64_t* ran_ms) const;

    // Prints "WHO: crash to service restored: median N ms, worst N ms (N crashes measured)"
    // (a crash still going on when the monitor stopped is not measured); how many were.
    int report(const char* who) const;

  private:
    std::atomic<int> crashes_{0};
    bool down_ = false;
    uint64_t down_at_ = 0;
    uint64_t restore_ns_[kMax] = {};
};

// A crash test's arguments CRASHES SECONDS [WORD] (words as the shell quotes them:
// split_args): each number left as it is when absent or not a decimal number; WORD, the
// program's own (fatcrash's `driver`, netcrash's HOSTPORT), copied into `word` (empty when
// absent; at most size - 1 bytes). False when there are more words, or WORD does not fit.
bool crash_args(const user::StartInfo& start, uint64_t* crashes, uint64_t* seconds, char* word,
                uint64_t size);

}  // namespace keel::testlib
