#include "sched/preempt.hpp"

#include "proc/process.hpp"
#include "sched/big_lock.hpp"
#include "sched/scheduler.hpp"

namespace keel::sched {

uint64_t detail::g_segment_budget = ~0ull;
uint64_t detail::g_longest = 0;

namespace {
uint64_t g_tsc_per_ms = 0;
uint64_t g_longest_call = 0;  // the longest stretch's system call's number + 1
uint64_t g_preemptions = 0;   // preemption points reached
uint64_t g_switches = 0;      // of those, how many ran another thread
uint64_t g_epoch = 0;         // preemption points that let anything else run, never reset

uint64_t cycles_to_ns(uint64_t cycles) {
    if (g_tsc_per_ms == 0)
        return 0;
    // In two parts: no 128-bit division in the kernel (no __udivti3).
    return cycles / g_tsc_per_ms * 1'000'000 + cycles % g_tsc_per_ms * 1'000'000 / g_tsc_per_ms;
}
}  // namespace

void preempt_init(uint64_t tsc_per_ms) {
    g_tsc_per_ms = tsc_per_ms != 0 ? tsc_per_ms : 1;
    detail::g_segment_budget = g_tsc_per_ms * kPreemptAfterNs / 1'000'000;
}

bool detail::g_measuring = false;

void detail::measure_exit() {
    const uint64_t length = cpu::rdtsc() - percpu::current().segment_start;
    if (length > g_longest)
        record(length);
}

void detail::record(uint64_t length) {
    g_longest = length;
    g_longest_call = percpu::current().in_syscall;
}

void detail::close_segment(uint64_t now) {
    const percpu::PerCpu& c = percpu::current();
    if (c.in_syscall != 0 && now - c.segment_start > g_longest)
        record(now - c.segment_start);
}

bool detail::preempt_point() {
    Thread* t = current();
    // Only a running thread in a system call yields: not the boot/idle thread (kernel tests,
    // boot-time loads), not a dead thread, not inside a NoPreempt scope or an interrupt
    // (there the stretch simply goes on).
    {
        const percpu::PerCpu& c = percpu::current();
        if (c.in_syscall == 0 || c.no_preempt != 0 || t == nullptr ||
            t->state() != ThreadState::kRunning)
            return false;
    }
    close_segment(cpu::rdtsc());
    ++g_preemptions;
    ++g_epoch;
    // Due deadlines fire, devices are served. Their handlers may release objects whose
    // destructors reach preemption points: those do nothing (an interrupt never switches from
    // inside the kernel).
    ++percpu::current().no_preempt;
    cpu::interrupt_window();
    --percpu::current().no_preempt;
    big_lock::let_others_in();  // the other CPUs' kernel entries, as the interrupts here
    // outside_affinity: set_affinity's reschedule IPI, taken in the window above in kernel mode,
    // left the move to us (on_reschedule moves only a thread interrupted in user mode).
    if (others_ready() || outside_affinity()) {
        ++g_switches;
        yield();  // back when the others had their turn (segment_switch_in reopens)
    }
    percpu::current().segment_start = cpu::rdtsc();  // this thread's CPU now
    const proc::Process* p = t->process();
    return p != nullptr && p->ending();
}

uint64_t preemption_epoch() {
    return g_epoch;
}

abi::KernelTime kernel_time() {
    if (!detail::g_measuring) {
        detail::g_measuring = true;
        percpu::current().segment_start = cpu::rdtsc();  // this call's stretch, from here
    }
    abi::KernelTime k{};
    k.longest_ns = cycles_to_ns(detail::g_longest);
    k.longest_call = g_longest_call != 0 ? g_longest_call - 1 : ~0ull;
    k.bound_ns = kKernelBoundNs;
    k.preemption_points = g_preemptions;
    k.preemption_switches = g_switches;
    return k;
}

void reset_kernel_time() {
    detail::g_longest = 0;
    g_longest_call = 0;
    g_preemptions = 0;
    g_switches = 0;
}

}  // namespace keel::sched
