// A process's handles: slots holding an object reference and the rights granted with it. A
// handle value carries the slot index and the slot's generation at allocation time; closing a
// slot bumps its generation, so an old value is refused (kStaleHandle) and never reaches the
// object that reuses the slot. Interrupts off.
#pragma once

#include <keel/syscall_abi.hpp>

#include "obj/object.hpp"

namespace keel::proc {

struct HandleEntry {
    obj::Object* object;
    uint32_t rights;
};

// Either an entry or the reason there is none.
struct [[nodiscard]] Lookup {
    bool ok;
    abi::Error error;
    HandleEntry entry;
};

class HandleTable {
  public:
    HandleTable() = default;
    HandleTable(const HandleTable&) = delete;
    HandleTable& operator=(const HandleTable&) = delete;
    ~HandleTable() { clear(); }

    // Stores object (taking a new reference) with rights; 0 when the table is full.
    abi::Handle insert(obj::Object* object, uint32_t rights);
    Lookup lookup(abi::Handle h) const;
    // Releases the slot's reference. Error as lookup() would give.
    Lookup close(abi::Handle h);
    // Releases every reference (process end).
    void clear();
    uint32_t count() const { return count_; }

  private:
    struct Slot {
        obj::Object* object = nullptr;
        uint32_t rights = 0;
        uint16_t generation = 1;
    };
    Slot slots_[abi::kMaxHandles];
    uint32_t count_ = 0;
};

}  // namespace keel::proc
