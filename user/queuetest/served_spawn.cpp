// Handles carried by served operations: a create on a served object is a spawn on the server's
// process table. The kernel lends the TableSpawn's image and handles to the server (with the
// caller's rights, as a ServedSpawn record), closes them when the server's completion is handed
// back, and gives the caller the handle the server answers with. Hostile cases: bad handles and
// memory, missing rights, a server whose table is full, a client that gives up, a server that
// dies, and a loop that must give every handle and byte back.
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

constexpr uint32_t kSpawnBuffer = 2048;  // room for a ServedSpawn (1168 bytes)

// The next operation the kernel forwards to sp (waiting up to about 5 s); false if none came.
bool next_op(ServePort& sp, ipc::Operation* out) {
    for (int i = 0; i < 500; ++i) {
        (void)sp.server().poll();
        if (auto op = sp.server().take()) {
            *out = *op;
            return true;
        }
        (void)sp.sync(true, 10'000'000);
    }
    return false;
}

abi::ServedSpawn record_of(ServePort& sp, const ipc::Operation& op) {
    abi::ServedSpawn rec{};
    CHECK(read_spawn(sp, op, &rec));
    return rec;
}

uint64_t meta(Handle h, Meta key) {
    uint64_t v = 0;
    const int64_t r = sys::do_io(h, Op::kGetMeta, &v, sizeof v, static_cast<uint64_t>(key));
    return r < 0 ? static_cast<uint64_t>(r) : v;
}

bool stale(Handle h) {
    return meta(h, Meta::kKind) == static_cast<uint64_t>(err(Error::kStaleHandle));
}

uint32_t handles_used() {
    return my_usage().used.handles;
}

// A TableSpawn for "child MODE" of this program, giving `handles`; the strings are static.
struct SpawnRequest {
    Handle handles[2];
    abi::TableSpawn table;
};
void make_request(SpawnRequest& r, Handle image, Handle root_handle, Handle extra,
                  const char* mode_args, const char* name) {
    r.handles[0] = root_handle;
    r.handles[1] = extra;
    r.table = {image, 0,
               abi::SpawnArgs{addr(r.handles), 2, addr(mode_args), strlen(mode_args), addr(name),
                              strlen(name), 0}};
}

// The whole path: a client child asks this server to spawn "served spawnee" with its root and
// the write end of its pipe; the server checks what it was lent, spawns it with exactly those
// handles through ProcessSpawn, answers with the process handle, and finds the lent handles
// closed once the answer is handed back. The client waits on the handle it got and reads what
// the spawnee wrote.
TEST(serve_spawn_lends_handles) {
    ServePort sp;
    CHECK_EQ(sp.create(4, 4, kSpawnBuffer), 0);
    const uint32_t before = handles_used();
    Handle go = 0;
    const int64_t c = spawn_served_client("serve spawn client", sp.served(), &go);
    CHECK(c > 0);
    ipc::Operation op{};
    CHECK(next_op(sp, &op));
    CHECK_EQ(op.request.opcode, abi::queue_opcode(Op::kCreate));
    CHECK_EQ(op.request.length, sizeof(abi::ServedSpawn));
    const abi::ServedSpawn rec = record_of(sp, op);
    CHECK_EQ(rec.handle_count, 2u);
    CHECK_EQ(rec.has_limits, 0u);
    CHECK(rec.name_length == 7 && memcmp(rec.name, "spawnee", 7) == 0);
    CHECK(rec.args_length == 20 && memcmp(rec.args, "child served-spawnee", 20) == 0);
    // Lent with the caller's rights, no more: the pipe end was shared Write|Share.
    CHECK_EQ(meta(rec.image, Meta::kKind), static_cast<uint64_t>(Kind::kMemory));
    CHECK((meta(rec.image, Meta::kRights) & abi::kRightSpawn) != 0);
    CHECK_EQ(meta(rec.handles[1], Meta::kKind), static_cast<uint64_t>(Kind::kPipe));
    CHECK_EQ(meta(rec.handles[1], Meta::kRights), abi::kRightWrite | abi::kRightShare);
    CHECK_EQ(handles_used(), before + 2 + 3);  // the client and its pipe, and the lent three
    const int64_t spawned = spawn_with(0, rec.image, spawn_args_of(rec));
    CHECK(spawned > 0);
    CHECK(sp.server().complete(op.id, kOk, static_cast<uint64_t>(spawned)).ok());
    (void)sp.sync(false);
    CHECK(stale(rec.image));
    CHECK(stale(rec.handles[0]));
    CHECK(stale(rec.handles[1]));
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 0);
    CHECK_EQ(wait_child(spawned).status, 7);
    close(go);
    CHECK_EQ(handles_used(), before);
    print("queuetest: served spawn: 3 handles lent, the spawnee ran, 3 closed after the answer\n");
}

