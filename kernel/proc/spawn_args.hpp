// What a SpawnArgs names, read from the caller's memory and checked against its handle table:
// the image, the handles to give, the argument string, the name and the limits. Shared by
// ProcessSpawn and create on the kernel's process table (proc/spawn.hpp) and by a create
// forwarded to a server's process table (obj/served_spawn.hpp), so the two refuse alike.
#pragma once

#include "proc/handle_table.hpp"

namespace keel::proc {

class Process;

struct SpawnInput {
    HandleEntry image;  // a memory object with kRightSpawn
    uint32_t handle_count;
    HandleEntry handles[abi::kMaxSpawnHandles];  // each with kRightShare (giving is sharing)
    uint64_t args_length;
    uint64_t name_length;  // printable bytes
    bool has_limits;       // SpawnArgs::limits was given (else `limits` is all zero)
    abi::Limits limits;
    char args[abi::kMaxArgsLength];
    char name[abi::kMaxNameLength];
};

// Fills `out` from `caller`'s handle `image` and `args` (whose addresses are the caller's user
// memory). The errors of ProcessSpawn for these (docs/syscalls.md): kBadHandle/kStaleHandle,
// kInvalidArgument (image not memory, name not printable), kNoRights (no Spawn, a given handle
// without Share), kTooLarge, kBadAddress. Nothing is held: the entries are borrowed.
Result<void> read_spawn_input(Process& caller, uint64_t image, const abi::SpawnArgs& args,
                              SpawnInput& out);

}  // namespace keel::proc
