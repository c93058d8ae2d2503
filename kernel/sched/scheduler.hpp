// Preemptive round-robin scheduling, one run queue per CPU. The rule that keeps the kernel
// simple: kernel code runs with interrupts off (system calls enter with IF cleared by SFMASK and
// never set it) under the big kernel lock (sched/big_lock.hpp), so the kernel is never
// preempted and runs on one CPU at a time; user code is preempted by each CPU's LAPIC timer
// (10 ms slices, and at every timer interrupt: one that wakes a thread lets it run at once),
// and an idle CPU halts with interrupts on. A thread leaves the CPU inside the kernel only by
// blocking, yielding, exiting or at a preemption point of a long loop (sched/preempt.hpp:
// after 100 µs of kernel time interrupts are let in for one instruction, and the other ready
// threads run first when there are any).
//
// SMP (issue 22, stage 2): every CPU that came online runs threads (the kernel command-line
// word `smp=boot` keeps them on the boot CPU, as do the kernel tests). A thread made ready goes
// to its last CPU if that one idles; one woken by a thread of its own last CPU stays there (the
// waker most often blocks next); else to an idle CPU (woken by a reschedule IPI), else to its
// last CPU's queue. A CPU whose queue is empty steals the oldest thread of the longest queue
// before it idles, and the boot CPU's tick wakes an idle CPU while a thread waits behind another.
// Each queue is round-robin, as the one queue was. A thread's affinity mask (set_affinity)
// bounds all of this: it is queued, stolen and switched to only on a CPU of its mask.
//
// The LAPIC timer is one-shot: each interrupt fires the deadlines that are due (sched/
// deadline.hpp: blocked threads' timeouts, armed timer objects) and programs its CPU's next one
// for the earliest of the slice's end and the earliest deadline. Each CPU has a deadline list
// of its own, for what was armed on it, and its timer serves that list alone: a deadline wakes
// the one CPU that armed it (a thread's own timeout, a timer armed by the thread that waits for
// it: that thread's CPU, which runs it without an IPI), not every idle CPU. Arming an earlier
// deadline reprograms the calling CPU's timer. Deadlines are met to within lapic::kMinDelayNs
// plus the interrupt latency, not at the next 10 ms tick.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"
#include "arch/percpu.hpp"
#include "proc/account.hpp"
#include "sched/deadline.hpp"
#include "sched/thread.hpp"

namespace keel::sched {

inline constexpr uint64_t kKernelStackPages = 4;
// What a user thread charges its process's account: one thread and its kernel stack. A polling
// queue's kernel thread charges its queue's owner the same (obj/queue_poller.hpp).
inline constexpr proc::Usage kThreadCharge{kKernelStackPages, 0, 1};

// Whether application processors run threads (not `smp=boot`): set once, before smp::start_aps
// (an AP that comes online then waits for init() and enters run_ap()).
void set_all_cpus(bool on);
bool all_cpus();
// Turns the boot context into the boot CPU's idle thread, hooks the timer, the reschedule and
// TLB shootdown IPIs, and lets the APs in. Once, after the heap and the LAPIC are up. The
// caller then takes the big kernel lock (its tests or its idle loop run holding it).
void init();
// From the boot thread, holding the big kernel lock: runs the ready threads forever, halting
// when none is ready.
[[noreturn]] void run_idle();
// An application processor, online, interrupts off (all_cpus()): its boot context becomes
// its idle thread, its timer starts, and it runs threads.
[[noreturn]] void run_ap();
// Logs the big kernel lock's use and each CPU's switches to threads (when init ends).
void log_cpu_use();

inline Thread* current() {
    return percpu::current().thread;
}
// Makes t runnable (it must be new or blocked), on the CPU chosen as above.
void make_ready(Thread* t);
// t runs (user code, most likely) on another CPU: sends it there a reschedule IPI, so that it
// enters the kernel and sees what changed (its process ending) now rather than at its next
// timer interrupt.
void kick(Thread* t);
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
// When other threads wait for this CPU: lets them run, and the caller goes on at once on an idle
// CPU of its affinity if there is one, else after them here. For a polling queue's poller, which
// serves a thread that may be one of those: queued behind it, each would wait out the other's
// slice.
void yield_aside();
// Whether another thread waits for this CPU (a long call's preemption point yields then).
bool others_ready();
// Whether the running thread's affinity has left this CPU out (set_affinity from another CPU
// while it ran here): a preemption point yields then, and the thread moves.
bool outside_affinity();
// How many CPUs take threads from the run queues, or will once they entered their idle loop
// (1 under smp=boot or on one CPU).
uint32_t cpus_running_threads();
// Sets the CPUs that may run t (bit i: CPU i): kInvalidArgument when none of them runs threads
// (under smp=boot only the boot CPU does). Takes effect at once: a queued t moves to a queue it
// may run from, a t running elsewhere is sent a reschedule IPI and moves on it, and when t is
// the caller, the call returns on one of its CPUs. A blocked t goes to one when woken.
Result<void> set_affinity(Thread* t, uint64_t mask);
// Ends the current thread: records info, wakes joiners, ends the process with its last thread.
[[noreturn]] void exit_current(const abi::ExitInfo& info);

// Monotonic nanoseconds since the LAPIC timer started.
uint64_t now_ns();

// The preemption slice of user threads.
inline constexpr uint64_t kSliceNs = 10'000'000;
// The reschedule IPI: wakes a halted CPU that was given a thread, or brings a CPU running user
// code into the kernel (kick). Its handler only acknowledges it.
inline constexpr uint8_t kRescheduleVector = 0x21;
// Arms d at monotonic time `at` in the calling CPU's deadline list (taking it out of whichever
// list held it): that CPU's timer interrupt calls its Fire once now_ns() >= at (never earlier).
// Reprograms the CPU's timer when d is its list's earliest. Under the big kernel lock; any CPU
// may disarm it.
void arm_deadline(Deadline& d, uint64_t at);
void disarm_deadline(Deadline& d);
// The earliest armed deadline of all CPUs' lists (kNever when none); for tests.
uint64_t earliest_deadline();

}  // namespace keel::sched
