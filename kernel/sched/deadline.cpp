#include "sched/deadline.hpp"

#include "panic.hpp"

namespace keel::sched {

Deadline::~Deadline() {
    disarm();
}

DeadlineList::~DeadlineList() {
    while (head_ != nullptr)
        remove(*head_);
}

bool DeadlineList::insert(Deadline& d, uint64_t at) {
    if (d.list_ != nullptr)
        d.list_->remove(d);
    d.at_ = at;
    d.list_ = this;
    // From the tail: a periodic timer re-armed one period on, or a timeout as long as those
    // before it, goes last in O(1), so the interrupt's re-arming stays cheap with many timers.
    Deadline* next = nullptr;
    Deadline* prev = tail_;
    while (prev != nullptr && prev->at_ > at) {
        next = prev;
        prev = prev->prev_;
    }
    d.prev_ = prev;
    d.next_ = next;
    if (next != nullptr)
        next->prev_ = &d;
    else
        tail_ = &d;
    if (prev != nullptr)
        prev->next_ = &d;
    else
        head_ = &d;
    return head_ == &d;
}

void DeadlineList::remove(Deadline& d) {
    if (d.list_ != this)
        return;
    if (d.prev_ != nullptr)
        d.prev_->next_ = d.next_;
    else
        head_ = d.next_;
    if (d.next_ != nullptr)
        d.next_->prev_ = d.prev_;
    else
        tail_ = d.prev_;
    d.next_ = d.prev_ = nullptr;
    d.list_ = nullptr;
}

uint32_t DeadlineList::expire(uint64_t now) {
    uint32_t fired = 0;
    while (head_ != nullptr && head_->at_ <= now) {
        Deadline& d = *head_;
        remove(d);
        d.fire_(d, now);
        // Arming again at or before `now` would loop here forever.
        KEEL_ASSERT(!d.armed() || d.at_ > now);
        ++fired;
    }
    return fired;
}

}  // namespace keel::sched
