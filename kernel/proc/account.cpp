#include "proc/account.hpp"

#include <new>

#include "mm/frame_allocator.hpp"
#include "obj/memory.hpp"
#include "panic.hpp"

namespace keel::proc {

namespace {

uint64_t pages_of(uint64_t bytes) {
    return bytes / mm::kPageSize;
}

}  // namespace

Result<obj::RefPtr<Account>> Account::create(Account* parent, const abi::Limits& limits) {
    if (parent != nullptr && parent->depth_ >= abi::kMaxProcessDepth)
        return fail(abi::Error::kFull);
    auto* a = new (std::nothrow) Account;
    if (a == nullptr)
        return fail(abi::Error::kNoMemory);
    a->parent_ = obj::RefPtr<Account>::retain(parent);
    a->depth_ = parent != nullptr ? parent->depth_ + 1 : 1;
    a->limits_ = limits;
    return obj::RefPtr<Account>::adopt(a);
}

abi::Limits Account::machine_limits() {
    return {mm::frames().managed_frames() * mm::kPageSize, abi::kMaxHandles - 1,
            abi::kMachineQueues, abi::kMachineThreads, 0};
}

Account::~Account() {
    // Everything charged holds a reference: nothing can be charged to an account that goes.
    KEEL_ASSERT(used_.frames == 0 && used_.queues == 0 && used_.threads == 0);
}

void Account::release() {
    Account* a = this;
    while (a != nullptr && --a->refs_ == 0) {
        Account* parent = a->parent_.leak();  // its reference, released by the next round
        delete a;
        a = parent;
    }
}

Usage Account::left() const {
    Usage left{~0ull, ~0u, ~0u};
    for (const Account* a = this; a != nullptr; a = a->parent_.get()) {
        const uint64_t frames = pages_of(a->limits_.memory);
        const uint64_t f = frames > a->used_.frames ? frames - a->used_.frames : 0;
        const uint32_t q =
            a->limits_.queues > a->used_.queues ? a->limits_.queues - a->used_.queues : 0;
        const uint32_t t =
            a->limits_.threads > a->used_.threads ? a->limits_.threads - a->used_.threads : 0;
        left = {f < left.frames ? f : left.frames, q < left.queues ? q : left.queues,
                t < left.threads ? t : left.threads};
    }
    return left;
}

Result<void> Account::charge(const Usage& u) {
    const Usage room = left();
    if (u.frames > room.frames)
        return fail(abi::Error::kNoMemory);
    if (u.queues > room.queues || u.threads > room.threads)
        return fail(abi::Error::kFull);
    for (Account* a = this; a != nullptr; a = a->parent_.get()) {
        a->used_.frames += u.frames;
        a->used_.queues += u.queues;
        a->used_.threads += u.threads;
    }
    return success();
}

void Account::uncharge(const Usage& u) {
    for (Account* a = this; a != nullptr; a = a->parent_.get()) {
        KEEL_ASSERT(a->used_.frames >= u.frames && a->used_.queues >= u.queues &&
                    a->used_.threads >= u.threads);
        a->used_.frames -= u.frames;
        a->used_.queues -= u.queues;
        a->used_.threads -= u.threads;
    }
}

Result<abi::Limits> Account::child_limits(const abi::Limits& wanted, uint32_t handles_left) const {
    if (wanted.reserved != 0)
        return fail(abi::Error::kInvalidArgument);
    const Usage room = left();
    const uint64_t memory_left = room.frames * mm::kPageSize;
    abi::Limits l{};
    l.memory = wanted.memory != 0 ? wanted.memory : memory_left;
    l.handles = wanted.handles != 0 ? wanted.handles : handles_left;
    l.queues = wanted.queues != 0 ? wanted.queues : room.queues;
    l.threads = wanted.threads != 0 ? wanted.threads : room.threads;
    if (l.memory > memory_left)
        return fail(abi::Error::kNoMemory);
    if (l.handles > handles_left || l.queues > room.queues || l.threads > room.threads)
        return fail(abi::Error::kFull);
    return l;
}

Result<Charge> Charge::take(Account* account, const Usage& u) {
    Charge c;
    if (account == nullptr)
        return c;
    KEEL_TRY(account->charge(u));
    c.account_ = obj::RefPtr<Account>::retain(account);
    c.usage_ = u;
    return c;
}

void Charge::give_back() {
    if (account_ != nullptr)
        account_->uncharge(usage_);
    account_.reset();
    usage_ = {};
}

Result<obj::RefPtr<obj::MemoryObject>> charged_memory(Account* account, uint64_t size) {
    // The frames create() will allocate: size rounded up to pages (it checks the size itself).
    if (size == 0 || size > abi::kMaxMemorySize)
        return obj::MemoryObject::create(size);  // its error, nothing charged
    const uint64_t frames = (size + mm::kPageSize - 1) / mm::kPageSize;
    Charge c = KEEL_TRY(Charge::take(account, {frames, 0, 0}));
    obj::RefPtr<obj::MemoryObject> m = KEEL_TRY(obj::MemoryObject::create(size));
    m->hold(std::move(c));
    return m;
}

}  // namespace keel::proc
