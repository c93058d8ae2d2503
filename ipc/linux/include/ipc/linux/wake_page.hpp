// WakePage: the Linux transport's own shared page, in front of the queue region in the same
// memfd. It holds what the transport adds to the ipc ABI and nothing else: one "may be asleep"
// word per side. The ipc ABI (ipc/abi.hpp) is not touched; the futex words themselves are the
// ring tails there.
//
// Protocol (a Dekker pair; each side's store and load are ordered by a seq_cst fence):
//   sleeper: flag = 1; fence; if the tail still equals what it consumed: futex_wait(tail); flag = 0
//   waker:   publish tail; fence; if flag != 0: futex_wake(tail)
// Either the sleeper sees the new tail and does not sleep, or the waker sees the flag and
// wakes it. A hostile peer can only lie about its own flag, which delays only itself.
//
// Closing changes no tail, so the sleeper also re-checks the peer's closed flag (QueueHeader)
// after its fence, and the closing side wakes until the flag drops (wake_until_awake). A peer
// that dies changes nothing at all: sleepers wake at least every death_check_ms to look at
// the socket.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace keel::ipc::linux_transport {

inline constexpr std::uint32_t kWakeMagic = 0x574b4c4b;  // "KLKW" in memory order
inline constexpr std::size_t kWakePageSize = 4096;
// The queue region starts after the wake page: page aligned, so the 64-byte alignment the
// library requires holds in every mapping.
inline constexpr std::size_t kQueueOffset = kWakePageSize;

struct WakePage {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint8_t pad0[56];
    std::atomic<std::uint32_t> client_sleeping;  // the client may sleep on the cq tail
    std::uint8_t pad1[60];
    std::atomic<std::uint32_t> server_sleeping;  // the server may sleep on the sq tail
    std::uint8_t pad2[60];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(WakePage) == 192 && sizeof(WakePage) <= kWakePageSize);
static_assert(offsetof(WakePage, client_sleeping) == 64 &&
              offsetof(WakePage, server_sleeping) == 128);

}  // namespace keel::ipc::linux_transport
