#include "sched/scheduler.hpp"

#include <atomic>
#include <new>
#include <utility>

#include "arch/cpu.hpp"
#include "arch/gdt.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "arch/syscall_entry.hpp"
#include "arch/tlb.hpp"
#include "log/log.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"
#include "proc/process.hpp"
#include "sched/big_lock.hpp"
#include "sched/preempt.hpp"

extern "C" void keel_switch_context(uint64_t* save, uint64_t next_rsp);
extern "C" void keel_thread_start();

namespace keel::sched {

namespace {

// Global scheduler state, under the big kernel lock (the per-CPU part is in percpu::PerCpu).
Thread* g_all = nullptr;
uint64_t g_next_id = 1;
uint64_t g_last_now = 0;
// Every armed Deadline (thread timeouts, timer objects), in the list of the CPU that armed it:
// each CPU's one-shot timer serves its own list only (on_tick), so a deadline wakes one CPU, the
// one its waiter most often blocked on, which then runs it without an IPI. With one list for
// all CPUs, each CPU programmed its timer for the global earliest: every CPU that had ticked
// since woke for every deadline, all of them but one found nothing, and each took the big
// kernel lock twice on the way; under host load a spinning virtual CPU takes the host time the
// holder needs, and a queued 1 ms timer read came milliseconds late at -smp 4 (issue 22).
DeadlineList g_deadlines[percpu::kMaxCpus];
bool g_all_cpus = false;
std::atomic<bool> g_started{false};  // init() ran: APs may enter run_ap

percpu::PerCpu& here() {
    return percpu::current();
}

void push_ready(percpu::PerCpu& c, Thread* t) {
    t->next_ready = nullptr;
    t->cpu = c.index;
    if (c.ready_tail != nullptr)
        c.ready_tail->next_ready = t;
    else
        c.ready_head = t;
    c.ready_tail = t;
    ++c.ready_count;
}

// Takes t, which is in c's queue, out of it: O(1) for the head (pop_ready), a walk for another
// (set_affinity moving a queued thread, steal taking the first one that may run on its CPU).
void remove_ready(percpu::PerCpu& c, Thread* t) {
    Thread* prev = nullptr;
    for (Thread* p = c.ready_head; p != t; p = p->next_ready) {
        KEEL_ASSERT(p != nullptr);
        prev = p;
    }
    (prev != nullptr ? prev->next_ready : c.ready_head) = t->next_ready;
    if (c.ready_tail == t)
        c.ready_tail = prev;
    t->next_ready = nullptr;
    --c.ready_count;
}

Thread* pop_ready(percpu::PerCpu& c) {
    Thread* t = c.ready_head;
    if (t != nullptr)
        remove_ready(c, t);
    return t;
}

bool allowed(const Thread* t, uint32_t cpu) {
    return ((t->affinity >> cpu) & 1) != 0;
}

// The CPUs a thread may be given to: every CPU online since boot (an application processor not
// yet in its idle loop takes its queue when it enters it), or the boot CPU alone under smp=boot.
uint64_t usable_cpus() {
    if (!g_all_cpus)
        return 1;
    uint64_t mask = 0;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        if (percpu::cpu(i).state.load(std::memory_order_acquire) == percpu::CpuState::kOnline)
            mask |= uint64_t{1} << i;
    }
    return mask;
}

// Running its idle thread with nothing queued: halted, or about to look for work.
bool idle(const percpu::PerCpu& c) {
    return c.runs_threads && c.thread == c.idle && c.ready_count == 0;
}

void send_reschedule(const percpu::PerCpu& c) {
    if (&c != &here())
        (void)lapic::send_fixed(c.apic_id, kRescheduleVector);
}

// Where a thread made ready goes: its last CPU if idle; a thread woken by one that runs on its
// own last CPU stays there (a call and its answer, a lock handed over: the waker most often
// blocks next, and moving either costs an IPI and a cold cache on each exchange); else an
// idle CPU, else its last CPU. balance() moves what waits behind a busy CPU meanwhile.
// All of it within t's affinity: when its last CPU is not in it, the least loaded CPU that is.
percpu::PerCpu& pick_cpu(const Thread* t, bool woken) {
    percpu::PerCpu& self = here();
    percpu::PerCpu* last = &self;
    if (t->cpu < percpu::count() && percpu::cpu(t->cpu).runs_threads)
        last = &percpu::cpu(t->cpu);
    if (!g_all_cpus)
        return *last;  // the boot CPU, the one in every mask set_affinity lets through
    // A kernel thread (a polling queue's poller) serves a thread of another CPU, most often its
    // waker: it goes to an idle CPU when there is one rather than queue behind the waker.
    const bool beside_waker = woken && last == &self && t->process() != nullptr;
    const bool fits_last = allowed(t, last->index);
    if (fits_last && (idle(*last) || beside_waker))
        return *last;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        if (idle(percpu::cpu(i)) && allowed(t, i))
            return percpu::cpu(i);
    }
    if (fits_last)
        return *last;
    const uint64_t candidates = t->affinity & usable_cpus();
    percpu::PerCpu* best = nullptr;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        percpu::PerCpu& c = percpu::cpu(i);
        if (((candidates >> i) & 1) == 0)
            continue;
        if (best == nullptr ||
            (c.runs_threads && (!best->runs_threads || c.ready_count < best->ready_count)))
            best = &c;
    }
    KEEL_ASSERT(best != nullptr);  // set_affinity lets no mask through without a usable CPU
    return *best;
}

