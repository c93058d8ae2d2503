// Deadlines on the monotonic clock (sched::now_ns), in lists sorted by time that the timer
// interrupt walks: the timeouts of blocked threads and the expiries of armed timer objects.
// The scheduler keeps one list per CPU, and each CPU's LAPIC timer is programmed for its own
// list's earliest (sched/scheduler.cpp). Interrupts off, under the big kernel lock.
#pragma once

#include <cstdint>

namespace keel::sched {

inline constexpr uint64_t kNever = ~0ull;

class DeadlineList;

// One pending deadline, embedded in its owner (a thread, a timer object): arming never
// allocates. Its destructor takes it out of its list, so an owner that goes away while armed
// leaves nothing dangling for the interrupt to walk.
class Deadline {
  public:
    // Called from DeadlineList::expire (the timer interrupt) once the time has come, with the
    // node already out of the list; it may arm it again, later than `now`, and must not destroy
    // its owner.
    using Fire = void (*)(Deadline& d, uint64_t now);
    Deadline(Fire fire, void* owner) : fire_(fire), owner_(owner) {}
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    ~Deadline();

    bool armed() const { return list_ != nullptr; }
    // Takes it out of whichever list holds it; nothing when it is not armed. O(1).
    void disarm();
    uint64_t at() const { return at_; }
    void* owner() const { return owner_; }

  private:
    friend class DeadlineList;
    Fire fire_;
    void* owner_;
    uint64_t at_ = 0;
    Deadline* next_ = nullptr;
    Deadline* prev_ = nullptr;
    DeadlineList* list_ = nullptr;
};

class DeadlineList {
  public:
    DeadlineList() = default;
    DeadlineList(const DeadlineList&) = delete;
    DeadlineList& operator=(const DeadlineList&) = delete;
    ~DeadlineList();  // unlinks whatever is left

    // Arms d at `at` (taking it out of any list first), after those with the same time.
    // O(deadlines later than `at`): appending is O(1). True when d is now the earliest (the
    // caller reprograms the timer).
    bool insert(Deadline& d, uint64_t at);
    // Disarms d; nothing when it is not in this list. O(1).
    void remove(Deadline& d);
    // The earliest armed time, or kNever.
    uint64_t earliest() const { return head_ != nullptr ? head_->at_ : kNever; }
    bool empty() const { return head_ == nullptr; }
    // Takes out each deadline due at `now` (at <= now), earliest first, and calls its Fire.
    // Returns how many fired. O(fired + their re-insertions).
    uint32_t expire(uint64_t now);

  private:
    Deadline* head_ = nullptr;
    Deadline* tail_ = nullptr;
};

// Inline: every wake-up and direct switch disarms its thread's timeout, which most never armed.
inline void Deadline::disarm() {
    if (list_ != nullptr)
        list_->remove(*this);
}

}  // namespace keel::sched
