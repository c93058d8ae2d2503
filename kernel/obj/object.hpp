// Kernel objects and the common operation interface. Every object type (console, memory,
// pipe, message pipe, root, process, thread, power) derives from Object and overrides the
// operations it supports; the rest answer kNotSupported. An operation never blocks: when it
// cannot make progress it returns kWouldBlock with the wait queue to sleep on, and the caller
// decides what waiting means. do_io (syscall/syscalls.cpp) sleeps and retries; the asynchronous
// queues (obj/queue.cpp) park the submission and retry it in later rounds. That is how one
// implementation of each operation serves both paths.
//
// Locking: the kernel runs system calls with interrupts off on one CPU (sched/scheduler.hpp),
// so operations need no locks of their own.
#pragma once

#include <keel/syscall_abi.hpp>

#include <cstdint>

#include "obj/io_buffer.hpp"

namespace keel::sched {
class WaitQueue;
}
namespace keel::proc {
class Process;
}

namespace keel::obj {

using abi::Error;
struct Forward;

// The outcome of one operation: a value, or an error (and for kWouldBlock the queue whose
// wake-up makes a retry worthwhile).
struct [[nodiscard]] OpResult {
    bool ok = true;
    Error error{};
    uint64_t value = 0;
    sched::WaitQueue* wait = nullptr;

    static OpResult success(uint64_t v) { return {true, Error{}, v, nullptr}; }
    static OpResult fail(Error e) { return {false, e, 0, nullptr}; }
    static OpResult would_block(sched::WaitQueue& q) { return {false, Error::kWouldBlock, 0, &q}; }
};

// One operation as the object sees it: already checked against the handle's rights.
struct Request {
    abi::Op op;
    uint32_t rights;        // of the handle used (objects that create handles pass them on)
    uint64_t arg;           // the operation's scalar (see abi::Op)
    IoBuffer buffer;        // caller memory: user (do_io) or kernel (queues)
    proc::Process* caller;  // whose handle table receives new handles, whose address space maps
    // The caller's record of an operation forwarded to a user-space server (obj/served.hpp),
    // kept across retries; nullptr where nothing can be forwarded.
    Forward* forward;
};

class Object {
  public:
    Object() = default;
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;

    virtual abi::Kind kind() const = 0;

    virtual OpResult read(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult peek(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult write(Request&) { return OpResult::fail(Error::kNotSupported); }
    // Object-specific keys; kKind and kRights are answered for every object by perform().
    virtual OpResult get_meta(Request&) { return OpResult::fail(Error::kInvalidArgument); }
    virtual OpResult set_meta(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult open(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult create(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult destroy(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult seek(Request&) { return OpResult::fail(Error::kNotSupported); }
    virtual OpResult map(Request&) { return OpResult::fail(Error::kNotSupported); }

    // Reference counting: handles, mappings and the kernel's own pointers each hold one.
    // The last release destroys the object (its destructor tells peers it is gone).
    void retain() { ++refs_; }
    void release() {
        if (refs_ > 1) [[likely]] {
            --refs_;
            return;
        }
        release_last();
    }
    uint32_t references() const { return refs_; }

  protected:
    virtual ~Object() = default;

  private:
    void release_last();  // the last reference (or a broken count): checks, then destroys
    uint32_t refs_ = 1;   // the creator's
};

// Puts a u64 answer into the request's buffer (get_meta helpers).
OpResult answer_u64(Request& req, uint64_t value);
OpResult answer_bytes(Request& req, const void* data, uint64_t size);

}  // namespace keel::obj