// The client of serve_spawn_lends_handles: 0 when the server's spawnee ran and wrote.
CHILD_MODE("serve spawn client") {
    const Handle served = abi::initial_handle(1);
    Handle p[2];
    if (sys::object_new(Kind::kPipe, 0, p) != 2)
        return 1;
    const int64_t w = sys::do_io(p[1], Op::kShare, nullptr, 0,
                                 uint64_t{abi::kRightWrite | abi::kRightShare} << 32);
    if (w <= 0)
        return 2;
    close(p[1]);
    SpawnRequest r;
    make_request(r, self(), root(), static_cast<Handle>(w), "child served-spawnee", "spawnee");
    const int64_t child = sys::do_io(served, Op::kCreate, &r.table, sizeof r.table);
    close(static_cast<Handle>(w));
    if (child <= 0)
        return 3;
    // The handle names the spawnee: this process may wait on it and read its id.
    abi::ExitInfo info{};
    if (sys::do_io(static_cast<Handle>(child), Op::kRead, &info, sizeof info) != sizeof info ||
        info.status != 7)
        return 4;
    char b[8] = {};
    if (sys::do_io(p[0], Op::kRead, b, sizeof b) != 7 || memcmp(b, "spawned", 7) != 0)
        return 5;
    return 0;
}

CHILD_MODE("served-spawnee") {
    return sys::do_io(abi::initial_handle(1), Op::kWrite, "spawned", 7) == 7 ? 7 : 1;
}

// Bad requests fail in the caller with a clear error before the server sees anything, and
// leave the server's table as it was.
TEST(serve_spawn_refuses_bad_requests) {
    ServePort sp;
    CHECK_EQ(sp.create(4, 4, kSpawnBuffer), 0);
    ServePort small;  // its buffers cannot hold the record
    CHECK_EQ(small.create(4, 4, 1024), 0);
    const uint32_t before = handles_used();
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const int64_t unshareable =
        sys::do_io(p[1], Op::kShare, nullptr, 0, uint64_t{abi::kRightWrite} << 32);
    CHECK(unshareable > 0);
    const int64_t no_spawn = sys::do_io(self(), Op::kShare, nullptr, 0,
                                        uint64_t{abi::kRightRead | abi::kRightShare} << 32);
    CHECK(no_spawn > 0);
    const int64_t no_create = sys::do_io(sp.served(), Op::kShare, nullptr, 0,
                                         uint64_t{abi::kRightRead | abi::kRightWrite} << 32);
    CHECK(no_create > 0);
    const Handle s = sp.served();
    SpawnRequest r;
    const auto create = [&](Handle on, uint64_t length) {
        return sys::do_io(on, Op::kCreate, &r.table, length);
    };
    make_request(r, 0x7ffff, root(), p[1], "child x", "x");
    BAD_INPUT(create(s, sizeof r.table), kBadHandle);
    make_request(r, p[0], root(), p[1], "child x", "x");
    BAD_INPUT(create(s, sizeof r.table), kInvalidArgument);
    make_request(r, static_cast<Handle>(no_spawn), root(), p[1], "child x", "x");
    BAD_INPUT(create(s, sizeof r.table), kNoRights);
    make_request(r, self(), root(), static_cast<Handle>(unshareable), "child x", "x");
    BAD_INPUT(create(s, sizeof r.table), kNoRights);
    make_request(r, self(), root(), p[1], "child x", "x");
    BAD_INPUT(create(static_cast<Handle>(no_create), sizeof r.table), kNoRights);
    BAD_INPUT(create(s, sizeof r.table - 1), kInvalidArgument);
    r.table.reserved = 1;
    BAD_INPUT(create(s, sizeof r.table), kInvalidArgument);
    make_request(r, self(), root(), p[1], "child x", "x\n");
    BAD_INPUT(create(s, sizeof r.table), kInvalidArgument);
    make_request(r, self(), root(), p[1], "child x", "x");
    r.table.args.args = 16;
    BAD_INPUT(create(s, sizeof r.table), kBadAddress);
    make_request(r, self(), root(), p[1], "child x", "x");
    r.table.args.handle_count = abi::kMaxSpawnHandles + 1;
    BAD_INPUT(create(s, sizeof r.table), kTooLarge);
    make_request(r, self(), root(), p[1], "child x", "x");
    r.table.args.limits = 8;
    BAD_INPUT(create(s, sizeof r.table), kBadAddress);
    make_request(r, self(), root(), p[1], "child x", "x");
    BAD_INPUT(create(small.served(), sizeof r.table), kTooLarge);
    // Nothing reached the server, nothing was lent.
    CHECK_EQ(sp.sync(false), 0);
    (void)sp.server().poll();
    CHECK(!sp.server().take());
    CHECK_EQ(small.sync(false), 0);
    close(static_cast<Handle>(unshareable));
    close(static_cast<Handle>(no_spawn));
    close(static_cast<Handle>(no_create));
    close(p[0]);
    close(p[1]);
    CHECK_EQ(handles_used(), before);
    print("queuetest: served spawn: 12 bad requests refused before the server saw them\n");
}

