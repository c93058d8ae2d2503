// A FIFO of blocked threads, and the watchers that want to hear of its wake-ups. Interrupts off
// (the kernel's one lock on its one CPU).
#pragma once

#include <cstdint>

namespace keel::sched {

class Thread;
class WaitQueue;

// A link from one wait queue (the watched: an object's, which an operation would block on) to
// another (the bell: a queue_wait sleeps on it). Every wake-up of the watched rings the bell,
// so one thread can sleep on many objects at once. The node is embedded in its owner (a
// queue's parked operation), so watching never allocates. Unlinked by unwatch(), by its own
// destructor, or by the watched queue's destructor (objects die while watched).
class Watcher {
  public:
    Watcher() = default;
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher() { unwatch(); }

    // Links this to `watched` (unlinking it first from any other), ringing `bell`. O(1).
    void watch(WaitQueue& watched, WaitQueue& bell);
    void unwatch();  // O(1); nothing when not linked
    bool watching() const { return watched_ != nullptr; }

  private:
    friend class WaitQueue;
    WaitQueue* watched_ = nullptr;
    WaitQueue* bell_ = nullptr;
    Watcher* next_ = nullptr;
    Watcher* prev_ = nullptr;
};

class WaitQueue {
  public:
    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;
    ~WaitQueue();  // wakes any waiters left, rings and unlinks the watchers

    // Wakes up to n waiters (oldest first) and rings every watcher's bell (a watcher only
    // retries, so it takes nothing from the n); returns how many waiters woke.
    uint64_t wake(uint64_t n);
    uint64_t wake_all() {
        ++rings_;
        return head_ != nullptr || watchers_ != nullptr ? wake(~0ull) : 0;
    }
    // How many times wake_all() was called, waiters or not: a thread that spins instead of
    // blocking (a polling queue's poller, obj/queue_poller.hpp) notices a ring by it. Written
    // under the big kernel lock; read without it (a stale value only delays the notice).
    uint64_t rings() const { return __atomic_load_n(&rings_, __ATOMIC_RELAXED); }
    bool empty() const { return head_ == nullptr; }        // no thread blocked (watchers aside)
    bool watched() const { return watchers_ != nullptr; }  // a queue_wait listens through it

    // Used by the scheduler only. push and pop are inline in sched/thread.hpp.
    inline void push(Thread* t);
    bool remove(Thread* t);
    inline Thread* pop();
    Thread* head() const { return head_; }

  private:
    friend class Watcher;
    Thread* head_ = nullptr;
    Thread* tail_ = nullptr;
    Watcher* watchers_ = nullptr;
    uint64_t rings_ = 0;
};

}  // namespace keel::sched
