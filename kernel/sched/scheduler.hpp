// Preemptive round-robin scheduling on the boot CPU. The rule that keeps the kernel simple:
// kernel code runs with interrupts off (system calls enter with IF cleared by SFMASK and never
// set it), so the kernel is never preempted; user code is preempted by the LAPIC timer (10 ms
// slices, and at every timer interrupt: one that wakes a thread lets it run at once), and the
// idle thread halts with interrupts on. A thread leaves the CPU inside the kernel only by
// blocking, yielding, exiting or at a preemption point of a long loop (sched/preempt.hpp: after
// 100 µs of kernel time interrupts are let in for one instruction, and the other ready threads
// run first when there are any).
//
// The LAPIC timer is one-shot: each interrupt fires the deadlines that are due (sched/
// deadline.hpp: blocked threads' timeouts, armed timer objects) and programs the next one for
// the earliest of the slice's end and the earliest deadline; arming an earlier deadline from a
// system call reprograms it. Deadlines are met to within lapic::kMinDelayNs plus the interrupt
// latency, not at the next 10 ms tick.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"
#include "sched/deadline.hpp"
#include "sched/thread.hpp"

namespace keel::sched {

// Turns the boot context into the idle thread and hooks the timer. Once, after the heap and
// the LAPIC are up.
void init();
// From the boot thread: runs the ready threads forever, halting when none is ready.
[[noreturn]] void run_idle();

namespace detail {
extern Thread* g_current;  // the running thread; set only by the scheduler
}
inline Thread* current() {
    return detail::g_current;
}
// Makes t runnable (it must be new or blocked).
void make_ready(Thread* t);
// Blocks the current thread on q (if not null) until woken, until the monotonic time
// `deadline` ns (if not 0; kTimedOut at once when it has passed), or until interrupted (its
// process is ending). Interrupts off.
WakeReason block(WaitQueue* q, uint64_t deadline);
// The direct switch (L4's call and reply-and-wait): block(q, deadline), except that the CPU
// goes straight to the oldest thread blocked on `from` (woken kWoken, its timeout disarmed),
// not through the ready queue; the other threads on `from` are woken as by from->wake_all()
// (its watchers rung). For a waker that left `from`'s wake-up to its caller because the caller
// blocks at once (a do_io forwarded to a server, a server's serve_sync). The switched-to
// thread runs the rest of the current thread's slice: the ready threads wait as long as they
// would have had the current thread run on. When the current thread does not block after all
// (its process is ending, the deadline has passed) or nobody waits on `from`, it is
// from->wake_all() and block(q, deadline).
WakeReason block_switch(WaitQueue* q, uint64_t deadline, WaitQueue& from);
// Wakes a blocked thread with the given reason (removing it from its queue).
void wake(Thread* t, WakeReason why);
void yield();
// Whether another thread waits for the CPU (a long call's preemption point yields then).
bool others_ready();
// Ends the current thread: records info, wakes joiners, ends the process with its last thread.
[[noreturn]] void exit_current(const abi::ExitInfo& info);

// Monotonic nanoseconds since the LAPIC timer started.
uint64_t now_ns();

// The preemption slice of user threads.
inline constexpr uint64_t kSliceNs = 10'000'000;
// Arms d at monotonic time `at` in the kernel's deadline list: the timer interrupt calls its
// Fire once now_ns() >= at (never earlier). Reprograms the timer when d is the earliest.
// Interrupts off.
void arm_deadline(Deadline& d, uint64_t at);
void disarm_deadline(Deadline& d);
// The earliest armed deadline (kNever when none); for tests.
uint64_t earliest_deadline();

}  // namespace keel::sched
