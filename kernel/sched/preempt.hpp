// Bounded kernel work. The kernel runs with interrupts off (sched/scheduler.hpp), so a system
// call that does long work (zeroing 64 MiB for a memory object, loading a program, a 1 MiB
// copy or console write) would hold the CPU for all of it: timer ticks would collapse and every
// other thread would stall. Such loops call preempt_check() once per unit of work (a page, a
// chunk of bytes); after kPreemptAfterNs of kernel time without a chance to switch it becomes a
// preemption point: pending interrupts are let in (timer deadlines fire, devices are served),
// and when another thread is ready (woken by them or waiting already) the ready threads run
// before the loop continues: a long call yields to everyone, and a thread woken while it runs
// waits at most kPreemptAfterNs, not a time slice.
//
// At a preemption point the caller's state must be consistent and must hold: everything it
// uses is referenced (RefPtr) or owned by the call, never borrowed from a handle another
// thread may close; the loop's own results are published only after it. The caller's process
// may begin to end meanwhile: preempt_check() answers true then, and the loop gives up.
//
// Measured: the longest stretch the CPU spent in a system call without a chance to switch
// (from entry, the last preemption point or the switch back to the thread, to the exit, the
// next preemption point or a switch away), with the call's number; get_meta kKernelTime on the
// process table reads it (abi::KernelTime) and starts it again. The stated bound is kKernelBoundNs.
// The system-call path pays for the measurement only once a program asked for it: the first
// kKernelTime read turns it on (its own answer covers nothing; user/boundtest reads once first).
// Until then a stretch's start is the last switch or preemption point, so a long call's first
// preempt_check may offer the CPU at once: harmless, and the loop's later ones keep the pace.
#pragma once

#include <keel/syscall_abi.hpp>

#include <cstdint>

#include "arch/cpu.hpp"
#include "arch/percpu.hpp"
#include "sched/thread.hpp"

namespace keel::sched {

// A long loop offers the CPU after this much kernel time.
inline constexpr uint64_t kPreemptAfterNs = 100'000;
// The stated bound (docs/syscalls.md): no system call holds the CPU longer than this without
// a chance to switch (guest time; measured under QEMU -icount by user/boundtest). The largest
// piece not split is a queue's teardown (its 4 MiB kernel window unmapped): about 0.85 ms.
inline constexpr uint64_t kKernelBoundNs = 1'000'000;

// Each CPU's stretch is in its per-CPU block (segment_start, in_syscall, no_preempt); the
// record of the longest is global (under the big kernel lock).
namespace detail {
extern uint64_t g_segment_budget;  // kPreemptAfterNs in TSC cycles (never, before init)
extern uint64_t g_longest;         // the longest stretch so far, in TSC cycles
extern bool g_measuring;           // a kKernelTime read turned the system-call path's part on
void measure_exit();               // syscall_exit's part while measuring
void record(uint64_t length);      // a new longest stretch, in the running call
void close_segment(uint64_t now);
bool preempt_point();
}  // namespace detail

// Once, when the TSC is calibrated (sched::init).
void preempt_init(uint64_t tsc_per_ms);

// The system-call entry and exit (keel_syscall_dispatch): a store and a test each; the rdtsc
// only while measuring. c: the calling CPU's block.
inline void syscall_enter(percpu::PerCpu& c, uint64_t number) {
    c.in_syscall = number + 1;
    if (detail::g_measuring) [[unlikely]]
        c.segment_start = cpu::rdtsc();
}
inline void syscall_enter(uint64_t number) {
    syscall_enter(percpu::current(), number);
}
inline void syscall_exit(percpu::PerCpu& c) {
    if (detail::g_measuring) [[unlikely]]
        detail::measure_exit();
    c.in_syscall = 0;
}
inline void syscall_exit() {
    syscall_exit(percpu::current());
}

// In a long loop, once per unit of work: cheap until the budget is spent, then a preemption
// point. True when the calling thread's process has begun to end (give up: the answer is
// never seen).
inline bool preempt_check() {
    if (cpu::rdtsc() - percpu::current().segment_start < detail::g_segment_budget) [[likely]]
        return false;
    return detail::preempt_point();
}

// A scope whose state is consistent only as a whole: preemption points inside it do nothing
// (the stretch goes on, measured at its end). Interrupt handlers run in one; a queue round's
// last pass may (obj/queue.cpp).
class NoPreempt {
  public:
    // Its scope never switches, so it ends on the CPU it began on.
    NoPreempt() { ++percpu::current().no_preempt; }
    ~NoPreempt() { --percpu::current().no_preempt; }
    NoPreempt(const NoPreempt&) = delete;
    NoPreempt& operator=(const NoPreempt&) = delete;
};

// The scheduler, around a switch: the stretch of the thread leaving ends, the one of the
// thread arriving (in a system call or not) begins, counted from the same moment (one rdtsc
// per switch; the switch itself goes to the arriving thread's stretch).
inline void segment_switch_out(Thread* prev) {
    percpu::PerCpu& c = percpu::current();
    const uint64_t now = cpu::rdtsc();
    if (c.in_syscall != 0 && now - c.segment_start > detail::g_longest) [[unlikely]]
        detail::record(now - c.segment_start);
    prev->in_syscall = c.in_syscall;
    c.segment_start = now;
}
inline void segment_switch_in(Thread* next) {
    percpu::current().in_syscall = next->in_syscall;
}

// Moves on each time a preemption point let anything else run (interrupt handlers, other
// threads): code that must know whether the world may have changed under it (a queue round's
// recorded wait queues) compares it before and after.
uint64_t preemption_epoch();

// The record (get_meta kKernelTime, which then starts it again with reset_kernel_time).
abi::KernelTime kernel_time();
void reset_kernel_time();

}  // namespace keel::sched
