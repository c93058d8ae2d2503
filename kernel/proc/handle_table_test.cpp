// Kernel tests for handle tables: generations make closed handles stale (never another
// object), bad values are refused, references are taken and released, a full table says so.
#include "proc/handle_table.hpp"

#include "test/ktest.hpp"

namespace keel::proc {
namespace {

class Dummy final : public obj::Object {
  public:
    explicit Dummy(int* destroyed) : destroyed_(destroyed) {}
    abi::Kind kind() const override { return abi::Kind::kConsole; }

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
        const abi::Handle hb2 = *t.insert(*b, abi::kRightRead);  // reuses ha's slot
        KEXPECT_EQ(hb2 & 0xffff, ha & 0xffff);
        KEXPECT(hb2 != ha);
        KEXPECT(t.lookup(ha).error() == abi::Error::kStaleHandle);
        KEXPECT(t.lookup(hb2)->object == b.get());
        KEXPECT(t.lookup(0).error() == abi::Error::kBadHandle);
        KEXPECT(t.lookup(abi::kMaxHandles | (1u << 16)).error() == abi::Error::kBadHandle);
        KEXPECT(t.lookup(100 | (1u << 16)).error() == abi::Error::kBadHandle);  // never used
        KEXPECT(t.lookup(hb2 + (7u << 16)).error() == abi::Error::kBadHandle);  // future gen
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

}  // namespace
}  // namespace keel::proc
