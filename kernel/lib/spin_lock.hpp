// A spin lock that saves the interrupt flag, disables interrupts while held and restores the
// flag when released (irqsave), so an interrupt handler on the same CPU can never spin on a
// lock its own CPU holds. Each lock has a name and a rank, checked by lib/lock_order on every
// acquisition; nested locks must be released in reverse order (LockGuard does), since each
// restores the flag as its acquisition found it.
#pragma once

#include <atomic>

#include "arch/cpu.hpp"
#include "lib/lock_order.hpp"

namespace keel {

class SpinLock {
  public:
    constexpr SpinLock(const char* name, LockRank rank) : name_(name), rank_(rank) {}
    SpinLock(const SpinLock&) = delete;
    SpinLock& operator=(const SpinLock&) = delete;

    void lock() {
        lock_polling([] {});
    }
    // lock(), calling poll() on every turn of the spin (with interrupts off): the big kernel
    // lock answers TLB shootdowns while it waits (sched/big_lock.hpp).
    template <class Poll>
    void lock_polling(Poll poll) {
        const bool was_enabled = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        if constexpr (lock_order::kEnabled)
            lock_order::acquire(*this);
        while (locked_.exchange(true, std::memory_order_acquire)) {
            poll();
            cpu::pause();
        }
        restore_ = was_enabled;
    }
    void unlock() {
        const bool enable = restore_;
        if constexpr (lock_order::kEnabled)
            lock_order::release(*this);
        locked_.store(false, std::memory_order_release);
        if (enable)
            cpu::enable_interrupts();
    }

    const char* name() const { return name_; }
    bool locked() const { return locked_.load(std::memory_order_relaxed); }
    LockRank rank() const { return rank_; }

  private:
    std::atomic<bool> locked_{false};
    bool restore_ = false;  // written and read by the holder only
    const char* name_;
    LockRank rank_;
};

class LockGuard {
  public:
    explicit LockGuard(SpinLock& l) : lock_(l) { lock_.lock(); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

  private:
    SpinLock& lock_;
};

}  // namespace keel