// A server whose table has no room for the lent handles: the client's create fails Full and
// nothing is submitted; once there is room the same request goes through.
TEST(serve_spawn_server_table_full) {
    ServePort sp;
    CHECK_EQ(sp.create(4, 4, kSpawnBuffer), 0);
    Handle go[2], status[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, go), 2);
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, status), 2);
    const Handle extra[3] = {sp.served(), go[0], status[1]};
    const int64_t c = spawn_child("serve spawn twice", extra, 3);
    CHECK(c > 0);
    close(go[0]);
    close(status[1]);
    Handle fill[abi::kMaxHandles];
    uint32_t n = 0;
    for (;;) {
        const int64_t h =
            sys::do_io(root(), Op::kShare, nullptr, 0, uint64_t{abi::kRightRead} << 32);
        if (h < 0) {
            CHECK_EQ(h, err(Error::kFull));
            break;
        }
        fill[n++] = static_cast<Handle>(h);
    }
    CHECK_EQ(sys::do_io(go[1], Op::kWrite, "1", 1), 1);  // the first try meets the full table
    int64_t first = 0;
    CHECK_EQ(sys::do_io(status[0], Op::kRead, &first, sizeof first),
             static_cast<int64_t>(sizeof first));
    CHECK_EQ(first, err(Error::kFull));
    CHECK_EQ(sp.sync(false), 0);  // nothing reached this server
    (void)sp.server().poll();
    CHECK(!sp.server().take());
    for (uint32_t i = 0; i < n; ++i)
        close(fill[i]);
    CHECK_EQ(sys::do_io(go[1], Op::kWrite, "2", 1), 1);  // now with room
    ipc::Operation op{};
    CHECK(next_op(sp, &op));
    const abi::ServedSpawn rec = record_of(sp, op);
    CHECK_EQ(meta(rec.image, Meta::kKind), static_cast<uint64_t>(Kind::kMemory));
    CHECK(sp.server().complete(op.id, queue_error_status(Error::kNotFound), 0).ok());
    (void)sp.sync(false);
    CHECK(stale(rec.image));
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.status, 0);
    close(go[1]);
    close(status[0]);
    print("queuetest: served spawn: a full server table refused it (Full), then it went through\n");
}

