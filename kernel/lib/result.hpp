// The kernel's one error shape: Result<T> over the system-call errors (abi::Error), the same
// template ipc/ uses over its own errors (ipc/result.hpp), so both sides share one set of
// rules: success is the value side, value() of an error panics (error() of a success is no
// member of the enum: test ok() first), and KEEL_TRY(expr) returns an error to the caller or
// yields the value.
//
// Why not ipc::Error: what the kernel reports is what a system call returns to user space
// (-abi::Error), so its Result carries that enum and a system call converts it exactly once,
// at the dispatch table. kWouldBlock's wait queue is not part of the error: an operation that
// would block names it in its Request (obj/object.hpp, would_block()).
#pragma once

#include <keel/syscall_abi.hpp>

#include <ipc/result.hpp>

namespace keel {

template <class T = void>
using Result = ipc::Result<T, abi::Error>;

using ipc::fail;
using ipc::success;

}  // namespace keel
