#include "proc/handle_table.hpp"

#include <utility>

namespace keel::proc {

Result<abi::Handle> HandleTable::insert(obj::Object& object, uint32_t rights) {
    // Slot 0 is never used, so that handle value 0 is never valid.
    for (uint32_t i = 1; i < abi::kMaxHandles; ++i) {
        Slot& s = slots_[i];
        if (s.object != nullptr)
            continue;
        s.object = obj::retain_ref(&object);
        s.rights = rights & abi::kRightsAll;
        ++count_;
        return i | (uint32_t{s.generation} << abi::kHandleIndexBits);
    }
    return fail(abi::Error::kFull);
}

// The slow path of lookup(): says why h is not a live handle (the same checks in full).
Result<HandleEntry> HandleTable::lookup_failed(abi::Handle h) const {
    const uint32_t index = h & kIndexMask;
    const uint32_t generation = h >> abi::kHandleIndexBits;
    if (index == 0 || index >= abi::kMaxHandles || generation == 0 ||
        generation > kGenerationMask) {
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
    s.generation = static_cast<uint16_t>(s.generation == kGenerationMask ? 1 : s.generation + 1);
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
        s.generation =
            static_cast<uint16_t>(s.generation == kGenerationMask ? 1 : s.generation + 1);
        --count_;
        o.reset();  // may run destructors that wake other processes' threads
    }
}

}  // namespace keel::proc
