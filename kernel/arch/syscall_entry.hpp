// The `syscall` instruction's way into the kernel: MSR set-up; the entry stub
// (arch/syscall_entry.S) reaches the CPU's percpu::PerCpu through GS after `swapgs`.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"
#include "arch/percpu.hpp"

namespace keel::syscall_entry {

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

// Enables syscall/sysret (EFER.SCE, STAR, LSTAR, SFMASK) on the calling CPU. After
// percpu::init_bsp / percpu::load, which point GS at the CPU's block.
void init();
// The kernel stack the next system call (and interrupt from user mode: the TSS's rsp0) on this
// CPU runs on. Set on every thread switch: inline.
inline void set_kernel_stack(uint64_t rsp) {
    percpu::PerCpu& c = percpu::current();
    c.kernel_rsp = rsp;
    c.tables.tss.rsp[0] = rsp;
}

}  // namespace keel::syscall_entry

// Enters user mode with the registers in *frame (built on the thread's kernel stack): the
// shared return path of interrupt_entry.S. Never returns.
extern "C" [[noreturn]] void keel_enter_user(keel::idt::InterruptFrame* frame);
