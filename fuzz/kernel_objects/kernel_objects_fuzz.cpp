// Coverage-guided fuzzing of the kernel's object layer on the host (issue 25): the handle
// tables, objects (memory, pipe, message pipe, root, timer, queue, served), perform() and
// served-object forwarding are the kernel's own files compiled unchanged, over the simulated
// machine of sim/ (frames in an arena, the kernel's page tables on them, a scheduler whose
// block never sleeps). The input is a script of system-call-like steps from four processes:
// make objects, share and close handles, bind roots in roots, do_io with retries, queues
// (create, submit, poll, reap, destroy), served objects whose simulated server answers,
// lies, scribbles on its queue or dies, and processes that die mid-way.
//
// After every input everything is torn down (every thread exits, so every process ends) and
// the frames in use, the live heap allocations and Object::live() must be back where they
// were: the kernel's own leak check (get_meta kMemoryInfo). ASan, UBSan and LeakSanitizer do
// the rest (lifetime errors, stack exhaustion, arithmetic).
#include <ipc/client.hpp>
#include <ipc/server.hpp>

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "obj/memory.hpp"
#include "obj/message_pipe.hpp"
#include "obj/perform.hpp"
#include "obj/pipe.hpp"
#include "obj/queue.hpp"
#include "obj/root.hpp"
#include "obj/served.hpp"
#include "obj/timer.hpp"
#include "proc/process.hpp"
#include "sim.hpp"

