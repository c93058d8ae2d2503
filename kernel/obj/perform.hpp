// perform(): one object operation on behalf of a process, the single implementation behind
// do_io and (issue 8) queued submissions. It resolves the handle (kBadHandle, kStaleHandle),
// checks the rights the operation needs (kNoRights), answers the generic operations (share,
// close, the kKind and kRights meta keys) and hands the rest to the object. It never blocks:
// kWouldBlock comes back with the wait queue to retry on.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

// The rights an operation needs on the handle it names.
uint32_t rights_needed(abi::Op op);

// req.op, req.arg and req.buffer are the caller's; req.rights and req.caller are filled in.
Result<uint64_t> perform(proc::Process& caller, abi::Handle handle, Request& req);

}  // namespace keel::obj