// On the boot CPU's tick: when a thread waits behind another while an idle CPU of its affinity
// could run it, that CPU is woken to take it (steal() in its idle loop). A thread waits behind
// another when its CPU runs a thread or it is not first in the queue: the one thread queued on
// an idle CPU is that CPU's to take (it was sent the IPI in make_ready, or it is the CPU whose
// tick is asking, about to run it). Counting any queued thread sent an IPI on nearly every tick
// that woke a thread onto the boot CPU itself: the other CPU woke, spun for the big kernel lock
// while the boot CPU ran that thread, and found nothing; so would waking a CPU the waiting
// thread's affinity keeps it from.
void balance() {
    uint64_t idle_cpus = 0;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        if (idle(percpu::cpu(i)))
            idle_cpus |= uint64_t{1} << i;
    }
    if (idle_cpus == 0)
        return;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        const percpu::PerCpu& c = percpu::cpu(i);
        if (!c.runs_threads)
            continue;
        Thread* t = c.ready_head;
        if (c.thread == c.idle && t != nullptr)
            t = t->next_ready;
        for (; t != nullptr; t = t->next_ready) {
            if (const uint64_t could = t->affinity & idle_cpus; could != 0) {
                send_reschedule(percpu::cpu(static_cast<uint32_t>(__builtin_ctzll(could))));
                return;
            }
        }
    }
}

// For the calling CPU, whose queue is empty: the oldest thread its affinity lets run here of
// the longest queue that holds one (load balancing), or nullptr.
Thread* steal() {
    const uint32_t self = here().index;
    percpu::PerCpu* from = nullptr;
    Thread* taken = nullptr;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        percpu::PerCpu& c = percpu::cpu(i);
        if (!c.runs_threads || c.ready_count == 0 ||
            (from != nullptr && c.ready_count <= from->ready_count))
            continue;
        for (Thread* t = c.ready_head; t != nullptr; t = t->next_ready) {
            if (allowed(t, self)) {
                from = &c;
                taken = t;
                break;
            }
        }
    }
    if (taken != nullptr)
        remove_ready(*from, taken);
    return taken;
}

// A thread made ready (new, woken, or moved off a CPU its affinity no longer has): onto the
// CPU pick_cpu chooses, which is woken if it idles.
void enqueue(Thread* t, bool woken) {
    percpu::PerCpu& c = pick_cpu(t, woken);
    const bool was_idle = idle(c);
    push_ready(c, t);
    // An idle CPU is halted (or about to be: it halts with interrupts on, so an IPI sent
    // between its empty schedule() and its hlt ends the hlt) and looks at its queue only when an
    // interrupt wakes it; with its own timer idle (at most lapic::kMaxDelayNs, or the boot CPU's
    // next 10 ms tick), the thread would wait that long. The IPI is that interrupt. A busy CPU
    // finds it at its next switch, and this CPU (an interrupt on its halted idle loop, or its
    // tick) at once.
    if (was_idle)
        send_reschedule(c);
}

