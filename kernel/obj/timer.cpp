#include "obj/timer.hpp"

#include <new>

#include "sched/scheduler.hpp"

namespace keel::obj {

Result<RefPtr<Timer>> Timer::create() {
    RefPtr<Timer> t = adopt_ref(new (std::nothrow) Timer);
    if (!t)
        return fail(Error::kNoMemory);
    return t;
}

Timer::~Timer() {
    sched::disarm_deadline(deadline_);
}  // then readers_ wakes whoever still waits: they retry and find the handle gone

void Timer::fired(sched::Deadline& d, uint64_t now) {
    static_cast<Timer*>(d.owner())->expire(d.at(), now);
}

void Timer::expire(uint64_t due, uint64_t now) {
    uint64_t expirations = 1;
    if (period_ != 0) {
        // Each period that ended by `now` counts once; the next stays in phase with the first.
        const uint64_t missed = (now - due) / period_;
        expirations += missed;
        const uint64_t step = (missed + 1) * period_;
        // due < kNever (it came due), so kNever - 1 - due cannot wrap; kNever - 1 - step could
        // (a period of 2^64 - 1 armed the next expiry in the past, and the timer interrupt's
        // expire loop panicked: found by fuzz/kernel_objects).
        if (step / period_ == missed + 1 && step <= sched::kNever - 1 - due)
            sched::arm_deadline(deadline_, due + step);
        // else the next one would pass the end of the clock: the timer stops
    }
    count_ += expirations;
    readers_.wake_all();
}

Result<uint64_t> Timer::take(Request& req, bool consume) {
    if (req.buffer.length() < sizeof count_)
        return fail(Error::kBufferTooSmall);
    if (count_ == 0)
        return would_block(req, readers_);
    KEEL_TRY(req.buffer.copy_into(0, &count_, sizeof count_));
    if (consume)
        count_ = 0;
    return Result<uint64_t>(sizeof count_);
}

Result<uint64_t> Timer::read(Request& req) {
    return take(req, true);
}

Result<uint64_t> Timer::peek(Request& req) {
    return take(req, false);
}

Result<uint64_t> Timer::write(Request& req) {
    abi::TimerSet set{};
    if (req.buffer.length() != sizeof set)
        return fail(Error::kInvalidArgument);
    KEEL_TRY(req.buffer.copy_out_of(0, &set, sizeof set));
    if (set.period_ns != 0 && set.period_ns < kMinTimerPeriodNs)
        return fail(Error::kInvalidArgument);
    // Validated: from here on nothing fails.
    sched::disarm_deadline(deadline_);
    count_ = 0;
    period_ = set.period_ns;
    if (set.deadline_ns != 0) {
        const uint64_t now = sched::now_ns();
        if (set.deadline_ns <= now) {
            expire(set.deadline_ns, now);  // already due: now rather than one interrupt later
        } else {
            sched::arm_deadline(deadline_, set.deadline_ns);
        }
    }
    return Result<uint64_t>(sizeof set);
}

Result<uint64_t> Timer::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kSize)
        return answer_u64(req, count_);
    return fail(Error::kInvalidArgument);
}

}  // namespace keel::obj
