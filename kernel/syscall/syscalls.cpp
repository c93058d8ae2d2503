#include "syscall/syscalls.hpp"

#include <keel/syscall_abi.hpp>

#include <optional>
#include <utility>

#include "arch/percpu.hpp"
#include "dev/rtc.hpp"
#include "mm/user_copy.hpp"
#include "obj/device.hpp"
#include "obj/memory.hpp"
#include "obj/message_pipe.hpp"
#include "obj/perform.hpp"
#include "obj/pipe.hpp"
#include "obj/queue.hpp"
#include "obj/queue_poller.hpp"
#include "obj/root.hpp"
#include "obj/served.hpp"
#include "obj/timer.hpp"
#include "proc/process.hpp"
#include "proc/spawn.hpp"
#include "sched/big_lock.hpp"
#include "sched/preempt.hpp"
#include "sched/scheduler.hpp"

namespace keel::syscalls {

namespace {

using abi::Error;

// What every handler answers: the value (>= 0 in rax) or the error (-Error in rax),
// converted once, by keel_syscall_dispatch.
using SysResult = Result<uint64_t>;

int64_t to_rax(const SysResult& r) {
    return r.ok() ? static_cast<int64_t>(r.value()) : -static_cast<int64_t>(r.error());
}

// A handle argument: a 32-bit value in a 64-bit register.
Result<abi::Handle> handle_arg(uint64_t handle) {
    if (handle > 0xffffffffull)
        return fail(Error::kBadHandle);
    return static_cast<abi::Handle>(handle);
}

// The deadline of a timeout given in ns from now: 0 (no timeout) stays 0, and a sum past 2^64
// is "never" (a timeout of 2^64-1 ns once wrapped round and expired after a few ms).
uint64_t deadline_after(uint64_t timeout_ns) {
    if (timeout_ns == 0)
        return 0;
    const uint64_t now = sched::now_ns();
    return timeout_ns > ~0ull - now ? ~0ull : now + timeout_ns;
}

// do_io's waiting part, kept out of the common path (an operation done at once): sleeps on
// the wait queue `blocked` named and retries until the operation is done, the deadline
// (0: none) passes or the process ends. With `woken`, the first sleep is over already
// (do_io_call's), for that reason.
[[gnu::noinline]] SysResult do_io_wait(proc::Process& p, abi::Handle h, const obj::Request& blocked,
                                       uint64_t deadline,
                                       std::optional<sched::WakeReason> woken = std::nullopt) {
    obj::Forward& forward = *blocked.forward;
    sched::WaitQueue* wait = blocked.wait;
    sched::WaitQueue* handoff = blocked.handoff;  // the server to switch to (Request::handoff)
    const obj::Object* target = blocked.target;
    bool last_try = false;
    for (;;) {
        const sched::WakeReason why = woken ? *woken
                                      : handoff != nullptr
                                          ? sched::block_switch(wait, deadline, *handoff)
                                          : sched::block(wait, deadline);
        woken.reset();
        handoff = nullptr;
        switch (why) {
            case sched::WakeReason::kInterrupted:
                obj::Served::abandon(forward);  // the server sees the cancellation
                return fail(Error::kPeerGone);
            case sched::WakeReason::kTimedOut:
                // One more try: an answer that came with the deadline is taken, not thrown
                // away (the server may have done the work); nothing new is started then.
                if (!forward.started())
                    return fail(Error::kTimedOut);
                last_try = true;
                break;
            default:
                break;
        }
        obj::Request req{blocked.op, 0, blocked.arg, blocked.buffer, &p, &forward};
        req.direct = !last_try;
        Result<uint64_t> r = obj::perform_retry(p, h, req, target);
        if (r.ok() || r.error() != Error::kWouldBlock || req.wait == nullptr) {
            if (req.handoff != nullptr) [[unlikely]]
                req.handoff->wake_all();    // not expected: handoff comes with kWouldBlock
            obj::Served::abandon(forward);  // no-op unless the handle went away meanwhile
            return r;
        }
        if (last_try) {
            obj::Served::abandon(forward);  // the server sees the cancellation
            return fail(Error::kTimedOut);
        }
        wait = req.wait;
        handoff = req.handoff;
        target = req.target;
    }
}

// do_io's direct call to a user-space server (perform() started it: its Forward says kDirect,
// obj/served.hpp): the switch to the server thread and, when it switches back with the answer
// and the handle still names the object, the answer. Anything else (a timeout, an
// interruption, the handle closed or reused meanwhile) goes on by do_io_wait's rules, as if it
// had slept there.
SysResult do_io_call(proc::Process& p, abi::Handle h, obj::Request& req, uint64_t timeout_ns) {
    const uint64_t deadline = deadline_after(timeout_ns);
    const sched::WakeReason why = sched::block_switch(req.wait, deadline, *req.handoff);
    req.handoff = nullptr;
    if (why == sched::WakeReason::kWoken) [[likely]] {
        const Result<proc::HandleEntry> e = p.handles().lookup(h);
        if (e.ok() && e.value().object == req.target) [[likely]] {
            const Result<uint64_t> r = obj::Served::finish_call(req);
            if (r.ok() || r.error() != Error::kWouldBlock) [[likely]]
                return r;  // the Forward is idle again: nothing to abandon
        }
    }
    return do_io_wait(p, h, req, deadline, why);
}

// do_io: performs the operation; while it would block, do_io_wait sleeps and retries, until
// the deadline timeout_ns from the first wait (0: none). An ending process's thread is
// interrupted out of the wait (kPeerGone; it never sees the result: it leaves on the way back
// to user mode). Giving up on a forwarded operation abandons it: the server sees a Cancel.
// A call a user-space server's thread took at once (a direct call) waits in do_io_call.
SysResult do_io(uint64_t handle, uint64_t op, mm::UserSpan<std::byte> buffer, uint64_t arg,
                uint64_t timeout_ns) {
    if (op >= static_cast<uint64_t>(abi::Op::kCount))
        return fail(Error::kInvalidArgument);
    if (buffer.count() > abi::kMaxIoLength)
        return fail(Error::kTooLarge);
    if (!buffer.range_ok())
        return fail(Error::kBadAddress);
    const abi::Handle h = KEEL_TRY(handle_arg(handle));
    proc::Process& p = *proc::current_process();
    obj::Forward forward;  // an operation forwarded to a user-space server, across retries
    obj::Request req{static_cast<abi::Op>(op), 0, arg, obj::IoBuffer::user(buffer), &p, &forward};
    req.direct = true;
    Result<uint64_t> r = obj::perform(p, h, req);
    // req.handoff is only ever set with kWouldBlock and req.wait (Request::handoff): it is
    // left to do_io_wait's block (do_io_call's for a direct call).
    if (r.ok() || r.error() != Error::kWouldBlock || req.wait == nullptr) {
        obj::Served::abandon(forward);  // no-op unless the handle went away meanwhile
        return r;
    }
    if (forward.direct())
        return do_io_call(p, h, req, timeout_ns);
    return do_io_wait(p, h, req, deadline_after(timeout_ns));
}

void close_handles(proc::Process& p, const abi::Handle* handles, int count) {
    for (int i = 0; i < count; ++i) {
        if (handles[i] != 0)
            (void)p.handles().close(handles[i]);
    }
}

// Inserts each object with its rights into handles[] (the table takes its own references); on
// failure (kFull) closes those it made.
Result<void> insert_handles(proc::Process& p, const obj::ObjectPair& objects,
                            const uint32_t* rights, int count, abi::Handle* handles) {
    const obj::RefPtr<obj::Object>* each[2] = {&objects.first, &objects.second};
    for (int i = 0; i < count; ++i) {
        auto h = p.handles().insert(**each[i], rights[i]);
        if (!h.ok()) {
            close_handles(p, handles, i);
            return fail(h.error());
        }
        handles[i] = *h;
    }
    return success();
}

// The new objects of ObjectNew, with their rights, and how many there are.
struct NewObjects {
    obj::ObjectPair objects;
    uint32_t rights[2];
    int count;
};

Result<NewObjects> make_objects(uint64_t kind, uint64_t arg) {
    constexpr uint32_t kMemoryRights = abi::kRightRead | abi::kRightWrite | abi::kRightMap |
                                       abi::kRightShare | abi::kRightCreate | abi::kRightSpawn;
    constexpr uint32_t kRootRights =
        abi::kRightRead | abi::kRightCreate | abi::kRightDestroy | abi::kRightShare;
    constexpr uint32_t kEndpointRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
    constexpr uint32_t kTimerRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
    switch (static_cast<abi::Kind>(kind)) {
        case abi::Kind::kMemory:
            if (arg == 0 || arg > abi::kMaxMemorySize)
                return fail(arg == 0 ? Error::kInvalidArgument : Error::kTooLarge);
            return NewObjects{
                {KEEL_TRY(proc::charged_memory(proc::current_account(), arg)), nullptr},
                {kMemoryRights, 0},
                1};
        case abi::Kind::kPipe:
            return NewObjects{
                KEEL_TRY(obj::create_pipe()),
                {abi::kRightRead | abi::kRightShare, abi::kRightWrite | abi::kRightShare},
                2};
        case abi::Kind::kMessagePipe:
            return NewObjects{
                KEEL_TRY(obj::create_message_pipe()), {kEndpointRights, kEndpointRights}, 2};
        case abi::Kind::kRoot:
            return NewObjects{{KEEL_TRY(obj::Root::create()), nullptr}, {kRootRights, 0}, 1};
        case abi::Kind::kTimer:
            if (arg != 0)
                return fail(Error::kInvalidArgument);
            return NewObjects{{KEEL_TRY(obj::Timer::create()), nullptr}, {kTimerRights, 0}, 1};
        default:
            break;
    }
    return fail(Error::kInvalidArgument);
}

// What making an object of `kind` charges its creator (proc/account.hpp) besides a memory
// object's frames (charged_memory): the most kernel memory it can come to hold, so that objects
// kept only by other objects (roots bound in roots, pipes full of messages) stay within it too.
uint64_t object_frames(uint64_t kind) {
    switch (static_cast<abi::Kind>(kind)) {
        case abi::Kind::kPipe:
            return 2;  // the 4 KiB buffer, the ends
        case abi::Kind::kMessagePipe:
            return 2 * (obj::kMaxQueuedMessages + 1);  // 16 messages of 4 KiB each way
        case abi::Kind::kRoot:                         // 32 entries
        case abi::Kind::kTimer:
            return 1;
        default:
            return 0;
    }
}

SysResult object_new(uint64_t kind, uint64_t arg, mm::UserPtr<abi::Handle> out) {
    proc::Process& p = *proc::current_process();
    // Split between the two ends of a pair: either may outlive the other.
    const uint64_t frames = object_frames(kind);
    proc::Charge first = KEEL_TRY(proc::Charge::take(&p.account(), {frames - frames / 2, 0, 0}));
    proc::Charge second = KEEL_TRY(proc::Charge::take(&p.account(), {frames / 2, 0, 0}));
    const NewObjects made = KEEL_TRY(make_objects(kind, arg));
    if (frames != 0) {  // (a memory object holds its own charge)
        made.objects.first->hold(std::move(first));
        if (made.objects.second != nullptr)
            made.objects.second->hold(std::move(second));
    }
    abi::Handle handles[2] = {0, 0};
    KEEL_TRY(insert_handles(p, made.objects, made.rights, made.count, handles));
    if (!out.span(made.count).write(handles)) {
        close_handles(p, handles, made.count);
        return fail(Error::kBadAddress);
    }
    return static_cast<uint64_t>(made.count);
}

// The entry behind a handle argument of the caller, or why there is none.
Result<proc::HandleEntry> lookup_arg(proc::Process& p, uint64_t handle) {
    return p.handles().lookup(KEEL_TRY(handle_arg(handle)));
}

SysResult process_spawn(uint64_t image_handle, mm::UserPtr<abi::SpawnArgs> args_in) {
    proc::Process& p = *proc::current_process();
    // The image handle first: a bad handle is reported before a bad argument block.
    KEEL_TRY(lookup_arg(p, image_handle));
    const abi::SpawnArgs args = KEEL_TRY(args_in.read());
    return KEEL_TRY(proc::spawn_for(p, image_handle, args));
}

SysResult thread_spawn(uint64_t entry, uint64_t stack_top, uint64_t arg) {
    // Both must be user addresses: entering user mode at a non-canonical rip would fault in
    // the kernel's iretq.
    if (entry == 0 || entry >= abi::kUserTop || stack_top >= abi::kUserTop || stack_top < 16)
        return fail(Error::kBadAddress);
    proc::Process& p = *proc::current_process();
    // The handle first: a thread started and then refused its handle would run on a stack
    // its caller, told kFull, frees. Nothing runs between this check and the insert.
    if (p.handles().full())
        return fail(Error::kFull);
    sched::Thread* t = KEEL_TRY(sched::create_user_thread(p, {entry, stack_top, arg, 0, 0}));
    return KEEL_TRY(p.handles().insert(*t, abi::kRightRead | abi::kRightWrite | abi::kRightShare));
}

// Futex waiters, hashed by user address; the key is (process, address).
constexpr uint32_t kFutexBuckets = 16;
sched::WaitQueue g_futex[kFutexBuckets];

sched::WaitQueue& futex_bucket(uint64_t address) {
    return g_futex[(address >> 2) % kFutexBuckets];
}

SysResult futex_wait(mm::UserPtr<uint32_t> word, uint64_t expected, uint64_t timeout_ns) {
    const uint64_t address = word.address();  // with the process: the futex key
    if (address % 4 != 0)
        return fail(Error::kInvalidArgument);
    if (KEEL_TRY(word.read()) != static_cast<uint32_t>(expected))
        return fail(Error::kWouldBlock);
    sched::current()->futex_key = address;
    const uint64_t deadline = deadline_after(timeout_ns);
    switch (sched::block(&futex_bucket(address), deadline)) {
        case sched::WakeReason::kWoken:
            return uint64_t{0};
        case sched::WakeReason::kTimedOut:
            return fail(Error::kTimedOut);
        case sched::WakeReason::kInterrupted:
            break;
    }
    return fail(Error::kPeerGone);
}

SysResult futex_wake(mm::UserPtr<uint32_t> word, uint64_t count) {
    const uint64_t address = word.address();  // only the key: nothing is read
    if (address % 4 != 0)
        return fail(Error::kInvalidArgument);
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
    return woken;
}

SysResult sleep(uint64_t ns) {
    if (ns == 0) {
        sched::yield();
        return uint64_t{0};
    }
    (void)sched::block(nullptr, deadline_after(ns));
    return uint64_t{0};
}

// Asynchronous queues (obj/queue.hpp).
// A kQueueDeviceData queue's device: that of the served object behind `handle` (Read), whose
// server asked for device data (obj::Served::device_data_device).
Result<obj::DeviceObject*> queue_device(proc::Process& p, uint64_t handle) {
    const proc::HandleEntry e = KEEL_TRY(lookup_arg(p, handle));
    obj::Served* s = e.object->served_by();
    if (s == nullptr)
        return fail(Error::kInvalidArgument);
    if ((e.rights & abi::kRightRead) == 0)
        return fail(Error::kNoRights);
    obj::DeviceObject* device = s->device_data_device();
    if (device == nullptr)
        return fail(Error::kNotSupported);
    return device;
}

SysResult queue_create(mm::UserPtr<abi::QueueGeometry> geometry,
                       mm::UserPtr<abi::QueueInfo> info_out, uint64_t served_handle) {
    const auto g = geometry.read();
    if (!g || !info_out.range_ok())
        return fail(Error::kBadAddress);
    proc::Process& p = *proc::current_process();
    obj::DeviceObject* device = nullptr;
    if ((g->flags & abi::kQueueDeviceData) != 0)
        device = KEEL_TRY(queue_device(p, served_handle));
    const obj::RefPtr<obj::Queue> q = KEEL_TRY(obj::Queue::create(p, *g, device));
    if ((g->flags & abi::kQueuePolling) != 0) {
        const Result<obj::QueuePoller*> poller = obj::QueuePoller::start(*q, p);
        if (!poller.ok()) {
            q->region().unmap_user(p);  // the caller never learnt where the region was
            return fail(poller.error());
        }
        q->set_poller(*poller);
    }
    const abi::QueueInfo info{q->region().user_address(), q->region().size()};
    // No kRightShare: a queue is its creator's (obj/queue.hpp).
    auto h = p.handles().insert(*q, abi::kRightRead | abi::kRightWrite);
    if (!h.ok() || !info_out.write(info)) {
        if (h.ok())
            (void)p.handles().close(*h);
        q->region().unmap_user(p);  // the caller never learnt where the region was
        return fail(h.ok() ? Error::kBadAddress : Error::kFull);
    }
    return *h;
}

// The caller's queue behind handle (a new reference: the handle may be closed meanwhile), or
// why not.
Result<obj::RefPtr<obj::Queue>> lookup_queue(uint64_t handle) {
    proc::Process& p = *proc::current_process();
    const proc::HandleEntry e = KEEL_TRY(lookup_arg(p, handle));
    if (e.object->kind() != abi::Kind::kQueue)
        return fail(Error::kInvalidArgument);
    auto* q = static_cast<obj::Queue*>(e.object);
    if ((e.rights & abi::kRightWrite) == 0 || q->owner() != &p)
        return fail(Error::kNoRights);
    return obj::retain_ref(q);
}

SysResult queue_destroy(uint64_t handle) {
    KEEL_TRY(lookup_queue(handle));
    (void)proc::current_process()->handles().close(static_cast<abi::Handle>(handle));
    return uint64_t{0};
}

// On a polling queue only the poller consumes submissions (one reader per ring end,
// obj/queue_poller.hpp): queue_poll wakes it and answers 0, or its last round's error.
SysResult queue_poll(uint64_t handle) {
    const obj::RefPtr<obj::Queue> q = KEEL_TRY(lookup_queue(handle));
    if (obj::QueuePoller* poller = q->poller(); poller != nullptr) {
        KEEL_TRY(poller->wake());
        return uint64_t{0};
    }
    return q->process();
}

// queue_wait on a polling queue (obj/queue_poller.hpp): wakes the poller and sleeps on the
// queue's posted() until it posted at least `min` completions since the call (min 0 acts as 1),
// went to sleep with nothing parked (nothing more comes without new submissions), or the
// deadline (0: none). The completions posted meanwhile; the error of the poller's last round
// when nothing was posted; kPeerGone when the caller's process is ending.
SysResult queue_wait_polled(obj::Queue& q, uint64_t min, uint64_t deadline) {
    obj::QueuePoller& poller = *q.poller();
    if (min == 0)
        min = 1;
    const uint32_t start = q.cq_tail();
    const uint64_t sleeps = poller.sleeps();
    KEEL_TRY(poller.wake());
    for (;;) {
        const uint64_t posted = q.cq_tail() - start;
        if (posted >= min)
            return posted;
        const Result<void> state = poller.last_error();
        if (!state.ok())
            return posted > 0 ? SysResult(posted) : fail(state.error());
        if (poller.asleep() && poller.sleeps() != sleeps && q.parked() == 0)
            return posted;
        if (deadline != 0 && sched::now_ns() >= deadline)
            return posted;
        if (sched::block(&q.posted(), deadline) == sched::WakeReason::kInterrupted)
            return fail(Error::kPeerGone);
    }
}

// Processes rounds until at least `min` completions were posted by this call (min 0 acts as
// 1), nothing is parked (nothing more can finish without new submissions), or the timeout.
// Between rounds it sleeps on the queue's doorbell, which every object a parked operation
// waits for rings when it wakes its waiters (obj/queue.hpp): a timer, a pipe and a process
// parked together each wake the call as soon as they can progress. Nothing polls: an
// operation that would block names the wait queue that announces its progress, the contract
// do_io relies on too.
SysResult queue_wait(uint64_t handle, uint64_t min, uint64_t timeout_ns) {
    const obj::RefPtr<obj::Queue> q = KEEL_TRY(lookup_queue(handle));
    const uint64_t deadline = deadline_after(timeout_ns);
    if (q->poller() != nullptr)
        return queue_wait_polled(*q, min, deadline);  // the poller alone consumes
    if (min == 0)
        min = 1;
    uint64_t posted = 0;
    for (;;) {
        const SysResult r = q->process();
        if (!r.ok()) {
            if (posted > 0)
                return posted;
            return r;
        }
        posted += r.value();
        if (posted >= min || q->parked() == 0 || (deadline != 0 && sched::now_ns() >= deadline))
            return posted;
        // kTimedOut: one more round, then the deadline check above returns.
        if (sched::block(&q->doorbell(), deadline) == sched::WakeReason::kInterrupted)
            return fail(Error::kPeerGone);
    }
}

// User-space servers (obj/served.hpp).
// The device whose DMA memory a server's region is to be (serve_create's third argument):
// nullptr for 0, else a device this process holds with Create (what making DMA memory needs).
Result<obj::RefPtr<obj::DeviceObject>> serve_device(proc::Process& p, uint64_t handle) {
    if (handle == 0)
        return obj::RefPtr<obj::DeviceObject>();
    const proc::HandleEntry e = KEEL_TRY(lookup_arg(p, handle));
    if (e.object->kind() != abi::Kind::kDevice)
        return fail(Error::kInvalidArgument);
    if ((e.rights & abi::kRightCreate) == 0)
        return fail(Error::kNoRights);
    return obj::retain_ref(static_cast<obj::DeviceObject*>(e.object));
}

SysResult serve_create(mm::UserPtr<abi::QueueGeometry> geometry,
                       mm::UserPtr<abi::ServeInfo> info_out, uint64_t device_handle) {
    const auto g = geometry.read();
    if (!g || !info_out.range_ok())
        return fail(Error::kBadAddress);
    proc::Process& p = *proc::current_process();
    const obj::RefPtr<obj::DeviceObject> device = KEEL_TRY(serve_device(p, device_handle));
    const obj::Served::Created created = KEEL_TRY(obj::Served::create(p, *g, device.get()));
    const obj::QueueRegion& region = created.served->region();
    const obj::ObjectPair objects{created.port, created.served};
    abi::ServeInfo info{};
    info.address = region.user_address();
    info.size = region.size();
    info.device_address = region.device_address();
    // The port is its creator's alone; the served object is made to be shared.
    const uint32_t rights[2] = {abi::kRightRead | abi::kRightWrite, abi::kRightsServed};
    abi::Handle handles[2] = {0, 0};
    const Result<void> inserted = insert_handles(p, objects, rights, 2, handles);
    info.port = handles[0];
    info.served = handles[1];
    if (!inserted.ok() || !info_out.write(info)) {
        close_handles(p, handles, 2);
        region.unmap_user(p);  // the caller never learnt where the region was
        return fail(inserted.ok() ? Error::kBadAddress : Error::kFull);
    }
    return uint64_t{0};
}

// The served object of a port handle the calling server holds with Write (ServeSync,
// ServeCall), held for the call: the port may close meanwhile.
[[gnu::always_inline]] inline Result<obj::RefPtr<obj::Served>> own_port(uint64_t handle) {
    proc::Process& p = *proc::current_process();
    const proc::HandleEntry e = KEEL_TRY(lookup_arg(p, handle));
    obj::Served* s = e.object->port_of();
    if (s == nullptr)
        return fail(Error::kInvalidArgument);
    if ((e.rights & abi::kRightWrite) == 0 || s->server() != &p)
        return fail(Error::kNoRights);
    return obj::retain_ref(s);
}

SysResult serve_sync(uint64_t handle, uint64_t wait, uint64_t timeout_ns) {
    return KEEL_TRY(own_port(handle))->sync(wait != 0, deadline_after(timeout_ns));
}

// ServeCall (abi::ServeCall): the direct call path's server side.
SysResult serve_call(uint64_t handle, uint64_t msg, uint64_t timeout_ns) {
    return KEEL_TRY(own_port(handle))->call_wait(msg, deadline_after(timeout_ns));
}

abi::ExitInfo exited(uint64_t status) {
    return {static_cast<uint32_t>(abi::ExitReason::kExited), 0, static_cast<int64_t>(status), 0, 0};
}

SysResult dispatch(uint64_t number, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                   uint64_t f) {
    using abi::Syscall;
    if (number >= static_cast<uint64_t>(Syscall::kCount))
        return fail(Error::kInvalidArgument);
    switch (static_cast<Syscall>(number)) {
        case Syscall::kDoIo:
            return do_io(a, b, mm::UserSpan<std::byte>(c, d), e, f);
        case Syscall::kObjectNew:
            return object_new(a, b, mm::UserPtr<abi::Handle>(c));
        case Syscall::kProcessSpawn:
            return process_spawn(a, mm::UserPtr<abi::SpawnArgs>(b));
        case Syscall::kProcessExit:
            proc::current_process()->end(exited(a));
            sched::exit_current(proc::current_process()->exit_info());
        case Syscall::kThreadSpawn:
            return thread_spawn(a, b, c);
        case Syscall::kThreadExit:
            sched::exit_current(exited(a));
        case Syscall::kSleep:
            return sleep(a);
        case Syscall::kClock:  // a: 0 monotonic, 1 the wall clock (Unix time)
            if (a > 1)
                return fail(Error::kInvalidArgument);
            return a == 0 ? sched::now_ns() : dev::rtc::now_unix_ns();
        case Syscall::kFutexWait:
            return futex_wait(mm::UserPtr<uint32_t>(a), b, c);
        case Syscall::kFutexWake:
            return futex_wake(mm::UserPtr<uint32_t>(a), b);
        case Syscall::kYield:
            sched::yield();
            return uint64_t{0};
        case Syscall::kUnmap:
            return proc::current_process()->unmap(a);
        case Syscall::kQueueCreate:
            return queue_create(mm::UserPtr<abi::QueueGeometry>(a), mm::UserPtr<abi::QueueInfo>(b),
                                c);
        case Syscall::kQueueDestroy:
            return queue_destroy(a);
        case Syscall::kQueuePoll:
            return queue_poll(a);
        case Syscall::kQueueWait:
            return queue_wait(a, b, c);
        case Syscall::kServeCreate:
            return serve_create(mm::UserPtr<abi::QueueGeometry>(a), mm::UserPtr<abi::ServeInfo>(b),
                                c);
        case Syscall::kServeSync:
            return serve_sync(a, b, c);
        case Syscall::kServeCall:
            return serve_call(a, b, c);
        case Syscall::kCount:
            break;
    }
    return fail(Error::kInvalidArgument);
}

}  // namespace

}  // namespace keel::syscalls

extern "C" uint64_t keel_syscall_dispatch(keel::syscall_entry::SyscallFrame* f) {
    using namespace keel;
    // The CPU's block, loaded once on the way in and once on the way out: the thread may sleep
    // in the call and go on on another CPU.
    percpu::PerCpu& in = percpu::current();
    sched::big_lock::acquire(in, false);  // kernel code runs on one CPU at a time
    sched::syscall_enter(in, f->number);  // the longest stretch without a switch: sched/preempt.hpp
    ++in.thread->syscalls;
    const auto rax = static_cast<uint64_t>(syscalls::to_rax(
        syscalls::dispatch(f->number, f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9)));
    // sysret to a non-canonical rip would fault in ring 0. The rip after a syscall instruction
    // is canonical unless that instruction ends the user half; treat that as the user's fault.
    if (f->rip >= abi::kUserTop) [[unlikely]]
        proc::current_process()->end(
            {static_cast<uint32_t>(abi::ExitReason::kFault), 13, -1, f->rip, 0});
    percpu::PerCpu& out = percpu::current();
    // An ending process's thread exits here, inside the call (no switch when it returns).
    proc::before_user_return(out.thread->process());
    sched::syscall_exit(out);
    sched::big_lock::release(out);
    return rax;
}
