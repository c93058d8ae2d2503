// Program loading: a new process from an ELF64 image held in a memory object. The image is
// hostile input: it is copied into the kernel and validated with the loader's own checks
// (lib/elf) against the user image area before any segment is mapped; a bad
// image fails with kBadImage and a logged reason, never a kernel fault.
#pragma once

#include "obj/memory.hpp"
#include "proc/process.hpp"

namespace keel::proc {

inline constexpr uint64_t kMaxImageSize = 16ull << 20;

struct SpawnRequest {
    obj::MemoryObject* image;
    const HandleEntry* handles;  // given to the child in order (abi::initial_handle(i))
    uint32_t handle_count;
    const char* args;  // kernel copy
    uint64_t args_length;
    const char* name;  // kernel copy, already checked; null: unnamed
    uint64_t name_length;
    uint64_t parent = 0;  // the spawning process's id (0: the kernel)
    // The child's account hangs under this one (nullptr: the root, init's) with these limits
    // (nullptr: Account::machine_limits()), already checked against it (Account::child_limits).
    Account* parent_account = nullptr;
    const abi::Limits* limits = nullptr;
};

// Creates the process and its first thread (ready to run): the caller's reference.
Result<obj::RefPtr<Process>> spawn(const SpawnRequest& req);

// Spawn on behalf of `caller` (ProcessSpawn, and create on a process table): the image is the
// caller's handle `image` (a memory object with kRightSpawn), the addresses inside `args` are
// the caller's user memory. The new process's handle in the caller's table (Read | Write |
// Share). The child's limits are SpawnArgs::limits (Account::child_limits). The errors of
// ProcessSpawn (docs/syscalls.md).
Result<abi::Handle> spawn_for(Process& caller, uint64_t image, const abi::SpawnArgs& args);

}  // namespace keel::proc