// The client of serve_spawn_server_table_full: its first create's result goes back on the
// status pipe; its second must reach the server (answered NotFound).
CHILD_MODE("serve spawn twice") {
    const Handle served = abi::initial_handle(1);
    const Handle go = abi::initial_handle(2);
    const Handle status = abi::initial_handle(3);
    SpawnRequest r;
    make_request(r, self(), root(), root(), "child x", "x");
    char x;
    if (sys::do_io(go, Op::kRead, &x, 1) != 1)
        return 1;
    const int64_t first = sys::do_io(served, Op::kCreate, &r.table, sizeof r.table);
    if (sys::do_io(status, Op::kWrite, &first, sizeof first) != sizeof first)
        return 2;
    if (sys::do_io(go, Op::kRead, &x, 1) != 1)
        return 3;
    if (sys::do_io(served, Op::kCreate, &r.table, sizeof r.table) != err(Error::kNotFound))
        return 4;
    return 0;
}

// A client that gives up: once with the operation taken (the server sees the cancel and its
// late completion returns the lent handles), once before the server took it (the ipc server
// completes it Cancelled itself), and once by ending while a thread of it waits. Each way the
// server's table is back as it was.
TEST(serve_spawn_client_gives_up) {
    ServePort sp;
    CHECK_EQ(sp.create(8, 4, kSpawnBuffer), 0);  // room for the three creates in flight
    const uint32_t before = handles_used();
    Handle go = 0;
    const int64_t c = spawn_served_client("serve spawn impatient", sp.served(), &go);
    CHECK(c > 0);
    // Every submission is counted by the syncs, from the first: the first create may already
    // be there when the server first polls (then a later sync counts it), so the count starts
    // here and not after the take.
    int64_t seen = 0;
    const auto sync_count = [&] {
        const int64_t k = sp.sync(true, 10'000'000);
        seen += k > 0 ? k : 0;
    };
    ipc::Operation op{};
    bool taken = false;
    for (int i = 0; i < 500 && !taken; ++i) {
        (void)sp.server().poll();
        if (auto got = sp.server().take()) {
            op = *got;  // the first, taken and left unanswered
            taken = true;
        } else {
            sync_count();
        }
    }
    CHECK(taken);
    const abi::ServedSpawn rec = record_of(sp, op);
    // Then, none taken: the first's cancel, the second create and its cancel, the third
    // create. Once it came, the client may end (its thread still waiting): the third cancel.
    for (int i = 0; i < 500 && seen < 5; ++i)
        sync_count();
    CHECK_EQ(seen, 5);
    CHECK_EQ(sys::do_io(go, Op::kWrite, "x", 1), 1);
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.status, 0);
    close(go);
    for (int i = 0; i < 500 && seen < 6; ++i)
        sync_count();
    CHECK_EQ(seen, 6);
    (void)sp.server().poll();
    CHECK(sp.server().cancel_requested(op.id));
    CHECK_EQ(meta(rec.image, Meta::kKind), static_cast<uint64_t>(Kind::kMemory));  // still lent
    CHECK(sp.server().complete(op.id, kCancelled, 0).ok());
    (void)sp.sync(false);
    CHECK(stale(rec.image));
    CHECK_EQ(handles_used(), before);
    print(
        "queuetest: served spawn: a client that gave up twice and died waiting left no lent "
        "handle behind\n");
}

SpawnRequest g_forever;

void create_forever(uint64_t served) {
    (void)sys::do_io(served, Op::kCreate, &g_forever.table, sizeof g_forever.table);
}  // interrupted when the process ends: abandoned like a timeout

CHILD_MODE("serve spawn impatient") {
    const Handle served = abi::initial_handle(1);
    SpawnRequest r;
    make_request(r, self(), root(), root(), "child x", "x");
    for (int i = 0; i < 2; ++i) {
        if (sys::do_io_timeout(served, Op::kCreate, &r.table, sizeof r.table, 0, 30'000'000) !=
            err(Error::kTimedOut))
            return 1 + i;
    }
    // A third create from a thread that is still waiting when the process ends.
    make_request(g_forever, self(), root(), root(), "child x", "x");
    if (spawn_thread(create_forever, served) < 0)
        return 3;
    char x;
    return sys::do_io(abi::initial_handle(2), Op::kRead, &x, 1) == 1 ? 0 : 4;
}

