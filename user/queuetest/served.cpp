// User-space servers: a served object used through do_io and a queue, a server that faults
// mid-operation and a client that dies mid-operation.
#include <atomic>

#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

// The test object a server process serves: 512 bytes; read and write at offset `arg`.
struct TestStore {
    uint8_t bytes[512] = {};
};

// Serves every operation taken now; returns how many were taken.
uint32_t serve_round(ServePort& sp, TestStore& store) {
    (void)sp.server().poll();
    uint32_t n = 0;
    while (auto op = sp.server().take()) {
        ++n;
        const auto& s = op->request;
        const auto data = sp.server().bytes(*op);
        const uint64_t at = s.args[0];
        const auto o = static_cast<Op>(s.opcode - abi::kQueueOpBase);
        uint16_t status = kOk;
        uint64_t value = 0;
        if ((o != Op::kRead && o != Op::kWrite) || at > sizeof store.bytes ||
            data.size() > sizeof store.bytes - at) {
            status = queue_error_status(o == Op::kRead || o == Op::kWrite ? Error::kInvalidArgument
                                                                          : Error::kNotSupported);
        } else if (o == Op::kRead) {
            memcpy(data.data(), store.bytes + at, data.size());
            value = data.size();
        } else {
            memcpy(store.bytes + at, data.data(), data.size());
            value = data.size();
        }
        (void)sp.server().complete(op->id, status, value);
    }
    return n;
}

// This process serves a test object; a client child uses it through do_io and its queue.
TEST(serve_object) {
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    abi::QueueGeometry bad{3, 1, 64, 0};
    abi::ServeInfo info{};
    BAD_INPUT(sys::serve_create(&bad, &info), kInvalidArgument);
    BAD_INPUT(sys::serve_sync(sp.served(), 0, 0), kInvalidArgument);
    TestStore store;
    const Handle served = sp.served();
    const int64_t c = spawn_child("serve client", &served, 1);
    CHECK(c > 0);
    uint32_t served_ops = 0;
    for (int i = 0; i < 2000 && child_running(c); ++i) {
        (void)sp.sync(true, 10'000'000);
        served_ops += serve_round(sp, store);
        (void)sp.sync(false);
    }
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 0);
    CHECK(served_ops >= 6);
    CHECK(memcmp(store.bytes, "hello, server", 13) == 0);
    print("queuetest: served %u forwarded operations\n", served_ops);
}

// A lying server (issue 25): every operation succeeds with a value it cannot mean. A write
// claims 1,000 bytes more than it was given, a read as much, a seek and a set_meta a value of
// 2^63 or more, which would reach the client as an error code. The kernel passes no lie on:
// counts are clamped to the caller's length, the impossible values are Protocol.
uint32_t lie_round(ServePort& sp) {
    (void)sp.server().poll();
    uint32_t n = 0;
    while (auto op = sp.server().take()) {
        ++n;
        const auto o = static_cast<Op>(op->request.opcode - abi::kQueueOpBase);
        const uint64_t value = o == Op::kRead || o == Op::kWrite
                                   ? op->request.length + 1000ull
                                   : (1ull << 63) | static_cast<uint64_t>(abi::Error::kPeerGone);
        (void)sp.server().complete(op->id, kOk, value);
    }
    return n;
}

TEST(served_lies_are_not_passed_on) {
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    const Handle served = sp.served();
    const int64_t c = spawn_child("lied-to client", &served, 1);
    CHECK(c > 0);
    for (int i = 0; i < 2000 && child_running(c); ++i) {
        (void)sp.sync(true, 10'000'000);
        (void)lie_round(sp);
        (void)sp.sync(false);
    }
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 0);
}

// The client of served_lies_are_not_passed_on: 0, or the step the kernel let a lie through.
CHILD_MODE("lied-to client") {
    const Handle s = abi::initial_handle(1);
    if (sys::do_io(s, Op::kWrite, "thirteen byte", 13, 0) != 13)
        return 1;
    char back[13] = {};
    if (sys::do_io(s, Op::kRead, back, 13, 0) != 13)
        return 2;
    if (sys::do_io(s, Op::kSeek, nullptr, 0, 5) != err(Error::kProtocol))
        return 3;
    uint64_t v = 0;
    if (sys::do_io(s, Op::kSetMeta, &v, 8, static_cast<uint64_t>(Meta::kSize)) !=
        err(Error::kProtocol))
        return 4;
    return 0;
}

