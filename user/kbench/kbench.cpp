// kbench: bench row B7 (bench/README.md). Guest instructions per kernel operation, measured
// under QEMU with `-icount shift=0`, where the guest's monotonic clock advances 1 ns per guest
// instruction: the elapsed clock (sys::clock_ns) over N operations, divided by N.
//
// A calibration loop of a known instruction count runs first and its ratio is printed, so the
// assumption "1 clock ns = 1 guest instruction" is checked in every run (without -icount the
// ratio is far from 1 and the rows mean nanoseconds of TCG time, not instructions).
//
// Rows (each per operation, loop overhead and the two clock calls included, amortised over N):
//   null_syscall     a system call with an unknown number (reference: the entry/exit floor)
//   null_doio        do_io get_meta(Kind) on the console: answered by the kernel
//   queue_nop_b1     queue Nop: submit 1, one queue_poll, reap 1
//   queue_nop_b32    queue Nop: one submit_batch of 32, one queue_poll, one reap_batch of 32
//   queue_nop_b32_in_place  the same submitted in place: 32 prepare/commit, one publish
//   queue_nop_b32_calls  the same with 32 submit and 32 reap calls (reference)
//   served_doio      do_io get_meta(Size) on a served object, to a server thread of this process
//                    waiting in ServeCall: the direct call path (issue 24), the kernel switching
//                    from the caller to the server thread and back; the server fills 8 bytes
//   served_doio_ring the same, to a server thread that uses only ServeSync: forwarded through
//                    the port's ring (reference: the path every do_io took before ServeCall)
//   served_doio_4threads the direct call with four server threads waiting in ServeCall on the
//                    port: a call wakes the one it goes to and nobody else
//   served_queue_b32 the same operation through a queue: submit 32, queue_wait for 32, reap 32
//                    (also at batch 1 and 8, to show how the cost per operation scales)
//   served_create    do_io create (a TableSpawn: this program's image and one pipe end) on a
//                    served object of a second server thread, which answers with a handle of
//                    its own: the image and the pipe end lent to the server and closed again,
//                    the answer given to the caller; the returned handle's close included
//   pipe_rtt         one byte to a child process (this program, started with "echo") through a
//                    pipe and back through another: 4 do_io (write, read on each side), 2
//                    process switches; B8's Linux pipe_rtt does the same with 4 system calls
//   small_read       read_at of 4 KiB at position 0 of a file of the initial file system (this
//                    program's image, a memory object): answered by the kernel; B8's Linux
//                    small_read is a pread of 4 KiB from the initramfs
// Output: one line per row, "kbench: row NAME ops N insns_per_op X.Y", then a table.
// Argument "quick": fewer operations (the smoke test); "only ROW ROUNDS": that row alone, no
// calibration (profiling); "polling [OPS]": the polling queue against the system-call queue in
// wall-clock time instead (polling.cpp, for -smp 2); "echo": the child of pipe_rtt (handles 1 and
// 2: the pipe ends to read from and write to; each byte read is written back, until the end). Exits
// 0 when every operation succeeded.
#include <atomic>
#include <new>
#include <span>
#include <utility>

#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>
#include "echo_child.hpp"
#include "polling.hpp"
#include "queue.hpp"
#include "runtime.hpp"
#include "serve.hpp"

using namespace keel;
using namespace keel::user;
using keel::abi::Meta;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
int g_failures = 0;

void fail(const char* what, int64_t v) {
    ++g_failures;
    print("kbench: FAILED %s (%ld)\n", what, v);
}

// Prints x/d with one decimal.
void print_ratio(uint64_t x, uint64_t d) {
    const uint64_t tenths = (x * 10 + d / 2) / d;
    print("%lu.%lu", tenths / 10, tenths % 10);
}