void unlink_all(Thread* t) {
    for (Thread** p = &g_all; *p != nullptr; p = &(*p)->next_all) {
        if (*p == t) {
            *p = t->next_all;
            return;
        }
    }
}

}  // namespace

// Runs on the new thread's stack right after every switch: the previous thread may have
// exited, and only now is its kernel stack free to go.
void finish_switch() {
    percpu::PerCpu& c = here();
    segment_switch_in(c.thread);
    if (c.reap == nullptr)
        return;
    // The scheduler's reference, taken at create(), goes here; handles may keep the object
    // for join.
    const obj::RefPtr<Thread> dead = obj::adopt_ref(c.reap);
    c.reap = nullptr;
    mm::free_kernel_stack(dead->stack);
    dead->stack = {};
}

class Scheduler {
  public:
    static void switch_to(Thread* next) {
        percpu::PerCpu& c = here();
        // The big kernel lock goes on with the thread switched to; any other lock would be
        // held by a thread that is not running (the held-across-a-switch check; the checker
        // does not record the big kernel lock itself).
        if (!c.holds_big_lock || (lock_order::kEnabled && c.held_count != 0))
            panic("cpu %u switches threads holding %u locks (the big kernel lock: %s)", c.index,
                  c.held_count, c.holds_big_lock ? "held" : "not held");
        Thread* prev = c.thread;
        // Every placement keeps to the mask (pick_cpu, steal, block_switch): checked here, where
        // all of them end, in the build with the lock checks.
        if (lock_order::kEnabled && next != c.idle && !allowed(next, c.index)) [[unlikely]]
            panic("cpu %u switches to thread %lu outside its affinity %lx", c.index, next->id_,
                  next->affinity);
        c.thread = next;
        next->state_ = ThreadState::kRunning;
        next->cpu = c.index;
        if (prev == c.idle)
            lapic::program_if_earlier(now_ns() + kSliceNs);  // an idle CPU's timer may be late
        if (next != c.idle)
            ++c.switches;
        if (next->stack.size != 0)
            syscall_entry::set_kernel_stack(next->stack.top());
        // Lazy idle: the idle thread runs only in the kernel half, which every space maps
        // alike, so it keeps whatever is loaded. A device wait (a driver blocks, the CPU
        // idles, the interrupt wakes the driver again) then reloads no CR3, and under QEMU's
        // TCG each CR3 load empties the whole software TLB. A space an idle CPU keeps is
        // still in its mask: shootdowns reach it, and their answer unloads it (unload_if_idle).
        if (next != c.idle)
            mm::activate(next->process_ != nullptr ? next->process_->address_space()
                                                   : mm::kernel_space());
        segment_switch_out(prev);
        cpu::fxsave(prev->fpu_state());
        cpu::fxrstor(next->fpu_state());
        keel_switch_context(&prev->saved_rsp, next->saved_rsp);
        finish_switch();
    }

    // `aside`: a running thread that gives up the CPU goes to an idle CPU when there is one
    // (yield_aside), not behind what waits here.
    static void schedule(bool aside = false) {
        percpu::PerCpu& c = here();
        Thread* prev = c.thread;
        if (prev->state_ == ThreadState::kRunning && prev != c.idle) {
            prev->state_ = ThreadState::kReady;
            // Queued on another CPU (an idle one, or one of its affinity when set_affinity took
            // this one from it) while it still runs here: safe under the big kernel lock, which
            // the other CPU needs to take it and gets only when the thread switched to below
            // lets it go, after the switch has saved prev's context.
            if (allowed(prev, c.index) && !aside)
                push_ready(c, prev);
            else
                enqueue(prev, false);
        }
        Thread* next = pop_ready(c);
        if (next == nullptr && g_all_cpus)
            next = steal();
        if (next == nullptr)
            next = c.idle;
        if (next == prev) {
            prev->state_ = ThreadState::kRunning;
            return;
        }
        switch_to(next);
    }

