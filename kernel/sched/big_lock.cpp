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

namespace detail {
std::atomic<bool> g_locked{false};
}  // namespace detail

namespace {
using detail::g_locked;
// Its name and rank for the lock-order checker's reports.
const SpinLock g_identity{"big kernel lock", LockRank::kBigKernel};
// Counted by the holder (under the lock): what waiting cost, for the log line at the end.
uint64_t g_contended = 0;
uint64_t g_wait_cycles = 0;
uint64_t g_handed = 0;
std::atomic<uint32_t> g_waiting{0};  // CPUs spinning for it
constexpr uint64_t kHandOffNs = 20'000;
}  // namespace

// Taken with interrupts on (checked with the lock-order checks: the fast path no longer saves
// and clears the flag), taken while this CPU holds it, let go while it does not, or taken or let
// go with another lock held (lock_order reports that one, with the other lock's name).
void detail::misuse(bool taking) {
    const percpu::PerCpu& c = percpu::current();
    if (taking && cpu::interrupts_enabled())
        panic("cpu %u takes the big kernel lock with interrupts on", c.index);
    if (c.holds_big_lock == taking)
        panic("cpu %u %s the big kernel lock while it %s", c.index, taking ? "takes" : "releases",
              taking ? "holds it" : "does not hold it");
    if (taking)
        lock_order::acquire(g_identity);
    else
        lock_order::release(g_identity);
}

void detail::wait_for_it() {
    const uint64_t start = cpu::rdtsc();
    g_waiting.fetch_add(1, std::memory_order_relaxed);
    do {
        // The holder may be waiting for this CPU to answer a shootdown (arch/tlb.hpp).
        tlb::answer_shootdown();
        cpu::pause();
    } while (g_locked.load(std::memory_order_relaxed) ||
             g_locked.exchange(true, std::memory_order_acquire));
    g_waiting.fetch_sub(1, std::memory_order_relaxed);
    ++g_contended;
    g_wait_cycles += cpu::rdtsc() - start;
}

void let_others_in() {
    if (g_waiting.load(std::memory_order_relaxed) == 0)
        return;
    // A test-and-set lock favours the CPU that just let go: wait (briefly) until a waiter
    // took it, so that a long call does not keep every other CPU out of the kernel.
    release();
    const uint64_t end = lapic::now_ns() + kHandOffNs;
    while (g_waiting.load(std::memory_order_relaxed) != 0 &&
           !g_locked.load(std::memory_order_relaxed) && lapic::now_ns() < end)
        cpu::pause();
    acquire();
    ++g_handed;
}

void log_stats() {
    const uint64_t per_ms = lapic::tsc_per_ms() != 0 ? lapic::tsc_per_ms() : 1;
    uint64_t acquired = 0;
    for (uint32_t i = 0; i < percpu::count(); ++i)
        acquired += percpu::cpu(i).big_lock_taken;
    log::info(
        "big kernel lock: %lu acquisitions, %lu waited for, %lu ms waiting in all, %lu "
        "handed over at preemption points",
        acquired, g_contended, g_wait_cycles / per_ms, g_handed);
}

}  // namespace keel::sched::big_lock
