// A spin lock that also disables interrupts while held, so an interrupt handler on the same
// CPU can never spin on a lock its own CPU holds.
#pragma once

#include <atomic>

#include "arch/cpu.hpp"

namespace keel {

class SpinLock {
  public:
    void lock() {
        const bool was_enabled = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        while (locked_.exchange(true, std::memory_order_acquire))
            cpu::pause();
        restore_ = was_enabled;
    }
    void unlock() {
        const bool enable = restore_;
        locked_.store(false, std::memory_order_release);
        if (enable)
            cpu::enable_interrupts();
    }

  private:
    std::atomic<bool> locked_{false};
    bool restore_ = false;
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
