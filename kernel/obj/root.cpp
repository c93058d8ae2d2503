#include "obj/root.hpp"

#include <new>

#include <keel/c/libc.hpp>
#include "proc/process.hpp"

namespace keel::obj {

namespace {
// Copies the request's name into storage and returns its length: kInvalidArgument (empty),
// kTooLarge or kBadAddress.
Result<uint64_t> read_name(Request& req, char (&name)[abi::kMaxNameLength]) {
    const uint64_t n = req.buffer.length();
    if (n == 0 || n > abi::kMaxNameLength)
        return fail(n == 0 ? Error::kInvalidArgument : Error::kTooLarge);
    KEEL_TRY(req.buffer.copy_out_of(0, name, n));
    return n;
}
}  // namespace

Result<RefPtr<Root>> Root::create(uint32_t capacity) {
    RefPtr<Root> r = adopt_ref(new (std::nothrow) Root);
    if (!r)
        return fail(Error::kNoMemory);
    r->entries_ = new (std::nothrow) Entry[capacity];
    if (r->entries_ == nullptr)
        return fail(Error::kNoMemory);
    r->capacity_ = capacity;
    return r;
}

Root::Entry* Root::find(const char* name, uint64_t length) {
    for (Entry& e : entries()) {
        if (e.object != nullptr && e.length == length && memcmp(e.name, name, length) == 0)
            return &e;
    }
    return nullptr;
}

Result<void> Root::bind(const char* name, uint64_t length, Object& object, uint32_t rights) {
    if (length == 0 || length > abi::kMaxNameLength)
        return fail(Error::kInvalidArgument);
    if (find(name, length) != nullptr)
        return fail(Error::kExists);
    for (Entry& e : entries()) {
        if (e.object != nullptr)
            continue;
        memcpy(e.name, name, length);
        e.length = length;
        e.object = retain_ref(&object);
        e.rights = rights;
        return success();
    }
    return fail(Error::kFull);
}

// Names from the arg-th on (a cursor: the caller continues at arg + the names it got), as
// many whole ones as fit; kBufferTooSmall only when not even the first does.
Result<uint64_t> Root::read(Request& req) {
    uint64_t at = 0;
    uint64_t skip = req.arg;
    for (const Entry& e : entries()) {
        if (e.object == nullptr)
            continue;
        if (skip > 0) {
            --skip;
            continue;
        }
        if (at + e.length + 1 > req.buffer.length()) {
            if (at == 0)
                return fail(Error::kBufferTooSmall);
            break;
        }
        const char newline = '\n';
        if (!req.buffer.copy_into(at, e.name, e.length) ||
            !req.buffer.copy_into(at + e.length, &newline, 1)) {
            return fail(Error::kBadAddress);
        }
        at += e.length + 1;
    }
    return Result<uint64_t>(at);
}

Result<uint64_t> Root::get_meta(Request& req) {
    const auto key = static_cast<abi::Meta>(req.arg);
    if (key != abi::Meta::kSize && key != abi::Meta::kStat)
        return fail(Error::kInvalidArgument);
    uint64_t n = 0;
    for (const Entry& e : entries())
        n += e.object != nullptr ? 1 : 0;
    if (key == abi::Meta::kStat)
        return answer_stat(req, abi::NodeType::kDirectory, n);
    return answer_u64(req, n);
}

Result<Root::Entry*> Root::named(Request& req) {
    char name[abi::kMaxNameLength];
    const uint64_t length = KEEL_TRY(read_name(req, name));
    Entry* e = find(name, length);
    if (e == nullptr)
        return fail(Error::kNotFound);
    return e;
}

Result<uint64_t> Root::open(Request& req) {
    const Entry* e = KEEL_TRY(named(req));
    return KEEL_TRY(req.caller->handles().insert(*e->object, e->rights));
}

Result<uint64_t> Root::create(Request& req) {
    char name[abi::kMaxNameLength];
    const uint64_t length = KEEL_TRY(read_name(req, name));
    // Binding publishes the object to whoever holds this root: that is sharing, so the bound
    // handle needs kRightShare, and the entry grants no more than that handle had.
    if (req.arg > 0xffffffffull)
        return fail(Error::kBadHandle);
    const proc::HandleEntry l =
        KEEL_TRY(req.caller->handles().lookup(static_cast<abi::Handle>(req.arg)));
    if ((l.rights & abi::kRightShare) == 0)
        return fail(Error::kNoRights);
    // No cycles (this root in itself, or in a root it holds, at any depth): nothing would free
    // them, not even the end of every process that held them.
    if (l.object == this)
        return fail(Error::kInvalidArgument);
    if (l.object->kind() == abi::Kind::kRoot)
        KEEL_TRY(static_cast<Root*>(l.object)->check_no_cycle(*this));
    KEEL_TRY(bind(name, length, *l.object, l.rights));
    return uint64_t{0};
}

Result<void> Root::check_no_cycle(const Root& target) {
    static uint64_t walks = 0;  // interrupts off, no preemption point inside: one walk at a time
    const uint64_t walk = ++walks;
    visited_ = walk;
    next_work_ = nullptr;
    uint32_t seen = 0;
    for (Root* work = this; work != nullptr;) {
        Root* r = work;
        work = r->next_work_;
        if (r == &target)
            return fail(Error::kInvalidArgument);
        // The walk's length is the caller's to choose (every root below this one): past
        // kMaxRootsChecked the bind is refused rather than the kernel's time bound broken.
        if (++seen > kMaxRootsChecked)
            return fail(Error::kTooLarge);
        for (const Entry& e : r->entries()) {
            if (e.object == nullptr || e.object->kind() != abi::Kind::kRoot)
                continue;
            auto* inner = static_cast<Root*>(e.object.get());
            if (inner->visited_ == walk)
                continue;
            inner->visited_ = walk;
            inner->next_work_ = work;
            work = inner;
        }
    }
    return success();
}

Result<uint64_t> Root::destroy(Request& req) {
    KEEL_TRY(named(req))->object.reset();
    return uint64_t{0};
}

}  // namespace keel::obj
