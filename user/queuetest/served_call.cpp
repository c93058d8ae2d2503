// The direct call path (issue 24, abi::ServeCall): synchronous operations on a served object
// reach a server thread waiting in ServeCall without the ring, and each is answered exactly
// once: by the server, or PeerGone when the server thread ends or its port closes holding it,
// or not at all to a caller that left (its answer is dropped). What cannot travel in a
// ServeCall, or would overtake what the ring holds, still takes the ring.
#include <atomic>

#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

// A sync with this arg is held by the server until CallStore::release (a caller that times out
// or ends meanwhile); a sync with kExitArg makes the server thread end holding it, and with
// kCloseArg close its port holding it.
constexpr uint64_t kHoldArg = 1;
constexpr uint64_t kExitArg = 2;
constexpr uint64_t kCloseArg = 3;
constexpr uint64_t kStopArg = 4;  // the server thread answers it and ends

// The object a test's server thread serves: 128 bytes, read, read_at and write at offset arg,
// get_meta(Size) the size (8 bytes, whatever room the caller gave: the kernel clamps), seek
// answers arg as the position (so 2^63 is a lie the kernel must stop), sync Ok (with kStopArg
// the server thread then ends).
struct CallStore {
    ServePort* sp = nullptr;
    uint8_t bytes[128] = {};
    std::atomic<bool> stop{false};
    std::atomic<bool> release{false};
    std::atomic<uint32_t> direct{0};      // operations that came as calls
    std::atomic<uint32_t> ring{0};        // and through the ring
    std::atomic<uint32_t> held{0};        // syncs with kHoldArg it held
    std::atomic<int64_t> after_close{1};  // ServeCall's answer once kCloseArg closed the port
};

struct Answer {
    uint16_t status;
    uint64_t value;
};

Answer serve_op(CallStore& st, Op o, uint64_t arg, uint8_t* data, uint64_t length) {
    switch (o) {
        case Op::kRead:
        case Op::kReadAt:
        case Op::kWrite:
            if (arg > sizeof st.bytes || length > sizeof st.bytes - arg)
                return {queue_error_status(Error::kInvalidArgument), 0};
            if (o == Op::kWrite)
                memcpy(st.bytes + arg, data, length);
            else
                memcpy(data, st.bytes + arg, length);
            return {kOk, length};
        case Op::kGetMeta: {
            if (arg != static_cast<uint64_t>(Meta::kSize))
                return {queue_error_status(Error::kInvalidArgument), 0};
            uint64_t size = sizeof st.bytes;
            memcpy(data, &size, length < 8 ? length : 8);
            return {kOk, 8};  // a claim of 8 whatever the room: clamped by the kernel
        }
        case Op::kSeek:
            return {kOk, arg};
        case Op::kSync:
            if (arg == kStopArg)
                st.stop.store(true);
            return {kOk, 0};
        default:
            return {queue_error_status(Error::kNotSupported), 0};
    }
}

void wait_release(CallStore& st) {
    for (int i = 0; i < 4000 && !st.release.load(); ++i)
        (void)sys::sleep_ns(1'000'000);
}

// The server thread: ServeCall in a loop, each call answered by the next ServeCall, ring work
// served as after ServeSync.
void call_server(uint64_t arg) {
    auto* st = reinterpret_cast<CallStore*>(arg);
    ServePort& sp = *st->sp;
    abi::ServeCall msg{};
    while (!st->stop.load()) {
        // No timeout: a timeout that fell due just as a call came would send it to the ring
        // (stop() stops it with a call).
        const int64_t r = sp.call(msg);
        msg.flags = 0;
        if (r == 1) {
            st->direct.fetch_add(1);
            const auto o = static_cast<Op>(msg.opcode - abi::kQueueOpBase);
            if (o == Op::kSync && msg.arg == kExitArg)
                sys::thread_exit(0);  // holding the call
            if (o == Op::kSync && msg.arg == kCloseArg) {
                (void)sp.destroy();  // holding the call
                st->after_close.store(sp.call(msg, 1'000'000));
                return;
            }
            if (o == Op::kSync && msg.arg == kHoldArg) {
                wait_release(*st);
                st->held.fetch_add(1);
            }
            const Answer a = serve_op(*st, o, msg.arg, msg.data, msg.length);
            msg.flags = abi::kServeCallReply;
            msg.status = a.status;
            msg.value = a.value;
            continue;
        }
        if (r < 0)
            break;
        (void)sp.server().poll();
        while (auto op = sp.server().take()) {
            st->ring.fetch_add(1);
            const auto d = sp.server().bytes(*op);
            const Answer a =
                serve_op(*st, static_cast<Op>(op->request.opcode - abi::kQueueOpBase),
                         op->request.args[0], reinterpret_cast<uint8_t*>(d.data()), d.size());
            (void)sp.server().complete(op->id, a.status, a.value);
        }
    }
    if (msg.flags != 0)
        (void)sp.call(msg, 1);  // the last call's answer
    (void)sp.sync(false);
}