// 2 instructions per iteration (dec, jnz): exactly 2 * n + a few.
void spin_loop(uint64_t n) {
    asm volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

struct Row {
    const char* name;
    const char* what;
    uint64_t ops;
    uint64_t ns;
};
Row g_rows[24];
int g_row_count = 0;

// The rows' targets and the outside figures to compare with (L4Re's IPC) are stated once, in
// bench/anchors.json; bench/report.py gives the verdicts. kbench only measures.
void report(const char* name, const char* what, uint64_t ops, uint64_t ns) {
    g_rows[g_row_count++] = Row{name, what, ops, ns};
    print("kbench: row %s ops %lu insns_per_op ", name, ops);
    print_ratio(ns, ops);
    print("\n");
}

// ---- the server thread -----------------------------------------------------------------------

struct ServerCtx {
    ServePort* port;
    bool direct = false;  // waits in ServeCall (direct calls and ring work), else in ServeSync
    Handle answer = 0;    // what a create is answered with (a handle of the server's, with Share)
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> served{0};  // operations completed
    std::atomic<uint64_t> rounds{0};  // serve_sync(wait) calls that returned with work
};

// A sync with this arg stops a server that waits without a timeout (ServerCtx::direct): it is
// answered, and the server thread ends.
constexpr uint64_t kStopArg = 0x5709;

// One operation's answer: get_meta(Size) fills 8 bytes of `data` with the value 4096, a create
// gets ctx.answer, a sync with kStopArg stops the server, anything else NotSupported.
struct Answer {
    uint16_t status;
    uint64_t value;
};
Answer answer_op(ServerCtx& ctx, Op o, uint64_t arg, std::span<std::byte> data) {
    if (o == Op::kSync && arg == kStopArg) {
        ctx.stop.store(true, std::memory_order_relaxed);
        return {kOk, 0};
    }
    if (o == Op::kGetMeta && arg == static_cast<uint64_t>(Meta::kSize) && data.size() >= 8) {
        const uint64_t size = 4096;
        __builtin_memcpy(data.data(), &size, 8);  // inline, not the libc byte loop
        return {kOk, 8};
    }
    if (o == Op::kCreate && ctx.answer != 0)
        return {kOk, ctx.answer};  // the lent handles close on sync
    return {queue_error_status(abi::Error::kNotSupported), 0};
}

void count(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // one writer
}

// The server thread: each direct call answered by the next ServeCall, each ring operation
// completed and handed back by the next ServeCall or ServeSync.
void server_main(uint64_t arg) {
    auto* ctx = reinterpret_cast<ServerCtx*>(arg);
    ipc::Server& s = ctx->port->server();
    abi::ServeCall msg{};
    while (!ctx->stop.load(std::memory_order_relaxed)) {
        if (ctx->direct) {
            // No timeout: stop_server() stops it with a call (kStopArg).
            const int64_t r = ctx->port->call(msg);
            msg.flags = 0;
            if (r == 1) {
                const Answer a =
                    answer_op(*ctx, static_cast<Op>(msg.opcode - abi::kQueueOpBase), msg.arg,
                              {reinterpret_cast<std::byte*>(msg.data), msg.length});
                msg.flags = abi::kServeCallReply;  // answered by the next call()
                msg.status = a.status;
                msg.value = a.value;
                count(ctx->served);
                count(ctx->rounds);
                continue;
            }
        } else {
            // Hands back the previous round's completions, then sleeps until there is work.
            (void)ctx->port->sync(true, 10'000'000);
        }
        (void)s.poll();
        bool any = false;
        while (s.queued() != 0) {  // no take() that can only answer Empty
            auto op = s.take();
            if (!op)
                break;
            any = true;
            const Answer a =
                answer_op(*ctx, static_cast<Op>(op->request.opcode - abi::kQueueOpBase),
                          op->request.args[0], s.bytes(*op));
            (void)s.complete(op->id, a.status, a.value);
            count(ctx->served);
        }
        if (any)
            count(ctx->rounds);
    }
    if (msg.flags != 0)
        (void)ctx->port->call(msg, 1);  // the last call's answer
    (void)ctx->port->sync(false);
}

// One of several threads answering direct calls on one port (served_doio_4threads): no ring
// (ipc::Server is one thread's; only direct calls come while one of them waits), so the raw
// system call, not ServePort::call, which publishes the ring.
void call_only_main(uint64_t arg) {
    auto* ctx = reinterpret_cast<ServerCtx*>(arg);
    abi::ServeCall msg{};
    for (;;) {
        const int64_t r = sys::serve_call(ctx->port->port(), &msg, 0);
        msg.flags = 0;
        if (r < 0)
            return;  // the service ended
        if (r != 1)
            continue;  // ring work: none comes in this row
        const auto o = static_cast<Op>(msg.opcode - abi::kQueueOpBase);
        const bool stop = o == Op::kSync && msg.arg == kStopArg;
        Answer a{kOk, 0};
        if (!stop)
            a = answer_op(*ctx, o, msg.arg, {reinterpret_cast<std::byte*>(msg.data), msg.length});
        msg.flags = abi::kServeCallReply;
        msg.status = a.status;
        msg.value = a.value;
        if (stop)
            break;
    }
    (void)sys::serve_call(ctx->port->port(), &msg, 1);  // the stop's answer
}

// ---- rows ------------------------------------------------------------------------------------

// Reference: the cheapest system call, an unknown number (InvalidArgument at once).
void bench_null_syscall(uint64_t n) {
    int64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t i = 0; i < n; ++i)
        bad |= syscall(static_cast<abi::Syscall>(1000)) +
               static_cast<int64_t>(abi::Error::kInvalidArgument);
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail("null_syscall", bad);
    report("null_syscall", "system call with an unknown number (reference, no target)", n, t1 - t0);
}