    static Thread* create(proc::Process* p) {
        auto stack = mm::allocate_kernel_stack(kKernelStackPages);
        if (!stack)
            return nullptr;
        Thread* t = new (std::nothrow) Thread;
        if (t == nullptr) {
            mm::free_kernel_stack(*stack);
            return nullptr;
        }
        t->stack = *stack;
        t->id_ = g_next_id++;
        // The stack of a thread that called keel_switch_context from keel_thread_start: six
        // callee-saved registers, then the return address. When it is popped rsp is the
        // 16-byte aligned top, as a call to keel_thread_first_run requires.
        uint64_t* sp = reinterpret_cast<uint64_t*>(stack->top());
        *--sp = reinterpret_cast<uint64_t>(&keel_thread_start);
        for (int i = 0; i < 6; ++i)
            *--sp = 0;
        t->saved_rsp = reinterpret_cast<uint64_t>(sp);
        t->cpu = here().index;
        if (p != nullptr) {
            t->process_ = obj::retain_ref(p);
            p->add_thread(t);
        }
        t->next_all = g_all;
        g_all = t;
        return t;  // its initial reference is the scheduler's
    }

    static void exit(const abi::ExitInfo& info) {
        Thread* t = here().thread;
        KEEL_ASSERT(t != here().idle);
        t->exit_ = info;
        if (t->process_ != nullptr) {
            const obj::RefPtr<proc::Process> p = std::move(t->process_);
            // The thread keeps running on its kernel stack, in the kernel half of whatever
            // tables are loaded; the last thread's exit switches to the kernel's tables. It is
            // still running: the teardown of its process may reach preemption points (and the
            // thread come back here with the kernel's tables, as it has no process now).
            p->account().uncharge(kThreadCharge);
            p->thread_exited(t);
        }
        t->state_ = ThreadState::kDead;
        t->joiners.wake_all();
        unlink_all(t);
        // The teardown above may have reached preemption points: this CPU now is whichever
        // the thread came back on, and its stack is freed after the switch away from it there.
        percpu::PerCpu& c = here();
        KEEL_ASSERT(c.reap == nullptr);
        c.reap = t;
        schedule();
        panic("a dead thread was scheduled");
    }

    static void first_run() {
        finish_switch();
        Thread* t = here().thread;
        if (t->kernel_entry_ != nullptr) {
            t->kernel_entry_(t->kernel_arg_);  // holding the big kernel lock, as it was resumed
            panic("kernel thread %lu returned", t->id_);
        }
        proc::before_user_return();  // its process may have ended before it first ran
        idt::InterruptFrame f{};
        f.rip = t->user_start_.rip;
        f.rsp = t->user_start_.rsp;
        f.rdi = t->user_start_.rdi;
        f.rsi = t->user_start_.rsi;
        f.rdx = t->user_start_.rdx;
        f.cs = gdt::kUserCode;
        f.ss = gdt::kUserData;
        f.rflags = 0x202;     // IF, the reserved bit
        big_lock::release();  // to user mode: kernel code may run elsewhere
        keel_enter_user(&f);
    }

    static void set_state(Thread* t, ThreadState s) { t->state_ = s; }

    static Thread* idle_thread() {
        Thread* t = new Thread;
        t->id_ = 0;
        t->state_ = ThreadState::kRunning;
        return t;
    }
};

namespace {
void thread_timed_out(Deadline& d, uint64_t) {
    wake(static_cast<Thread*>(d.owner()), WakeReason::kTimedOut);
}
}  // namespace

Thread::Thread() : obj::Object(abi::Kind::kThread), timeout(thread_timed_out, this) {
    uint8_t* f = fpu_state();
    __builtin_memset(f, 0, 512);
    const uint16_t fcw = 0x037f;    // FNINIT: every x87 exception masked, 64-bit precision
    const uint32_t mxcsr = 0x1f80;  // every SSE exception masked, round to nearest
    __builtin_memcpy(f + 0, &fcw, sizeof fcw);
    __builtin_memcpy(f + 24, &mxcsr, sizeof mxcsr);
}
Thread::~Thread() = default;