// A port and its server thread, started and then given time to wait in ServeCall (a call made
// before that takes the ring, which the tests that hold a call must not).
struct CallServer {
    ServePort sp;
    CallStore st;
    int64_t thread = 0;
    bool start() {
        if (sp.create(8, 8, 4096) != 0)
            return false;
        st.sp = &sp;
        thread = spawn_thread(call_server, reinterpret_cast<uint64_t>(&st));
        (void)sys::sleep_ns(20'000'000);
        return thread > 0;
    }
    int64_t stop() {
        st.release.store(true);
        (void)sys::do_io(sp.served(), Op::kSync, nullptr, 0, kStopArg);
        return join(static_cast<Handle>(thread));
    }
};

int64_t sync_with(Handle s, uint64_t arg, uint64_t timeout_ns = 0) {
    return sys::do_io_timeout(s, Op::kSync, nullptr, 0, arg, timeout_ns);
}

TEST(serve_call_direct) {
    CallServer sv;
    CHECK(sv.start());
    const Handle served = sv.sp.served();
    const int64_t c = spawn_child("call client", &served, 1);
    CHECK(c > 0);
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(sv.stop(), 0);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 0);
    CHECK(memcmp(sv.st.bytes, "hello, direct", 13) == 0);
    CHECK_EQ(sv.st.bytes[100], 'Q');
    print("queuetest: direct calls: %u as calls, %u through the ring\n", sv.st.direct.load(),
          sv.st.ring.load());
    // The client's eleven calls that fit (and stop()'s twelfth), and the three that must take the
    // ring: the 65-byte read, the queued write and the read made while that write was in flight.
    // (The read may find the write answered already: then it is a call.)
    CHECK(sv.st.direct.load() >= 12 && sv.st.ring.load() >= 2);
    CHECK_EQ(sv.st.direct.load() + sv.st.ring.load(), 15);  // and stop()'s
}

// The client of serve_call_direct: 0, or the step that went wrong.
CHILD_MODE("call client") {
    const Handle s = abi::initial_handle(1);
    if (sys::do_io(s, Op::kWrite, "hello, direct", 13, 0) != 13)
        return 1;
    char back[13] = {};
    if (sys::do_io(s, Op::kRead, back, 13, 0) != 13 || memcmp(back, "hello, direct", 13) != 0)
        return 2;
    uint64_t size = 0;
    if (sys::do_io(s, Op::kGetMeta, &size, 8, static_cast<uint64_t>(Meta::kSize)) != 8 ||
        size != 128)
        return 3;
    // The server claims 8 bytes into a room of 4: the caller gets 4, and nothing past them.
    uint8_t four[8] = {0, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa};
    if (sys::do_io(s, Op::kGetMeta, four, 4, static_cast<uint64_t>(Meta::kSize)) != 4 ||
        four[0] != 128 || four[4] != 0xaa)
        return 4;
    if (sys::do_io(s, Op::kSeek, nullptr, 0, 77) != 77)
        return 5;
    if (sys::do_io(s, Op::kSeek, nullptr, 0, 1ull << 63) != err(Error::kProtocol))
        return 6;  // a value the caller would read as an error code
    if (sys::do_io(s, Op::kRead, back, 13, 200) != err(Error::kInvalidArgument))
        return 7;  // the server's error status
    uint8_t full[65] = {};
    if (sys::do_io(s, Op::kReadAt, full, 64, 0) != 64 || memcmp(full, "hello, direct", 13) != 0)
        return 8;  // the most a call carries
    if (sys::do_io(s, Op::kRead, full, 65, 0) != 65)
        return 9;  // one byte more: the ring
    if (sync_with(s, 0) != 0)
        return 10;
    if (sys::do_io(s, Op::kPeek, back, 1, 0) != err(Error::kNotSupported))
        return 11;
    // A write queued through the ring and in flight there when the read comes: the read takes
    // the ring too, behind it, and sees its byte.
    Queue* q = heap_queue(8, 8);
    if (q == nullptr)
        return 12;
    if (submit_with(*q, Op::kWrite, s, 100, 1, "Q", 1, 1) == ipc::abi::kNoTag)
        return 13;
    (void)q->poll();  // forwarded now
    char one = 0;
    if (sys::do_io(s, Op::kRead, &one, 1, 100) != 1 || one != 'Q')
        return 14;
    uint32_t got = 0;
    for (int i = 0; i < 500 && got == 0; ++i) {
        (void)q->wait(1, 10'000'000);
        while (auto r = q->reap())
            got += r->status == kOk && r->value == 1 ? 1 : 100;
    }
    if (got != 1)
        return 15;
    if (sys::do_io(s, Op::kSeek, nullptr, 0, 5) != 5)
        return 16;  // a call again once the ring is empty
    return 0;
}

