#include "obj/perform.hpp"

#include "proc/process.hpp"

namespace keel::obj {

uint32_t rights_needed(abi::Op op) {
    using abi::Op;
    switch (op) {
        case Op::kRead:
        case Op::kPeek:
        case Op::kReadAt:
        case Op::kOpen:
        case Op::kSeek:  // a reader must get back to the start of a read-only file
            return abi::kRightRead;
        case Op::kWrite:
        case Op::kSetMeta:
        case Op::kSync:
            return abi::kRightWrite;
        case Op::kCreate:
            return abi::kRightCreate;
        case Op::kDestroy:
            return abi::kRightDestroy;
        case Op::kShare:
            return abi::kRightShare;
        case Op::kMap:
            return abi::kRightMap;
        case Op::kGetMeta:  // kKind and kRights need none; the object's own keys need kRightRead
        case Op::kClose:
        case Op::kCount:
            return 0;
    }
    return 0;
}

namespace {

// Share: a new handle to the same object, in the caller's table or in a process the caller
// holds with kRightWrite, with at most the rights of the original.
Result<uint64_t> share(proc::Process& caller, const proc::HandleEntry& entry, Request& req) {
    const auto target_handle = static_cast<abi::Handle>(req.arg & 0xffffffffu);
    const auto rights = static_cast<uint32_t>(req.arg >> 32);
    if ((rights & ~abi::kRightsAll) != 0)
        return fail(Error::kInvalidArgument);
    proc::Process* target = &caller;
    if (target_handle != 0) {
        const proc::HandleEntry t = KEEL_TRY(caller.handles().lookup(target_handle));
        if (t.object->kind() != abi::Kind::kProcess)
            return fail(Error::kInvalidArgument);
        if ((t.rights & abi::kRightWrite) == 0)
            return fail(Error::kNoRights);
        target = static_cast<proc::Process*>(t.object);
        if (target->ending())
            return fail(Error::kPeerGone);
    }
    return KEEL_TRY(target->handles().insert(*entry.object, entry.rights & rights));
}

}  // namespace

Result<uint64_t> perform(proc::Process& caller, abi::Handle handle, Request& req) {
    if (static_cast<uint32_t>(req.op) >= static_cast<uint32_t>(abi::Op::kCount))
        return fail(Error::kInvalidArgument);
    const proc::HandleEntry entry = KEEL_TRY(caller.handles().lookup(handle));
    const uint32_t rights = entry.rights;
    Object* const found = entry.object;
    const uint32_t need = rights_needed(req.op);
    if ((rights & need) != need)
        return fail(Error::kNoRights);
    req.rights = rights;
    req.caller = &caller;
    req.target = found;
    Object& o = *found;
    using abi::Op;
    switch (req.op) {
        case Op::kRead:
            return o.read(req);
        case Op::kPeek:
            return o.peek(req);
        case Op::kWrite:
            return o.write(req);
        case Op::kGetMeta:
            if (static_cast<abi::Meta>(req.arg) == abi::Meta::kKind)
                return answer_u64(req, static_cast<uint64_t>(o.kind()));
            if (static_cast<abi::Meta>(req.arg) == abi::Meta::kRights)
                return answer_u64(req, req.rights);
            if ((req.rights & abi::kRightRead) == 0)
                return fail(Error::kNoRights);
            return o.get_meta(req);
        case Op::kSetMeta:
            return o.set_meta(req);
        case Op::kOpen:
            return o.open(req);
        case Op::kCreate:
            return o.create(req);
        case Op::kDestroy:
            return o.destroy(req);
        case Op::kSeek:
            return o.seek(req);
        case Op::kShare:
            return share(caller, {found, rights}, req);
        case Op::kClose:
            (void)caller.handles().close(handle);
            return Result<uint64_t>(0);
        case Op::kMap:
            return o.map(req);
        case Op::kSync:
            return o.sync(req);
        case Op::kReadAt:
            // A position whose read would end past 2^64 names no byte of any object: refused
            // here, once, so no object or server has to think about the wrap.
            if (req.arg + req.buffer.length() < req.arg)
                return fail(Error::kInvalidArgument);
            return o.read_at(req);
        case Op::kCount:
            break;
    }
    return fail(Error::kInvalidArgument);
}

}  // namespace keel::obj
