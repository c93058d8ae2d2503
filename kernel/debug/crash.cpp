#include "debug/crash.hpp"

#include <keel/c/libc.hpp>
#include "lib/spin_lock.hpp"
#include "log/log.hpp"
#include "panic.hpp"

namespace keel::debug {

namespace {

// Kept out of line and recursive so that the backtrace has named frames to show.
[[gnu::noinline]] void touch_unmapped(volatile uint64_t* p) {
    *p = 0xdead;
}

[[gnu::noinline]] uint64_t recurse(uint64_t depth) {
    volatile uint8_t frame[512];
    frame[0] = static_cast<uint8_t>(depth);
    if (depth > (1ull << 40))
        return 0;  // never reached: the guard page stops us first
    return recurse(depth + 1) + frame[0];
}

// Writes past the end of its own buffer, over the canary the stack protector put after it:
// the return must not happen. (len is what a bad length check would pass on.)
[[gnu::noinline]] void overrun(volatile uint8_t* out, uint64_t len) {
    uint8_t buffer[16];
    for (uint64_t i = 0; i < len; ++i)
        reinterpret_cast<volatile uint8_t*>(buffer)[i] = static_cast<uint8_t>(0x41 + i);
    *out = buffer[0];
}

}  // namespace

void maybe_crash(const char* cmdline) {
    if (has_word(cmdline, "crash=page-fault")) {
        log::info("crash: writing to an unmapped kernel address on purpose");
        touch_unmapped(reinterpret_cast<volatile uint64_t*>(0xffffc90000000000ull));
    }
    if (has_word(cmdline, "crash=stack-overflow")) {
        log::info("crash: overflowing the boot stack into its guard page on purpose");
        recurse(0);
    }
    if (has_word(cmdline, "crash=stack-smash")) {
        log::info("crash: overrunning a stack buffer over its canary on purpose");
        volatile uint8_t sink = 0;
        overrun(&sink, 40);
        log::error("crash: the overrun returned: the stack protector is off");
    }
    if (has_word(cmdline, "crash=lock-order")) {
        log::info("crash: taking two locks against their order on purpose");
        static SpinLock inner{"crash inner", LockRank::kTestInner};
        static SpinLock outer{"crash outer", LockRank::kTestOuter};
        LockGuard a(inner);
        LockGuard b(outer);
        log::error("crash: the lock-order checker let it pass");
    }
    if (has_word(cmdline, "crash=panic"))
        panic("crash: panic requested on the command line");
}

}  // namespace keel::debug
