// The big kernel lock (issue 22, stage 2): the first SMP kernel runs user code on every CPU at
// once but kernel code on one CPU at a time, so the scheduler, wait queues, objects and
// processes keep the rule they were written for ("one CPU runs kernel code, interrupts off").
//
// A CPU takes it on every entry into the kernel from user mode (system call, interrupt,
// exception: arch/idt.cpp, syscall/syscalls.cpp), and its idle loop takes it to look for work;
// it lets go on every return to user mode and before it halts. A switch inside the kernel
// (a block, a yield, a preemption point) keeps it: the thread switched to continues holding it
// on this CPU. An interrupt taken in kernel mode by the holder (a preemption point's window,
// the kernel tests) needs nothing more; one arriving on another CPU waits for it, except the
// NMI, the double fault, the machine check and the TLB shootdown IPI, which never take it.
// While a CPU spins for it, it answers TLB shootdowns (arch/tlb.hpp): the holder may be
// waiting for exactly that CPU's answer.
//
// Outermost (rank LockRank::kBigKernel): the lock-order checker does not record it (it is
// taken at every kernel entry) but reports taking or releasing it with any other lock held, and
// a switch with any other lock held is reported. Its fast paths are inline, a test-and-set and
// two comparisons (detail below).
#pragma once

#include <atomic>

#include "arch/cpu.hpp"
#include "arch/percpu.hpp"
#include "arch/tlb.hpp"
#include "lib/lock_order.hpp"

namespace keel::sched::big_lock {

namespace detail {
// The lock word. Not a SpinLock: every kernel entry takes this lock, and interrupts are always
// off when it is taken (a system call clears IF on entry, an interrupt gate does, the idle loop
// disables them first), so SpinLock's irqsave and its call into the lock-order checker are pure
// cost here: with them the lock cost about 80 guest instructions per system call (bench row B7,
// `bench/run.py profile null_doio 200`); without them B7's null_syscall went 177 -> 126.
extern std::atomic<bool> g_locked;
[[gnu::noinline, gnu::cold]] void misuse(bool taking);
[[gnu::noinline]] void wait_for_it();
}  // namespace detail

// Interrupts off (they stay off). Not while this CPU holds it, nor with another lock held.
// c: the calling CPU's block (the system-call path loads it once and passes it: each
// percpu::current() is a load through GS the compiler may not merge). The system-call path
// also passes check_interrupts = false: the CPU cleared IF on the way in (SFMASK,
// arch/syscall_entry.cpp), so reading the flags there (pushf) would check the hardware.
inline void acquire(percpu::PerCpu& c, bool check_interrupts = true) {
    if (c.holds_big_lock ||
        (lock_order::kEnabled &&
         (c.held_count != 0 || (check_interrupts && cpu::interrupts_enabled())))) [[unlikely]]
        detail::misuse(true);
    if (detail::g_locked.exchange(true, std::memory_order_acquire)) [[unlikely]]
        detail::wait_for_it();
    c.holds_big_lock = true;
    ++c.big_lock_taken;
    // Kernel-half mappings removed while this CPU was away (user mode, halted): its TLB may
    // still hold them, and kernel code runs only from here on.
    tlb::catch_up_kernel_half(c);
}
inline void acquire() {
    acquire(percpu::current());
}
// Interrupts off. This CPU (c) must hold it, and no other lock.
inline void release(percpu::PerCpu& c) {
    if (!c.holds_big_lock || (lock_order::kEnabled && c.held_count != 0)) [[unlikely]]
        detail::misuse(false);
    c.holds_big_lock = false;
    detail::g_locked.store(false, std::memory_order_release);
}
inline void release() {
    release(percpu::current());
}
// Whether this CPU holds it.
inline bool held() {
    return percpu::current().holds_big_lock;
}
// At a preemption point (sched/preempt.hpp), whose contract already lets other kernel code run:
// when another CPU waits for the lock, lets go of it until one took it (or 20 µs passed), then
// takes it again. A long system call does not keep the other CPUs out of the kernel.
void let_others_in();
// Logs how often it was taken, how often a CPU had to wait and how long all waits took (when
// init ends, before the machine stops). Holding it.
void log_stats();

}  // namespace keel::sched::big_lock
