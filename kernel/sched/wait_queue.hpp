// A FIFO of blocked threads. Interrupts off (the kernel's one lock on its one CPU).
#pragma once

#include <cstdint>

namespace keel::sched {

class Thread;

class WaitQueue {
  public:
    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;
    ~WaitQueue();  // wakes any waiters left

    // Wakes up to n waiters (oldest first); returns how many.
    uint64_t wake(uint64_t n);
    uint64_t wake_all() { return head_ != nullptr ? wake(~0ull) : 0; }
    bool empty() const { return head_ == nullptr; }

    // Used by the scheduler only.
    void push(Thread* t);
    bool remove(Thread* t);
    Thread* pop();
    Thread* head() const { return head_; }

  private:
    Thread* head_ = nullptr;
    Thread* tail_ = nullptr;
};

}  // namespace keel::sched
