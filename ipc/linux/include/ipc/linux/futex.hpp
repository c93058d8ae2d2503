// Futex wait/wake on a 32-bit word in a MAP_SHARED mapping. Shared (not FUTEX_PRIVATE_FLAG)
// futexes, because the sleeper and the waker are different processes: the kernel keys them by
// the mapped file and offset, not by address.
#pragma once

#include <atomic>
#include <cstdint>

namespace keel::ipc::linux_transport {

// Sleeps while *word == expected, at most timeout_ms (< 0: no limit). Returns 0 when woken or
// on a spurious wake-up, -EAGAIN if *word != expected on entry, -ETIMEDOUT, -EINTR. The
// caller re-checks its condition in every case.
int futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected, int timeout_ms);

// Wakes up to `count` sleepers on word. Returns how many woke, or -errno.
int futex_wake(const std::atomic<std::uint32_t>* word, int count);

// For closing: a close changes no futex word, so a sleeper that checked the closed flag just
// before it was set, and has not yet entered futex_wait, would miss a single wake-up. So wake
// `word` repeatedly, pausing briefly, until the peer's `sleeping` flag drops (it clears it on
// every return from futex_wait), for at most about max_ms. O(1) if the peer is not asleep.
void wake_until_awake(const std::atomic<std::uint32_t>& sleeping,
                      const std::atomic<std::uint32_t>* word, int max_ms);

}  // namespace keel::ipc::linux_transport