Result<Thread*> create_user_thread(proc::Process& p, const UserStart& start) {
    // A thread and its kernel stack are charged to its process (proc/account.hpp) until it
    // exits (Scheduler::exit).
    KEEL_TRY(p.account().charge(kThreadCharge));
    Thread* t = Scheduler::create(&p);
    if (t == nullptr) {
        p.account().uncharge(kThreadCharge);
        return fail(abi::Error::kNoMemory);
    }
    t->user_start_ = start;
    make_ready(t);
    return t;
}

Result<Thread*> create_kernel_thread(void (*entry)(void*), void* arg) {
    Thread* t = Scheduler::create(nullptr);
    if (t == nullptr)
        return fail(abi::Error::kNoMemory);
    t->kernel_entry_ = entry;
    t->kernel_arg_ = arg;
    make_ready(t);
    return t;
}

}  // namespace keel::sched

extern "C" [[noreturn]] void keel_thread_first_run() {
    keel::sched::Scheduler::first_run();
    keel::panic("keel_thread_first_run returned");
}

namespace keel::sched {

namespace {
// The reschedule IPI: the interrupt was the message (the idle loop or the return path acts),
// except for a thread in user code that set_affinity took this CPU from: it moves now.
void on_reschedule(idt::InterruptFrame& frame) {
    lapic::eoi();
    const percpu::PerCpu& c = here();
    if ((frame.cs & 3) != 0 && c.thread != c.idle && !allowed(c.thread, c.index))
        Scheduler::schedule();
}

// The timer interrupt: fires what is due, programs the next interrupt (before any switch: the
// one-shot timer is re-armed nowhere else), then preempts.
void on_tick(idt::InterruptFrame& frame) {
    percpu::PerCpu& c = here();
    DeadlineList& mine = g_deadlines[c.index];
    const uint64_t now = now_ns();
    mine.expire(now);
    const uint64_t slice_end = now + kSliceNs;
    const uint64_t earliest = mine.earliest();
    // An idle application processor has no slice to end: it wakes for its earliest deadline
    // (at most lapic::kMaxDelayNs ahead) or an IPI, not every 10 ms (switch_to re-arms the
    // slice when it takes a thread). The boot CPU keeps ticking.
    if (c.index != 0 && c.thread == c.idle && c.ready_count == 0)
        lapic::program(earliest);
    else
        lapic::program(earliest < slice_end ? earliest : slice_end);
    if (c.thread == nullptr || !c.runs_threads)
        return;
    if (c.index == 0 && g_all_cpus)
        balance();
    // User code and the idle loop are preempted at once; a long system call at its next
    // preemption point (sched/preempt.hpp).
    if ((frame.cs & 3) != 0 || c.thread == c.idle)
        Scheduler::schedule();
}
}  // namespace

void arm_deadline(Deadline& d, uint64_t at) {
    // This CPU's list and timer (g_deadlines): when d becomes the list's earliest, the timer
    // must fire for it, since no other CPU's timer looks at this list.
    if (g_deadlines[here().index].insert(d, at))
        lapic::program_if_earlier(at);
}

void disarm_deadline(Deadline& d) {
    d.disarm();  // the interrupt armed for it, if any, finds nothing due: harmless
}

uint64_t earliest_deadline() {
    uint64_t earliest = kNever;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        if (g_deadlines[i].earliest() < earliest)
            earliest = g_deadlines[i].earliest();
    }
    return earliest;
}

void set_all_cpus(bool on) {
    g_all_cpus = on;
}

bool all_cpus() {
    return g_all_cpus;
}

namespace {
// tlb's answer hook: an idle CPU gives up the user space it kept loaded (lazy idle).
void unload_if_idle() {
    percpu::PerCpu& c = here();
    if (c.thread == c.idle)
        mm::activate(mm::kernel_space());
}

}  // namespace

