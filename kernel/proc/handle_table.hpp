// A process's handles: slots holding an object reference and the rights granted with it. A
// handle value carries the slot index and the slot's generation at allocation time; closing a
// slot bumps its generation, so an old value is refused (kStaleHandle) and never reaches the
// object that reuses the slot. Interrupts off.
#pragma once

#include <keel/syscall_abi.hpp>

#include "obj/object.hpp"

namespace keel::proc {

// What a handle names: the object (borrowed: the slot's RefPtr keeps it alive while the handle
// is open and interrupts stay off) and the handle's rights.
struct HandleEntry {
    obj::Object* object;
    uint32_t rights;
};

class HandleTable {
  public:
    HandleTable() = default;
    HandleTable(const HandleTable&) = delete;
    HandleTable& operator=(const HandleTable&) = delete;
    ~HandleTable() { clear(); }

    // Stores object (taking a new reference) with rights; kFull when the table is full.
    Result<abi::Handle> insert(obj::Object& object, uint32_t rights);
    // Inline: every operation starts here (one range check, one generation compare; a slot's
    // generation is never 0 nor above kGenerationMask, so equality validates h's as well).
    Result<HandleEntry> lookup(abi::Handle h) const {
        const uint32_t index = h & kIndexMask;
        if (index - 1 < abi::kMaxHandles - 1) [[likely]] {
            const Slot& s = slots_[index];
            if (s.generation == (h >> abi::kHandleIndexBits) && s.object != nullptr) [[likely]]
                return HandleEntry{s.object.get(), s.rights};
        }
        return lookup_failed(h);
    }
    // Releases the slot's reference. Error as lookup() would give.
    Result<void> close(abi::Handle h);
    // Releases every reference (process end).
    void clear();
    uint32_t count() const { return count_; }
    // No slot left: insert() would fail kFull. A call that creates something runnable (a
    // thread, a process) checks this first, so that it never starts what it cannot hand back.
    bool full() const { return count_ >= abi::kMaxHandles - 1; }  // slot 0 is never used

  private:
    static constexpr uint32_t kIndexMask = (1u << abi::kHandleIndexBits) - 1;
    static constexpr uint16_t kGenerationMask = 0x7fff;  // handles stay positive as int32/int64
    Result<HandleEntry> lookup_failed(abi::Handle h) const;
    struct Slot {
        obj::RefPtr<obj::Object> object;
        uint32_t rights = 0;
        uint16_t generation = 1;
    };
    Slot slots_[abi::kMaxHandles];
    uint32_t count_ = 0;
};

}  // namespace keel::proc
