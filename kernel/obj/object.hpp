// Kernel objects and the common operation interface. Every object type (console, memory,
// pipe, message pipe, root, process, thread, power) derives from Object and overrides the
// operations it supports; the rest answer kNotSupported. An operation never blocks: when it
// cannot make progress it returns kWouldBlock with the wait queue to sleep on, and the caller
// decides what waiting means. do_io (syscall/syscalls.cpp) sleeps and retries; the asynchronous
// queues (obj/queue.cpp) park the submission and retry it in later rounds. That is how one
// implementation of each operation serves both paths.
//
// Locking: the kernel runs system calls with interrupts off on one CPU (sched/scheduler.hpp),
// so operations need no locks of their own. The exception is a long loop's preemption point
// (sched/preempt.hpp): another thread may run there, so such a loop holds references to what
// it uses (not an object borrowed from a handle) and publishes what it builds at its end.
#pragma once

#include <keel/syscall_abi.hpp>

#include <cstdint>
#include <utility>

#include "lib/result.hpp"
#include "obj/io_buffer.hpp"
#include "obj/ref_ptr.hpp"
#include "proc/account.hpp"

namespace keel::sched {
class WaitQueue;
}
namespace keel::proc {
class Process;
}

namespace keel::obj {

using abi::Error;
struct Forward;
class Object;
class Served;

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
    // Set by would_block(): the queue whose wake-up makes a retry worthwhile.
    sched::WaitQueue* wait = nullptr;
    // Set by do_io, whose thread blocks on `wait` as soon as the operation would block: an
    // object may then leave a wake-up to it, naming the queue in `handoff` instead of waking
    // it, and the caller's block switches straight to that queue's first waiter
    // (sched::block_switch; a served object's server thread). Whoever sets `handoff` answers
    // kWouldBlock; a caller that does not block after all wakes it (WaitQueue::wake_all).
    bool direct = false;
    sched::WaitQueue* handoff = nullptr;
    // Set by perform(): the object the handle named (do_io's retry of a forwarded operation
    // checks that the handle still names it, then finishes it without a second dispatch).
    Object* target = nullptr;
};

// kWouldBlock, naming in req the wait queue to sleep on before retrying (the callers of
// perform() decide what waiting means: do_io sleeps, a queue parks the submission).
inline ipc::Unexpected<Error> would_block(Request& req, sched::WaitQueue& q) {
    req.wait = &q;
    return fail(Error::kWouldBlock);
}

// Each operation answers Result<uint64_t>: its value (bytes moved, a new handle, a position,
// ...) or an error; kWouldBlock comes from would_block() above.
// The objects one thread's outermost release is destroying (Object::release_last): each
// thread has its own (sched::Thread::destroy_queue), so a destructor that reaches a preemption
// point delays nobody else's destructions.
struct DestroyQueue {
    Object* dying = nullptr;  // waiting for destruction, linked through next_dying_
    bool destroying = false;  // the outermost release's loop is running
};

class Object {
  public:
    // kind: what it is, for good (abi::Kind): a field, so that checking an object's kind (a
    // handle that must name a queue, a process, a port) is a load rather than a virtual call.
    explicit Object(abi::Kind kind) : kind_(kind) { ++live_; }
    // Objects that exist now (get_meta kMemoryInfo's leak check).
    static uint64_t live() { return live_; }
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;

    abi::Kind kind() const { return kind_; }

    virtual Result<uint64_t> read(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> peek(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> write(Request&) { return fail(Error::kNotSupported); }
    // Object-specific keys; kKind and kRights are answered for every object by perform().
    virtual Result<uint64_t> get_meta(Request&) { return fail(Error::kInvalidArgument); }
    virtual Result<uint64_t> set_meta(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> open(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> create(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> destroy(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> seek(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> map(Request&) { return fail(Error::kNotSupported); }
    virtual Result<uint64_t> sync(Request&) { return fail(Error::kNotSupported); }
    // A read at the absolute position req.arg that neither uses nor moves the object's
    // position; perform() has checked that arg + length does not wrap.
    virtual Result<uint64_t> read_at(Request&) { return fail(Error::kNotSupported); }
    // For a served object (kServed: one a ServeCreate made or a child an open made), the one
    // whose port serves it; nullptr for every other object.
    virtual Served* served_by() { return nullptr; }
    // For a Port (a server's end of a served object), the object it serves; nullptr for every
    // other object (one virtual call on ServeSync's and ServeCall's path).
    virtual Served* port_of() { return nullptr; }

    // Reference counting: handles, mappings and the kernel's own pointers each hold one, as a
    // RefPtr (obj/ref_ptr.hpp), the only code that counts. The last release destroys the
    // object (its destructor tells peers it is gone).
    uint32_t references() const { return refs_; }
    // Takes over what making it was charged to its creator's account (proc/account.hpp): given
    // back when it is destroyed. One charge per object (a second replaces the first).
    void hold(proc::Charge c) { charge_ = std::move(c); }

  protected:
    virtual ~Object() { --live_; }

  private:
    template <class>
    friend class RefPtr;
    void retain() { ++refs_; }
    void release() {
        if (refs_ > 1) [[likely]] {
            --refs_;
            return;
        }
        release_last();
    }
    void release_last();  // the last reference (or a broken count): checks, then destroys
    abi::Kind kind_;
    uint32_t refs_ = 1;                // the creator's
    Object* next_dying_ = nullptr;     // release_last's list of objects waiting for destruction
    static inline uint64_t live_ = 0;  // interrupts off in the kernel: one CPU's count
    proc::Charge charge_;
};

// The two ends of a pipe or message pipe, as created.
struct ObjectPair {
    RefPtr<Object> first;
    RefPtr<Object> second;
};

// Puts a u64 answer into the request's buffer (get_meta helpers).
Result<uint64_t> answer_u64(Request& req, uint64_t value);
Result<uint64_t> answer_bytes(Request& req, const void* data, uint64_t size);
// Answers get_meta kStat.
Result<uint64_t> answer_stat(Request& req, abi::NodeType type, uint64_t size);

}  // namespace keel::obj