void init() {
    percpu::PerCpu& c = here();
    c.idle = Scheduler::idle_thread();
    c.thread = c.idle;
    c.runs_threads = true;
    mm::activate(mm::kernel_space());
    preempt_init(lapic::tsc_per_ms());
    lapic::set_tick_hook(on_tick);
    idt::set_handler(kRescheduleVector, on_reschedule);
    tlb::init();
    tlb::set_answer_hook(unload_if_idle);
    uint32_t online = 0;
    for (uint32_t i = 0; i < percpu::count(); ++i)
        online += percpu::cpu(i).state.load(std::memory_order_acquire) == percpu::CpuState::kOnline;
    if (g_all_cpus)
        log::info("sched: threads on %u CPUs", online);
    else
        log::info("sched: threads on the boot CPU alone (smp=boot, or the kernel tests)");
    g_started.store(true, std::memory_order_release);
}

void log_cpu_use() {
    big_lock::log_stats();
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        const percpu::PerCpu& c = percpu::cpu(i);
        if (c.runs_threads)
            log::info("sched: cpu %u: %lu switches to threads", i, c.switches);
    }
}

namespace {
[[noreturn]] void idle_loop() {
    // Holding the big kernel lock, interrupts off.
    for (;;) {
        Scheduler::schedule();
        big_lock::release();
        cpu::enable_and_halt();  // an interrupt (timer, reschedule IPI, device) ends it
        cpu::disable_interrupts();
        big_lock::acquire();
    }
}
}  // namespace

void run_idle() {
    idle_loop();
}

void run_ap() {
    while (!g_started.load(std::memory_order_acquire))
        cpu::pause();
    big_lock::acquire();
    percpu::PerCpu& c = here();
    c.idle = Scheduler::idle_thread();
    c.thread = c.idle;
    mm::activate(mm::kernel_space());
    lapic::start_timer_ap();
    c.runs_threads = true;
    idle_loop();
}

void make_ready(Thread* t) {
    const bool woken = t->state() == ThreadState::kBlocked;
    Scheduler::set_state(t, ThreadState::kReady);
    enqueue(t, woken);
}

Result<void> set_affinity(Thread* t, uint64_t mask) {
    if ((mask & usable_cpus()) == 0)
        return fail(abi::Error::kInvalidArgument);
    t->affinity = mask;
    if (allowed(t, t->cpu))
        return success();
    switch (t->state()) {
        case ThreadState::kRunning:
            if (t == current())
                Scheduler::schedule();  // queued on a CPU of the mask; returns running there
            else
                send_reschedule(percpu::cpu(t->cpu));  // on_reschedule moves it
            break;
        case ThreadState::kReady:
            remove_ready(percpu::cpu(t->cpu), t);
            enqueue(t, false);
            break;
        case ThreadState::kBlocked:  // pick_cpu places it when it wakes
        case ThreadState::kDead:
            break;
    }
    return success();
}

void kick(Thread* t) {
    if (t->state() == ThreadState::kRunning && t->cpu != here().index)
        send_reschedule(percpu::cpu(t->cpu));
}

WakeReason block(WaitQueue* q, uint64_t deadline) {
    Thread* t = current();
    KEEL_ASSERT(t != here().idle && !cpu::interrupts_enabled());
    if (t->process() != nullptr && t->process()->ending())
        return WakeReason::kInterrupted;
    if (deadline != 0) {
        if (deadline <= now_ns())
            return WakeReason::kTimedOut;
        arm_deadline(t->timeout, deadline);
    }
    Scheduler::set_state(t, ThreadState::kBlocked);
    t->waiting_on = q;
    if (q != nullptr)
        q->push(t);
    t->wake_reason = WakeReason::kWoken;
    Scheduler::schedule();
    return t->wake_reason;
}

