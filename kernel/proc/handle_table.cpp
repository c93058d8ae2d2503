#include "proc/handle_table.hpp"

#include <utility>

#include "sched/preempt.hpp"

namespace keel::proc {

Result<abi::Handle> HandleTable::insert(obj::Object& object, uint32_t rights) {
    if (count_ >= limit_)
        return fail(abi::Error::kFull);
    // Round-robin from after the last slot taken; slot 0 is never used, so that handle value 0
    // is never valid.
    for (uint32_t n = 0; n < abi::kMaxHandles - 1; ++n) {
        const uint32_t i = 1 + (next_ - 1 + n) % (abi::kMaxHandles - 1);
        Slot& s = slots_[i];
        if (s.object != nullptr || s.generation > generations_)
            continue;
        s.object = obj::retain_ref(&object);
        s.rights = rights & abi::kRightsAll;
        ++count_;
        next_ = i % (abi::kMaxHandles - 1) + 1;
        return i | (s.generation << abi::kHandleIndexBits);
    }
    return fail(abi::Error::kFull);
}

void HandleTable::advance(uint32_t index) {
    Slot& s = slots_[index];
    ++s.generation;
    if (s.generation > generations_)
        ++retired_;
}

// The slow path of lookup(): says why h is not a live handle (the same checks in full).
Result<HandleEntry> HandleTable::lookup_failed(abi::Handle h) const {
    const uint32_t index = h & kIndexMask;
    const uint32_t generation = h >> abi::kHandleIndexBits;
    if (index == 0 || index >= abi::kMaxHandles || generation == 0 || generation > generations_) {
        return fail(abi::Error::kBadHandle);
    }
    const Slot& s = slots_[index];
    if (s.generation != generation) {
        // A generation this slot had before: the handle was closed and the slot maybe reused.
        return fail(generation < s.generation ? abi::Error::kStaleHandle : abi::Error::kBadHandle);
    }
    if (s.object == nullptr)
        return fail(abi::Error::kBadHandle);
    return HandleEntry{s.object.get(), s.rights};
}

Result<void> HandleTable::close(abi::Handle h) {
    KEEL_TRY(lookup(h));
    Slot& s = slots_[h & kIndexMask];
    obj::RefPtr<obj::Object> o = std::move(s.object);
    s.rights = 0;
    advance(h & kIndexMask);
    --count_;
    o.reset();  // last: its destructor may run, with the slot already free
    return success();
}

void HandleTable::clear() {
    for (uint32_t i = 1; i < abi::kMaxHandles; ++i) {
        Slot& s = slots_[i];
        if (s.object == nullptr)
            continue;
        obj::RefPtr<obj::Object> o = std::move(s.object);
        advance(i);
        --count_;
        o.reset();                     // may run destructors that wake other processes' threads
        (void)sched::preempt_check();  // the table is consistent between entries
    }
}

}  // namespace keel::proc
