// Kernel tests for handle tables: generations make closed handles stale (never another
// object), bad values are refused, references are taken and released, a full table says so.
#include "proc/handle_table.hpp"

#include "test/ktest.hpp"

namespace keel::proc {
namespace {

class Dummy final : public obj::Object {
  public:
    explicit Dummy(int* destroyed) : obj::Object(abi::Kind::kConsole), destroyed_(destroyed) {}

  private:
    ~Dummy() override { ++*destroyed_; }
    int* destroyed_;
};

KTEST(handle_table_generations_and_rights) {
    int destroyed = 0;
    auto a = obj::adopt_ref(new Dummy(&destroyed));
    auto b = obj::adopt_ref(new Dummy(&destroyed));
    {
        HandleTable t;
        const auto inserted = t.insert(*a, abi::kRightRead | abi::kRightWrite);
        KASSERT(inserted.ok());
        const abi::Handle ha = *inserted;
        KEXPECT_EQ(a->references(), 2u);
        const Result<HandleEntry> l = t.lookup(ha);
        KEXPECT(l.ok() && l->object == a.get());
        KEXPECT_EQ(l->rights, abi::kRightRead | abi::kRightWrite);
        KEXPECT(t.insert(*b, 1u << 30).ok());  // unknown rights bits are dropped
        KEXPECT(t.close(ha).ok());
        KEXPECT_EQ(a->references(), 1u);
        KEXPECT(t.lookup(ha).error() == abi::Error::kStaleHandle);
        KEXPECT(t.close(ha).error() == abi::Error::kStaleHandle);
        const abi::Handle hb2 = *t.insert(*b, abi::kRightRead);  // the next slot, not ha's
        KEXPECT((hb2 & 0xff) != (ha & 0xff));
        KEXPECT(t.lookup(ha).error() == abi::Error::kStaleHandle);
        KEXPECT(t.lookup(hb2)->object == b.get());
        constexpr uint32_t kGen1 = 1u << abi::kHandleIndexBits;
        KEXPECT(t.lookup(0).error() == abi::Error::kBadHandle);
        KEXPECT(t.lookup(abi::kMaxHandles | kGen1).error() == abi::Error::kBadHandle);
        KEXPECT(t.lookup(100 | kGen1).error() == abi::Error::kBadHandle);      // never used
        KEXPECT(t.lookup(hb2 + 7 * kGen1).error() == abi::Error::kBadHandle);  // future gen
        while (t.insert(*a, 0).ok()) {
        }
        KEXPECT(t.insert(*a, 0).error() == abi::Error::kFull);
        KEXPECT_EQ(t.count(), abi::kMaxHandles - 1);
    }  // the table's destructor releases everything it held
    KEXPECT_EQ(a->references(), 1u);
    KEXPECT_EQ(b->references(), 1u);
    a.reset();
    b.reset();
    KEXPECT_EQ(destroyed, 2);
}

// A slot is never given a generation it had before: once its generations are used up it
// retires (here after 3, the real table after 2^23 - 1), and a handle it gave out stays stale
// for good. Slots are taken round-robin, so 3 uses of every slot come before any retires.
KTEST(handle_table_slots_retire_instead_of_wrapping) {
    int destroyed = 0;
    auto a = obj::adopt_ref(new Dummy(&destroyed));
    {
        constexpr uint32_t kSlots = abi::kMaxHandles - 1;
        static abi::Handle seen[3 * kSlots];
        HandleTable t(3);
        for (uint32_t i = 0; i < 3 * kSlots; ++i) {
            const auto h = t.insert(*a, 0);
            KASSERT(h.ok());
            seen[i] = *h;
            KEXPECT_EQ(t.retired(), i < 2 * kSlots ? 0u : i - 2 * kSlots);
            KEXPECT(t.close(*h).ok());
        }
        KEXPECT_EQ(t.retired(), kSlots);
        KEXPECT(t.full());
        KEXPECT(t.insert(*a, 0).error() == abi::Error::kFull);
        uint32_t repeats = 0, live = 0;
        for (uint32_t i = 0; i < 3 * kSlots; ++i) {
            live += t.lookup(seen[i]).ok() ? 1 : 0;
            for (uint32_t j = 0; j < i; ++j)
                repeats += seen[i] == seen[j] ? 1 : 0;
        }
        KEXPECT_EQ(repeats, 0u);  // no handle value was ever given twice
        KEXPECT_EQ(live, 0u);     // and every one is stale now
        KEXPECT(t.lookup(seen[0]).error() == abi::Error::kStaleHandle);
    }
    a.reset();
    KEXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace keel::proc
