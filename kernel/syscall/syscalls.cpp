#include "syscall/syscalls.hpp"

#include <keel/syscall_abi.hpp>

#include "mm/user_copy.hpp"
#include "obj/memory.hpp"
#include "obj/message_pipe.hpp"
#include "obj/perform.hpp"
#include "obj/pipe.hpp"
#include "obj/queue.hpp"
#include "obj/root.hpp"
#include "obj/served.hpp"
#include "proc/process.hpp"
#include "proc/spawn.hpp"
#include "sched/scheduler.hpp"

namespace keel::syscalls {

namespace {

using abi::Error;

constexpr int64_t err(Error e) {
    return -static_cast<int64_t>(e);
}
int64_t result(const obj::OpResult& r) {
    return r.ok ? static_cast<int64_t>(r.value) : err(r.error);
}

// do_io: performs the operation, sleeping on the object's wait queue and retrying while it
// would block. An ending process's thread is interrupted out of the wait (kPeerGone; it
// never sees the result: it leaves on the way back to user mode).
int64_t do_io(uint64_t handle, uint64_t op, uint64_t buffer, uint64_t length, uint64_t arg) {
    if (op >= static_cast<uint64_t>(abi::Op::kCount))
        return err(Error::kInvalidArgument);
    if (length > abi::kMaxIoLength)
        return err(Error::kTooLarge);
    if (length > 0 && !mm::user_range_ok(buffer, length))
        return err(Error::kBadAddress);
    if (handle > 0xffffffffull)
        return err(Error::kBadHandle);
    proc::Process& p = *proc::current_process();
    obj::Forward forward;  // an operation forwarded to a user-space server, across retries
    for (;;) {
        obj::Request req{
            static_cast<abi::Op>(op), 0, arg, obj::IoBuffer::user(buffer, length), &p, &forward};
        const obj::OpResult r = obj::perform(p, static_cast<abi::Handle>(handle), req);
        if (r.ok || r.error != Error::kWouldBlock || r.wait == nullptr) {
            obj::Served::abandon(forward);  // no-op unless the handle went away meanwhile
            return result(r);
        }
        if (sched::block(r.wait, 0) == sched::WakeReason::kInterrupted) {
            obj::Served::abandon(forward);  // the server sees the cancellation
            return err(Error::kPeerGone);
        }
    }
}

int64_t object_new(uint64_t kind, uint64_t arg, uint64_t out) {
    proc::Process& p = *proc::current_process();
    obj::Object* objects[2] = {nullptr, nullptr};
    uint32_t rights[2] = {abi::kRightsAll, abi::kRightsAll};
    int count = 1;
    switch (static_cast<abi::Kind>(kind)) {
        case abi::Kind::kMemory:
            if (arg == 0 || arg > abi::kMaxMemorySize)
                return err(arg == 0 ? Error::kInvalidArgument : Error::kTooLarge);
            objects[0] = obj::MemoryObject::create(arg);
            rights[0] = abi::kRightRead | abi::kRightWrite | abi::kRightMap | abi::kRightShare |
                        abi::kRightCreate | abi::kRightSpawn;
            break;
        case abi::Kind::kPipe:
            if (!obj::create_pipe(&objects[0], &objects[1]))
                return err(Error::kNoMemory);
            rights[0] = abi::kRightRead | abi::kRightShare;
            rights[1] = abi::kRightWrite | abi::kRightShare;
            count = 2;
            break;
        case abi::Kind::kMessagePipe:
            if (!obj::create_message_pipe(&objects[0], &objects[1]))
                return err(Error::kNoMemory);
            rights[0] = rights[1] = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
            count = 2;
            break;
        case abi::Kind::kRoot:
            objects[0] = obj::Root::create();
            rights[0] = abi::kRightRead | abi::kRightCreate | abi::kRightDestroy | abi::kRightShare;
            break;
        default:
            return err(Error::kInvalidArgument);
    }
    if (objects[0] == nullptr)
        return err(Error::kNoMemory);
    abi::Handle handles[2] = {0, 0};
    bool ok = true;
    for (int i = 0; i < count; ++i) {
        handles[i] = p.handles().insert(objects[i], rights[i]);
        ok = ok && handles[i] != 0;
    }
    for (int i = 0; i < count; ++i)
        objects[i]->release();  // the handles hold them now
    if (ok && !mm::copy_to_user(out, handles, count * sizeof(abi::Handle)))
        ok = false;
    if (!ok) {
        for (int i = 0; i < count; ++i) {
            if (handles[i] != 0)
                (void)p.handles().close(handles[i]);
        }
        return err(handles[count - 1] == 0 ? Error::kFull : Error::kBadAddress);
    }
    return count;
}

int64_t process_spawn(uint64_t image_handle, uint64_t args_address) {
    proc::Process& p = *proc::current_process();
    const proc::Lookup image = p.handles().lookup(static_cast<abi::Handle>(image_handle));
    if (image_handle > 0xffffffffull || !image.ok)
        return err(image_handle > 0xffffffffull ? Error::kBadHandle : image.error);
    if (image.entry.object->kind() != abi::Kind::kMemory)
        return err(Error::kInvalidArgument);
    if ((image.entry.rights & abi::kRightSpawn) == 0)
        return err(Error::kNoRights);
    const auto args = mm::UserIn<abi::SpawnArgs>(args_address).read();
    if (!args)
        return err(Error::kBadAddress);
    if (args->handle_count > abi::kMaxSpawnHandles || args->args_length > abi::kMaxArgsLength)
        return err(Error::kTooLarge);
    abi::Handle given[abi::kMaxSpawnHandles];
    if (!mm::copy_from_user(given, args->handles, args->handle_count * sizeof(abi::Handle)))
        return err(Error::kBadAddress);
    proc::HandleEntry entries[abi::kMaxSpawnHandles];
    for (uint64_t i = 0; i < args->handle_count; ++i) {
        const proc::Lookup l = p.handles().lookup(given[i]);
        if (!l.ok)
            return err(l.error);
        // Giving a handle away is sharing it.
        if ((l.entry.rights & abi::kRightShare) == 0)
            return err(Error::kNoRights);
        entries[i] = l.entry;
    }
    char text[abi::kMaxArgsLength];
    if (!mm::copy_from_user(text, args->args, args->args_length))
        return err(Error::kBadAddress);
    char name[abi::kMaxNameLength];
    if (args->name_length > abi::kMaxNameLength)
        return err(Error::kTooLarge);
    if (!mm::copy_from_user(name, args->name, args->name_length))
        return err(Error::kBadAddress);
    for (uint64_t i = 0; i < args->name_length; ++i) {
        if (name[i] < 0x20 || name[i] > 0x7e)
            return err(Error::kInvalidArgument);
    }
    proc::Process* child = nullptr;
    const obj::OpResult r =
        proc::spawn({static_cast<obj::MemoryObject*>(image.entry.object), entries,
                     static_cast<uint32_t>(args->handle_count), text, args->args_length,
                     args->name_length > 0 ? name : nullptr, args->name_length},
                    &child);
    if (!r.ok)
        return err(r.error);
    const abi::Handle h =
        p.handles().insert(child, abi::kRightRead | abi::kRightWrite | abi::kRightShare);
    child->release();
    return h == 0 ? err(Error::kFull) : h;
}

int64_t thread_spawn(uint64_t entry, uint64_t stack_top, uint64_t arg) {
    // Both must be user addresses: entering user mode at a non-canonical rip would fault in
    // the kernel's iretq.
    if (entry == 0 || entry >= abi::kUserTop || stack_top >= abi::kUserTop || stack_top < 16)
        return err(Error::kBadAddress);
    proc::Process& p = *proc::current_process();
    sched::Thread* t = sched::create_user_thread(p, {entry, stack_top, arg, 0, 0});
    if (t == nullptr)
        return err(Error::kNoMemory);
    const abi::Handle h = p.handles().insert(t, abi::kRightRead | abi::kRightShare);
    return h == 0 ? err(Error::kFull) : h;
}

// Futex waiters, hashed by user address; the key is (process, address).
constexpr uint32_t kFutexBuckets = 16;
sched::WaitQueue g_futex[kFutexBuckets];

sched::WaitQueue& futex_bucket(uint64_t address) {
    return g_futex[(address >> 2) % kFutexBuckets];
}

int64_t futex_wait(uint64_t address, uint64_t expected, uint64_t timeout_ns) {
    if (address % 4 != 0)
        return err(Error::kInvalidArgument);
    const auto value = mm::UserIn<uint32_t>(address).read();
    if (!value)
        return err(Error::kBadAddress);
    if (*value != static_cast<uint32_t>(expected))
        return err(Error::kWouldBlock);
    sched::current()->futex_key = address;
    const uint64_t deadline = timeout_ns != 0 ? sched::now_ns() + timeout_ns : 0;
    switch (sched::block(&futex_bucket(address), deadline)) {
        case sched::WakeReason::kWoken:
            return 0;
        case sched::WakeReason::kTimedOut:
            return err(Error::kTimedOut);
        case sched::WakeReason::kInterrupted:
            break;
    }
    return err(Error::kPeerGone);
}

int64_t futex_wake(uint64_t address, uint64_t count) {
    if (address % 4 != 0)
        return err(Error::kInvalidArgument);
    proc::Process* p = proc::current_process();
    sched::WaitQueue& q = futex_bucket(address);
    uint64_t woken = 0;
    for (sched::Thread* t = q.head(); t != nullptr && woken < count;) {
        sched::Thread* next = t->next_waiting;
        if (t->process() == p && t->futex_key == address) {
            sched::wake(t, sched::WakeReason::kWoken);
            ++woken;
        }
        t = next;
    }
    return static_cast<int64_t>(woken);
}

int64_t sleep(uint64_t ns) {
    if (ns == 0) {
        sched::yield();
        return 0;
    }
    const uint64_t now = sched::now_ns();
    const uint64_t deadline = ns > ~0ull - now ? ~0ull : now + ns;
    (void)sched::block(nullptr, deadline);
    return 0;
}

// Asynchronous queues (obj/queue.hpp).
int64_t queue_create(uint64_t geometry_address, uint64_t info_address) {
    const auto g = mm::UserIn<abi::QueueGeometry>(geometry_address).read();
    if (!g || !mm::user_range_ok(info_address, sizeof(abi::QueueInfo)))
        return err(Error::kBadAddress);
    proc::Process& p = *proc::current_process();
    obj::Queue* q = nullptr;
    abi::QueueInfo info{};
    const obj::OpResult r = obj::Queue::create(p, *g, &q, &info.address, &info.size);
    if (!r.ok)
        return err(r.error);
    // No kRightShare: a queue is its creator's (obj/queue.hpp).
    const abi::Handle h = p.handles().insert(q, abi::kRightRead | abi::kRightWrite);
    q->release();
    if (h == 0 || !mm::copy_to_user(info_address, &info, sizeof info)) {
        if (h != 0)
            (void)p.handles().close(h);
        (void)p.unmap(info.address);  // the caller never learnt where the region was
        return err(h == 0 ? Error::kFull : Error::kBadAddress);
    }
    return h;
}

// The caller's queue behind handle, retained (the caller releases it), or an error.
obj::Queue* lookup_queue(uint64_t handle, Error* error) {
    proc::Process& p = *proc::current_process();
    if (handle > 0xffffffffull) {
        *error = Error::kBadHandle;
        return nullptr;
    }
    uint32_t rights = 0;
    obj::Object* o = p.handles().find(static_cast<abi::Handle>(handle), &rights);
    if (o == nullptr) [[unlikely]] {
        *error = p.handles().lookup(static_cast<abi::Handle>(handle)).error;
        return nullptr;
    }
    if (o->kind() != abi::Kind::kQueue) {
        *error = Error::kInvalidArgument;
        return nullptr;
    }
    auto* q = static_cast<obj::Queue*>(o);
    if ((rights & abi::kRightWrite) == 0 || q->owner() != &p) {
        *error = Error::kNoRights;
        return nullptr;
    }
    q->retain();
    return q;
}

int64_t queue_destroy(uint64_t handle) {
    Error e{};
    obj::Queue* q = lookup_queue(handle, &e);
    if (q == nullptr)
        return err(e);
    q->release();
    (void)proc::current_process()->handles().close(static_cast<abi::Handle>(handle));
    return 0;
}

int64_t queue_poll(uint64_t handle) {
    Error e{};
    obj::Queue* q = lookup_queue(handle, &e);
    if (q == nullptr)
        return err(e);
    const int64_t r = result(q->process());
    q->release();
    return r;
}

// Processes rounds until at least `min` completions were posted by this call (min 0 acts as
// 1), nothing is parked (nothing more can finish without new submissions), or the timeout.
// Between rounds it sleeps on the wait queue of a parked operation, at most one tick at a
// time: a thread sleeps on one queue, and the tick bounds the latency of the others.
int64_t queue_wait(uint64_t handle, uint64_t min, uint64_t timeout_ns) {
    Error e{};
    obj::Queue* q = lookup_queue(handle, &e);
    if (q == nullptr)
        return err(e);
    constexpr uint64_t kRecheckNs = 10'000'000;
    const uint64_t start = sched::now_ns();
    const uint64_t deadline =
        timeout_ns == 0 ? ~0ull : (timeout_ns > ~0ull - start ? ~0ull : start + timeout_ns);
    if (min == 0)
        min = 1;
    uint64_t posted = 0;
    int64_t ret = 0;
    for (;;) {
        const obj::OpResult r = q->process();
        if (!r.ok) {
            ret = posted > 0 ? static_cast<int64_t>(posted) : err(r.error);
            break;
        }
        posted += r.value;
        sched::WaitQueue* w = q->blocker();
        const uint64_t now = sched::now_ns();
        if (posted >= min || w == nullptr || now >= deadline) {
            ret = static_cast<int64_t>(posted);
            break;
        }
        const uint64_t until = deadline - now > kRecheckNs ? now + kRecheckNs : deadline;
        if (sched::block(w, until) == sched::WakeReason::kInterrupted) {
            ret = err(Error::kPeerGone);
            break;
        }
    }
    q->release();
    return ret;
}

// User-space servers (obj/served.hpp).
int64_t serve_create(uint64_t geometry_address, uint64_t info_address) {
    const auto g = mm::UserIn<abi::QueueGeometry>(geometry_address).read();
    if (!g || !mm::user_range_ok(info_address, sizeof(abi::ServeInfo)))
        return err(Error::kBadAddress);
    proc::Process& p = *proc::current_process();
    obj::Served* served = nullptr;
    obj::Object* port = nullptr;
    abi::ServeInfo info{};
    const obj::OpResult r = obj::Served::create(p, *g, &served, &port, &info.address, &info.size);
    if (!r.ok)
        return err(r.error);
    // The port is its creator's alone; the served object is made to be shared.
    info.port = p.handles().insert(port, abi::kRightRead | abi::kRightWrite);
    port->release();
    info.served = p.handles().insert(served, abi::kRightRead | abi::kRightWrite | abi::kRightShare);
    served->release();
    if (info.port == 0 || info.served == 0 || !mm::copy_to_user(info_address, &info, sizeof info)) {
        if (info.port != 0)
            (void)p.handles().close(info.port);
        if (info.served != 0)
            (void)p.handles().close(info.served);
        (void)p.unmap(info.address);
        return err(info.port == 0 || info.served == 0 ? Error::kFull : Error::kBadAddress);
    }
    return 0;
}

int64_t serve_sync(uint64_t handle, uint64_t wait, uint64_t timeout_ns) {
    proc::Process& p = *proc::current_process();
    if (handle > 0xffffffffull)
        return err(Error::kBadHandle);
    uint32_t rights = 0;
    obj::Object* o = p.handles().find(static_cast<abi::Handle>(handle), &rights);
    if (o == nullptr) [[unlikely]]
        return err(p.handles().lookup(static_cast<abi::Handle>(handle)).error);
    obj::Served* s = obj::served_of_port(*o);
    if (s == nullptr)
        return err(Error::kInvalidArgument);
    if ((rights & abi::kRightWrite) == 0 || s->server() != &p)
        return err(Error::kNoRights);
    const uint64_t now = sched::now_ns();
    const uint64_t deadline =
        timeout_ns == 0 ? 0 : (timeout_ns > ~0ull - now ? ~0ull : now + timeout_ns);
    s->retain();
    const int64_t r = result(s->sync(wait != 0, deadline));
    s->release();
    return r;
}

abi::ExitInfo exited(uint64_t status) {
    return {static_cast<uint32_t>(abi::ExitReason::kExited), 0, static_cast<int64_t>(status), 0, 0};
}

int64_t dispatch(uint64_t number, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
    using abi::Syscall;
    if (number >= static_cast<uint64_t>(Syscall::kCount))
        return err(Error::kInvalidArgument);
    switch (static_cast<Syscall>(number)) {
        case Syscall::kDoIo:
            return do_io(a, b, c, d, e);
        case Syscall::kObjectNew:
            return object_new(a, b, c);
        case Syscall::kProcessSpawn:
            return process_spawn(a, b);
        case Syscall::kProcessExit:
            proc::current_process()->end(exited(a));
            sched::exit_current(proc::current_process()->exit_info());
        case Syscall::kThreadSpawn:
            return thread_spawn(a, b, c);
        case Syscall::kThreadExit:
            sched::exit_current(exited(a));
        case Syscall::kSleep:
            return sleep(a);
        case Syscall::kClock:
            return static_cast<int64_t>(sched::now_ns());
        case Syscall::kFutexWait:
            return futex_wait(a, b, c);
        case Syscall::kFutexWake:
            return futex_wake(a, b);
        case Syscall::kYield:
            sched::yield();
            return 0;
        case Syscall::kUnmap:
            return result(proc::current_process()->unmap(a));
        case Syscall::kQueueCreate:
            return queue_create(a, b);
        case Syscall::kQueueDestroy:
            return queue_destroy(a);
        case Syscall::kQueuePoll:
            return queue_poll(a);
        case Syscall::kQueueWait:
            return queue_wait(a, b, c);
        case Syscall::kServeCreate:
            return serve_create(a, b);
        case Syscall::kServeSync:
            return serve_sync(a, b, c);
        case Syscall::kCount:
            break;
    }
    return err(Error::kInvalidArgument);
}

}  // namespace

}  // namespace keel::syscalls

extern "C" uint64_t keel_syscall_dispatch(keel::syscall_entry::SyscallFrame* f) {
    using namespace keel;
    const auto rax =
        static_cast<uint64_t>(syscalls::dispatch(f->number, f->rdi, f->rsi, f->rdx, f->r10, f->r8));
    // sysret to a non-canonical rip would fault in ring 0. The rip after a syscall instruction
    // is canonical unless that instruction ends the user half; treat that as the user's fault.
    if (f->rip >= abi::kUserTop) [[unlikely]]
        proc::current_process()->end(
            {static_cast<uint32_t>(abi::ExitReason::kFault), 13, -1, f->rip, 0});
    proc::before_user_return();
    return rax;
}
