// spin_until_changed: a short busy wait on a shared counter before the futex sleep. When the
// peer runs on another core its answer usually lands within a few microseconds, far less than
// a sleep and a wake-up cost (10-20 us each in bench B6); when it does not, the spin gives up
// after kSpinNs and the caller sleeps as before. Private to the transport's sources.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace keel::ipc::linux_transport {

// How long to spin before sleeping: a few cross-core transfers (about 85 ns each on these
// machines) and well under one sleep/wake-up.
inline constexpr std::chrono::nanoseconds kSpinNs{4000};

// True as soon as *word differs from `seen` (acquire), false after kSpinNs without a change.
// The clock is read once every 32 checks: the loop itself stays a load and a pause.
inline bool spin_until_changed(const std::atomic<std::uint32_t>* word, std::uint32_t seen) {
    const auto end = std::chrono::steady_clock::now() + kSpinNs;
    for (;;) {
        for (int i = 0; i < 32; ++i) {
            if (word->load(std::memory_order_acquire) != seen) {
                return true;
            }
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (std::chrono::steady_clock::now() >= end) {
            return false;
        }
    }
}

}  // namespace keel::ipc::linux_transport
