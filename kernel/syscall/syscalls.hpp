// The system-call table (abi::Syscall). keel_syscall_dispatch is called by
// arch/syscall_entry.S with the user's argument registers in a syscall_entry::SyscallFrame,
// interrupts off; it returns the result (rax).
#pragma once

#include <cstdint>

#include "arch/syscall_entry.hpp"

extern "C" uint64_t keel_syscall_dispatch(keel::syscall_entry::SyscallFrame* frame);