// The client child of serve_object: 0 when everything matched, else the failed step.
CHILD_MODE("serve client") {
    const Handle s = abi::initial_handle(1);
    uint64_t kind = 0;
    if (sys::do_io(s, Op::kGetMeta, &kind, 8, static_cast<uint64_t>(Meta::kKind)) != 8 ||
        kind != static_cast<uint64_t>(Kind::kServed))
        return 2;
    if (sys::do_io(s, Op::kWrite, "hello, server", 13, 0) != 13)
        return 3;
    char back[13] = {};
    if (sys::do_io(s, Op::kRead, back, 13, 0) != 13 || memcmp(back, "hello, server", 13) != 0)
        return 4;
    if (sys::do_io(s, Op::kSeek, nullptr, 0, 5) != err(Error::kNotSupported))
        return 5;
    if (sys::do_io(s, Op::kRead, back, 13, 4096) != err(Error::kInvalidArgument))
        return 6;
    Queue* q = heap_queue(8, 8);
    if (q == nullptr)
        return 7;
    if (submit_with(*q, Op::kWrite, s, 100, 1, "QUEUED", 6, 6) == ipc::abi::kNoTag ||
        submit_with(*q, Op::kRead, s, 100, 2, nullptr, 0, 6) == ipc::abi::kNoTag)
        return 8;
    uint32_t got = 0;
    bool ok = true;
    for (int i = 0; i < 500 && got < 2; ++i) {
        (void)q->wait(1, 10'000'000);
        while (auto r = q->reap()) {
            ++got;
            ok = ok && r->status == kOk && r->value == 6 && r->buffer.valid();
            if (r->user_data == 2)
                ok = ok && memcmp(q->client().bytes(r->buffer).data(), "QUEUED", 6) == 0;
        }
    }
    if (got != 2 || !ok)
        return 9;
    if (q->client().pooled_buffers() != 8)
        return 10;
    return 0;
}

// A server killed by a fault mid-operation: its client (a grandchild) gets PeerGone for each
// operation, queued and do_io, and every buffer back; it reports the counts through a pipe.
TEST(serve_server_death) {
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const int64_t s = spawn_child("serve die", &p[1], 1);
    CHECK(s > 0);
    close(p[1]);
    const abi::ExitInfo e = wait_child(s);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    uint64_t counts[3] = {0, 0, 0};  // PeerGone completions, buffers back, do_io PeerGone
    CHECK_EQ(sys::do_io(p[0], Op::kRead, counts, sizeof counts),
             static_cast<int64_t>(sizeof counts));
    close(p[0]);
    print(
        "queuetest: server death: %lu queued operations completed PeerGone, %lu of 8 buffers "
        "back, %lu do_io PeerGone\n",
        counts[0], counts[1], counts[2]);
    CHECK_EQ(counts[0], 3);
    CHECK_EQ(counts[1], 8);
    CHECK_EQ(counts[2], 1);
}

// The server child of serve_server_death: starts the client, takes its four operations,
// and faults without completing them.
CHILD_MODE("serve die") {
    ServePort* sp = new (allocate(sizeof(ServePort))) ServePort;
    if (sp->create(8, 8, 4096) != 0)
        return 2;
    const Handle pipe = abi::initial_handle(1);
    const Handle extra[2] = {sp->served(), pipe};
    if (spawn_child("serve victim", extra, 2) <= 0)
        return 3;
    close(pipe);
    uint32_t taken = 0;
    for (int i = 0; i < 500 && taken < 4; ++i) {
        (void)sp->sync(true, 10'000'000);
        (void)sp->server().poll();
        while (auto op = sp->server().take())
            ++taken;
    }
    if (taken < 4)
        return 4;
    *reinterpret_cast<volatile uint64_t*>(16) = 1;  // dies holding every operation
    return 0;
}

// The client grandchild of serve_server_death.
CHILD_MODE("serve victim") {
    const Handle s = abi::initial_handle(1);
    const Handle pipe = abi::initial_handle(2);
    Queue* q = heap_queue_reading(s, 3);
    if (q == nullptr)
        return 2;
    (void)q->poll();
    uint64_t counts[3] = {0, 0, 0};
    char buf[16];
    if (sys::do_io(s, Op::kRead, buf, sizeof buf) == err(Error::kPeerGone))
        ++counts[2];  // blocked until the server died
    for (int i = 0; i < 500 && counts[0] < 3; ++i) {
        (void)q->wait(3, 10'000'000);
        while (auto r = q->reap()) {
            if (r->status == queue_error_status(Error::kPeerGone) && r->buffer.valid())
                ++counts[0];
        }
    }
    counts[1] = q->client().pooled_buffers();
    (void)sys::do_io(pipe, Op::kWrite, counts, sizeof counts);
    return 0;
}

