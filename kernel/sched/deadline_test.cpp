// Kernel tests for the deadline list (ordering, removal, re-arming from Fire, owners going
// away) and for the one-shot timer behind it: a deadline fires on time, from one interrupt.
#include "sched/deadline.hpp"

#include "arch/cpu.hpp"
#include "arch/lapic.hpp"
#include "log/log.hpp"
#include "sched/scheduler.hpp"
#include "test/ktest.hpp"

namespace keel::sched {
namespace {

struct Probe {
    int fired = 0;
    uint64_t when = 0;      // now_ns() inside the last Fire
    uint64_t armed_at = 0;  // the time the interrupt that fired it was programmed for
    uint64_t period = 0;    // re-arm this far after the due time when not 0
    int order_mark = 0;     // position in the firing order
};
int g_order = 0;

void fire_probe(Deadline& d, uint64_t now) {
    auto* p = static_cast<Probe*>(d.owner());
    ++p->fired;
    p->when = now;
    p->armed_at = lapic::armed_at();  // on_tick programs the next one after expire()
    p->order_mark = ++g_order;
}

KTEST(deadline_list_orders_and_expires) {
    DeadlineList list;
    Probe a, b, c;
    Deadline da(fire_probe, &a), db(fire_probe, &b), dc(fire_probe, &c);
    KEXPECT_EQ(list.earliest(), kNever);
    KEXPECT(list.insert(da, 300));
    KEXPECT(list.insert(db, 100));   // new earliest
    KEXPECT(!list.insert(dc, 300));  // after da: equal times keep their order
    KEXPECT_EQ(list.earliest(), 100u);
    g_order = 0;
    KEXPECT_EQ(list.expire(99), 0u);
    KEXPECT_EQ(list.expire(100), 1u);
    KEXPECT_EQ(b.fired, 1);
    KEXPECT(!db.armed());
    KEXPECT_EQ(list.earliest(), 300u);
    KEXPECT_EQ(list.expire(1000), 2u);
    KEXPECT(a.order_mark < c.order_mark);
    KEXPECT(list.empty());
    // Re-inserting moves a node; removing the middle one keeps the rest linked.
    KEXPECT(list.insert(da, 50));
    KEXPECT(!list.insert(db, 60));
    KEXPECT(!list.insert(dc, 70));
    KEXPECT(list.insert(dc, 10));
    KEXPECT_EQ(list.earliest(), 10u);
    list.remove(da);
    list.remove(da);  // not armed: nothing
    KEXPECT(!da.armed());
    KEXPECT_EQ(list.expire(100), 2u);
    KEXPECT_EQ(a.fired, 1);  // removed: not fired again
    KEXPECT(list.empty());
    // Insertion walks from the tail: removing the tail must leave a tail that new deadlines
    // (later, earlier, in between) link behind correctly.
    (void)list.insert(da, 10);
    (void)list.insert(db, 20);
    list.remove(db);
    KEXPECT(!list.insert(dc, 15));
    KEXPECT(!list.insert(db, 30));
    KEXPECT(!list.insert(da, 40));  // moved from head to tail: dc is the earliest now
    KEXPECT_EQ(list.earliest(), 15u);
    g_order = 0;
    KEXPECT_EQ(list.expire(100), 3u);
    KEXPECT(c.order_mark == 1 && b.order_mark == 2 && a.order_mark == 3);
    KEXPECT(list.empty());
}

// The scheduler keeps one list per CPU (a deadline goes into its arming CPU's list) and any CPU
// may disarm: a node re-armed on another CPU leaves the first list, the first list's remove
// and expire never touch it, and Deadline::disarm finds whichever list holds it.
KTEST(deadline_moves_between_lists_and_disarms_from_any) {
    DeadlineList cpu_a, cpu_b;
    Probe p, q;
    Deadline d(fire_probe, &p), other(fire_probe, &q);
    KEXPECT(cpu_a.insert(d, 100));
    KEXPECT(cpu_a.insert(other, 50));
    KEXPECT(cpu_b.insert(d, 200));  // re-armed on the other CPU: out of cpu_a
    KEXPECT_EQ(cpu_a.earliest(), 50u);
    cpu_a.remove(d);  // not cpu_a's: nothing, still armed in cpu_b
    KEXPECT(d.armed());
    KEXPECT_EQ(cpu_b.earliest(), 200u);
    KEXPECT_EQ(cpu_a.expire(1000), 1u);  // fires only its own
    KEXPECT_EQ(p.fired, 0);
    KEXPECT_EQ(q.fired, 1);
    d.disarm();
    KEXPECT(!d.armed());
    KEXPECT(cpu_b.empty());
    d.disarm();  // not armed: nothing
    KEXPECT_EQ(cpu_b.expire(1000), 0u);
    KEXPECT_EQ(p.fired, 0);
}

DeadlineList* g_rearm_list = nullptr;

KTEST(deadline_list_rearm_from_fire_and_owner_death) {
    DeadlineList list;
    g_rearm_list = &list;
    Probe p;
    p.period = 10;
    Deadline d(
        [](Deadline& self, uint64_t now) {
            auto* probe = static_cast<Probe*>(self.owner());
            ++probe->fired;
            if (probe->fired < 3)  // a periodic owner: the next expiry, after `now`
                (void)g_rearm_list->insert(self, now + probe->period);
        },
        &p);
    (void)list.insert(d, 5);
    KEXPECT_EQ(list.expire(5), 1u);
    KEXPECT_EQ(list.earliest(), 15u);
    KEXPECT_EQ(list.expire(15), 1u);
    KEXPECT_EQ(list.expire(100), 1u);  // the third stops re-arming
    KEXPECT_EQ(p.fired, 3);
    KEXPECT(list.empty());
    // An owner that dies armed takes its node out of the list.
    Probe q;
    Deadline keep(fire_probe, &q);
    (void)list.insert(keep, 40);
    {
        Deadline gone(fire_probe, &q);
        (void)list.insert(gone, 20);
        KEXPECT_EQ(list.earliest(), 20u);
    }
    KEXPECT_EQ(list.earliest(), 40u);
    KEXPECT_EQ(list.expire(100), 1u);
    KEXPECT_EQ(q.fired, 1);
}

// A deadline armed in the kernel's list fires from the one-shot timer, never before its time,
// from an interrupt programmed for it (not the end of a 10 ms slice). How late it fires is
// host noise under TCG (typically 0.1 ms; a busy host can stall QEMU for several ms), so it is
// logged and bounded only loosely; the interrupt's programmed time is the exact check.
KTEST(deadline_fires_on_time_from_one_shot_timer) {
    KASSERT(cpu::interrupts_enabled());
    for (const uint64_t delay : {300'000ull, 2'000'000ull}) {
        Probe p;
        Deadline d(fire_probe, &p);
        cpu::disable_interrupts();
        const uint64_t start_ticks = lapic::ticks();
        const uint64_t at = now_ns() + delay;
        arm_deadline(d, at);
        const uint64_t after = now_ns();  // later than `at` if the host stalled QEMU meanwhile
        const uint64_t aimed = (at > after ? at : after) + lapic::kMinDelayNs;
        KEXPECT(earliest_deadline() <= at);
        KEXPECT(lapic::armed_at() <= aimed);
        volatile int* fired = &p.fired;
        for (int i = 0; i < 1000 && *fired == 0; ++i)
            cpu::enable_and_halt();  // each hlt ends at the next interrupt
        cpu::disable_interrupts();
        disarm_deadline(d);  // only if it never fired: the test failed, d must not dangle
        cpu::enable_interrupts();
        KEXPECT_EQ(p.fired, 1);
        KEXPECT(p.when >= at);
        // Programmed for the deadline: exactly so when its interrupt was the first one. An
        // earlier interrupt (another source) re-programs the timer from its own now, which a
        // host that stalled QEMU inside that handler can put past `aimed` (seen once in CI).
        const uint64_t interrupts = lapic::ticks() - start_ticks;
        if (interrupts <= 1)
            KEXPECT(p.armed_at <= aimed);
        KEXPECT(p.when - at < 100'000'000);
        log::info("deadline test: %lu us ahead, fired %lu ns late, %lu interrupts", delay / 1000,
                  p.when - at, interrupts);
    }
}

}  // namespace
}  // namespace keel::sched
