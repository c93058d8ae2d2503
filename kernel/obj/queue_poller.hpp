// A polling queue's kernel thread (issue 22; io_uring's SQPOLL is the model): it runs the same
// rounds queue_poll runs (Queue::process) on its own, so a client on another CPU submits and
// reaps with no system call while the poller is awake.
//
// Which thread: a kernel thread of no process (sched::create_kernel_thread), not a thread of
// the queue's owner. A thread of the owner would count among its live threads, so a process
// whose user threads had all left would never finish (and never release the handle that keeps
// the queue, whose end is what stops the poller: a cycle); and it would be interrupted and made
// to leave like a user thread, which a kernel thread never needs. The rounds still act for the
// owner exactly as queue_poll does: each operation is obj::perform on the owner's handle table
// with the kernel's window on the region as its buffer, so the handle and rights rules are the
// owner's; the poller never touches user memory. It holds a reference to the owner process
// (so a round never sees it freed), and to the queue only during a round and a spin, so the
// queue still dies with its owner's handles: within one spin (kSpinChunkNs) of queue_destroy or
// the owner's end, the poller drops its reference, the queue's destructor detaches the poller,
// and the poller notices and exits on its own (threads are never killed).
//
// One reader per ring end (ipc/'s rule, spec/): while a queue has a poller, only the poller
// consumes its submissions, whether awake or asleep. queue_poll only wakes it; queue_wait wakes
// it and sleeps until it posted completions (syscall/syscalls.cpp).
//
// Awake it runs a round, then, when another CPU runs threads, spins without the big kernel lock
// (the client's CPU and every other enter the kernel meanwhile) watching the submission tail and
// the doorbell; on one CPU it yields instead (it must not starve the client it serves). After
// kIdleNs without work it sets kQueueNeedWakeup in the region's poll-state word, checks the tail
// once more (the client publishes, then reads the word: full fences on both sides, so one of
// them sees the other) and sleeps until queue_poll, queue_wait, a parked operation's progress
// (a watcher on the queue's doorbell) or the queue's end wakes it.
#pragma once

#include <keel/syscall_abi.hpp>

#include <cstdint>

#include "obj/object.hpp"
#include "obj/ref_ptr.hpp"
#include "proc/account.hpp"
#include "sched/wait_queue.hpp"

namespace keel::proc {
class Process;
}

namespace keel::obj {

class Queue;

class QueuePoller {
  public:
    // Spins at most this long without the big kernel lock before it takes it again (a round,
    // interrupts, the other ready threads of its CPU, whether the queue is still there).
    static constexpr uint64_t kSpinChunkNs = 20'000;
    // Sleeps after this long without finding work. 1 ms put it to sleep between two rounds of
    // a busy client whenever the host did not run the client's virtual CPU for that long (two
    // QEMUs on two shared cores: most rounds); io_uring's default is a second.
    static constexpr uint64_t kIdleNs = 10'000'000;

    // Starts q's poller (asleep: the client lays the region out after queue_create returns, and
    // its first queue_poll or queue_wait wakes it). kNoMemory; kFull or kNoMemory when the
    // owner's account has no room for one more thread (proc/account.hpp).
    static Result<QueuePoller*> start(Queue& q, proc::Process& owner);
    // queue_poll and queue_wait: wakes it when asleep. The error of its last round (kProtocol:
    // the client broke the region; kPeerGone: the client closed), which also put it to sleep.
    Result<void> wake() {
        if (asleep_) {
            // Kept for a poller that has not blocked yet (a new one that has not run): it would
            // block on and the client, which published once, would wait for nothing.
            wake_pending_ = true;
            wake_.wake_all();
        }
        return last_error();
    }
    Result<void> last_error() const {
        if (failed_)
            return fail(error_);
        return success();
    }
    // From ~Queue: the queue is going. The poller exits at its next look (it holds no reference
    // then: the destructor runs only when its reference is gone).
    void detach() {
        queue_ = nullptr;
        doorbell_.unwatch();
        wake_.wake_all();
    }
    bool asleep() const { return asleep_; }
    uint64_t sleeps() const { return sleeps_; }

  private:
    QueuePoller() = default;
    static void main(void* self);
    void serve();
    // Spins up to kSpinChunkNs without the big kernel lock; true when the client published or
    // the doorbell rang meanwhile.
    bool spin(const Queue& q, uint32_t tail, uint64_t rings) const;
    // Sets kQueueNeedWakeup, looks once more and sleeps; false when the queue went meanwhile.
    bool sleep(RefPtr<Queue>& q, uint32_t tail);

    Queue* queue_ = nullptr;  // null once detached
    RefPtr<proc::Process> owner_;
    // Its thread and stack, charged to the owner's account like a thread of the owner's: a
    // polling queue counts against the thread limit too (given back when the poller goes).
    proc::Charge charge_;
    sched::WaitQueue wake_;    // the poller sleeps here
    sched::Watcher doorbell_;  // the queue's doorbell rings wake_ (a parked operation moved)
    bool asleep_ = true;
    bool wake_pending_ = false;  // wake() while asleep_: serve() does not block for it
    uint32_t last_tail_ = 0;     // the submission tail its last round saw
    uint64_t sleeps_ = 0;        // times it went to sleep (queue_wait: "nothing more is coming")
    bool failed_ = false;        // its last round failed, with error_
    Error error_ = Error::kProtocol;
};

}  // namespace keel::obj