// A client that dies with operations its server has taken: the server sees them cancelled.
TEST(serve_client_death) {
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    Handle go = 0;
    const int64_t c = spawn_served_client("serve leave", sp.served(), &go);
    CHECK(c > 0);
    uint32_t ids[4];
    uint32_t taken = 0;
    for (int i = 0; i < 500 && taken < 2; ++i) {
        (void)sp.sync(true, 10'000'000);
        (void)sp.server().poll();
        while (auto op = sp.server().take()) {
            if (taken < 4)
                ids[taken] = op->id;
            ++taken;
        }
    }
    CHECK_EQ(taken, 2);
    CHECK_EQ(sys::do_io(go, Op::kWrite, "x", 1), 1);  // the child may leave now
    close(go);
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    (void)sp.sync(false);
    (void)sp.server().poll();  // the kernel's Cancels for the dead client's operations
    uint32_t cancelled = 0;
    for (uint32_t i = 0; i < taken && i < 4; ++i) {
        if (sp.server().cancel_requested(ids[i]))
            ++cancelled;
        (void)sp.server().complete(ids[i], static_cast<uint16_t>(Status::Cancelled), 0);
    }
    CHECK_EQ(sp.sync(false) >= 0, true);
    print("queuetest: client death: server saw %u of %u operations cancelled\n", cancelled, taken);
    CHECK_EQ(cancelled, 2);
}

// The client child of serve_client_death: two reads taken by the server, then exit.
CHILD_MODE("serve leave") {
    const Handle s = abi::initial_handle(1);
    const Handle go = abi::initial_handle(2);
    Queue* q = heap_queue_reading(s, 2);
    if (q == nullptr)
        return 2;
    (void)q->poll();
    char x;
    (void)sys::do_io(go, Op::kRead, &x, 1);  // until the server has taken both
    return 0;  // exits with both pending: the kernel cancels them at the server
}

// A do_io whose handle is closed while it waits for the server (issue 24's direct retry
// finishes a forwarded operation without a second dispatch, but only while the handle still
// names the object): the answer that comes afterwards is not handed out through the closed
// handle. The caller gets StaleHandle and its 8 bytes stay as they were.
struct ClosedWait {
    Handle served = 0;
    uint64_t bytes = 0;
    std::atomic<int64_t> result{1};
};

void read_through_closed(uint64_t arg) {
    auto* w = reinterpret_cast<ClosedWait*>(arg);
    w->result.store(sys::do_io(w->served, Op::kRead, &w->bytes, sizeof w->bytes, 0));
}

TEST(serve_handle_closed_while_waiting) {
    ServePort sp;
    CHECK_EQ(sp.create(4, 4, 4096), 0);
    const int64_t h =
        sys::do_io(sp.served(), Op::kShare, nullptr, 0, uint64_t{abi::kRightsServed} << 32);
    CHECK(h > 0);
    auto* w = new (allocate(sizeof(ClosedWait))) ClosedWait;
    w->served = static_cast<Handle>(h);
    const int64_t t = spawn_thread(read_through_closed, reinterpret_cast<uint64_t>(w));
    CHECK(t > 0);
    ipc::Operation op{};
    bool taken = false;
    for (int i = 0; i < 500 && !taken; ++i) {
        (void)sp.sync(true, 10'000'000);
        (void)sp.server().poll();
        if (auto got = sp.server().take()) {
            op = *got;
            taken = true;
        }
    }
    CHECK(taken);
    CHECK_EQ(w->result.load(), 1);  // still waiting
    close(static_cast<Handle>(h));
    const uint64_t answer = 0x1122334455667788ull;
    const auto data = sp.server().bytes(op);
    CHECK(data.size() >= 8);
    memcpy(data.data(), &answer, 8);
    CHECK(sp.server().complete(op.id, kOk, 8).ok());
    CHECK(sp.sync(false) >= 0);
    CHECK_EQ(join(static_cast<Handle>(t)), 0);
    CHECK_EQ(w->result.load(), -static_cast<int64_t>(Error::kStaleHandle));
    CHECK_EQ(w->bytes, 0u);
    print(
        "queuetest: served do_io with its handle closed meanwhile: StaleHandle, nothing copied\n");
}

}  // namespace
}  // namespace keel::queuetest
