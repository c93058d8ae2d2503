#include "sched/big_lock.hpp"

#include <atomic>

#include "arch/cpu.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "arch/tlb.hpp"
#include "lib/spin_lock.hpp"
#include "log/log.hpp"
#include "panic.hpp"

namespace keel::sched::big_lock {

namespace {
SpinLock g_lock{"big kernel lock", LockRank::kBigKernel};
// Counted by the holder (under the lock): what it cost, for the log line at the end.
uint64_t g_acquired = 0;
uint64_t g_contended = 0;
uint64_t g_wait_cycles = 0;
uint64_t g_handed = 0;
std::atomic<uint32_t> g_waiting{0};  // CPUs spinning for it
constexpr uint64_t kHandOffNs = 20'000;
}  // namespace

void acquire() {
    KEEL_ASSERT(!percpu::current().holds_big_lock);
    uint64_t start = 0;
    g_lock.lock_polling([&start] {
        if (start == 0) {
            start = cpu::rdtsc();
            g_waiting.fetch_add(1, std::memory_order_relaxed);
        }
        tlb::answer_shootdown();
    });
    if (start != 0)
        g_waiting.fetch_sub(1, std::memory_order_relaxed);
    percpu::current().holds_big_lock = true;
    ++g_acquired;
    if (start != 0) {
        ++g_contended;
        g_wait_cycles += cpu::rdtsc() - start;
    }
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

void let_others_in() {
    if (g_waiting.load(std::memory_order_relaxed) == 0)
        return;
    // A test-and-set lock favours the CPU that just let go: wait (briefly) until a waiter
    // took it, so that a long call does not keep every other CPU out of the kernel.
    release();
    const uint64_t end = lapic::now_ns() + kHandOffNs;
    while (g_waiting.load(std::memory_order_relaxed) != 0 && !g_lock.locked() &&
           lapic::now_ns() < end)
        cpu::pause();
    acquire();
    ++g_handed;
}

void log_stats() {
    const uint64_t per_ms = lapic::tsc_per_ms() != 0 ? lapic::tsc_per_ms() : 1;
    log::info(
        "big kernel lock: %lu acquisitions, %lu waited for, %lu ms waiting in all, %lu "
        "handed over at preemption points",
        g_acquired, g_contended, g_wait_cycles / per_ms, g_handed);
}

}  // namespace keel::sched::big_lock