// A caller that gives up: its timeout passes while the server holds its call. It gets
// TimedOut; the server's late answer is dropped, and the next call is served as usual.
TEST(serve_call_caller_times_out) {
    CallServer sv;
    CHECK(sv.start());
    const Handle s = sv.sp.served();
    CHECK_EQ(sync_with(s, kHoldArg, 20'000'000), err(Error::kTimedOut));
    sv.st.release.store(true);
    for (int i = 0; i < 2000 && sv.st.held.load() == 0; ++i)
        (void)sys::sleep_ns(1'000'000);
    CHECK_EQ(sv.st.held.load(), 1);
    CHECK_EQ(sys::do_io(s, Op::kWrite, "after", 5, 0), 5);
    char back[5] = {};
    CHECK_EQ(sys::do_io(s, Op::kRead, back, 5, 0), 5);
    CHECK(memcmp(back, "after", 5) == 0);
    CHECK_EQ(sv.stop(), 0);
    CHECK_EQ(sv.st.ring.load(), 0);
}

// A caller whose process ends while the server holds its call: the answer is dropped, and
// the next caller is served.
TEST(serve_call_caller_ends) {
    CallServer sv;
    CHECK(sv.start());
    const abi::MemoryInfo before = memory_info();
    const Handle served = sv.sp.served();
    const int64_t c = spawn_child("call leave", &served, 1);
    CHECK(c > 0);
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(e.status, 7);
    CHECK_EQ(sv.st.held.load(), 0);  // still held when the caller ended
    sv.st.release.store(true);
    for (int i = 0; i < 2000 && sv.st.held.load() == 0; ++i)
        (void)sys::sleep_ns(1'000'000);
    CHECK_EQ(sv.st.held.load(), 1);
    CHECK_EQ(sync_with(served, 0), 0);
    CHECK(kernel_memory_back_to(before));
    CHECK_EQ(sv.stop(), 0);
}

void hold_call(uint64_t served) {
    (void)sync_with(static_cast<Handle>(served), kHoldArg);
}

// The client of serve_call_caller_ends: a second thread's call is held; the process ends.
CHILD_MODE("call leave") {
    if (spawn_thread(hold_call, abi::initial_handle(1)) <= 0)
        return 1;
    (void)sys::sleep_ns(20'000'000);  // the call is with the server by now
    sys::process_exit(7);
}

// What the caller of serve_call_handle_closed_meanwhile got: its handle, then the answer.
struct HeldCaller {
    Handle h = 0;
    std::atomic<int64_t> got{1};
};

void held_caller(uint64_t arg) {
    auto* c = reinterpret_cast<HeldCaller*>(arg);
    c->got.store(sync_with(c->h, kHoldArg));
}

