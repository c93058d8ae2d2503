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

// The rights an operation needs on the handle it names.
uint32_t rights_needed(abi::Op op);

// req.op, req.arg and req.buffer are the caller's; req.rights, req.caller and req.target are
// filled in.
Result<uint64_t> perform(proc::Process& caller, abi::Handle handle, Request& req);

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
