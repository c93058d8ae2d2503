// The objects one served port names (docs/syscalls.md, "Many objects per port"): 0 is the object
// serve_create made, the server's root, and 1..N are those its answers to opens created. A
// server keeps one T per object; T has a `kind` member of an enum with `kFree` (the value of a
// T{}: the slot is unused) and `kRoot`. Header only: the table is the server's, in its memory.
#pragma once

#include <cstdint>

namespace keel::user {

template <typename T, uint32_t N>
class ServedObjects {
  public:
    using Kind = decltype(T::kind);

    // The object `id` names: the root for 0, nullptr for an id past N or a free slot.
    T* find(uint32_t id) {
        if (id == 0) {
            root_.kind = Kind::kRoot;
            return &root_;
        }
        if (id > N || slots_[id - 1].kind == Kind::kFree)
            return nullptr;
        return &slots_[id - 1];
    }
    bool is_root(const T* o) const { return o == &root_; }

    // A free slot made a T{} of `kind`: its id (1..N), or 0 when every slot is in use.
    uint32_t add(Kind kind) {
        for (uint32_t i = 0; i < N; ++i) {
            if (slots_[i].kind == Kind::kFree) {
                slots_[i] = T{};
                slots_[i].kind = kind;
                return i + 1;
            }
        }
        return 0;
    }
    // The slot of an id add() returned.
    T& at(uint32_t id) { return slots_[id - 1]; }
    // The id of a slot of this table (not the root).
    uint32_t id_of(const T& o) const { return static_cast<uint32_t>(&o - slots_) + 1; }

    // Frees the slot of `id` (not the root; an id not in use changes nothing).
    void remove(uint32_t id) {
        if (id >= 1 && id <= N)
            slots_[id - 1].kind = Kind::kFree;
    }

    // How many slots are in use.
    uint32_t live() const {
        uint32_t n = 0;
        for (const T& o : slots_)
            n += o.kind != Kind::kFree ? 1 : 0;
        return n;
    }

  private:
    T root_{};
    T slots_[N] = {};
};

}  // namespace keel::user
