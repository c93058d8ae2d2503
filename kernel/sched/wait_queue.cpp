// WaitQueue and Watcher (sched/wait_queue.hpp), apart from the scheduler so that the host
// simulation of the kernel's object layer (fuzz/kernel_objects) compiles the same code; the
// only scheduler call is sched::wake.
#include "sched/wait_queue.hpp"

#include "sched/scheduler.hpp"

namespace keel::sched {

WaitQueue::~WaitQueue() {
    // An object going away under its waiters (another thread closed the last handle): they
    // retry their operation and find the handle gone. Its watchers hear it too, and are
    // unlinked: their owners may unwatch later, and must not touch this queue then.
    wake_all();
    while (watchers_ != nullptr)
        watchers_->unwatch();
}

bool WaitQueue::remove(Thread* t) {
    Thread* prev = nullptr;
    for (Thread* c = head_; c != nullptr; prev = c, c = c->next_waiting) {
        if (c != t)
            continue;
        if (prev != nullptr)
            prev->next_waiting = c->next_waiting;
        else
            head_ = c->next_waiting;
        if (tail_ == c)
            tail_ = prev;
        c->next_waiting = nullptr;
        return true;
    }
    return false;
}

uint64_t WaitQueue::wake(uint64_t n) {
    uint64_t woken = 0;
    while (woken < n && head_ != nullptr) {
        sched::wake(head_, WakeReason::kWoken);
        ++woken;
    }
    // Ringing a bell only makes its sleepers ready: no code runs that could unlink watchers.
    for (Watcher* w = watchers_; w != nullptr; w = w->next_)
        w->bell_->wake_all();
    return woken;
}

void Watcher::watch(WaitQueue& watched, WaitQueue& bell) {
    unwatch();
    watched_ = &watched;
    bell_ = &bell;
    prev_ = nullptr;
    next_ = watched.watchers_;
    if (next_ != nullptr)
        next_->prev_ = this;
    watched.watchers_ = this;
}

void Watcher::unwatch() {
    if (watched_ == nullptr)
        return;
    if (prev_ != nullptr)
        prev_->next_ = next_;
    else
        watched_->watchers_ = next_;
    if (next_ != nullptr)
        next_->prev_ = prev_;
    watched_ = nullptr;
    bell_ = nullptr;
    next_ = prev_ = nullptr;
}

}  // namespace keel::sched
