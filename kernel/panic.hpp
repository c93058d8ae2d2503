// The kernel's way out: panic prints, dumps a backtrace and stops the machine. Under QEMU it
// exits through isa-debug-exit with a failure code so a test run never hangs on a panic.
#pragma once

#include <cstdint>

namespace keel {

// Values written to isa-debug-exit (port 0xf4); QEMU exits with (value << 1) | 1.
enum class QemuExit : uint8_t {
    kSuccess = 0x10,  // exit code 33: all kernel tests passed / clean shutdown
    kFailure = 0x11,  // exit code 35: a kernel test failed, or a panic
};

// Leaves QEMU with the given code; on hardware (no debug-exit device) halts forever.
[[noreturn]] void qemu_exit(QemuExit code);

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// For callers that already printed a fuller report (the exception handler's register dump
// and backtrace): the same stop, without a second backtrace.
[[noreturn]] void panic_after_report(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Always-on assertion for the kernel's own invariants.
#define KEEL_ASSERT(cond)                                                             \
    do {                                                                              \
        if (!(cond))                                                                  \
            ::keel::panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
    } while (0)

}  // namespace keel