WakeReason block_switch(WaitQueue* q, uint64_t deadline, WaitQueue& from) {
    Thread* t = current();
    KEEL_ASSERT(t != here().idle && !cpu::interrupts_enabled());
    if (t->process() != nullptr && t->process()->ending()) {
        from.wake_all();
        return WakeReason::kInterrupted;
    }
    if (deadline != 0) {
        if (deadline <= now_ns()) {
            from.wake_all();
            return WakeReason::kTimedOut;
        }
        arm_deadline(t->timeout, deadline);
    }
    // What wake() does for the oldest waiter, without the ready queue; the others (and the
    // watchers) as usual. Nothing runs before the switch, so none of them can run first.
    Thread* to = from.pop();
    if (to != nullptr) {
        to->waiting_on = nullptr;
        to->timeout.disarm();
        to->wake_reason = WakeReason::kWoken;
        if (!allowed(to, here().index)) {  // its affinity keeps it from this CPU: woken as usual
            make_ready(to);
            to = nullptr;
        }
    }
    from.wake_all();
    Scheduler::set_state(t, ThreadState::kBlocked);
    t->waiting_on = q;
    if (q != nullptr)
        q->push(t);
    t->wake_reason = WakeReason::kWoken;
    if (to != nullptr)
        Scheduler::switch_to(to);
    else
        Scheduler::schedule();
    return t->wake_reason;
}

void wake(Thread* t, WakeReason why) {
    if (t->state() != ThreadState::kBlocked)
        return;
    if (t->waiting_on != nullptr)
        t->waiting_on->remove(t);
    t->waiting_on = nullptr;
    t->timeout.disarm();  // blocked with a deadline (on whichever CPU armed it); most have none
    t->wake_reason = why;
    make_ready(t);
}

void yield() {
    Scheduler::schedule();
}

void yield_aside() {
    if (here().ready_count != 0)
        Scheduler::schedule(true);
}

bool others_ready() {
    return here().ready_count != 0;
}

bool outside_affinity() {
    const percpu::PerCpu& c = here();
    return c.thread != c.idle && !allowed(c.thread, c.index);
}

// Counted as init() counts them: every CPU online since bring-up, including an application
// processor that has not yet taken the big kernel lock to enter its idle loop (run_ap). Counting
// only those already in it made the answer depend on how soon the host ran QEMU's thread for a
// new CPU: scalebench, asking at start-up on a loaded host, saw 1 CPU under -smp 2.
uint32_t cpus_running_threads() {
    return static_cast<uint32_t>(__builtin_popcountll(usable_cpus()));
}

void exit_current(const abi::ExitInfo& info) {
    // A thread ending outside a system call (a fault, or its process ended while it ran user
    // code) tears down in a stretch of its own: measured, and preemptible, as a call's is.
    if (here().in_syscall == 0)
        syscall_enter(static_cast<uint64_t>(abi::Syscall::kCount));
    Scheduler::exit(info);
    __builtin_unreachable();
}

uint64_t now_ns() {
    // Never goes backwards, even when a tick is pending while interrupts are off.
    const uint64_t t = lapic::now_ns();
    if (t > g_last_now)
        g_last_now = t;
    return g_last_now;
}

// ---- the thread object -----------------------------------------------------------------------

Result<uint64_t> Thread::read(obj::Request& req) {
    if (state_ != ThreadState::kDead)
        return obj::would_block(req, joiners);
    return obj::answer_bytes(req, &exit_, sizeof exit_);
}

Result<uint64_t> Thread::get_meta(obj::Request& req) {
    switch (static_cast<abi::Meta>(req.arg)) {
        case abi::Meta::kId:
            return obj::answer_u64(req, id_);
        case abi::Meta::kExit:
            return obj::answer_bytes(req, &exit_, sizeof exit_);
        case abi::Meta::kSyscalls:
            return obj::answer_u64(req, syscalls);
        case abi::Meta::kAffinity:  // the CPUs it may run on now: the mask set, those usable
            return obj::answer_u64(req, affinity & usable_cpus());
        case abi::Meta::kCpu:
            return obj::answer_u64(req, cpu);
        default:
            return fail(abi::Error::kInvalidArgument);
    }
}

Result<uint64_t> Thread::set_meta(obj::Request& req) {
    if (static_cast<abi::Meta>(req.arg) != abi::Meta::kAffinity ||
        req.buffer.length() != sizeof(uint64_t))
        return fail(abi::Error::kInvalidArgument);
    uint64_t mask = 0;
    KEEL_TRY(req.buffer.copy_out_of(0, &mask, sizeof mask));
    KEEL_TRY(set_affinity(this, mask));
    return sizeof mask;
}

}  // namespace keel::sched