namespace {

using namespace keel;
using obj::RefPtr;

struct Input {
    const uint8_t* p;
    size_t n;
    bool empty() const { return n == 0; }
    uint8_t byte() {
        if (n == 0)
            return 0;
        --n;
        return *p++;
    }
    uint64_t bytes(int count) {
        uint64_t v = 0;
        for (int i = 0; i < count; ++i)
            v |= uint64_t{byte()} << (8 * i);
        return v;
    }
};

// KEEL_KOBJ_TRACE=1: each do_io attempt on stderr (for writing seeds).
const bool g_trace = getenv("KEEL_KOBJ_TRACE") != nullptr;

constexpr int kProcs = 4;
constexpr int kHandles = 16;  // the harness's memory of each process's newest handles
constexpr uint32_t kBufferMax = 96;

// The user side of a region (a queue's client, a served object's server): the process's
// mapping seen through its own page tables, aliased contiguously.
struct UserRegion {
    std::byte* view = nullptr;
    uint64_t pages = 0;
    uint64_t size = 0;
    std::byte* storage = nullptr;
};

// A do_io that would block: its Forward record lives across the retries.
struct Pending {
    bool active = false;
    abi::Handle handle = 0;
    abi::Op op = abi::Op::kRead;
    uint64_t arg = 0;
    bool user = false;
    uint8_t buffer[kBufferMax];
    uint32_t length = 0;
    obj::Forward forward;
};

struct Proc {
    RefPtr<proc::Process> process;
    sched::Thread* thread = nullptr;  // null once dead
    abi::Handle handles[kHandles] = {};
    uint32_t next = 0;
    uint64_t mapped = 0;  // the last mapping's address (user buffers go there)
    uint64_t mapped_size = 0;
    Pending io;
    // The runtime of its queue and server.
    abi::Handle queue = 0;
    UserRegion queue_region;
    ipc::Client* client = nullptr;
    abi::Handle port = 0;
    UserRegion server_region;
    ipc::Server* server = nullptr;
};

struct World {
    Proc procs[kProcs];
};

void remember(Proc& p, abi::Handle h) {
    p.handles[p.next++ % kHandles] = h;
}
abi::Handle pick(Proc& p, Input& in) {
    const uint8_t b = in.byte();
    if (b >= 0xf8)
        return static_cast<abi::Handle>(in.bytes(4));  // any value: bad, stale, someone else's
    return p.handles[(p.next + kHandles - 1 - b % kHandles) % kHandles];  // b-th newest
}

void unalias(UserRegion& r) {
    if (r.view != nullptr)
        sim::unalias(r.view, r.pages);
    delete[] r.storage;
    r = {};
}

// The process's view of [address, address + size) through its page tables.
bool alias_user(proc::Process& p, uint64_t address, uint64_t size, UserRegion& out) {
    const uint64_t pages = (size + mm::kPageSize - 1) / mm::kPageSize;
    mm::PhysAddr frames[64];
    if (pages > 64)
        return false;
    const mm::AddressSpace space{p.page_tables()};
    for (uint64_t i = 0; i < pages; ++i) {
        const auto t = space.translate(mm::VirtAddr{address + i * mm::kPageSize});
        if (!t || (t->flags & mm::kPageUser) == 0 || (t->flags & mm::kPageWritable) == 0) {
            sim::report("region page %lu of 0x%lx not mapped user-writable\n", i, address);
            sim::stop();
        }
        frames[i] = t->phys;
    }
    out.view = sim::alias(frames, pages);
    out.pages = pages;
    out.size = size;
    return true;
}

// The user-space runtime of a dying process goes with it (no close: it just stops).
void drop_runtime(Proc& p) {
    delete p.client;
    p.client = nullptr;
    delete p.server;
    p.server = nullptr;
    unalias(p.queue_region);
    unalias(p.server_region);
}

// ---- the system calls, as kernel/syscall/syscalls.cpp makes them of the object layer --------

void give(Proc& p, const obj::RefPtr<obj::Object>& o, uint32_t rights) {
    if (!o)
        return;
    auto h = p.process->handles().insert(*o, rights);
    if (h)
        remember(p, *h);
}

void object_new(Proc& p, Input& in) {
    constexpr uint32_t kEndpoint = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
    switch (in.byte() % 5) {
        case 0: {
            const uint64_t size = in.bytes(2) % (5 * mm::kPageSize);  // 0: refused
            auto m = obj::MemoryObject::create(size);
            if (m)
                give(p, *m, abi::kRightsAll);
            break;
        }
        case 1:
            if (auto pair = obj::create_pipe()) {
                give(p, pair->first, abi::kRightRead | abi::kRightShare);
                give(p, pair->second, abi::kRightWrite | abi::kRightShare);
            }
            break;
        case 2:
            if (auto pair = obj::create_message_pipe()) {
                give(p, pair->first, kEndpoint);
                give(p, pair->second, kEndpoint);
            }
            break;
        case 3:
            if (auto r = obj::Root::create())
                give(p, *r,
                     abi::kRightRead | abi::kRightCreate | abi::kRightDestroy | abi::kRightShare);
            break;
        default:
            if (auto t = obj::Timer::create())
                give(p, *t, kEndpoint);
            break;
    }
}

// Whose table a share put the new handle in: the process the caller's handle names, or the
// caller.
Proc& share_target(World& w, Proc& p, uint64_t arg) {
    const auto t = p.process->handles().lookup(static_cast<abi::Handle>(arg & 0xffffffffu));
    for (Proc& q : w.procs) {
        if (t && t->object == q.process.get())
            return q;
    }
    return p;
}

// One attempt of a do_io; true when it finished (the record is free again).
bool attempt(World& w, Proc& p, Pending& io) {
    sim::set_current(p.thread);
    obj::IoBuffer buffer = obj::IoBuffer::kernel(io.buffer, io.length);
    if (io.user)
        buffer = obj::IoBuffer::user(mm::UserSpan<std::byte>(p.mapped, io.length));
    else if (io.length == 0)
        buffer = obj::IoBuffer::none();
    obj::Request req{io.op, 0, io.arg, buffer, p.process.get(), &io.forward};
    const Result<uint64_t> r = obj::perform(*p.process, io.handle, req);
    if (g_trace && io.length == 16 && !io.user) {
        uint64_t v[2];
        memcpy(v, io.buffer, 16);
        sim::report("  (16 bytes: 0x%lx 0x%lx)\n", v[0], v[1]);
    }
    if (g_trace) {
        sim::report("process %lu: op %u on 0x%x arg 0x%lx length %u%s: %s%ld\n", p.process->id(),
                    static_cast<unsigned>(io.op), io.handle, io.arg, io.length,
                    io.user ? " (user)" : "", r.ok() ? "" : "error ",
                    r.ok() ? static_cast<int64_t>(*r) : static_cast<int64_t>(r.error()));
    }
    if (!r.ok() && r.error() == abi::Error::kWouldBlock && req.wait != nullptr)
        return false;  // sched::block never sleeps here: a later step retries
    obj::Served::abandon(io.forward);
    if (r.ok() && io.op == abi::Op::kMap) {
        p.mapped = *r;
        p.mapped_size = mm::kPageSize;
    }
    if (r.ok() &&
        (io.op == abi::Op::kOpen || io.op == abi::Op::kShare || io.op == abi::Op::kCreate) &&
        *r != 0 && *r <= 0x7fffffffu)
        remember(io.op == abi::Op::kShare ? share_target(w, p, io.arg) : p,
                 static_cast<abi::Handle>(*r));
    return true;
}

void do_io(World& w, Proc& p, Input& in) {
    if (p.io.active) {  // the thread is still in its last do_io: retry it
        p.io.active = !attempt(w, p, p.io);
        return;
    }
    Pending& io = p.io;
    io.forward = {};
    io.handle = pick(p, in);
    io.op = static_cast<abi::Op>(in.byte() % static_cast<uint8_t>(abi::Op::kCount));
    const uint8_t arg_kind = in.byte();
    switch (arg_kind % 4) {
        case 0:
            io.arg = in.byte();
            break;
        case 1:  // a handle (root create binds it; share names a target process)
            io.arg = pick(p, in);
            break;
        case 2:  // share: rights << 32 | a process handle of the caller
            io.arg = uint64_t{in.byte() & abi::kRightsAll} << 32 | pick(p, in);
            break;
        default:
            io.arg = in.bytes(8);
            break;
    }
    io.length = in.byte() % (kBufferMax + 1);
    for (uint32_t i = 0; i < io.length; ++i)
        io.buffer[i] = in.byte();
    // A user buffer: in the process's last mapping (or at an address it does not own).
    io.user = (arg_kind & 0x80) != 0 && p.mapped != 0;
    if (io.user && io.length > p.mapped_size)
        io.length = static_cast<uint32_t>(p.mapped_size);
    if (io.op == abi::Op::kCreate && (arg_kind & 0x40) != 0) {
        // A spawn request as a process table takes it: an image handle and a handle list in
        // the process's last mapping (whatever it holds), so a served create lends handles.
        const uint64_t count = p.mapped != 0 ? in.byte() % 3 : 0;
        const abi::TableSpawn ts{pick(p, in), 0, abi::SpawnArgs{p.mapped, count, 0, 0, 0, 0, 0}};
        memcpy(io.buffer, &ts, sizeof ts);
        io.length = sizeof ts;
        io.user = false;
    }
    io.active = !attempt(w, p, io);
}

abi::QueueGeometry geometry(Input& in) {
    const uint8_t b = in.byte();
    // 2048-byte buffers hold a ServedSpawn, so a served create reaches the lending.
    return abi::QueueGeometry{1u << (b & 3), static_cast<uint32_t>((b >> 2) & 3),
                              (b & 0x10) != 0 ? 2048u : 64u, (b & 0xe0) == 0xe0 ? 1u : 0u};
}

void queue_create(Proc& p, Input& in) {
    if (p.client != nullptr)
        return;  // one runtime queue per process in the harness
    sim::set_current(p.thread);
    auto q = obj::Queue::create(*p.process, geometry(in));
    if (g_trace)
        sim::report("process %lu: queue_create: %s%ld\n", p.process->id(), q ? "" : "error ",
                    q ? 0l : static_cast<int64_t>(q.error()));
    if (!q)
        return;
    auto h = p.process->handles().insert(**q, abi::kRightRead | abi::kRightWrite);
    if (!h) {
        (*q)->region().unmap_user(*p.process);
        return;
    }
    remember(p, *h);
    p.queue = *h;
    const obj::QueueRegion& region = (*q)->region();
    alias_user(*p.process, region.user_address(), region.size(), p.queue_region);
    const ipc::Geometry& g = region.geometry();
    p.queue_region.storage = new std::byte[ipc::Client::private_size(g)];
    p.client = new ipc::Client;
    const std::span<std::byte> shared{p.queue_region.view, region.size()};
    const std::span<std::byte> storage{p.queue_region.storage, ipc::Client::private_size(g)};
    if (!p.client->create(shared, storage, g)) {
        sim::report("the runtime cannot lay out the kernel's queue region\n");
        sim::stop();
    }
}

// The runtime submits one operation on one of its handles.
void queue_submit(Proc& p, Input& in) {
    if (p.client == nullptr)
        return;
    ipc::Request r;
    r.opcode = static_cast<uint16_t>(abi::kQueueOpBase + in.byte() % 16);  // some past kCount
    r.object = pick(p, in);
    r.args[0] = in.byte() < 0x80 ? pick(p, in) : in.bytes(8);
    r.user_data = in.byte();
    const uint32_t length = in.byte();
    if (length != 0 && p.client->buffer_count() != 0) {
        auto b = p.client->acquire();
        if (b) {
            const auto bytes = p.client->bytes(*b);
            r.length = length % static_cast<uint32_t>(bytes.size() + 1);
            for (uint32_t i = 0; i < r.length; ++i)
                bytes[i] = std::byte{in.byte()};
            (void)p.client->submit(r, std::move(*b));
            p.client->publish();
            return;
        }
    }
    (void)p.client->submit(r);
    p.client->publish();
}

// queue_poll, then the runtime reaps what came back.
void queue_poll(Proc& p) {
    sim::set_current(p.thread);
    auto e = p.process->handles().lookup(p.queue);
    if (e && e->object->kind() == abi::Kind::kQueue) {
        const RefPtr<obj::Queue> q = obj::retain_ref(static_cast<obj::Queue*>(e->object));
        const Result<uint64_t> r = q->process();
        if (g_trace)
            sim::report("process %lu: queue round: %s%ld\n", p.process->id(),
                        r.ok() ? "" : "error ",
                        r.ok() ? static_cast<int64_t>(*r) : static_cast<int64_t>(r.error()));
    }
    if (p.client == nullptr)
        return;
    for (int i = 0; i < 8; ++i) {
        auto r = p.client->reap();
        if (!r)
            break;
    }
}

void serve_create(Proc& p, Input& in) {
    if (p.server != nullptr)
        return;
    sim::set_current(p.thread);
    auto created = obj::Served::create(*p.process, geometry(in));
    if (g_trace)
        sim::report("process %lu: serve_create: %s%ld\n", p.process->id(), created ? "" : "error ",
                    created ? 0l : static_cast<int64_t>(created.error()));
    if (!created)
        return;
    auto& proc_handles = p.process->handles();
    auto port = proc_handles.insert(*created->port, abi::kRightRead | abi::kRightWrite);
    auto served = proc_handles.insert(*created->served, abi::kRightsServed);
    if (!port || !served) {
        if (port)
            (void)proc_handles.close(*port);
        if (served)
            (void)proc_handles.close(*served);
        created->served->region().unmap_user(*p.process);
        return;
    }
    remember(p, *port);
    remember(p, *served);
    p.port = *port;
    const obj::QueueRegion& region = created->served->region();
    alias_user(*p.process, region.user_address(), region.size(), p.server_region);
    const ipc::Geometry& g = region.geometry();
    p.server_region.storage = new std::byte[ipc::Server::private_size(g)];
    p.server = new ipc::Server;
    const std::span<std::byte> shared{p.server_region.view, region.size()};
    const std::span<std::byte> storage{p.server_region.storage, ipc::Server::private_size(g)};
    if (!p.server->attach(shared, storage, g, abi::queue_opcode(abi::Op::kCount))) {
        sim::report("the server cannot attach to the kernel's layout\n");
        sim::stop();
    }
}

// The server's turn: serve_sync, then answer what it took, honestly or not.
void serve(Proc& p, Input& in) {
    sim::set_current(p.thread);
    auto e = p.process->handles().lookup(p.port);
    if (e) {
        obj::Served* s = e->object->port_of();
        if (s != nullptr && s->server() == p.process.get())
            (void)obj::retain_ref(s)->sync(false, 0);
    }
    if (p.server == nullptr || !p.server->poll())
        return;
    const uint8_t how = in.byte();
    for (int i = 0; i < 4; ++i) {
        auto op = p.server->take();
        if (!op)
            break;
        if (g_trace)
            sim::report("process %lu: serves opcode %u\n", p.process->id(), op->request.opcode);
        if ((how >> i & 1) != 0 && !p.server->cancel_requested(op->id))
            continue;  // left hanging: a slow or stuck server
        const auto bytes = p.server->bytes(*op);
        uint16_t status = static_cast<uint16_t>(ipc::abi::Status::Ok);
        uint64_t value = bytes.size();
        if ((how & 0x30) == 0x30) {  // a lie
            status = static_cast<uint16_t>(in.bytes(2));
            value = in.bytes(8);
        } else if (op->request.opcode == abi::queue_opcode(abi::Op::kOpen)) {
            value = abi::served_open_value(in.byte() % 4, in.byte() & abi::kRightsServed);
        } else if (op->request.opcode == abi::queue_opcode(abi::Op::kCreate)) {
            value = pick(p, in);  // a handle of its own (lent, shareable or not) or any value
        }
        for (auto& b : bytes)
            b = std::byte{static_cast<uint8_t>(value)};
        (void)p.server->complete(op->id, status, value);
    }
    p.server->publish();
}

// A hostile runtime: bytes anywhere in one of its regions.
void scribble(Proc& p, Input& in) {
    UserRegion& r = in.byte() % 2 != 0 ? p.queue_region : p.server_region;
    const uint64_t at = in.bytes(2);
    const uint8_t count = in.byte() % 8;
    for (uint8_t i = 0; i < count; ++i) {
        const uint8_t b = in.byte();
        if (r.view != nullptr)
            r.view[(at + i) % r.size] = std::byte{b};
    }
}

// The process ends now (a fault, or exit with its threads): a do_io in progress is
// interrupted (the server sees the cancel), then the last thread leaves.
void die(Proc& p) {
    if (p.thread == nullptr)
        return;
    const abi::ExitInfo why{static_cast<uint32_t>(abi::ExitReason::kFault), 14, -1, 0, 0};
    p.process->end(why);
    if (p.io.active) {
        obj::Served::abandon(p.io.forward);
        p.io.active = false;
    }
    drop_runtime(p);
    sim::exit_thread(p.thread, -1);
    p.thread = nullptr;
}

void step(World& w, Input& in) {
    const uint8_t b = in.byte();
    Proc& p = w.procs[(b >> 4) % kProcs];
    if (p.thread == nullptr)
        return;  // dead: its steps are gone with it
    switch (b % 12) {
        case 0:
            object_new(p, in);
            break;
        case 1:
        case 2:
        case 3:
            do_io(w, p, in);
            break;
        case 4: {
            sim::set_current(p.thread);
            const abi::Handle h = pick(p, in);
            (void)p.process->handles().close(h);
            break;
        }
        case 5:
            queue_create(p, in);
            break;
        case 6:
            queue_submit(p, in);
            break;
        case 7:
            queue_poll(p);
            break;
        case 8:
            serve_create(p, in);
            break;
        case 9:
            serve(p, in);
            break;
        case 10:
            if ((in.byte() & 7) == 0)
                die(p);
            else
                scribble(p, in);
            break;
        default:
            sim::advance(uint64_t{in.byte()} * 1'000'000);
            break;
    }
}

struct Counts {
    uint64_t frames, heap, objects;
};
Counts counts() {
    return {sim::frames_in_use(), sim::heap_live(), obj::Object::live()};
}

void run(const uint8_t* data, size_t size) {
    const Counts before = counts();
    Input in{data, size};
    // The first byte: failure injection (frames or heap allocations run out after a count).
    const uint8_t limits = in.byte();
    {
        World w;
        for (int i = 0; i < kProcs; ++i) {
            auto p = proc::Process::create();
            if (!p)
                sim::stop();
            w.procs[i].process = std::move(*p);
            w.procs[i].thread = sim::start_thread(*w.procs[i].process);
        }
        // Process 0 is the others' parent: it holds each of them (share can target them).
        for (int i = 1; i < kProcs; ++i)
            give(w.procs[0], w.procs[i].process, abi::kRightRead | abi::kRightWrite);
        if ((limits & 0x80) != 0)
            sim::set_frame_budget(limits & 0x3f);
        else if ((limits & 0x40) != 0)
            sim::set_heap_budget(limits & 0x3f);
        for (int steps = 0; steps < 1024 && !in.empty(); ++steps)
            step(w, in);
        sim::set_frame_budget(~0ull);
        sim::set_heap_budget(~0ull);
        // Teardown: every process that is still running exits (its last thread leaves).
        for (Proc& p : w.procs) {
            if (p.thread == nullptr)
                continue;
            if (p.io.active)
                obj::Served::abandon(p.io.forward);
            p.io.active = false;
            drop_runtime(p);
            sim::exit_thread(p.thread, 0);
            p.thread = nullptr;
        }
        sim::set_current(nullptr);
    }  // the harness's own references go
    const Counts after = counts();
    if (after.frames != before.frames || after.heap != before.heap ||
        after.objects != before.objects) {
        sim::report(
            "leak after teardown: frames %lu -> %lu, heap allocations %lu -> %lu, "
            "objects %lu -> %lu\n",
            before.frames, after.frames, before.heap, after.heap, before.objects, after.objects);
        sim::stop();
    }
}

// The kernel runs a system call on a 16 KiB stack; a fuzzer's thread has 8 MiB, where
// recursion a program controls (nested roots' destructors) would have to go thousands deep
// before it showed. So each input runs on a thread with a stack of kStackBytes: twice the
// kernel's, as this build's frames (sanitizers, -O1) are larger.
constexpr size_t kStackBytes = 16 * 1024;
// KEEL_KOBJ_STACK=BYTES overrides it (to measure what the harness needs).
size_t stack_bytes() {
    const char* v = getenv("KEEL_KOBJ_STACK");
    return v != nullptr ? strtoul(v, nullptr, 0) : kStackBytes;
}

// One worker thread with that stack runs every input; the fuzzer's thread hands it over and
// waits (a thread per input halved the executions per second).
struct Worker {
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
    const uint8_t* data = nullptr;
    size_t size = 0;
    bool busy = false;
    bool failed = false;  // the worker reported a failure: the fuzzer's thread aborts
};
Worker g_worker;

// sim::stop() on the worker: the failure was reported; the fuzzer's thread aborts (and
// libFuzzer saves the input) while the worker waits for ever.
void stop_worker() {
    Worker& w = g_worker;
    pthread_mutex_lock(&w.lock);
    w.failed = true;
    w.busy = false;
    pthread_cond_broadcast(&w.changed);
    for (;;)
        pthread_cond_wait(&w.changed, &w.lock);
}

#ifdef KEEL_KOBJ_LIBFUZZER
}  // namespace
// libFuzzer counts a deeper stack as progress (clang's -fsanitize=fuzzer keeps the lowest stack
// pointer in __sancov_lowest_stack on Linux), which is what leads it to stack exhaustion, but
// it reads its own thread's copy of the variable and the inputs run on the worker: the worker
// hands its depth on as an extra counter, one per 128 bytes of stack.
extern "C" thread_local uintptr_t __sancov_lowest_stack;
__attribute__((section("__libfuzzer_extra_counters"), used)) uint8_t g_stack_depth[128];
namespace {

void run_measured(const uint8_t* data, size_t size, uintptr_t top) {
    __sancov_lowest_stack = ~uintptr_t{0};
    run(data, size);
    const uintptr_t depth = top > __sancov_lowest_stack ? top - __sancov_lowest_stack : 0;
    g_stack_depth[depth / 128 < 127 ? depth / 128 : 127] = 1;
}
#else
void run_measured(const uint8_t* data, size_t size, uintptr_t) {
    run(data, size);
}
#endif

void* work(void*) {
    Worker& w = g_worker;
    sim::set_stop(&stop_worker);
    const auto top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    pthread_mutex_lock(&w.lock);
    for (;;) {
        while (!w.busy)
            pthread_cond_wait(&w.changed, &w.lock);
        pthread_mutex_unlock(&w.lock);
        run_measured(w.data, w.size, top);
        pthread_mutex_lock(&w.lock);
        w.busy = false;
        pthread_cond_broadcast(&w.changed);
    }
}

void run_on_worker(const uint8_t* data, size_t size) {
    static const bool started = [] {
        pthread_attr_t attr;
        pthread_t thread;
        if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, stack_bytes()) != 0 ||
            pthread_create(&thread, &attr, &work, nullptr) != 0)
            abort();
        pthread_attr_destroy(&attr);
        return true;
    }();
    (void)started;
    Worker& w = g_worker;
    pthread_mutex_lock(&w.lock);
    w.data = data;
    w.size = size;
    w.busy = true;
    pthread_cond_broadcast(&w.changed);
    while (w.busy)
        pthread_cond_wait(&w.changed, &w.lock);
    const bool failed = w.failed;
    pthread_mutex_unlock(&w.lock);
    if (failed)
        abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    sim::init();
    run_on_worker(data, size);
    return 0;
}