// The same create submitted through the client's queue: answered with a pipe end of this
// server's, then a second one cancelled by the client while the server holds it. Either way the
// lent handles are closed once the completion is handed back.
TEST(serve_spawn_through_a_queue) {
    ServePort sp;
    CHECK_EQ(sp.create(4, 4, kSpawnBuffer), 0);
    const uint32_t before = handles_used();
    Handle go = 0;
    const int64_t c = spawn_served_client("serve spawn queued", sp.served(), &go);
    CHECK(c > 0);
    ipc::Operation op{};
    CHECK(next_op(sp, &op));
    const abi::ServedSpawn first = record_of(sp, op);
    Handle mine[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, mine), 2);
    CHECK(sp.server().complete(op.id, kOk, mine[1]).ok());
    (void)sp.sync(false);
    close(mine[0]);
    close(mine[1]);
    CHECK(stale(first.image));
    CHECK(next_op(sp, &op));
    const abi::ServedSpawn second = record_of(sp, op);
    CHECK_EQ(sys::do_io(go, Op::kWrite, "t", 1), 1);  // taken: the client cancels it now
    for (int i = 0; i < 500 && !sp.server().cancel_requested(op.id); ++i) {
        (void)sp.sync(true, 10'000'000);
        (void)sp.server().poll();
    }
    CHECK(sp.server().cancel_requested(op.id));
    CHECK_EQ(meta(second.image, Meta::kKind), static_cast<uint64_t>(Kind::kMemory));
    CHECK(sp.server().complete(op.id, kCancelled, 0).ok());
    (void)sp.sync(false);
    CHECK(stale(second.image));
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.status, 0);
    close(go);
    CHECK_EQ(handles_used(), before);
    print("queuetest: served spawn: through a queue, one answered and one cancelled\n");
}

