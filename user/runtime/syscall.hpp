// System-call wrappers: one inline function per abi::Syscall, returning the kernel's raw
// result (>= 0 success, -Error failure). See docs/syscalls.md.
#pragma once

#include <keel/syscall_abi.hpp>

namespace keel::user {

using abi::Error;
using abi::Handle;
using abi::Op;
using abi::queue_error_status;

inline int64_t syscall(abi::Syscall n, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0,
                       uint64_t d = 0, uint64_t e = 0, uint64_t f = 0) {
    int64_t ret;
    register uint64_t r10 asm("r10") = d;
    register uint64_t r8 asm("r8") = e;
    register uint64_t r9 asm("r9") = f;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(static_cast<uint64_t>(n)), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    return ret;
}

inline int64_t err(Error e) {
    return -static_cast<int64_t>(e);
}

namespace sys {
inline int64_t do_io(uint64_t h, Op op, const void* buf = nullptr, uint64_t len = 0,
                     uint64_t arg = 0) {
    return syscall(abi::Syscall::kDoIo, h, static_cast<uint64_t>(op),
                   reinterpret_cast<uint64_t>(buf), len, arg);
}
// do_io that gives up after timeout_ns (0: never): -kTimedOut, and a forwarded operation is
// cancelled at its server.
inline int64_t do_io_timeout(uint64_t h, Op op, const void* buf, uint64_t len, uint64_t arg,
                             uint64_t timeout_ns) {
    return syscall(abi::Syscall::kDoIo, h, static_cast<uint64_t>(op),
                   reinterpret_cast<uint64_t>(buf), len, arg, timeout_ns);
}
// Raw form for bad-input tests: every argument as the kernel sees it.
inline int64_t do_io_raw(uint64_t h, uint64_t op, uint64_t buf, uint64_t len, uint64_t arg) {
    return syscall(abi::Syscall::kDoIo, h, op, buf, len, arg);
}
inline int64_t object_new(abi::Kind kind, uint64_t arg, Handle* out) {
    return syscall(abi::Syscall::kObjectNew, static_cast<uint64_t>(kind), arg,
                   reinterpret_cast<uint64_t>(out));
}
inline int64_t spawn(Handle image, const abi::SpawnArgs* args) {
    return syscall(abi::Syscall::kProcessSpawn, image, reinterpret_cast<uint64_t>(args));
}
[[noreturn]] inline void process_exit(int64_t status) {
    syscall(abi::Syscall::kProcessExit, static_cast<uint64_t>(status));
    __builtin_unreachable();
}
inline int64_t thread_spawn(void (*entry)(uint64_t), uint64_t stack_top, uint64_t arg) {
    return syscall(abi::Syscall::kThreadSpawn, reinterpret_cast<uint64_t>(entry), stack_top, arg);
}
[[noreturn]] inline void thread_exit(int64_t status) {
    syscall(abi::Syscall::kThreadExit, static_cast<uint64_t>(status));
    __builtin_unreachable();
}
inline int64_t sleep_ns(uint64_t ns) {
    return syscall(abi::Syscall::kSleep, ns);
}
inline uint64_t clock_ns() {
    return static_cast<uint64_t>(syscall(abi::Syscall::kClock, 0));
}
// The wall clock: nanoseconds since 1970-01-01 00:00:00 UTC (the RTC read at boot, then the
// monotonic clock).
inline uint64_t wall_clock_ns() {
    return static_cast<uint64_t>(syscall(abi::Syscall::kClock, 1));
}
inline int64_t futex_wait(const void* addr, uint32_t expected, uint64_t timeout_ns) {
    return syscall(abi::Syscall::kFutexWait, reinterpret_cast<uint64_t>(addr), expected,
                   timeout_ns);
}
inline int64_t futex_wake(const void* addr, uint64_t count) {
    return syscall(abi::Syscall::kFutexWake, reinterpret_cast<uint64_t>(addr), count);
}
inline int64_t yield() {
    return syscall(abi::Syscall::kYield);
}
inline int64_t unmap(uint64_t address) {
    return syscall(abi::Syscall::kUnmap, address);
}
// served: with abi::kQueueDeviceData, the served object whose device the region is made for.
inline int64_t queue_create(const abi::QueueGeometry* g, abi::QueueInfo* info,
                            uint64_t served = 0) {
    return syscall(abi::Syscall::kQueueCreate, reinterpret_cast<uint64_t>(g),
                   reinterpret_cast<uint64_t>(info), served);
}
inline int64_t queue_destroy(uint64_t queue) {
    return syscall(abi::Syscall::kQueueDestroy, queue);
}
inline int64_t queue_poll(uint64_t queue) {
    return syscall(abi::Syscall::kQueuePoll, queue);
}
inline int64_t queue_wait(uint64_t queue, uint64_t min, uint64_t timeout_ns) {
    return syscall(abi::Syscall::kQueueWait, queue, min, timeout_ns);
}
// device: 0, or a device handle whose DMA memory the region is to be (abi::ServeInfo).
// g->flags: abi::kServeDeviceData (with a device) or 0.
inline int64_t serve_create(const abi::QueueGeometry* g, abi::ServeInfo* info,
                            uint64_t device = 0) {
    return syscall(abi::Syscall::kServeCreate, reinterpret_cast<uint64_t>(g),
                   reinterpret_cast<uint64_t>(info), device);
}
inline int64_t serve_sync(uint64_t port, uint64_t wait, uint64_t timeout_ns) {
    return syscall(abi::Syscall::kServeSync, port, wait, timeout_ns);
}
inline int64_t serve_call(uint64_t port, abi::ServeCall* msg, uint64_t timeout_ns) {
    return syscall(abi::Syscall::kServeCall, port, reinterpret_cast<uint64_t>(msg), timeout_ns);
}
}  // namespace sys

}  // namespace keel::user