// A call whose handle another thread of the caller closes while the server holds it: the
// answer is dropped and the caller told its handle is gone, as for an operation through the
// ring (the direct call's wait, do_io_call, checks the handle before it takes the answer);
// the next calls are served.
TEST(serve_call_handle_closed_meanwhile) {
    CallServer sv;
    CHECK(sv.start());
    const Handle s = sv.sp.served();
    HeldCaller c;
    const int64_t h = sys::do_io(s, Op::kShare, nullptr, 0, uint64_t{abi::kRightsServed} << 32);
    CHECK(h > 0);
    c.h = static_cast<Handle>(h);
    const int64_t t = spawn_thread(held_caller, reinterpret_cast<uint64_t>(&c));
    CHECK(t > 0);
    (void)sys::sleep_ns(20'000'000);  // the call is held by now
    CHECK_EQ(sv.st.held.load(), 0);
    CHECK_EQ(close(static_cast<uint64_t>(h)), 0);
    sv.st.release.store(true);
    CHECK_EQ(join(static_cast<Handle>(t)), 0);
    CHECK_EQ(sv.st.held.load(), 1);  // the server answered it
    CHECK_EQ(c.got.load(), err(Error::kStaleHandle));
    CHECK_EQ(sync_with(s, 0), 0);
    CHECK_EQ(sv.st.ring.load(), 0);
    CHECK_EQ(sv.stop(), 0);
}

// A server thread that ends holding a call: its caller gets PeerGone; the port goes on, and
// another server thread serves the next call.
TEST(serve_call_server_thread_ends) {
    CallServer sv;
    CHECK(sv.start());
    const Handle s = sv.sp.served();
    CHECK_EQ(sync_with(s, kExitArg), err(Error::kPeerGone));
    abi::ExitInfo info{};
    CHECK_EQ(join(static_cast<Handle>(sv.thread), &info), 0);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CallServer next;  // a new server thread on a new port
    CHECK(next.start());
    CHECK_EQ(sync_with(next.sp.served(), 0), 0);
    CHECK_EQ(next.stop(), 0);
}

// A port closed by its server while a thread holds a call: the caller gets PeerGone, the
// server's next ServeCall finds no port, and later calls get PeerGone.
TEST(serve_call_port_closes) {
    ServePort* sp = new (allocate(sizeof(ServePort))) ServePort;
    auto* st = new (allocate(sizeof(CallStore))) CallStore;
    CHECK_EQ(sp->create(8, 8, 4096), 0);
    st->sp = sp;
    // A handle of our own: destroy() closes the port's.
    const int64_t h =
        sys::do_io(sp->served(), Op::kShare, nullptr, 0, uint64_t{abi::kRightsServed} << 32);
    CHECK(h > 0);
    const int64_t t = spawn_thread(call_server, reinterpret_cast<uint64_t>(st));
    CHECK(t > 0);
    (void)sys::sleep_ns(20'000'000);
    CHECK_EQ(sync_with(static_cast<Handle>(h), kCloseArg), err(Error::kPeerGone));
    CHECK_EQ(join(static_cast<Handle>(t)), 0);
    CHECK_EQ(st->after_close.load(), err(Error::kBadHandle));
    CHECK_EQ(sync_with(static_cast<Handle>(h), 0), err(Error::kPeerGone));
    CHECK_EQ(close(static_cast<uint64_t>(h)), 0);
}

// What ServeCall refuses, and a call held that is not answered.
TEST(serve_call_bad_input) {
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    abi::ServeCall msg{};
    BAD_INPUT(sys::serve_call(sp.served(), &msg, 1'000'000), kInvalidArgument);  // not a port
    BAD_INPUT(sys::serve_call(sp.port(), nullptr, 1'000'000), kBadAddress);
    BAD_INPUT(sys::serve_call(sp.port(), reinterpret_cast<abi::ServeCall*>(kKernel), 1'000'000),
              kBadAddress);
    msg.flags = 2;
    BAD_INPUT(sys::serve_call(sp.port(), &msg, 1'000'000), kInvalidArgument);
    // An answer with no call held (its caller left): dropped, and the wait goes on.
    msg.flags = abi::kServeCallReply;
    CHECK_EQ(sys::serve_call(sp.port(), &msg, 1'000'000), err(Error::kTimedOut));
    msg.flags = 0;
    const Handle served = sp.served();
    const int64_t c = spawn_child("call one", &served, 1);
    CHECK(c > 0);
    int64_t r = 0;
    for (int i = 0; i < 200 && r != 1; ++i) {
        r = sp.call(msg, 10'000'000);
        if (r == 0)
            break;  // it came through the ring: the server was not waiting yet
    }
    CHECK_EQ(r, 1);
    CHECK_EQ(msg.length, 3);
    CHECK(memcmp(msg.data, "one", 3) == 0);
    // Held and not answered: refused, and it stays held.
    msg.flags = 0;
    BAD_INPUT(sys::serve_call(sp.port(), &msg, 1'000'000), kInvalidArgument);
    msg.flags = abi::kServeCallReply;
    msg.status = kOk;
    msg.value = 3;
    CHECK_EQ(sys::serve_call(sp.port(), &msg, 1'000'000), err(Error::kTimedOut));
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.status, 0);
}

