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
};

// Creates the process and its first thread (ready to run): the caller's reference.
Result<obj::RefPtr<Process>> spawn(const SpawnRequest& req);

}  // namespace keel::proc
