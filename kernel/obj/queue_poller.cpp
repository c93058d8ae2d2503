#include "obj/queue_poller.hpp"

#include <new>
#include <utility>

#include "arch/cpu.hpp"
#include "arch/lapic.hpp"
#include "arch/tlb.hpp"
#include "obj/queue.hpp"
#include "proc/process.hpp"
#include "sched/big_lock.hpp"
#include "sched/preempt.hpp"
#include "sched/scheduler.hpp"

namespace keel::obj {

Result<QueuePoller*> QueuePoller::start(Queue& q, proc::Process& owner) {
    proc::Charge charge = KEEL_TRY(proc::Charge::take(&owner.account(), sched::kThreadCharge));
    auto* p = new (std::nothrow) QueuePoller;
    if (p == nullptr)
        return fail(Error::kNoMemory);
    p->queue_ = &q;
    p->owner_ = retain_ref(&owner);
    p->charge_ = std::move(charge);
    q.set_poll_state(abi::kQueueNeedWakeup);
    p->doorbell_.watch(q.doorbell(), p->wake_);
    if (!sched::create_kernel_thread(&QueuePoller::main, p).ok()) {
        delete p;
        return fail(Error::kNoMemory);
    }
    return p;
}

void QueuePoller::main(void* self) {
    auto* p = static_cast<QueuePoller*>(self);
    p->serve();
    // The queue is gone: nothing refers to the poller any more. (Its reference to the owner
    // goes with it, here: exit_current never returns, so no destructor runs after it.)
    delete p;
    sched::exit_current({static_cast<uint32_t>(abi::ExitReason::kExited), 0, 0, 0, 0});
}

// Holding the big kernel lock, interrupts off, except inside spin().
void QueuePoller::serve() {
    uint64_t idle_since = 0;
    while (queue_ != nullptr) {
        if (asleep_) {
            // A new poller is asleep before it first runs: a queue_poll made meanwhile found no
            // one to wake (kbench polling: about one run in three waited 60 ms here, until the
            // client gave up spinning and called queue_wait).
            if (!wake_pending_)
                (void)sched::block(&wake_, 0);
            wake_pending_ = false;
            if (queue_ == nullptr)
                return;
            asleep_ = false;
            failed_ = false;
            idle_since = sched::now_ns();
        }
        if (queue_->references() == 0) {
            // Its last reference is gone but an outer release is still destroying other objects
            // (Object::release_last queued it): it must not be revived; ~Queue detaches us.
            asleep_ = true;
            continue;
        }
        RefPtr<Queue> q = retain_ref(queue_);
        if (owner_->ending()) {
            // Its handles close when its last thread leaves; the queue's end wakes us then.
            asleep_ = true;
            continue;
        }
        // Cleared before the round reads the tail: a client that publishes from here on sees
        // the poller awake and leaves the submission to it.
        q->set_poll_state(0);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        const uint32_t tail = q->published_tail();
        const uint64_t rings = q->doorbell().rings();
        const uint64_t posted_before = q->cq_tail();
        // A round is a queue_poll made by the poller: measured and preemptible as one.
        sched::syscall_enter(static_cast<uint64_t>(abi::Syscall::kQueuePoll));
        const Result<uint64_t> r = q->process();
        sched::syscall_exit();
        if (!r.ok()) {
            // kProtocol or kPeerGone: nothing moves until the client repairs the region or
            // wakes us; queue_poll and queue_wait report it.
            failed_ = true;
            error_ = r.error();
            q->posted().wake_all();
            (void)sleep(q, tail);
            continue;
        }
        const bool posted = q->cq_tail() != posted_before;
        if (posted)
            q->posted().wake_all();
        const uint64_t now = sched::now_ns();
        if (posted || tail != last_tail_)
            idle_since = now;
        last_tail_ = tail;
        if (now - idle_since >= kIdleNs) {
            if (!sleep(q, tail))
                return;
            continue;
        }
        if (sched::cpus_running_threads() > 1) {
            (void)spin(*q, tail, rings);
        } else {
            // One CPU: what we serve runs only when we give the CPU up.
            sched::yield();
        }
        q.reset();  // the queue dies here if its last handle went meanwhile
        // Interrupts (timers a parked operation waits for, devices) and this CPU's other
        // threads, as a long call's preemption point lets them in.
        {
            const sched::NoPreempt no_preempt;
            cpu::interrupt_window();
        }
        sched::yield_aside();
    }
}

bool QueuePoller::spin(const Queue& q, uint32_t tail, uint64_t rings) const {
    // Without the big kernel lock: the queue is held (its window stays mapped), and only the
    // shared tail and the doorbell's ring count are read.
    sched::big_lock::release();
    const uint64_t end = lapic::now_ns() + kSpinChunkNs;
    bool moved = false;
    while (!moved && lapic::now_ns() < end) {
        cpu::pause();
        tlb::answer_shootdown();
        moved = q.published_tail() != tail || q.doorbell_rings() != rings;
    }
    sched::big_lock::acquire();
    return moved;
}

bool QueuePoller::sleep(RefPtr<Queue>& q, uint32_t tail) {
    q->set_poll_state(abi::kQueueNeedWakeup);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!failed_ && q->published_tail() != tail) {
        q->set_poll_state(0);  // published before it could see the flag: serve it
        return true;
    }
    asleep_ = true;
    ++sleeps_;
    q->posted().wake_all();  // a queue_wait learns that nothing more is coming
    q.reset();
    return queue_ != nullptr;
}

}  // namespace keel::obj