// A port and its server thread (answer_op's operations; `direct`: ServerCtx::direct).
struct Server {
    ServePort* port = nullptr;
    ServerCtx* ctx = nullptr;
    int64_t thread = 0;
};
bool start_server(Server& s, uint32_t capacity, uint32_t buffers, uint32_t buffer_size,
                  bool direct) {
    s.port = new (allocate(sizeof(ServePort))) ServePort;
    const int64_t rc = s.port->create(capacity, buffers, buffer_size);
    if (rc != 0) {
        fail("serve_create", rc);
        return false;
    }
    s.ctx = new (allocate(sizeof(ServerCtx))) ServerCtx;
    s.ctx->port = s.port;
    s.ctx->direct = direct;
    s.thread = spawn_thread(server_main, reinterpret_cast<uint64_t>(s.ctx));
    if (s.thread <= 0) {
        fail("spawn_thread", s.thread);
        return false;
    }
    return true;
}
bool stop_server(Server& s) {
    if (s.ctx->direct)  // waiting in ServeCall without a timeout
        (void)sys::do_io(s.port->served(), Op::kSync, nullptr, 0, kStopArg);
    else
        s.ctx->stop.store(true, std::memory_order_relaxed);
    const int64_t rc = join(static_cast<Handle>(s.thread));
    if (rc != 0)
        fail("join", rc);
    return rc == 0;
}

void bench_doio(const char* name, const char* what, Handle h, Meta key, uint64_t n) {
    uint64_t v = 0;
    const int64_t first = sys::do_io(h, Op::kGetMeta, &v, 8, static_cast<uint64_t>(key));
    if (first != 8) {
        fail(name, first);
        return;
    }
    int64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t i = 0; i < n; ++i)
        bad |= sys::do_io(h, Op::kGetMeta, &v, 8, static_cast<uint64_t>(key)) ^ 8;
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail(name, bad);
    report(name, what, n, t1 - t0);
}

// Rounds of `batch` Nops (at most 32): submit(batch) submits and publishes them and counts its
// failures, then one queue_poll and one reap_batch.
template <class Submit>
void bench_nop_rounds(const char* name, const char* what, Queue& q, uint32_t batch, uint64_t rounds,
                      Submit submit) {
    ipc::Reaped out[32];
    batch = batch > 32 ? 32 : batch;
    uint64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t r = 0; r < rounds; ++r) {
        bad += submit(batch);
        bad += q.poll() != batch;
        auto got = q.client().reap_batch(std::span<ipc::Reaped>(out, batch));
        bad += !got.ok() || *got != batch;
        for (uint32_t i = 0; i < batch; ++i)
            bad += out[i].status != kOk;
    }
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail(name, static_cast<int64_t>(bad));
    report(name, what, rounds * batch, t1 - t0);
}