// The client of serve_call_bad_input.
CHILD_MODE("call one") {
    (void)sys::sleep_ns(20'000'000);  // the server waits in ServeCall by then
    return sys::do_io(abi::initial_handle(1), Op::kWrite, "one", 3, 0) == 3 ? 0 : 1;
}

// A lying server (think like an attacker): every call is answered with a status and a value
// drawn from a seeded sequence (Ok with counts past the caller's length or of 2^63 and more,
// PeerGone, valid and invalid error codes, any 16-bit status), its data all 0xa5. The caller
// draws the same sequence and checks each result against the ring path's rules, computed here
// on their own: a count clamped to its length, a value of 2^63 or more Protocol, a valid error
// code its error, anything else Protocol; a read's bytes up to the count and not one past it.
// The server checks each write's bytes.
constexpr uint64_t kLieSeed = 20261208;
constexpr int kLieCalls = 400;

struct LieAnswer {
    uint16_t status;
    uint64_t value;
};

LieAnswer next_lie(Random& r, uint32_t length) {
    const uint64_t values[] = {0,          1,          length, length + 1ull, r.below(200),
                               ~0ull >> 1, 1ull << 63, ~0ull};
    const uint64_t value = values[r.below(sizeof values / sizeof values[0])];
    switch (r.below(6)) {
        case 0:
        case 1:
        case 2:
            return {kOk, value};
        case 3:
            return {static_cast<uint16_t>(Status::PeerGone), value};
        case 4:
            return {queue_error_status(static_cast<Error>(r.below(40))), value};
        default:
            return {static_cast<uint16_t>(r.next()), value};
    }
}

// What the caller must see for an answer, by the rules above (not the kernel's code).
int64_t judged(Op o, uint32_t length, LieAnswer a) {
    if (a.status == kOk) {
        if (a.value >= 1ull << 63)
            return err(Error::kProtocol);
        const bool counts = o == Op::kRead || o == Op::kPeek || o == Op::kReadAt ||
                            o == Op::kGetMeta || o == Op::kWrite;
        return static_cast<int64_t>(counts && a.value > length ? length : a.value);
    }
    if (a.status == static_cast<uint16_t>(Status::PeerGone))
        return err(Error::kPeerGone);
    const uint16_t base = abi::kQueueErrorBase;
    const uint16_t last = queue_error_status(Error::kLastError);
    if (a.status > base && a.status <= last && a.status != queue_error_status(Error::kWouldBlock))
        return -static_cast<int64_t>(a.status - base);
    return err(Error::kProtocol);
}

struct LieServer {
    ServePort sp;
    std::atomic<uint32_t> calls{0};
    std::atomic<uint32_t> bad_writes{0};
};

uint8_t write_byte(uint32_t length, uint32_t k) {
    return static_cast<uint8_t>(k * 7 + length);
}

void lie_server(uint64_t arg) {
    auto* ls = reinterpret_cast<LieServer*>(arg);
    Random answers(kLieSeed);
    abi::ServeCall msg{};
    for (;;) {
        if (ls->sp.call(msg) != 1)
            continue;  // nothing comes through the ring in this test
        const auto o = static_cast<Op>(msg.opcode - abi::kQueueOpBase);
        if (o == Op::kSync && msg.arg == kStopArg) {
            msg.flags = abi::kServeCallReply;
            msg.status = kOk;
            msg.value = 0;
            (void)ls->sp.call(msg, 1);
            return;
        }
        ls->calls.fetch_add(1);
        if (o == Op::kWrite || o == Op::kSetMeta) {
            for (uint32_t k = 0; k < msg.length; ++k)
                ls->bad_writes.fetch_add(msg.data[k] != write_byte(msg.length, k) ? 1 : 0);
        }
        const LieAnswer a = next_lie(answers, msg.length);
        memset(msg.data, 0xa5, sizeof msg.data);
        msg.flags = abi::kServeCallReply;
        msg.status = a.status;
        msg.value = a.value;
    }
}

