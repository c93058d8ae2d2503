// perform(): one object operation on behalf of a process, the single implementation behind
// do_io and (issue 8) queued submissions. It resolves the handle (kBadHandle, kStaleHandle),
// checks the rights the operation needs (kNoRights), answers the generic operations (share,
// close, the kKind and kRights meta keys) and hands the rest to the object. It never blocks:
// kWouldBlock comes back with the wait queue to retry on.
#pragma once

#include "obj/object.hpp"
#include "obj/served.hpp"
#include "proc/process.hpp"

namespace keel::obj {

// The rights an operation needs on the handle it names. Inline: do_io's direct call checks it
// too (Served::start_call).
inline uint32_t rights_needed(abi::Op op) {
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

// req.op, req.arg and req.buffer are the caller's; req.rights, req.caller and req.target are
// filled in.
Result<uint64_t> perform(proc::Process& caller, abi::Handle handle, Request& req);
// The same once the caller has looked `handle` up (`entry`) and checked req.op is an operation
// (do_io, which looks first for a direct call: Served::start_call).
Result<uint64_t> perform(proc::Process& caller, abi::Handle handle, const proc::HandleEntry& entry,
                         Request& req);

// perform() again after a wake-up, `target` being the req.target of the last try. An operation
// forwarded to a server (req.forward started) whose handle still names `target` is finished
// at once: the answer perform() would reach through the dispatch and Served::forward, without
// them (do_io's retry, a queue's parked operation). Anything else: perform(). Inline: the
// callers' own frames hold what it needs.
inline Result<uint64_t> perform_retry(proc::Process& caller, abi::Handle handle, Request& req,
                                      const Object* target) {
    if (req.forward != nullptr && req.forward->started()) {
        const Result<proc::HandleEntry> e = caller.handles().lookup(handle);
        if (e.ok() && e.value().object == target) {
            req.rights = e.value().rights;
            req.caller = &caller;
            req.target = e.value().object;
            return Served::finish_started(req);
        }
    }
    return perform(caller, handle, req);
}

}  // namespace keel::obj