// Through the batch calls: one submit_batch a round.
void bench_nop_batched(const char* name, const char* what, Queue& q, uint32_t batch,
                       uint64_t rounds) {
    ipc::Request nops[32];  // opcode 0: Nop
    bench_nop_rounds(name, what, q, batch, rounds, [&](uint32_t n) -> uint64_t {
        auto sent = q.client().submit_batch(std::span<const ipc::Request>(nops, n));
        return !sent.ok() || *sent != n;
    });
}

// In place: `batch` prepare/commit pairs a round (the caller writes the entry it is handed, as
// io_uring_get_sqe), then one publish.
void bench_nop_in_place(const char* name, const char* what, Queue& q, uint32_t batch,
                        uint64_t rounds) {
    ipc::Client& c = q.client();
    bench_nop_rounds(name, what, q, batch, rounds, [&](uint32_t n) -> uint64_t {
        uint64_t bad = 0;
        for (uint32_t i = 0; i < n; ++i) {
            auto e = c.prepare();
            bad += !e.ok() || !c.commit(*e, i, 0).ok();  // opcode 0: Nop
        }
        c.publish();
        return bad;
    });
}

// Nops one call each: rounds of `batch` submissions, one queue_poll, `batch` reaps.
void bench_nop(const char* name, const char* what, Queue& q, uint32_t batch, uint64_t rounds) {
    ipc::Request nop;  // opcode 0: Nop
    uint64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t r = 0; r < rounds; ++r) {
        for (uint32_t i = 0; i < batch; ++i)
            bad += !q.client().submit(nop).ok();
        bad += q.poll() != batch;
        for (uint32_t i = 0; i < batch; ++i) {
            auto c = q.reap();
            bad += !c || c->status != kOk;
        }
    }
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail(name, static_cast<int64_t>(bad));
    report(name, what, rounds * batch, t1 - t0);
}

// get_meta(Size) on the served object through the queue: rounds of 32 submissions, each
// lending an 8-byte buffer; one queue_wait for all 32; 32 reaps (buffers back to the pool).
void bench_served_queue(const char* name, const char* what, Queue& q, Handle served, uint32_t batch,
                        uint64_t rounds) {
    uint64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t r = 0; r < rounds; ++r) {
        for (uint32_t i = 0; i < batch; ++i) {
            auto b = q.client().acquire();
            bad += !b || !q.submit(Op::kGetMeta, served, static_cast<uint64_t>(Meta::kSize), i,
                                   std::move(*b), 8)
                              .ok();
        }
        uint32_t got = 0;
        while (got < batch) {
            const int64_t w = q.wait(batch - got, 0);
            if (w < 0) {
                bad += 1;
                break;
            }
            while (auto c = q.reap()) {
                ++got;
                bad += c->status != kOk || c->value != 8;
            }
        }
    }
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail(name, static_cast<int64_t>(bad));
    report(name, what, rounds * batch, t1 - t0);
}

// A create on the served object (a spawn request the server answers without spawning): what
// lending costs on top of a forwarded operation.
void bench_served_create(const char* name, const char* what, Handle served, uint64_t n) {
    Handle pipe[2];
    const int64_t image = open(root(), "self");
    if (image <= 0 || sys::object_new(abi::Kind::kPipe, 0, pipe) != 2) {
        fail(name, image);
        return;
    }
    const Handle given[1] = {pipe[0]};
    const abi::TableSpawn ts{static_cast<Handle>(image), 0,
                             abi::SpawnArgs{reinterpret_cast<uint64_t>(given), 1, 0, 0, 0, 0, 0}};
    int64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t i = 0; i < n; ++i) {
        const int64_t h = sys::do_io(served, Op::kCreate, &ts, sizeof ts);
        bad += h <= 0 || sys::do_io(static_cast<Handle>(h), Op::kClose) != 0;
    }
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail(name, bad);
    (void)sys::do_io(static_cast<Handle>(image), Op::kClose);
    (void)sys::do_io(pipe[0], Op::kClose);
    (void)sys::do_io(pipe[1], Op::kClose);
    report(name, what, n, t1 - t0);
}

