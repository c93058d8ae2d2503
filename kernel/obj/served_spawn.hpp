// Handles carried by a served operation (docs/syscalls.md, "Handles carried by served
// operations"): a create on a served object is a spawn on the server's process table. The
// caller's TableSpawn names its own handles and memory, which the server cannot reach, so the
// kernel reads and checks it as ProcessSpawn does (proc/spawn_args.hpp), lends the image and
// the given handles into the server's table and writes an abi::ServedSpawn into the buffer the
// server sees. The lent values are kept (Lent) until the server's completion is collected;
// then those the server left open are closed. A value the server closed meanwhile is stale
// (its slot's generation moved on), so closing by value never reaches another object.
#pragma once

#include "obj/object.hpp"

namespace keel::obj {

struct Lent {
    uint32_t count = 0;
    abi::Handle handles[1 + abi::kMaxSpawnHandles];  // the image first
};

// Reads the caller's TableSpawn (req.buffer) and lends what it names to `server`: on success
// *out holds the record and `lent` the server's new handles; on failure nothing is lent. The
// errors of ProcessSpawn for the request, and kInvalidArgument (not exactly a TableSpawn,
// reserved not 0), kFull (the server's table has no room for them all).
Result<void> lend_spawn(Request& req, proc::Process& server, abi::ServedSpawn* out, Lent& lent);

// Closes in `server`'s table the lent handles it has not closed; lent is empty afterwards.
void return_lent(proc::Process& server, Lent& lent);

}  // namespace keel::obj
