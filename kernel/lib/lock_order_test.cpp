// Kernel tests for the spin locks: interrupt state saved and restored (irqsave), and the
// lock-order checker reporting a planted violation with both names.
#include "lib/lock_order.hpp"

#include <keel/c/libc.hpp>
#include "arch/cpu.hpp"
#include "arch/percpu.hpp"
#include "lib/spin_lock.hpp"
#include "test/ktest.hpp"

namespace keel::lock_order {
namespace {

bool same(const char* a, const char* b) {
    return a != nullptr && strlen(a) == strlen(b) && memcmp(a, b, strlen(b)) == 0;
}

SpinLock g_outer{"test outer", LockRank::kTestOuter};
SpinLock g_inner{"test inner", LockRank::kTestInner};
SpinLock g_inner_twin{"test inner twin", LockRank::kTestInner};
// The big kernel lock's rank: not recorded in the held list (lock_order.cpp says why).
SpinLock g_outermost{"test outermost", LockRank::kBigKernel};

KTEST(spin_lock_saves_and_restores_the_interrupt_flag) {
    KASSERT(cpu::interrupts_enabled());
    {
        LockGuard outer(g_outer);
        KEXPECT(!cpu::interrupts_enabled());
        {
            LockGuard inner(g_inner);
            KEXPECT(!cpu::interrupts_enabled());
        }
        KEXPECT(!cpu::interrupts_enabled());  // the inner one found them off: stays off
    }
    KEXPECT(cpu::interrupts_enabled());
    cpu::disable_interrupts();
    { LockGuard guard(g_outer); }
    KEXPECT(!cpu::interrupts_enabled());  // taken with them off: not turned on by the release
    cpu::enable_interrupts();
}

KTEST(lock_order_accepts_the_documented_order) {
    const Violation before = last_violation();
    const uint32_t held = percpu::current().held_count;
    {
        LockGuard outer(g_outer);
        KEXPECT_EQ(percpu::current().held_count, held + 1);
        LockGuard inner(g_inner);
        KEXPECT_EQ(percpu::current().held_count, held + 2);
        KEXPECT(percpu::current().held_locks[held + 1] == &g_inner);
    }
    KEXPECT_EQ(percpu::current().held_count, held);
    KEXPECT_EQ(last_violation().count, before.count);
}

// The planted violations: a lower rank under a higher one, and two locks of one rank.
KTEST(lock_order_reports_a_planted_violation_with_both_names) {
    ExpectViolations expect;
    const uint64_t before = last_violation().count;
    const uint32_t held = percpu::current().held_count;
    {
        LockGuard inner(g_inner);
        LockGuard outer(g_outer);
    }
    Violation v = last_violation();
    KEXPECT_EQ(v.count, before + 1);
    KEXPECT(same(v.taking, "test outer"));
    KEXPECT(same(v.held, "test inner"));
    {
        LockGuard inner(g_inner);
        LockGuard twin(g_inner_twin);
    }
    v = last_violation();
    KEXPECT_EQ(v.count, before + 2);
    KEXPECT(same(v.taking, "test inner twin"));
    KEXPECT(same(v.held, "test inner"));
    // Released out of order: reported, and the record stays consistent. (Interrupts off
    // throughout: the outer release would otherwise turn them on with the inner lock held.)
    cpu::disable_interrupts();
    g_outer.lock();
    g_inner.lock();
    g_outer.unlock();
    KEXPECT_EQ(last_violation().count, before + 3);
    KEXPECT(same(last_violation().taking, "test outer"));
    g_inner.unlock();
    cpu::enable_interrupts();
    KEXPECT_EQ(percpu::current().held_count, held);
}

// The outermost rank is checked without being recorded: taking it or releasing it while
// another lock is held is reported with both names all the same.
KTEST(lock_order_reports_the_outermost_lock_taken_or_released_inside_another) {
    ExpectViolations expect;
    const uint64_t before = last_violation().count;
    const uint32_t held = percpu::current().held_count;
    cpu::disable_interrupts();
    g_outermost.lock();
    KEXPECT_EQ(percpu::current().held_count, held);
    g_outermost.unlock();
    if (held == 0)  // nothing held around it: no report
        KEXPECT_EQ(last_violation().count, before);
    const uint64_t quiet = last_violation().count;
    g_inner.lock();
    g_outermost.lock();
    KEXPECT_EQ(last_violation().count, quiet + 1);
    KEXPECT(same(last_violation().taking, "test outermost"));
    KEXPECT_EQ(percpu::current().held_count, held + 1);
    g_outermost.unlock();
    KEXPECT_EQ(last_violation().count, quiet + 2);
    KEXPECT(same(last_violation().taking, "test outermost"));
    KEXPECT(same(last_violation().held, "test inner"));
    g_inner.unlock();
    cpu::enable_interrupts();
    KEXPECT_EQ(percpu::current().held_count, held);
}

}  // namespace
}  // namespace keel::lock_order
