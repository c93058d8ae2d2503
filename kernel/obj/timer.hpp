// Timer objects (Kind::kTimer, issue 15): a deadline on the monotonic clock (the Clock system
// call's scale) whose expirations are counted. write (kRightWrite) a 16-byte abi::TimerSet to
// arm it: deadline 0 disarms, a deadline already past expires at once, period_ns > 0 re-arms it
// every period after the deadline (at least kMinTimerPeriodNs). Every write starts afresh: the
// count of expirations not yet read goes back to 0. read (kRightRead) gives that count as a
// u64 and clears it; with none yet it would block on the timer's wait queue, so do_io sleeps
// until the deadline and a queued read parks until then (one queue_wait can wait for a timer,
// pipes and interrupts at once). peek gives the count without clearing it, get_meta kSize too.
//
// The expiry runs in the timer interrupt: the timer's sched::Deadline sits in the deadline list
// of the CPU that armed it (sched/deadline.hpp) while armed, and that CPU's LAPIC timer is
// programmed for it, so a timer expires to within tens of microseconds, not at a 10 ms tick.
// A periodic timer that missed periods (interrupts held off) counts each of them once and
// keeps its phase. A timer destroyed while armed (its last handle closed, its process ended)
// leaves the list in its destructor; its waiters are woken and find the handle gone.
#pragma once

#include "obj/object.hpp"
#include "sched/deadline.hpp"
#include "sched/wait_queue.hpp"

namespace keel::obj {

// The shortest period of a periodic timer: shorter ones would let one process keep the CPU in
// the timer interrupt.
inline constexpr uint64_t kMinTimerPeriodNs = 100'000;

class Timer final : public Object {
  public:
    // A disarmed timer. kNoMemory.
    static Result<RefPtr<Timer>> create();

    // The expirations since the last read (u64; the buffer must hold 8 bytes, else
    // kBufferTooSmall), or kWouldBlock on the timer's wait queue while there are none.
    Result<uint64_t> read(Request& req) override;
    Result<uint64_t> peek(Request& req) override;  // the same without clearing it
    // A TimerSet: kInvalidArgument for another length or a period below kMinTimerPeriodNs
    // (the timer is then unchanged); kBadAddress.
    Result<uint64_t> write(Request& req) override;
    Result<uint64_t> get_meta(Request& req) override;  // kSize: the expirations not yet read

    bool armed() const { return deadline_.armed(); }

  private:
    Timer() : Object(abi::Kind::kTimer), deadline_(&Timer::fired, this) {}
    ~Timer() override;
    static void fired(sched::Deadline& d, uint64_t now);  // the timer interrupt
    // Counts the expirations of a deadline `due` <= `now`, wakes the readers and re-arms a
    // periodic timer at its next period after `now`.
    void expire(uint64_t due, uint64_t now);
    Result<uint64_t> take(Request& req, bool consume);

    sched::Deadline deadline_;
    uint64_t period_ = 0;
    uint64_t count_ = 0;  // expirations since the last read or write
    sched::WaitQueue readers_;
};

}  // namespace keel::obj
