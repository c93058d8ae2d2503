#include "panic.hpp"

#include <cstdarg>

#include "arch/cpu.hpp"
#include "debug/backtrace.hpp"
#include "log/log.hpp"

namespace keel {

void qemu_exit(QemuExit code) {
    cpu::disable_interrupts();
    cpu::outb(0xf4, static_cast<uint8_t>(code));
    for (;;)
        cpu::halt();
}

namespace {
[[noreturn]] void vpanic(bool backtrace, const char* fmt, va_list args) {
    cpu::disable_interrupts();
    static bool g_in_panic = false;
    if (g_in_panic)
        qemu_exit(QemuExit::kFailure);  // a panic while panicking: just stop
    g_in_panic = true;
    log::print("\n*** KERNEL PANIC: ");
    log::vprint(fmt, args);
    log::print("\n");
    if (backtrace)
        debug::print_backtrace(reinterpret_cast<uint64_t>(__builtin_frame_address(0)));
    qemu_exit(QemuExit::kFailure);
}
}  // namespace

void panic(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vpanic(true, fmt, args);
}

void panic_after_report(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vpanic(false, fmt, args);
}

}  // namespace keel
