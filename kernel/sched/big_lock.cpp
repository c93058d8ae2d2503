#include "sched/big_lock.hpp"

#include "arch/percpu.hpp"
#include "arch/tlb.hpp"
#include "lib/spin_lock.hpp"
#include "panic.hpp"

namespace keel::sched::big_lock {

namespace {
SpinLock g_lock{"big kernel lock", LockRank::kBigKernel};
}  // namespace

void acquire() {
    KEEL_ASSERT(!percpu::current().holds_big_lock);
    g_lock.lock_polling([] { tlb::answer_shootdown(); });
    percpu::current().holds_big_lock = true;
    // Kernel-half mappings removed while this CPU was away (user mode, halted): its TLB may
    // still hold them, and kernel code runs only from here on.
    tlb::catch_up_kernel_half();
}

void release() {
    percpu::PerCpu& c = percpu::current();
    KEEL_ASSERT(c.holds_big_lock);
    c.holds_big_lock = false;
    g_lock.unlock();
}

bool held() {
    return percpu::current().holds_big_lock;
}

}  // namespace keel::sched::big_lock
