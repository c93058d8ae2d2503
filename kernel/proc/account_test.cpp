// Kernel tests for resource accounts: a charge is made to every account up the chain or to
// none, child limits never pass what is left, charges held by objects are given back when they
// go, an account chain as deep as allowed is released without recursion, and the handle limit.
#include "proc/account.hpp"

#include "mm/heap.hpp"
#include "obj/memory.hpp"
#include "proc/handle_table.hpp"
#include "test/ktest.hpp"

namespace keel::proc {
namespace {

constexpr abi::Limits kRoot{100 * 4096, 50, 4, 8, 0};

KTEST(account_charges_nest_all_or_nothing) {
    obj::RefPtr<Account> root = *Account::create(nullptr, kRoot);
    obj::RefPtr<Account> child = *Account::create(root.get(), {60 * 4096, 10, 2, 8, 0});
    KEXPECT(child->charge({50, 1, 1}).ok());
    KEXPECT_EQ(root->used().frames, 50u);
    KEXPECT_EQ(root->used().queues, 1u);
    KEXPECT_EQ(root->used().threads, 1u);
    // The child's own limit refuses first, then the root's; nothing is charged then.
    KEXPECT(child->charge({11, 0, 0}).error() == abi::Error::kNoMemory);
    KEXPECT(child->charge({0, 2, 0}).error() == abi::Error::kFull);
    KEXPECT(root->charge({51, 0, 0}).error() == abi::Error::kNoMemory);
    KEXPECT_EQ(child->used().frames, 50u);
    KEXPECT_EQ(root->used().frames, 50u);
    KEXPECT(root->charge({41, 0, 0}).ok());  // the root's own use leaves the child less
    KEXPECT(child->charge({10, 0, 0}).error() == abi::Error::kNoMemory);
    root->uncharge({41, 0, 0});
    child->uncharge({50, 1, 1});
    KEXPECT_EQ(root->used().frames, 0u);
    KEXPECT_EQ(root->used().threads, 0u);
}

KTEST(account_child_limits_within_what_is_left) {
    obj::RefPtr<Account> root = *Account::create(nullptr, kRoot);
    KEXPECT(root->charge({30, 1, 3}).ok());
    const Result<abi::Limits> all = root->child_limits({}, 50);
    KASSERT(all.ok());
    KEXPECT_EQ(all->memory, 70u * 4096);
    KEXPECT_EQ(all->handles, 50u);
    KEXPECT_EQ(all->queues, 3u);
    KEXPECT_EQ(all->threads, 5u);
    KEXPECT(root->child_limits({70 * 4096, 0, 0, 0, 0}, 50).ok());
    KEXPECT(root->child_limits({71 * 4096, 0, 0, 0, 0}, 50).error() == abi::Error::kNoMemory);
    KEXPECT(root->child_limits({0, 51, 0, 0, 0}, 50).error() == abi::Error::kFull);
    KEXPECT(root->child_limits({0, 0, 4, 0, 0}, 50).error() == abi::Error::kFull);
    KEXPECT(root->child_limits({0, 0, 0, 6, 0}, 50).error() == abi::Error::kFull);
    KEXPECT(root->child_limits({0, 0, 0, 0, 1}, 50).error() == abi::Error::kInvalidArgument);
    root->uncharge({30, 1, 3});
}

KTEST(account_charges_held_by_objects_and_a_deep_chain) {
    const heap::Stats before = heap::stats();
    {
        obj::RefPtr<Account> root = *Account::create(nullptr, kRoot);
        obj::RefPtr<Account> a = root;
        for (uint32_t depth = 1; depth < abi::kMaxProcessDepth; ++depth)
            a = *Account::create(a.get(), kRoot);
        KEXPECT(Account::create(a.get(), kRoot).error() == abi::Error::kFull);
        {
            // A memory object charged to the deepest account, held after the chain is dropped.
            obj::RefPtr<obj::MemoryObject> m = *charged_memory(a.get(), 3 * 4096);
            KEXPECT_EQ(root->used().frames, 3u);
            KEXPECT(charged_memory(a.get(), 98 * 4096).error() == abi::Error::kNoMemory);
            a.reset();
            root.reset();  // the chain lives on through the object's charge
        }                  // the object goes: its charge, then the chain, account by account
    }
    KEXPECT_EQ(heap::stats().live_allocations, before.live_allocations);
}

KTEST(handle_table_limit) {
    class Dummy final : public obj::Object {
      public:
        Dummy() : obj::Object(abi::Kind::kConsole) {}
    };
    auto d = obj::adopt_ref(new Dummy);
    HandleTable t;
    t.set_limit(2);
    KEXPECT(t.insert(*d, abi::kRightRead).ok());
    const abi::Handle h = *t.insert(*d, abi::kRightRead);
    KEXPECT(t.full());
    KEXPECT(t.insert(*d, abi::kRightRead).error() == abi::Error::kFull);
    KEXPECT(t.close(h).ok());
    KEXPECT(!t.full());
    KEXPECT(t.insert(*d, abi::kRightRead).ok());
    t.set_limit(1000);  // never above the table's slots
    KEXPECT_EQ(t.limit(), abi::kMaxHandles - 1);
}

}  // namespace
}  // namespace keel::proc
