// A thread: a kernel stack, the saved context of a switched-out thread, and the process it runs
// in (none for the idle thread, which is the boot context). Threads are objects too
// (Kind::kThread): reading one waits for its end and returns its ExitInfo (join). There is no way
// to kill a thread, by design: see docs/syscalls.md ("Why no kill").
#pragma once

#include <keel/syscall_abi.hpp>

#include "mm/kernel_stack.hpp"
#include "obj/direct_call.hpp"
#include "obj/object.hpp"
#include "sched/deadline.hpp"
#include "sched/wait_queue.hpp"

namespace keel::proc {
class Process;
}

namespace keel::sched {

enum class ThreadState { kReady, kRunning, kBlocked, kDead };
enum class WakeReason { kWoken, kTimedOut, kInterrupted };

// How a new user thread starts: at rip with rsp and three arguments in rdi, rsi, rdx.
struct UserStart {
    uint64_t rip, rsp, rdi, rsi, rdx;
};

class Thread final : public obj::Object {
  public:
    Result<uint64_t> read(obj::Request& req) override;  // join
    // kId, kExit, kSyscalls, kAffinity, kCpu
    Result<uint64_t> get_meta(obj::Request& req) override;
    Result<uint64_t> set_meta(obj::Request& req) override;  // kAffinity (sched::set_affinity)

    uint64_t id() const { return id_; }
    proc::Process* process() const { return process_.get(); }
    ThreadState state() const { return state_; }
    const abi::ExitInfo& exit_info() const { return exit_; }

  private:
    friend class Scheduler;
    friend Result<Thread*> create_user_thread(proc::Process&, const UserStart&);
    friend Result<Thread*> create_kernel_thread(void (*)(void*), void*);
    Thread();            // in scheduler.cpp, with the timeout's Fire
    ~Thread() override;  // in scheduler.cpp, where Process is complete

  public:
    // Scheduler and wait-queue bookkeeping (interrupts off).
    uint64_t saved_rsp = 0;
    mm::KernelStack stack{};
    Thread* next_ready = nullptr;
    Thread* next_waiting = nullptr;
    Thread* next_in_process = nullptr;
    Thread* next_all = nullptr;
    WaitQueue* waiting_on = nullptr;
    Deadline timeout;  // armed while blocked with a deadline: wakes it with kTimedOut
    WakeReason wake_reason = WakeReason::kWoken;
    uint64_t futex_key = 0;   // user address waited on (with the process: the futex key)
    uint64_t in_syscall = 0;  // while switched out: its system call's number + 1, or 0
    uint32_t cpu = 0;         // the CPU it runs on, last ran on, or whose queue it is in
    // The CPUs that may run it (bit i: CPU i), as its owner set it (get/set_meta kAffinity); at
    // least one of them runs threads (set_affinity checks). Every CPU for a new thread.
    uint64_t affinity = ~0ull;
    uint64_t syscalls = 0;  // system calls it made (get_meta kSyscalls: the polling tests)
    WaitQueue joiners;
    obj::DestroyQueue destroy_queue;  // what this thread's releases are destroying
    // The direct call path (obj/direct_call.hpp): this thread's own call, as a caller, and the
    // call it holds, as a server thread (answered by its next ServeCall, or PeerGone when it
    // ends first).
    obj::DirectCall call;
    obj::DirectCall* held_call = nullptr;
    // As a server thread waiting in ServeCall: where it sleeps (a queue of its own, so that a
    // call or a wake-up for ring work wakes this thread alone), and its link in the port's
    // stack of such threads (Served::receivers_) while `receiving`.
    WaitQueue receive;
    Thread* next_receiver = nullptr;
    bool receiving = false;

    // The x87/MMX/SSE state (an FXSAVE image), saved when the thread is switched out and
    // restored when it is switched in: without it one process reads the registers another
    // left (a value in mm0 crossed processes). The kernel never uses these registers
    // (-mno-sse, -mno-mmx), so the user's state stays in them while in the kernel. A new
    // thread starts from FNINIT's state with MXCSR's default.
    uint8_t* fpu_state() {
        return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(fpu_area_) + 15) & ~15ull);
    }

  private:
    uint64_t id_ = 0;
    obj::RefPtr<proc::Process> process_;  // null for kernel threads
    ThreadState state_ = ThreadState::kReady;
    abi::ExitInfo exit_{};
    UserStart user_start_{};
    void (*kernel_entry_)(void*) = nullptr;  // a kernel thread's function (never returns)
    void* kernel_arg_ = nullptr;
    uint8_t fpu_area_[512 + 15];  // fpu_state(): FXSAVE wants 16-byte alignment
};

// A user thread of process p (which it retains). Ready at once; kNoMemory. The thread's first
// reference is the scheduler's (dropped when it has exited): the result is borrowed.
Result<Thread*> create_user_thread(proc::Process& p, const UserStart& start);
// A kernel thread (no process: it runs in the kernel's address space and never enters user
// mode) that starts in entry(arg) holding the big kernel lock, and ends by exit_current().
// Ready at once; kNoMemory. Borrowed, like create_user_thread's. Charged to nobody here: its
// maker charges whom it serves (a polling queue's poller: the queue's owner, kThreadCharge).
Result<Thread*> create_kernel_thread(void (*entry)(void*), void* arg);

// WaitQueue's push and pop, here where Thread is complete: inline on every block and direct
// switch (sched/scheduler.cpp).
inline void WaitQueue::push(Thread* t) {
    t->next_waiting = nullptr;
    if (tail_ != nullptr)
        tail_->next_waiting = t;
    else
        head_ = t;
    tail_ = t;
}

inline Thread* WaitQueue::pop() {
    Thread* t = head_;
    if (t != nullptr) {
        head_ = t->next_waiting;
        if (head_ == nullptr)
            tail_ = nullptr;
        t->next_waiting = nullptr;
    }
    return t;
}

}  // namespace keel::sched
