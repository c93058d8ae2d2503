#include "obj/root.hpp"

#include <new>

#include <keel/c/libc.hpp>
#include "proc/process.hpp"

namespace keel::obj {

namespace {
// Copies the request's name into storage; false (with the reason) when it is empty, too long
// or unreadable.
bool read_name(Request& req, char (&name)[abi::kMaxNameLength], uint64_t* length, Error* why) {
    const uint64_t n = req.buffer.length();
    if (n == 0 || n > abi::kMaxNameLength) {
        *why = n == 0 ? Error::kInvalidArgument : Error::kTooLarge;
        return false;
    }
    if (!req.buffer.copy_out_of(0, name, n)) {
        *why = Error::kBadAddress;
        return false;
    }
    *length = n;
    return true;
}
}  // namespace

Root* Root::create() {
    return new (std::nothrow) Root;
}

Root::~Root() {
    for (Entry& e : entries_) {
        if (e.object != nullptr)
            e.object->release();
    }
}

Root::Entry* Root::find(const char* name, uint64_t length) {
    for (Entry& e : entries_) {
        if (e.object != nullptr && e.length == length && memcmp(e.name, name, length) == 0)
            return &e;
    }
    return nullptr;
}

bool Root::bind(const char* name, uint64_t length, Object* object, uint32_t rights) {
    if (length == 0 || length > abi::kMaxNameLength || find(name, length) != nullptr)
        return false;
    for (Entry& e : entries_) {
        if (e.object != nullptr)
            continue;
        memcpy(e.name, name, length);
        e.length = length;
        object->retain();
        e.object = object;
        e.rights = rights;
        return true;
    }
    return false;
}

OpResult Root::read(Request& req) {
    uint64_t at = 0;
    for (const Entry& e : entries_) {
        if (e.object == nullptr)
            continue;
        if (at + e.length + 1 > req.buffer.length())
            return OpResult::fail(Error::kBufferTooSmall);
        const char newline = '\n';
        if (!req.buffer.copy_into(at, e.name, e.length) ||
            !req.buffer.copy_into(at + e.length, &newline, 1)) {
            return OpResult::fail(Error::kBadAddress);
        }
        at += e.length + 1;
    }
    return OpResult::success(at);
}

OpResult Root::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) != abi::Meta::kSize)
        return OpResult::fail(Error::kInvalidArgument);
    uint64_t n = 0;
    for (const Entry& e : entries_)
        n += e.object != nullptr ? 1 : 0;
    return answer_u64(req, n);
}

OpResult Root::open(Request& req) {
    char name[abi::kMaxNameLength];
    uint64_t length;
    Error why;
    if (!read_name(req, name, &length, &why))
        return OpResult::fail(why);
    Entry* e = find(name, length);
    if (e == nullptr)
        return OpResult::fail(Error::kNotFound);
    const abi::Handle h = req.caller->handles().insert(e->object, e->rights);
    return h == 0 ? OpResult::fail(Error::kFull) : OpResult::success(h);
}

OpResult Root::create(Request& req) {
    char name[abi::kMaxNameLength];
    uint64_t length;
    Error why;
    if (!read_name(req, name, &length, &why))
        return OpResult::fail(why);
    // Binding publishes the object to whoever holds this root: that is sharing, so the bound
    // handle needs kRightShare, and the entry grants no more than that handle had.
    const proc::Lookup l = req.caller->handles().lookup(static_cast<abi::Handle>(req.arg));
    if (req.arg > 0xffffffffull || !l.ok)
        return OpResult::fail(req.arg > 0xffffffffull ? Error::kBadHandle : l.error);
    if ((l.entry.rights & abi::kRightShare) == 0)
        return OpResult::fail(Error::kNoRights);
    if (l.entry.object == this)
        return OpResult::fail(Error::kInvalidArgument);  // no self-reference cycles
    if (find(name, length) != nullptr)
        return OpResult::fail(Error::kExists);
    if (!bind(name, length, l.entry.object, l.entry.rights))
        return OpResult::fail(Error::kFull);
    return OpResult::success(0);
}

OpResult Root::destroy(Request& req) {
    char name[abi::kMaxNameLength];
    uint64_t length;
    Error why;
    if (!read_name(req, name, &length, &why))
        return OpResult::fail(why);
    Entry* e = find(name, length);
    if (e == nullptr)
        return OpResult::fail(Error::kNotFound);
    Object* o = e->object;
    e->object = nullptr;
    o->release();
    return OpResult::success(0);
}

}  // namespace keel::obj
