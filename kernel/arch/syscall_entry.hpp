// The `syscall` instruction's way into the kernel: MSR set-up and the per-CPU block that the
// entry stub (arch/syscall_entry.S) reaches through GS after `swapgs`.
#pragma once

#include <cstdint>

#include "arch/gdt.hpp"
#include "arch/idt.hpp"

namespace keel::syscall_entry {

// Read by syscall_entry.S at fixed offsets: keep the layout.
struct PerCpu {
    uint64_t user_rsp;    // gs:0, scratch while the stub switches stacks
    uint64_t kernel_rsp;  // gs:8, the running thread's kernel stack top
};
static_assert(sizeof(PerCpu) == 16);

// What syscall_entry.S saves on the thread's kernel stack, lowest address first (keep the
// layout): the number, the argument registers, rbp, and the user's rip, rflags and rsp.
// keel_syscall_dispatch gets a pointer to it and returns the result in rax.
struct SyscallFrame {
    uint64_t pad;
    uint64_t number;  // rax
    uint64_t rdi, rsi, rdx, r10, r8, r9, rbp;
    uint64_t rip;     // rcx
    uint64_t rflags;  // r11
    uint64_t rsp;
};
static_assert(sizeof(SyscallFrame) == 12 * 8);

// Enables syscall/sysret (EFER.SCE, STAR, LSTAR, SFMASK) and points the kernel GS base at this
// CPU's PerCpu. After gdt::init (reloading GS may clear its base).
void init();
namespace detail {
extern PerCpu g_percpu;  // this CPU's, behind GS in the kernel
}
// The kernel stack the next system call runs on, and the TSS's for interrupts from user mode
// (set on every thread switch: inline).
inline void set_kernel_stack(uint64_t rsp) {
    detail::g_percpu.kernel_rsp = rsp;
    gdt::set_kernel_stack(rsp);
}

}  // namespace keel::syscall_entry

// Enters user mode with the registers in *frame (built on the thread's kernel stack): the
// shared return path of interrupt_entry.S. Never returns.
extern "C" [[noreturn]] void keel_enter_user(keel::idt::InterruptFrame* frame);