TEST(serve_call_lying_server) {
    auto* ls = new (allocate(sizeof(LieServer))) LieServer;
    CHECK_EQ(ls->sp.create(8, 8, 4096), 0);
    const int64_t t = spawn_thread(lie_server, reinterpret_cast<uint64_t>(ls));
    CHECK(t > 0);
    (void)sys::sleep_ns(20'000'000);  // waiting in ServeCall
    const Handle s = ls->sp.served();
    Random ops(kLieSeed + 1), answers(kLieSeed);
    const Op kinds[] = {Op::kRead,  Op::kPeek,    Op::kReadAt, Op::kGetMeta,
                        Op::kWrite, Op::kSetMeta, Op::kSeek,   Op::kSync};
    uint32_t wrong = 0, bytes_wrong = 0;
    for (int i = 0; i < kLieCalls; ++i) {
        const Op o = kinds[ops.below(sizeof kinds / sizeof kinds[0])];
        uint32_t length = static_cast<uint32_t>(ops.below(abi::kServeCallBytes + 1));
        uint64_t arg = ops.below(1000);
        if (o == Op::kGetMeta || o == Op::kSetMeta) {
            length = 8;
            arg = static_cast<uint64_t>(Meta::kSize);
        }
        if (o == Op::kSeek || o == Op::kSync)
            length = 0;
        uint8_t buf[abi::kServeCallBytes + 8];
        memset(buf, 0x11, sizeof buf);
        if (o == Op::kWrite || o == Op::kSetMeta) {
            for (uint32_t k = 0; k < length; ++k)
                buf[k] = write_byte(length, k);
        }
        const int64_t got = sys::do_io(s, o, length != 0 ? buf : nullptr, length, arg);
        const int64_t want = judged(o, length, next_lie(answers, length));
        if (got != want) {
            ++wrong;
            print("queuetest: lying server, call %d (op %u, length %u): got %ld, want %ld\n", i,
                  static_cast<uint32_t>(o), length, got, want);
        }
        const bool reads =
            o == Op::kRead || o == Op::kPeek || o == Op::kReadAt || o == Op::kGetMeta;
        if (reads) {
            const uint64_t n = got > 0 ? static_cast<uint64_t>(got) : 0;
            for (uint64_t k = 0; k < sizeof buf; ++k)
                bytes_wrong += buf[k] != (k < n ? 0xa5 : 0x11) ? 1 : 0;
        }
    }
    (void)sys::do_io(s, Op::kSync, nullptr, 0, kStopArg);
    CHECK_EQ(join(static_cast<Handle>(t)), 0);
    CHECK_EQ(ls->calls.load(), static_cast<uint32_t>(kLieCalls));
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bytes_wrong, 0);
    CHECK_EQ(ls->bad_writes.load(), 0);
}

// A server whose message cannot be written when a call comes: the call is answered Protocol
// (the server never saw it), ServeCall BadAddress.
const abi::ServeCall kReadOnly{};

TEST(serve_call_unwritable_message) {
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    const Handle served = sp.served();
    const int64_t c = spawn_child("call protocol", &served, 1);
    CHECK(c > 0);
    CHECK_EQ(sys::serve_call(sp.port(), const_cast<abi::ServeCall*>(&kReadOnly), 2'000'000'000),
             err(Error::kBadAddress));
    const abi::ExitInfo e = wait_child(c);
    CHECK_EQ(e.status, 0);
}

// The client of serve_call_unwritable_message: waits for the server to be in ServeCall.
CHILD_MODE("call protocol") {
    (void)sys::sleep_ns(20'000'000);
    return sys::do_io(abi::initial_handle(1), Op::kWrite, "x", 1, 0) == err(Error::kProtocol) ? 0
                                                                                              : 1;
}

}  // namespace
}  // namespace keel::queuetest