// One byte to a child process and back, each way through its own pipe (B8's pipe_rtt, the
// same shape on Linux): per round trip the parent's write and read and the child's read and
// write, and two switches between the processes' address spaces.
void bench_pipe_rtt(const char* name, const char* what, uint64_t n) {
    bench::EchoChild child;
    const int64_t started = bench::start_echo_child("kbench-echo", &child);
    if (started < 0) {
        fail(name, started);
        return;
    }
    uint8_t byte = 0x5a;
    int64_t bad = 0;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t i = 0; i < n; ++i)
        bad |= (sys::do_io(child.to_child, Op::kWrite, &byte, 1) ^ 1) |
               (sys::do_io(child.from_child, Op::kRead, &byte, 1) ^ 1);
    const uint64_t t1 = sys::clock_ns();
    if (bad != 0)
        fail(name, bad);
    const int64_t stopped = bench::stop_echo_child(&child);
    if (stopped != 0)
        fail("pipe_rtt: the child's exit", stopped);
    report(name, what, n, t1 - t0);
}

// read_at of 4 KiB at position 0 of a file of the initial file system, answered by the kernel
// (B8's small_read, a pread of 4 KiB from Linux's initramfs).
void bench_small_read(const char* name, const char* what, uint64_t n) {
    const int64_t file = open(root(), "self");
    if (file <= 0) {
        fail(name, file);
        return;
    }
    static uint8_t page[4096];
    const Handle h = static_cast<Handle>(file);
    int64_t bad = 0;
    bad |= sys::do_io(h, Op::kReadAt, page, sizeof page, 0) ^ 4096;  // the image is larger
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t i = 0; i < n; ++i)
        bad |= sys::do_io(h, Op::kReadAt, page, sizeof page, 0) ^ 4096;
    const uint64_t t1 = sys::clock_ns();
    (void)sys::do_io(h, Op::kClose);
    if (bad != 0)
        fail(name, bad);
    report(name, what, n, t1 - t0);
}

// "only ROW ROUNDS": runs that one row (by name) with ROUNDS loop iterations and no
// calibration: for profiling (two boots with different ROUNDS, difference of the per-symbol
// instruction counts; see bench/README.md, B7).
struct Only {
    const char* name = nullptr;
    uint64_t name_length = 0;
    uint64_t rounds = 0;
};
Only g_only;

bool runs(const char* row) {
    if (g_only.name == nullptr)
        return true;
    return strlen(row) == g_only.name_length && memcmp(row, g_only.name, g_only.name_length) == 0;
}
uint64_t rounds_of(uint64_t normal) {
    if (g_only.name == nullptr)
        return normal;
    return g_only.rounds > 0 ? g_only.rounds : 1;  // never 0: a row divides by its operations
}

void parse_only(const char* a, uint64_t n) {
    if (n < 5 || memcmp(a, "only ", 5) != 0)
        return;
    uint64_t i = 5;
    g_only.name = a + i;
    while (i < n && a[i] != ' ')
        ++i;
    g_only.name_length = static_cast<uint64_t>(a + i - g_only.name);
    while (i < n && a[i] == ' ')
        ++i;
    for (; i < n && a[i] >= '0' && a[i] <= '9'; ++i)
        g_only.rounds = g_only.rounds * 10 + static_cast<uint64_t>(a[i] - '0');
}

}  // namespace

