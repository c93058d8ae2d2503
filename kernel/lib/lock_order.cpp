#include "lib/lock_order.hpp"

#include "arch/percpu.hpp"
#include "lib/spin_lock.hpp"
#include "log/log.hpp"
#include "panic.hpp"

namespace keel::lock_order {

namespace {

// Violations are rare and the tests read them from the CPU that planted them: plain globals,
// written with interrupts off.
Violation g_last{nullptr, nullptr, 0};
// ExpectViolations scopes alive, per CPU index (a test runs on one CPU).
uint32_t g_expecting[percpu::kMaxCpus];

[[gnu::noinline, gnu::cold]] void report(const SpinLock& taking, const char* held_name,
                                         unsigned held_rank, const char* what) {
    percpu::PerCpu& c = percpu::current();
    g_last = {taking.name(), held_name, g_last.count + 1};
    log::error("lock order: cpu %u %s %s (rank %u) while holding %s (rank %u)", c.index, what,
               taking.name(), static_cast<unsigned>(taking.rank()), held_name, held_rank);
    if (g_expecting[c.index] == 0) {
        // Forgets what this CPU holds: whatever lock the panic's report takes must not be
        // reported again (a panic inside the panic would lose the first report's backtrace).
        c.held_count = 0;
        panic("lock order violated: %s after %s", taking.name(), held_name);
    }
}

// Every other lock: checked against each lock held, then recorded.
[[gnu::noinline]] void acquire_ranked(const SpinLock& lock, percpu::PerCpu& c) {
    for (uint32_t i = 0; i < c.held_count && i < percpu::kMaxHeldLocks; ++i) {
        const SpinLock& held = *c.held_locks[i];
        if (held.rank() >= lock.rank())
            report(lock, held.name(), static_cast<unsigned>(held.rank()), "takes");
    }
    if (c.held_count < percpu::kMaxHeldLocks)
        c.held_locks[c.held_count] = &lock;
    else
        report(lock, "more locks than the checker records", percpu::kMaxHeldLocks, "takes");
    ++c.held_count;
}

[[gnu::noinline]] void release_ranked(const SpinLock& lock, percpu::PerCpu& c) {
    if (c.held_count > percpu::kMaxHeldLocks) {
        --c.held_count;  // deeper than recorded: already reported when taken
        return;
    }
    uint32_t i = c.held_count;
    while (i > 0 && c.held_locks[i - 1] != &lock)
        --i;
    if (i == 0) {
        report(lock, "nothing of that name", 0, "releases a lock it does not hold:");
        return;
    }
    if (i != c.held_count) {
        const SpinLock& inner = *c.held_locks[c.held_count - 1];
        report(lock, inner.name(), static_cast<unsigned>(inner.rank()), "releases (out of order)");
    }
    for (; i < c.held_count; ++i)  // drops it from wherever it is: one report, no cascade
        c.held_locks[i - 1] = c.held_locks[i];
    --c.held_count;
}

// The big kernel lock taken or released with another lock held (the held list's first or last).
[[gnu::noinline, gnu::cold]] void report_outermost(const SpinLock& lock, percpu::PerCpu& c,
                                                   bool taking) {
    const uint32_t n = c.held_count < percpu::kMaxHeldLocks ? c.held_count : percpu::kMaxHeldLocks;
    const SpinLock& held = *c.held_locks[taking ? 0 : n - 1];
    report(lock, held.name(), static_cast<unsigned>(held.rank()),
           taking ? "takes" : "releases (out of order)");
}

}  // namespace

// The big kernel lock (rank kBigKernel, the lowest) is taken at every kernel entry and held
// across switches, so it is not recorded: recording it, with the checks inlined into one
// function, cost 77 guest instructions per system call (B7 null_syscall 93 -> 230 with SMP
// stage 2). Nothing may be held when it is taken, nor when it is released: one comparison
// each gives the checker's verdict. The slow paths are out of line so that this one saves no
// registers.
void acquire(const SpinLock& lock) {
    percpu::PerCpu& c = percpu::current();
    if (lock.rank() != LockRank::kBigKernel)
        acquire_ranked(lock, c);
    else if (c.held_count != 0)
        report_outermost(lock, c, true);
}

void release(const SpinLock& lock) {
    percpu::PerCpu& c = percpu::current();
    if (lock.rank() != LockRank::kBigKernel)
        release_ranked(lock, c);
    else if (c.held_count != 0)
        report_outermost(lock, c, false);
}

Violation last_violation() {
    return g_last;
}

ExpectViolations::ExpectViolations() {
    ++g_expecting[percpu::current().index];
}
ExpectViolations::~ExpectViolations() {
    --g_expecting[percpu::current().index];
}

}  // namespace keel::lock_order
