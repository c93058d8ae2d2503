// Kernel tests for timer objects through obj::perform (the path of do_io and the queues):
// arming, counting, periodic catch-up, bad input, timers dying armed without leaking; and for
// wait-queue watchers (rung by wake-ups, unlinked by a dying wait queue).
#include "obj/timer.hpp"

#include <utility>

#include "arch/cpu.hpp"
#include "mm/heap.hpp"
#include "obj/perform.hpp"
#include "proc/process.hpp"
#include "sched/scheduler.hpp"
#include "test/ktest.hpp"

namespace keel::obj {
namespace {

// The value of a success, or -error.
int64_t run(proc::Process& p, abi::Handle h, abi::Op op, void* data, uint64_t length,
            sched::WaitQueue** wait = nullptr) {
    Request req{op, 0, 0, IoBuffer::kernel(data, length), nullptr, nullptr};
    const Result<uint64_t> r = perform(p, h, req);
    if (wait != nullptr)
        *wait = req.wait;
    return r.ok() ? static_cast<int64_t>(r.value()) : -static_cast<int64_t>(r.error());
}
int64_t error(abi::Error e) {
    return -static_cast<int64_t>(e);
}
int64_t arm(proc::Process& p, abi::Handle h, uint64_t deadline, uint64_t period) {
    abi::TimerSet set{deadline, period};
    return run(p, h, abi::Op::kWrite, &set, sizeof set);
}

// Interrupts off: this runs like a system call (the deadline list is the interrupt's too).
KTEST(timer_object_arms_counts_and_refuses_bad_input) {
    cpu::disable_interrupts();
    auto created = proc::Process::create();
    KASSERT(created.ok());
    const RefPtr<proc::Process> p = std::move(created).value();
    auto timer = Timer::create();
    KASSERT(timer.ok());
    Timer& t = **timer;
    const abi::Handle h = *p->handles().insert(t, abi::kRightRead | abi::kRightWrite);
    const abi::Handle ro = *p->handles().insert(t, abi::kRightRead);
    uint64_t count = 0;
    sched::WaitQueue* wait = nullptr;
    // Nothing expired: would block, on the timer's queue.
    KEXPECT_EQ(run(*p, h, abi::Op::kRead, &count, 8, &wait), error(abi::Error::kWouldBlock));
    KEXPECT(wait != nullptr);
    KEXPECT_EQ(run(*p, h, abi::Op::kRead, &count, 7), error(abi::Error::kBufferTooSmall));
    // Bad TimerSets change nothing.
    abi::TimerSet set{1, 0};
    KEXPECT_EQ(run(*p, h, abi::Op::kWrite, &set, 15), error(abi::Error::kInvalidArgument));
    KEXPECT_EQ(run(*p, h, abi::Op::kWrite, &set, 17), error(abi::Error::kInvalidArgument));
    KEXPECT_EQ(arm(*p, h, sched::now_ns() + 1'000'000, kMinTimerPeriodNs - 1),
               error(abi::Error::kInvalidArgument));
    KEXPECT(!t.armed());
    KEXPECT_EQ(arm(*p, ro, 1, 0), error(abi::Error::kNoRights));
    // A past deadline expires at once; a periodic one counts every period since.
    KEXPECT_EQ(arm(*p, h, 1, 0), 16);
    KEXPECT(!t.armed());
    KEXPECT_EQ(run(*p, ro, abi::Op::kPeek, &count, 8), 8);
    KEXPECT_EQ(count, 1u);
    KEXPECT_EQ(run(*p, ro, abi::Op::kRead, &count, 8), 8);
    KEXPECT_EQ(count, 1u);
    KEXPECT_EQ(run(*p, h, abi::Op::kRead, &count, 8), error(abi::Error::kWouldBlock));
    // A period whose next expiry would pass the end of the clock: the timer stops after this
    // one (2^64 - 1 wrapped to a deadline in the past, which panicked the timer interrupt).
    KEXPECT_EQ(arm(*p, h, 1, ~0ull), 16);
    KEXPECT(!t.armed());
    KEXPECT_EQ(run(*p, h, abi::Op::kRead, &count, 8), 8);
    KEXPECT_EQ(count, 1u);
    const uint64_t now = sched::now_ns();
    KEXPECT_EQ(arm(*p, h, now - 1'000'000, 100'000), 16);  // 10 periods ago, and this one
    // A busy host may stall QEMU for a while between the two clock reads.
    const uint64_t after = sched::now_ns();
    KEXPECT(t.armed());
    const uint64_t next = sched::earliest_deadline();
    KEXPECT(next > now && next <= after + 100'000);
    KEXPECT_EQ(run(*p, h, abi::Op::kRead, &count, 8), 8);
    KEXPECT(count >= 11 && count <= (after - (now - 1'000'000)) / 100'000 + 1);
    // Re-arming resets the count; deadline 0 disarms.
    KEXPECT_EQ(arm(*p, h, 1, 0), 16);
    KEXPECT_EQ(arm(*p, h, now + 1'000'000'000, 0), 16);
    KEXPECT(t.armed());
    KEXPECT_EQ(run(*p, h, abi::Op::kRead, &count, 8), error(abi::Error::kWouldBlock));
    KEXPECT_EQ(arm(*p, h, 0, 0), 16);
    KEXPECT(!t.armed());
    KEXPECT_EQ(sched::earliest_deadline(), sched::kNever);
    timer->reset();  // the handles keep it
    cpu::enable_interrupts();
}

KTEST(timers_dying_armed_leave_nothing) {
    cpu::disable_interrupts();
    const heap::Stats before = heap::stats();
    {
        auto created = proc::Process::create();
        KASSERT(created.ok());
        const RefPtr<proc::Process> p = std::move(created).value();
        const uint64_t now = sched::now_ns();
        for (uint64_t i = 0; i < 50; ++i) {
            auto timer = Timer::create();
            KASSERT(timer.ok());
            const abi::Handle h = *p->handles().insert(**timer, abi::kRightWrite);
            KEXPECT_EQ(arm(*p, h, now + 1'000'000 * (i + 1), i % 2 == 0 ? 0 : 100'000), 16);
            if (i % 3 == 0)  // some through close, the rest with the process's handles
                KEXPECT_EQ(run(*p, h, abi::Op::kClose, nullptr, 0), 0);
        }
        KEXPECT(sched::earliest_deadline() < sched::kNever);
    }
    KEXPECT_EQ(sched::earliest_deadline(), sched::kNever);
    const heap::Stats after = heap::stats();
    KEXPECT_EQ(after.live_allocations, before.live_allocations);
    KEXPECT_EQ(after.mapped_bytes - after.free_bytes, before.mapped_bytes - before.free_bytes);
    cpu::enable_interrupts();
}

KTEST(watchers_ring_their_bell_and_die_with_the_watched) {
    cpu::disable_interrupts();
    sched::WaitQueue bell;
    sched::Watcher a, b;
    {
        sched::WaitQueue watched;
        a.watch(watched, bell);
        b.watch(watched, bell);
        KEXPECT(a.watching() && b.watching());
        KEXPECT_EQ(watched.wake_all(), 0u);  // no thread waits; the bell rang (nobody there)
        b.unwatch();
        KEXPECT(!b.watching());
    }  // the watched queue dies with a watcher linked
    KEXPECT(!a.watching());
    a.unwatch();  // harmless
    cpu::enable_interrupts();
}

}  // namespace
}  // namespace keel::obj
