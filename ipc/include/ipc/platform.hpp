// What ipc/ needs from its environment, and the two assertion tiers.
//
// The library's compiled code calls exactly one hook, keel::ipc::platform_panic, and only when
// one of its OWN invariants is broken (a bug in ipc/ or memory corruption in the caller's
// private storage), never because of anything the peer wrote. Each program that links ipc/
// defines the hook once by naming a type that satisfies the Platform concept:
//
//     struct KernelIpcPlatform { static void panic(const char*); static void log(const char*); };
//     KEEL_IPC_PLATFORM(KernelIpcPlatform)
//
// Waking a sleeping peer is the transport's business (futex, kernel wait queue), not the
// library's: a transport detects an optional `wake` ability with `requires`, see
// has_wake_hook below.
#pragma once

#include <concepts>

namespace keel::ipc {

template <class P>
concept Platform = requires(const char* message) {
    { P::panic(message) } -> std::same_as<void>;  // must not return
    { P::log(message) } -> std::same_as<void>;
};

// Optional: a platform that can wake a peer blocked on a ring counter.
template <class P>
concept has_wake_hook = Platform<P> && requires(const void* address) {
    P::wake(address);
};

// Defined by KEEL_IPC_PLATFORM in exactly one translation unit of each program.
[[noreturn]] void platform_panic(const char* message) noexcept;

}  // namespace keel::ipc

#define KEEL_IPC_PLATFORM(P)                                                       \
    static_assert(::keel::ipc::Platform<P>, #P " does not satisfy ipc::Platform"); \
    [[noreturn]] void keel::ipc::platform_panic(const char* message) noexcept {    \
        P::panic(message);                                                         \
        __builtin_trap();                                                          \
    }

#define KEEL_IPC_STR2(x) #x
#define KEEL_IPC_STR(x) KEEL_IPC_STR2(x)

// Always on: our own invariants. Never used on values the peer controls.
#define KEEL_IPC_ASSERT(cond)                                                           \
    do {                                                                                \
        if (!(cond)) [[unlikely]]                                                       \
            ::keel::ipc::platform_panic("ipc: assertion failed: " #cond " at " __FILE__ \
                                        ":" KEEL_IPC_STR(__LINE__));                    \
    } while (0)