int keel_main(const StartInfo& start) {
    if (start.args_length == 4 && memcmp(start.args, "echo", 4) == 0)
        return bench::echo_main();
    if (start.args_length >= 7 && memcmp(start.args, "polling", 7) == 0) {
        uint64_t ops = 0;
        for (uint64_t i = 7; i < start.args_length; ++i) {
            if (start.args[i] >= '0' && start.args[i] <= '9')
                ops = ops * 10 + static_cast<uint64_t>(start.args[i] - '0');
        }
        return kbench::polling_main(ops >= 32 ? ops / 32 * 32 : 32'000);
    }
    const bool quick = start.args_length >= 5 && memcmp(start.args, "quick", 5) == 0;
    const uint64_t scale = quick ? 1 : 10;
    parse_only(start.args, start.args_length);

    // Calibration: 2 * n instructions between two clock reads.
    if (g_only.name == nullptr) {
        const uint64_t n = 5'000'000 * scale;
        const uint64_t c0 = sys::clock_ns();
        spin_loop(n);
        const uint64_t c1 = sys::clock_ns();
        print("kbench: calibration loop %lu instructions, clock %lu ns, ns per instruction ", 2 * n,
              c1 - c0);
        const uint64_t milli = ((c1 - c0) * 1000 + n) / (2 * n);
        print("%lu.%03lu\n", milli / 1000, milli % 1000);
    }

    if (runs("null_syscall"))
        bench_null_syscall(rounds_of(2'000 * scale));
    if (runs("null_doio"))
        bench_doio("null_doio", "do_io get_meta(Kind) on the console (kernel)", console(),
                   Meta::kKind, rounds_of(2'000 * scale));

    if (runs("small_read"))
        bench_small_read("small_read", "read_at of 4 KiB from a file of the initial file system",
                         rounds_of(1'000 * scale));
    if (runs("pipe_rtt"))
        bench_pipe_rtt("pipe_rtt", "1 byte to a child process through a pipe and back",
                       rounds_of(500 * scale));

    Queue q;
    int64_t rc = q.create(32, 32, 64);
    if (rc != 0) {
        fail("queue_create", rc);
        return 1;
    }
    if (runs("queue_nop_b1"))
        bench_nop("queue_nop_b1", "queue Nop, batch 1 (submit, queue_poll, reap)", q, 1,
                  rounds_of(2'000 * scale));
    if (runs("queue_nop_b32"))
        bench_nop_batched("queue_nop_b32",
                          "queue Nop, batch 32 (1 submit_batch, 1 queue_poll, 1 reap_batch)", q, 32,
                          rounds_of(100 * scale));
    if (runs("queue_nop_b32_in_place"))
        bench_nop_in_place("queue_nop_b32_in_place",
                           "queue Nop, batch 32 (32 prepare/commit, 1 queue_poll, 1 reap_batch)", q,
                           32, rounds_of(100 * scale));
    if (runs("queue_nop_b32_calls"))
        bench_nop("queue_nop_b32_calls", "queue Nop, batch 32 (32 submits, 1 queue_poll, 32 reaps)",
                  q, 32, rounds_of(100 * scale));

    // The reference first: a server thread in ServeSync alone, so every do_io takes the ring.
    if (runs("served_doio_ring")) {
        Server ring;
        if (!start_server(ring, 64, 32, 64, false))
            return 1;
        bench_doio("served_doio_ring",
                   "do_io get_meta(Size) on a served object, through its ring (ServeSync server)",
                   ring.port->served(), Meta::kSize, rounds_of(1'000 * scale));
        if (!stop_server(ring))
            return 1;
    }

    // Four threads answering calls on one port.
    if (runs("served_doio_4threads")) {
        ServePort* port = new (allocate(sizeof(ServePort))) ServePort;
        ServerCtx* pctx = new (allocate(sizeof(ServerCtx))) ServerCtx;
        int64_t threads[4] = {};
        rc = port->create(64, 32, 64);
        pctx->port = port;
        for (int i = 0; rc == 0 && i < 4; ++i) {
            threads[i] = spawn_thread(call_only_main, reinterpret_cast<uint64_t>(pctx));
            if (threads[i] <= 0)
                rc = threads[i];
        }
        if (rc != 0) {
            fail("served_doio_4threads set-up", rc);
            return 1;
        }
        (void)sys::sleep_ns(10'000'000);  // all four wait in ServeCall
        bench_doio("served_doio_4threads",
                   "do_io get_meta(Size) on a served object, 4 server threads in ServeCall",
                   port->served(), Meta::kSize, rounds_of(1'000 * scale));
        for (int i = 0; i < 4; ++i)
            (void)sys::do_io(port->served(), Op::kSync, nullptr, 0, kStopArg);
        for (int i = 0; i < 4; ++i) {
            rc = join(static_cast<Handle>(threads[i]));
            if (rc != 0)
                fail("join", rc);
        }
    }

    Server main_server;
    if (!start_server(main_server, 64, 32, 64, true))  // capacity 64: 32 forwarded at a time
        return 1;
    ServePort* sp = main_server.port;
    ServerCtx* ctx = main_server.ctx;
    uint64_t before_ops = ctx->served.load(), before_rounds = ctx->rounds.load();
    if (runs("served_doio"))
        bench_doio("served_doio", "do_io get_meta(Size) on a served object (server thread)",
                   sp->served(), Meta::kSize, rounds_of(1'000 * scale));
    print("kbench: served_doio: %lu operations in %lu server wake-ups\n",
          ctx->served.load() - before_ops, ctx->rounds.load() - before_rounds);
    before_ops = ctx->served.load();
    before_rounds = ctx->rounds.load();
    if (runs("served_queue_b1"))
        bench_served_queue("served_queue_b1", "same, queued: 1 submit, queue_wait, 1 reap", q,
                           sp->served(), 1, rounds_of(400 * scale));
    if (runs("served_queue_b8"))
        bench_served_queue("served_queue_b8", "same, queued: 8 submits, queue_wait, 8 reaps", q,
                           sp->served(), 8, rounds_of(100 * scale));
    before_ops = ctx->served.load();
    before_rounds = ctx->rounds.load();
    if (runs("served_queue_b32"))
        bench_served_queue("served_queue_b32", "same, queued: 32 submits, queue_wait, 32 reaps", q,
                           sp->served(), 32, rounds_of(50 * scale));
    print("kbench: served_queue_b32: %lu operations in %lu server wake-ups\n",
          ctx->served.load() - before_ops, ctx->rounds.load() - before_rounds);
    if (!stop_server(main_server))
        return 1;

    // A second port whose buffers hold a ServedSpawn (1168 bytes), its own server thread.
    if (runs("served_create")) {
        ServePort* cp = new (allocate(sizeof(ServePort))) ServePort;
        ServerCtx* cctx = new (allocate(sizeof(ServerCtx))) ServerCtx;
        Handle answer[2];
        rc = cp->create(4, 2, 2048);
        if (rc != 0 || sys::object_new(abi::Kind::kPipe, 0, answer) != 2) {
            fail("serve_create (create row)", rc);
            return 1;
        }
        cctx->port = cp;
        cctx->answer = answer[1];
        const int64_t ct = spawn_thread(server_main, reinterpret_cast<uint64_t>(cctx));
        if (ct <= 0) {
            fail("spawn_thread", ct);
            return 1;
        }
        bench_served_create("served_create",
                            "do_io create on a served object: 2 handles lent, 1 answered",
                            cp->served(), rounds_of(500 * scale));
        cctx->stop.store(true, std::memory_order_relaxed);
        rc = join(static_cast<Handle>(ct));
        if (rc != 0)
            fail("join", rc);
    }

    print("kbench: B7 guest instructions per operation (-icount shift=0)\n");
    print("kbench: | row | operation | ops | insns/op |\n");
    print("kbench: |---|---|---|---|\n");
    for (int i = 0; i < g_row_count; ++i) {
        const Row& r = g_rows[i];
        print("kbench: | %s | %s | %lu | ", r.name, r.what, r.ops);
        print_ratio(r.ns, r.ops);
        print(" |\n");
    }
    print("kbench: done, %d failures\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
