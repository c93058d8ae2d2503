#include "sched/scheduler.hpp"

#include <new>
#include <utility>

#include "arch/cpu.hpp"
#include "arch/gdt.hpp"
#include "arch/lapic.hpp"
#include "arch/syscall_entry.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"
#include "proc/process.hpp"
#include "sched/preempt.hpp"

extern "C" void keel_switch_context(uint64_t* save, uint64_t next_rsp);
extern "C" void keel_thread_start();

namespace keel::sched {

Thread* detail::g_current = nullptr;

namespace {

using detail::g_current;

constexpr uint64_t kKernelStackPages = 4;
// What a user thread charges its process's account: one thread and its kernel stack.
constexpr proc::Usage kThreadCharge{kKernelStackPages, 0, 1};

Thread* g_idle = nullptr;
Thread* g_ready_head = nullptr;
Thread* g_ready_tail = nullptr;
Thread* g_all = nullptr;
Thread* g_reap = nullptr;  // exited, its stack still in use until the next switch completes
uint64_t g_next_id = 1;
uint64_t g_last_now = 0;
DeadlineList g_deadlines;  // every armed Deadline: thread timeouts, timer objects

void push_ready(Thread* t) {
    t->next_ready = nullptr;
    if (g_ready_tail != nullptr)
        g_ready_tail->next_ready = t;
    else
        g_ready_head = t;
    g_ready_tail = t;
}

Thread* pop_ready() {
    Thread* t = g_ready_head;
    if (t != nullptr) {
        g_ready_head = t->next_ready;
        if (g_ready_head == nullptr)
            g_ready_tail = nullptr;
        t->next_ready = nullptr;
    }
    return t;
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
    segment_switch_in(g_current);
    if (g_reap == nullptr)
        return;
    // The scheduler's reference, taken at create(), goes here; handles may keep the object
    // for join.
    const obj::RefPtr<Thread> dead = obj::adopt_ref(g_reap);
    g_reap = nullptr;
    mm::free_kernel_stack(dead->stack);
    dead->stack = {};
}

class Scheduler {
  public:
    static void switch_to(Thread* next) {
        Thread* prev = g_current;
        g_current = next;
        next->state_ = ThreadState::kRunning;
        if (next->stack.size != 0)
            syscall_entry::set_kernel_stack(next->stack.top());
        const uint64_t cr3 = next->process_ != nullptr ? next->process_->page_tables().value
                                                       : mm::kernel_space().pml4().value;
        if ((cpu::read_cr3() & ~0xfffull) != cr3)
            cpu::write_cr3(cr3);
        segment_switch_out(prev);
        cpu::fxsave(prev->fpu_state());
        cpu::fxrstor(next->fpu_state());
        keel_switch_context(&prev->saved_rsp, next->saved_rsp);
        finish_switch();
    }

    static void schedule() {
        Thread* prev = g_current;
        if (prev->state_ == ThreadState::kRunning && prev != g_idle) {
            prev->state_ = ThreadState::kReady;
            push_ready(prev);
        }
        Thread* next = pop_ready();
        if (next == nullptr)
            next = g_idle;
        if (next == prev) {
            prev->state_ = ThreadState::kRunning;
            return;
        }
        switch_to(next);
    }

    static Thread* create(proc::Process& p) {
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
        t->process_ = obj::retain_ref(&p);
        p.add_thread(t);
        t->next_all = g_all;
        g_all = t;
        return t;  // its initial reference is the scheduler's
    }

    static void exit(const abi::ExitInfo& info) {
        Thread* t = g_current;
        KEEL_ASSERT(t != g_idle);
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
        KEEL_ASSERT(g_reap == nullptr);
        g_reap = t;
        schedule();
        panic("a dead thread was scheduled");
    }

    static void first_run() {
        finish_switch();
        proc::before_user_return();  // its process may have ended before it first ran
        Thread* t = g_current;
        idt::InterruptFrame f{};
        f.rip = t->user_start_.rip;
        f.rsp = t->user_start_.rsp;
        f.rdi = t->user_start_.rdi;
        f.rsi = t->user_start_.rsi;
        f.rdx = t->user_start_.rdx;
        f.cs = gdt::kUserCode;
        f.ss = gdt::kUserData;
        f.rflags = 0x202;  // IF, the reserved bit
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

Thread::Thread() : timeout(thread_timed_out, this) {
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
    Thread* t = Scheduler::create(p);
    if (t == nullptr) {
        p.account().uncharge(kThreadCharge);
        return fail(abi::Error::kNoMemory);
    }
    t->user_start_ = start;
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
// The timer interrupt: fires what is due, programs the next interrupt (before any switch: the
// one-shot timer is re-armed nowhere else), then preempts.
void on_tick(idt::InterruptFrame& frame) {
    const uint64_t now = now_ns();
    g_deadlines.expire(now);
    const uint64_t slice_end = now + kSliceNs;
    const uint64_t earliest = g_deadlines.earliest();
    lapic::program(earliest < slice_end ? earliest : slice_end);
    if (g_current == nullptr)
        return;
    // User code and the idle loop are preempted at once; a long system call at its next
    // preemption point (sched/preempt.hpp).
    if ((frame.cs & 3) != 0 || g_current == g_idle)
        Scheduler::schedule();
}
}  // namespace

void arm_deadline(Deadline& d, uint64_t at) {
    if (g_deadlines.insert(d, at))
        lapic::program_if_earlier(at);
}

void disarm_deadline(Deadline& d) {
    g_deadlines.remove(d);  // the interrupt armed for it, if any, finds nothing due: harmless
}

uint64_t earliest_deadline() {
    return g_deadlines.earliest();
}

void init() {
    g_idle = Scheduler::idle_thread();
    g_current = g_idle;
    preempt_init(lapic::tsc_per_ms());
    lapic::set_tick_hook(on_tick);
}

void run_idle() {
    for (;;) {
        cpu::disable_interrupts();
        Scheduler::schedule();
        cpu::enable_and_halt();
    }
}

void make_ready(Thread* t) {
    Scheduler::set_state(t, ThreadState::kReady);
    push_ready(t);
}

WakeReason block(WaitQueue* q, uint64_t deadline) {
    Thread* t = g_current;
    KEEL_ASSERT(t != g_idle && !cpu::interrupts_enabled());
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
    Thread* t = g_current;
    KEEL_ASSERT(t != g_idle && !cpu::interrupts_enabled());
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
        if (to->timeout.armed())
            g_deadlines.remove(to->timeout);
        to->wake_reason = WakeReason::kWoken;
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
    if (t->timeout.armed())  // blocked with a deadline; most blocks have none
        g_deadlines.remove(t->timeout);
    t->wake_reason = why;
    make_ready(t);
}

void yield() {
    Scheduler::schedule();
}

bool others_ready() {
    return g_ready_head != nullptr;
}

void exit_current(const abi::ExitInfo& info) {
    // A thread ending outside a system call (a fault, or its process ended while it ran user
    // code) tears down in a stretch of its own: measured, and preemptible, as a call's is.
    if (detail::g_in_syscall == 0)
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
        default:
            return fail(abi::Error::kInvalidArgument);
    }
}

}  // namespace keel::sched