// The client of serve_spawn_through_a_queue: 0 when the first create gave a pipe handle and
// the second, cancelled while parked, completed Cancelled.
CHILD_MODE("serve spawn queued") {
    const Handle served = abi::initial_handle(1);
    const Handle go = abi::initial_handle(2);
    Queue* q = heap_queue(8, 8);
    if (q == nullptr)
        return 1;
    SpawnRequest r;
    make_request(r, self(), root(), root(), "child x", "x");
    ipc::Reaped got[4];
    (void)submit_with(*q, Op::kCreate, served, 0, 1, &r.table, sizeof r.table, sizeof r.table);
    (void)q->wait(1, 5'000'000'000);
    if (reap_all(*q, got, 4) != 1 || got[0].status != kOk || got[0].value == 0 ||
        meta(static_cast<Handle>(got[0].value), Meta::kKind) != static_cast<uint64_t>(Kind::kPipe))
        return 2;
    close(static_cast<Handle>(got[0].value));
    got[0].buffer.reset();
    const uint32_t tag =
        submit_with(*q, Op::kCreate, served, 0, 2, &r.table, sizeof r.table, sizeof r.table);
    (void)q->poll();
    char x;
    if (sys::do_io(go, Op::kRead, &x, 1) != 1)
        return 3;
    if (!q->client().cancel(200, tag).ok())
        return 4;
    uint32_t n = 0;
    for (int i = 0; i < 500 && n < 2; ++i) {
        (void)q->wait(1, 10'000'000);
        n += reap_all(*q, got + n, 4 - n);
    }
    bool cancelled = false;
    for (uint32_t i = 0; i < n; ++i) {
        cancelled = cancelled || (got[i].user_data == 2 && got[i].status == kCancelled);
        got[i].buffer.reset();
    }
    return cancelled ? 0 : 5;
}

// A server that dies holding a create: the client fails PeerGone, and the handles lent to the
// dead server went with its table (checked by the kernel's counts).
TEST(serve_spawn_server_dies) {
    const abi::MemoryInfo before = memory_info();
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const int64_t s = spawn_child("serve spawn die", &p[1], 1);
    CHECK(s > 0);
    close(p[1]);
    const abi::ExitInfo e = wait_child(s);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    int64_t result = 0;
    CHECK_EQ(sys::do_io(p[0], Op::kRead, &result, sizeof result),
             static_cast<int64_t>(sizeof result));
    close(p[0]);
    CHECK_EQ(result, err(Error::kPeerGone));
    CHECK(kernel_memory_back_to(before));
    print("queuetest: served spawn: a server dead mid-create gave PeerGone, memory back\n");
}

CHILD_MODE("serve spawn die") {
    ServePort* sp = new (allocate(sizeof(ServePort))) ServePort;
    if (sp->create(4, 4, kSpawnBuffer) != 0)
        return 2;
    const Handle extra[2] = {sp->served(), abi::initial_handle(1)};
    if (spawn_child("serve spawn orphan", extra, 2) <= 0)
        return 3;
    close(abi::initial_handle(1));
    ipc::Operation op{};
    if (!next_op(*sp, &op))
        return 4;
    *reinterpret_cast<volatile uint64_t*>(16) = 1;  // dies holding the create and its handles
    return 0;
}

CHILD_MODE("serve spawn orphan") {
    SpawnRequest r;
    make_request(r, self(), root(), root(), "child x", "x");
    const int64_t got = sys::do_io(abi::initial_handle(1), Op::kCreate, &r.table, sizeof r.table);
    (void)sys::do_io(abi::initial_handle(2), Op::kWrite, &got, sizeof got);
    return 0;
}

// The loop: ports made and destroyed, each serving one create from a thread of this process,
// answered in turn with a handle of the server's own (the caller gets it), an error, a value
// that is no handle, and a handle without Share (both Protocol). Afterwards the kernel holds
// what it held before and this process's table is as it was.
struct LoopClient {
    Handle served;
    int64_t result;
};

void loop_client(uint64_t arg) {
    auto* c = reinterpret_cast<LoopClient*>(arg);
    SpawnRequest r;
    make_request(r, self(), root(), root(), "child x", "x");
    c->result = sys::do_io(c->served, Op::kCreate, &r.table, sizeof r.table);
}

TEST(serve_spawn_create_destroy_loop) {
    const abi::MemoryInfo before = memory_info();
    const uint32_t handles_before = handles_used();
    constexpr int kRounds = 24;
    int answered = 0;
    for (int i = 0; i < kRounds; ++i) {
        ServePort port;
        ServePort* sp = &port;
        CHECK_EQ(sp->create(4, 2, kSpawnBuffer), 0);
        LoopClient client{sp->served(), 0};
        const int64_t t = spawn_thread(loop_client, addr(&client));
        CHECK(t > 0);
        ipc::Operation op{};
        CHECK(next_op(*sp, &op));
        Handle mine[2];
        CHECK_EQ(sys::object_new(Kind::kPipe, 0, mine), 2);
        const int64_t unshareable =
            sys::do_io(mine[0], Op::kShare, nullptr, 0, uint64_t{abi::kRightRead} << 32);
        CHECK(unshareable > 0);
        const int kind = i % 4;
        const uint16_t status = kind == 1 ? queue_error_status(Error::kNotFound) : kOk;
        const uint64_t value = kind == 0   ? mine[1]
                               : kind == 2 ? 0x7ffffu
                               : kind == 3 ? static_cast<uint64_t>(unshareable)
                                           : 0;
        CHECK(sp->server().complete(op.id, status, value).ok());
        (void)sp->sync(false);
        close(mine[0]);
        close(mine[1]);
        close(static_cast<Handle>(unshareable));
        CHECK_EQ(join(static_cast<Handle>(t), nullptr), 0);  // and unmaps its stack
        close(static_cast<Handle>(t));
        if (kind == 0) {
            CHECK(client.result > 0);
            // The caller's handle is to the server's pipe end, which outlives the server's.
            CHECK_EQ(meta(static_cast<Handle>(client.result), Meta::kKind),
                     static_cast<uint64_t>(Kind::kPipe));
            close(static_cast<Handle>(client.result));
            ++answered;
        } else {
            CHECK_EQ(client.result, err(kind == 1 ? Error::kNotFound : Error::kProtocol));
        }
    }
    CHECK_EQ(answered, kRounds / 4);
    CHECK_EQ(handles_used(), handles_before);
    CHECK(kernel_memory_back_to(before));
    print("queuetest: served spawn: %d ports, creates answered, refused and lied to; memory back\n",
          kRounds);
}

}  // namespace
}  // namespace keel::queuetest
