// A process's handles: slots holding an object reference and the rights granted with it. A
// handle value carries the slot index and the slot's generation at allocation time; closing a
// slot bumps its generation, so an old value is refused (kStaleHandle) and never reaches the
// object that reuses the slot. A slot whose generation would wrap round is retired for good
// (a generation once handed out is never valid again), and slots are taken round-robin, not
// lowest first, so that retiring takes 2^23 uses of every slot. Interrupts off.
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
    // A table whose slots retire after `generations` uses (tests: the real limit is 2^23 - 1).
    explicit HandleTable(uint32_t generations) : generations_(generations) {}
    HandleTable(const HandleTable&) = delete;
    HandleTable& operator=(const HandleTable&) = delete;
    ~HandleTable() { clear(); }

    // At most `limit` handles open at once (abi::Limits::handles; at most kMaxHandles - 1).
    void set_limit(uint32_t limit) { limit_ = limit < kSlots ? limit : kSlots; }
    uint32_t limit() const { return limit_; }
    // Stores object (taking a new reference) with rights; kFull when the table is full (or
    // holds its limit).
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
    uint32_t retired() const { return retired_; }
    // No slot left: insert() would fail kFull. A call that creates something runnable (a
    // thread, a process) checks this first, so that it never starts what it cannot hand back.
    bool full() const { return count_ >= limit_ || count_ + retired_ >= kSlots; }

  private:
    static constexpr uint32_t kIndexMask = (1u << abi::kHandleIndexBits) - 1;
    static constexpr uint32_t kSlots = abi::kMaxHandles - 1;  // slot 0 unused
    // Handles stay positive as int32/int64: 31 bits in all.
    static constexpr uint32_t kGenerationMask = (1u << (31 - abi::kHandleIndexBits)) - 1;
    Result<HandleEntry> lookup_failed(abi::Handle h) const;
    // The slot's generation after its object went: the next one, or past every valid one
    // (retired) once generations_ were used.
    void advance(uint32_t index);
    struct Slot {
        obj::RefPtr<obj::Object> object;
        uint32_t rights = 0;
        uint32_t generation = 1;  // generations_ + 1: retired
    };
    Slot slots_[abi::kMaxHandles];
    uint32_t count_ = 0;
    uint32_t retired_ = 0;
    uint32_t next_ = 1;  // where insert() starts looking
    uint32_t generations_ = kGenerationMask;
    uint32_t limit_ = kSlots;
};

}  // namespace keel::proc
