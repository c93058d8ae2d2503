// The asynchronous-queue test program (issue 8): every queue system call and outcome through
// the runtime's ipc::Client (batch submit and reap, blocked operations finishing later, cancel
// in its three cases, credit exhaustion, failed operations, destroy with operations pending,
// a client that dies with operations pending, a client scribbling over its own region), and a
// seeded system-call fuzzer run as a child ("child fuzz SEED COUNT"). Prints "N passed,
// N failed"; exits 0 only when nothing failed.
#include <new>
#include <utility>

#include "check.hpp"
#include "queue.hpp"
#include "serve.hpp"
#include "text.hpp"

using namespace keel;
using namespace keel::user;
using ipc::abi::Status;
using keel::abi::Error;
using keel::abi::Kind;
using keel::abi::Meta;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(Status::Ok);
constexpr uint16_t kCancelled = static_cast<uint16_t>(Status::Cancelled);
constexpr uint16_t kInProgress = static_cast<uint16_t>(Status::InProgress);
constexpr uint16_t kNotFound = static_cast<uint16_t>(Status::NotFound);
constexpr uint16_t kBadRequest = static_cast<uint16_t>(Status::BadRequest);
constexpr uint64_t kKernel = 0xffff800000000000ull;

uint64_t addr(const void* p) {
    return reinterpret_cast<uint64_t>(p);
}
int64_t close(uint64_t h) {
    return sys::do_io(h, Op::kClose);
}

Handle g_self = 0;

int64_t spawn_child(const char* args, uint64_t n, const Handle* extra, uint64_t extra_count) {
    char text[96] = "child ";
    memcpy(text + 6, args, n);
    Handle handles[4] = {root()};
    for (uint64_t i = 0; i < extra_count; ++i)
        handles[1 + i] = extra[i];
    const abi::SpawnArgs sa{addr(handles), 1 + extra_count,     addr(text),
                            6 + n,         addr("queue-child"), 11};
    return sys::spawn(g_self, &sa);
}

abi::ExitInfo wait_child(int64_t process) {
    abi::ExitInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(process), Op::kRead, &info, sizeof info),
             static_cast<int64_t>(sizeof info));
    CHECK_EQ(close(static_cast<uint64_t>(process)), 0);
    return info;
}

// Reaps every completion available into `out` (at most max); returns how many.
uint32_t reap_all(Queue& q, ipc::Reaped* out, uint32_t max) {
    uint32_t n = 0;
    while (n < max) {
        auto r = q.reap();
        if (!r)
            break;
        out[n++] = std::move(*r);
    }
    return n;
}

// Submits op with a fresh buffer holding `data` (length bytes used); the tag or kNoTag.
uint32_t submit_with(Queue& q, Op op, Handle object, uint64_t arg, uint64_t user_data,
                     const void* data, uint32_t data_length, uint32_t length) {
    auto b = q.client().acquire();
    if (!b) {
        return ipc::abi::kNoTag;
    }
    if (data_length > 0)
        memcpy(q.client().bytes(*b).data(), data, data_length);
    auto t = q.submit(op, object, arg, user_data, std::move(*b), length);
    return t ? *t : ipc::abi::kNoTag;
}

// ---- the tests ---------------------------------------------------------------------------

void test_create_bad_input() {
    testlib::begin("queue_create_bad_input");
    abi::QueueInfo info{};
    abi::QueueGeometry g{3, 0, 0, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // not a power of two
    g = {0, 0, 0, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);
    g = {8, 4, 4096, 1};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // reserved
    g = {512, 4, 4096, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // above kMaxQueueCapacity
    g = {8, 4, 100, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // not a multiple of 64
    g = {8, 256, 65536, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kTooLarge);  // 16 MiB region
    g = {8, 4, 4096, 0};
    BAD_INPUT(sys::queue_create(nullptr, &info), kBadAddress);
    BAD_INPUT(sys::queue_create(&g, nullptr), kBadAddress);
    BAD_INPUT(sys::queue_create(reinterpret_cast<abi::QueueGeometry*>(kKernel), &info),
              kBadAddress);
    BAD_INPUT(sys::queue_create(&g, reinterpret_cast<abi::QueueInfo*>(kKernel)), kBadAddress);
    // Queue calls on things that are not (our) queues.
    BAD_INPUT(sys::queue_poll(0), kBadHandle);
    BAD_INPUT(sys::queue_poll(1ull << 40), kBadHandle);
    BAD_INPUT(sys::queue_poll(console()), kInvalidArgument);
    BAD_INPUT(sys::queue_wait(console(), 1, 1000), kInvalidArgument);
    BAD_INPUT(sys::queue_destroy(console()), kInvalidArgument);
    // A raw queue whose region nobody laid out: the kernel cannot attach (kProtocol).
    const int64_t h = sys::queue_create(&g, &info);
    CHECK(h > 0);
    CHECK(info.address != 0 && info.size > 0);
    BAD_INPUT(sys::queue_poll(h), kProtocol);
    uint64_t kind = 0;
    CHECK_EQ(sys::do_io(h, Op::kGetMeta, &kind, 8, static_cast<uint64_t>(Meta::kKind)), 8);
    CHECK_EQ(kind, static_cast<uint64_t>(Kind::kQueue));
    uint64_t rights = 0;
    CHECK_EQ(sys::do_io(h, Op::kGetMeta, &rights, 8, static_cast<uint64_t>(Meta::kRights)), 8);
    CHECK_EQ(rights & abi::kRightShare, 0u);  // a queue stays with its creator
    BAD_INPUT(sys::do_io(h, Op::kShare, nullptr, 0, uint64_t{abi::kRightsAll} << 32), kNoRights);
    CHECK_EQ(sys::queue_destroy(h), 0);
    BAD_INPUT(sys::queue_poll(h), kStaleHandle);
    BAD_INPUT(sys::queue_destroy(h), kStaleHandle);
}

void test_batch() {
    testlib::begin("queue_batch_submit_and_reap");
    Queue q;
    CHECK_EQ(q.create(16, 8, 4096), 0);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    // One batch: nop, write, peek, read, a console write, a meta query; one poll runs them all.
    ipc::Request nop;
    nop.user_data = 1;
    CHECK(q.client().submit(nop).ok());
    CHECK(submit_with(q, Op::kWrite, p[1], 0, 2, "hello queue", 11, 11) != ipc::abi::kNoTag);
    CHECK(submit_with(q, Op::kPeek, p[0], 0, 3, nullptr, 0, 64) != ipc::abi::kNoTag);
    CHECK(submit_with(q, Op::kRead, p[0], 0, 4, nullptr, 0, 5) != ipc::abi::kNoTag);
    CHECK(submit_with(q, Op::kWrite, console(), 0, 5, "queue: console via queue\n", 25, 25) !=
          ipc::abi::kNoTag);
    CHECK(submit_with(q, Op::kGetMeta, p[0], static_cast<uint64_t>(Meta::kSize), 6, nullptr, 0,
                      8) != ipc::abi::kNoTag);
    CHECK(q.submit(Op::kSeek, p[1], 0, 7).ok());  // pipes have no seek
    CHECK_EQ(q.client().pooled_buffers(), 3u);
    CHECK_EQ(q.poll(), 7);
    ipc::Reaped r[16];
    CHECK_EQ(reap_all(q, r, 16), 7u);
    for (uint32_t i = 0; i < 7; ++i)
        CHECK_EQ(r[i].user_data, i + 1);
    CHECK_EQ(r[0].status, kOk);
    CHECK_EQ(r[1].status, kOk);
    CHECK_EQ(r[1].value, 11u);
    CHECK_EQ(r[2].value, 11u);
    CHECK(memcmp(q.client().bytes(r[2].buffer).data(), "hello queue", 11) == 0);
    CHECK_EQ(r[3].value, 5u);
    CHECK(memcmp(q.client().bytes(r[3].buffer).data(), "hello", 5) == 0);
    CHECK_EQ(r[4].value, 25u);
    CHECK_EQ(r[5].value, 8u);
    uint64_t size = 0;
    memcpy(&size, q.client().bytes(r[5].buffer).data(), 8);
    CHECK_EQ(size, 6u);  // " queue" is left
    CHECK_EQ(r[6].status, queue_error_status(Error::kNotSupported));
    for (auto& x : r)
        x.buffer.reset();
    CHECK_EQ(q.client().pooled_buffers(), 8u);  // every buffer came back
    CHECK_EQ(q.client().outstanding(), 0u);
    // A poll with nothing published does nothing.
    CHECK_EQ(q.poll(), 0);
    // Operation errors come back as statuses; the queue goes on.
    CHECK(q.submit(Op::kRead, 0, 0, 10).ok());
    CHECK(q.submit(Op::kWrite, p[0], 0, 11).ok());  // read end: no kRightWrite
    CHECK(q.submit(Op::kGetMeta, p[0], 99, 12).ok());
    CHECK_EQ(q.poll(), 3);
    CHECK_EQ(reap_all(q, r, 16), 3u);
    CHECK_EQ(r[0].status, queue_error_status(Error::kBadHandle));
    CHECK_EQ(r[1].status, queue_error_status(Error::kNoRights));
    CHECK_EQ(r[2].status, queue_error_status(Error::kInvalidArgument));
    // Malformed submissions: an opcode past the last operation, a length past the buffer.
    ipc::Request bad;
    bad.opcode = abi::kQueueOpBase + static_cast<uint16_t>(Op::kCount);
    bad.user_data = 13;
    CHECK(q.client().submit(bad).ok());
    CHECK_EQ(q.poll(), 1);
    CHECK_EQ(reap_all(q, r, 16), 1u);
    CHECK_EQ(r[0].status, kBadRequest);
    // Operations that make handles work the same way: open through the root.
    CHECK(submit_with(q, Op::kOpen, root(), 0, 14, "console", 7, 7) != ipc::abi::kNoTag);
    CHECK_EQ(q.wait(1, 0), 1);
    CHECK_EQ(reap_all(q, r, 16), 1u);
    CHECK_EQ(r[0].status, kOk);
    CHECK(r[0].value > 0);
    CHECK_EQ(close(r[0].value), 0);
    r[0].buffer.reset();
    close(p[0]);
    close(p[1]);
    CHECK_EQ(q.destroy(), 0);
}

void test_blocked_and_wait() {
    testlib::begin("queue_blocked_ops_and_wait");
    Queue q;
    CHECK_EQ(q.create(8, 4, 4096), 0);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    // A read on an empty pipe stays taken; poll posts nothing, wait with a timeout gives 0.
    CHECK(submit_with(q, Op::kRead, p[0], 0, 1, nullptr, 0, 100) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 0);
    const uint64_t t0 = sys::clock_ns();
    CHECK_EQ(q.wait(1, 30'000'000), 0);
    CHECK(sys::clock_ns() - t0 >= 20'000'000);
    ipc::Reaped r[8];
    CHECK_EQ(reap_all(q, r, 8), 0u);
    // A write (by do_io) unblocks it: the next poll completes it with the data.
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "abc", 3), 3);
    CHECK_EQ(q.poll(), 1);
    CHECK_EQ(reap_all(q, r, 8), 1u);
    CHECK_EQ(r[0].status, kOk);
    CHECK_EQ(r[0].value, 3u);
    CHECK(memcmp(q.client().bytes(r[0].buffer).data(), "abc", 3) == 0);
    r[0].buffer.reset();
    // wait() sleeps until a thread writes.
    CHECK(submit_with(q, Op::kRead, p[0], 0, 2, nullptr, 0, 100) != ipc::abi::kNoTag);
    const int64_t t = spawn_thread(
        [](uint64_t h) {
            (void)sys::sleep_ns(20'000'000);
            (void)sys::do_io(h, Op::kWrite, "late", 4);
        },
        p[1]);
    CHECK(t > 0);
    CHECK_EQ(q.wait(1, 0), 1);
    CHECK_EQ(reap_all(q, r, 8), 1u);
    CHECK_EQ(r[0].value, 4u);
    CHECK_EQ(join(static_cast<Handle>(t)), 0);
    r[0].buffer.reset();
    // The write end goes: a parked read finishes with 0 (end of stream).
    CHECK(submit_with(q, Op::kRead, p[0], 0, 3, nullptr, 0, 100) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 0);
    close(p[1]);
    CHECK_EQ(q.wait(1, 0), 1);
    CHECK_EQ(reap_all(q, r, 8), 1u);
    CHECK_EQ(r[0].status, kOk);
    CHECK_EQ(r[0].value, 0u);
    r[0].buffer.reset();
    close(p[0]);
}

void test_cancel() {
    testlib::begin("queue_cancel_three_cases");
    Queue q;
    CHECK_EQ(q.create(8, 4, 4096), 0);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "data", 4), 4);
    ipc::Reaped r[8];
    // 1. Queued: the cancel is in the same batch, so the target is still queued when the
    //    kernel resolves it: Cancelled with its buffer, cancel Ok; the data stays in the pipe.
    const uint32_t a = submit_with(q, Op::kRead, p[0], 0, 1, nullptr, 0, 100);
    CHECK(a != ipc::abi::kNoTag);
    CHECK(q.client().cancel(100, a).ok());
    CHECK_EQ(q.poll(), 2);
    CHECK_EQ(reap_all(q, r, 8), 2u);
    for (auto& x : r) {
        if (x.user_data == 1) {
            CHECK_EQ(x.status, kCancelled);
            CHECK(!x.is_cancel);
            CHECK(x.buffer.valid());
        } else if (x.user_data == 100) {
            CHECK_EQ(x.status, kOk);
            CHECK(x.is_cancel);
            CHECK(!x.buffer.valid());
        }
        x.buffer.reset();
    }
    uint64_t size = 0;
    CHECK_EQ(sys::do_io(p[0], Op::kGetMeta, &size, 8, static_cast<uint64_t>(Meta::kSize)), 8);
    CHECK_EQ(size, 4u);
    char drain[8];
    CHECK_EQ(sys::do_io(p[0], Op::kRead, drain, 8), 4);
    // 2. Taken and blocked: InProgress, and the blocked read finishes early with Cancelled.
    const uint32_t b = submit_with(q, Op::kRead, p[0], 0, 2, nullptr, 0, 100);
    CHECK_EQ(q.poll(), 0);
    CHECK(q.client().cancel(200, b).ok());
    CHECK_EQ(q.poll(), 2);
    CHECK_EQ(reap_all(q, r, 8), 2u);
    bool saw_target = false, saw_cancel = false;
    for (uint32_t i = 0; i < 2; ++i) {
        if (r[i].user_data == 2) {
            saw_target = true;
            CHECK_EQ(r[i].status, kCancelled);
            CHECK(r[i].buffer.valid());
        } else if (r[i].user_data == 200) {
            saw_cancel = true;
            CHECK_EQ(r[i].status, kInProgress);
        }
        r[i].buffer.reset();
    }
    CHECK(saw_target && saw_cancel);
    // 3. Unknown (already finished): NotFound; by user_data too.
    CHECK(q.client().cancel(300, b).ok());
    CHECK(q.client().cancel_user_data(301, 12345).ok());
    CHECK_EQ(q.poll(), 2);
    CHECK_EQ(reap_all(q, r, 8), 2u);
    CHECK_EQ(r[0].status, kNotFound);
    CHECK_EQ(r[1].status, kNotFound);
    CHECK_EQ(q.client().pooled_buffers(), 4u);
    close(p[0]);
    close(p[1]);
}

void test_credit() {
    testlib::begin("queue_credit_exhaustion");
    Queue q;
    CHECK_EQ(q.create(4, 4, 4096), 0);
    ipc::Request nop;
    for (uint32_t i = 0; i < 4; ++i) {
        nop.user_data = i;
        CHECK(q.client().submit(nop).ok());
    }
    CHECK_EQ(q.client().credit(), 0u);
    auto refused = q.client().submit(nop);
    CHECK(!refused.ok() && refused.error() == ipc::Error::NoCredit);
    CHECK_EQ(q.poll(), 4);
    // Completions not yet reaped still hold the credit.
    auto refused_again = q.client().submit(nop);
    CHECK(!refused_again.ok() && refused_again.error() == ipc::Error::NoCredit);
    ipc::Reaped r[4];
    CHECK_EQ(reap_all(q, r, 4), 4u);
    CHECK_EQ(q.client().credit(), 4u);
    // Blocked operations hold credit as well; the kernel never overflows the completion ring.
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    for (uint32_t i = 0; i < 4; ++i)
        CHECK(submit_with(q, Op::kRead, p[0], 0, 10 + i, nullptr, 0, 16) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 0);
    CHECK(q.client().submit(nop).error() == ipc::Error::NoCredit);
    close(p[1]);  // end of stream: all four finish with 0
    CHECK_EQ(q.wait(4, 0), 4);
    CHECK_EQ(reap_all(q, r, 4), 4u);
    for (auto& x : r) {
        CHECK_EQ(x.value, 0u);
        x.buffer.reset();
    }
    close(p[0]);
}

// A client that lies to the kernel: a hostile server must never make the kernel fault or leak
// another process's data. Submissions forged directly in the ring and counters scribbled.
void test_hostile_client() {
    testlib::begin("queue_hostile_client");
    Queue q;
    CHECK_EQ(q.create(8, 4, 4096), 0);
    uint8_t* region = q.region();
    auto* sq = reinterpret_cast<ipc::abi::RingHeader*>(region + ipc::abi::kSqHeaderOffset);
    auto* entries = reinterpret_cast<ipc::abi::Submission*>(region + ipc::abi::kSqEntriesOffset);
    // A forged entry with a buffer id out of range, one with a length past the buffer and one
    // lending a buffer the client does not hold: BadRequest, nothing else.
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const uint32_t tail = q.client().sq_tail();
    ipc::abi::Submission e{};
    e.opcode = abi::kQueueOpBase + static_cast<uint16_t>(Op::kWrite);
    e.object = p[1];
    e.tag = 0;  // a tag the client never issued
    e.buffer = 77;
    e.length = 16;
    entries[tail & 7] = e;
    sq->tail.value.store(tail + 1);
    const int64_t n = sys::queue_poll(q.handle());
    CHECK(n == 1 || n == -static_cast<int64_t>(Error::kProtocol));
    // An impossible tail (far beyond capacity): kProtocol, again and again, never a fault.
    sq->tail.value.store(tail + 1000);
    BAD_INPUT(sys::queue_poll(q.handle()), kProtocol);
    BAD_INPUT(sys::queue_wait(q.handle(), 1, 1000), kProtocol);
    // Garbage, many times: mostly forged entries behind a plausible tail (the kernel consumes
    // and answers them) with the completion ring "reaped" by moving its head to its tail;
    // every tenth round garbage anywhere in the region and an impossible tail (kProtocol).
    auto* cq = reinterpret_cast<ipc::abi::RingHeader*>(region + ipc::abi::kCqHeaderOffset);
    sq->tail.value.store(sq->head.value.load());
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    auto random = [&rng] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
    };
    int64_t protocol = 0, accepted = 0, answered = 0;
    for (int round = 0; round < 300; ++round) {
        if (round % 10 == 9) {
            for (int i = 0; i < 32; ++i)
                region[random() % q.region_size()] = static_cast<uint8_t>(random());
            sq->tail.value.store(sq->head.value.load() + 9 + random() % 100000);  // impossible
        } else {
            auto* words = reinterpret_cast<uint64_t*>(entries);
            for (int i = 0; i < 8 * 8; ++i)
                words[i] = random();
            for (int i = 0; i < 8; ++i) {  // some on handles we hold (read, peek, write, meta)
                if (random() % 2 == 0) {
                    entries[i].object = random() % 2 == 0 ? p[0] : p[1];
                    entries[i].opcode = abi::kQueueOpBase + random() % 4;
                }
            }
            cq->head.value.store(cq->tail.value.load());
            sq->tail.value.store(sq->head.value.load() + static_cast<uint32_t>(random() % 9));
        }
        const int64_t r = sys::queue_poll(q.handle());
        if (r == -static_cast<int64_t>(Error::kProtocol)) {
            ++protocol;
        } else {
            CHECK(r >= 0);
            ++accepted;
            answered += r > 0 ? r : 0;
        }
    }
    CHECK(accepted > 0);
    CHECK_EQ(protocol, 30);
    print("queuetest: hostile client: %ld polls refused (kProtocol), %ld accepted, %ld answered\n",
          protocol, accepted, answered);
    CHECK_EQ(sys::do_io(p[0], Op::kRead, nullptr, 0), 0);  // the pipe still works
    // Whatever the forged operations wrote into the pipe, drain it (without blocking).
    uint64_t size = 0;
    CHECK_EQ(sys::do_io(p[0], Op::kGetMeta, &size, 8, static_cast<uint64_t>(Meta::kSize)), 8);
    static uint8_t sink[abi::kPipeCapacity];
    if (size > 0)
        CHECK_EQ(sys::do_io(p[0], Op::kRead, sink, sizeof sink), static_cast<int64_t>(size));
    CHECK_EQ(q.destroy(), 0);
    // Unmapping its own region does not hurt the kernel (it holds the frames and its own view).
    // This client is never touched again (its region is gone), so it is left undestroyed.
    Queue* u = new (allocate(sizeof(Queue))) Queue;
    CHECK_EQ(u->create(8, 4, 4096), 0);
    CHECK(submit_with(*u, Op::kRead, p[0], 0, 1, nullptr, 0, 64) != ipc::abi::kNoTag);
    CHECK(submit_with(*u, Op::kWrite, p[1], 0, 2, "unmapped", 8, 8) != ipc::abi::kNoTag);
    CHECK_EQ(u->poll(), 2);  // the write lets the read finish in the same round
    CHECK_EQ(sys::unmap(addr(u->region())), 0);
    CHECK(submit_with(q, Op::kRead, p[0], 0, 1, nullptr, 0, 64) ==
          ipc::abi::kNoTag);  // q is closed
    CHECK_EQ(sys::queue_poll(u->handle()), 0);
    CHECK_EQ(sys::queue_destroy(u->handle()), 0);
    close(p[0]);
    close(p[1]);
}

void test_destroy_pending() {
    testlib::begin("queue_destroy_with_pending_ops");
    Queue q;
    CHECK_EQ(q.create(8, 4, 4096), 0);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    for (int i = 0; i < 3; ++i)
        CHECK(submit_with(q, Op::kRead, p[0], 0, i, nullptr, 0, 64) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 0);
    CHECK_EQ(q.client().pooled_buffers(), 1u);
    CHECK_EQ(q.destroy(), 0);
    ipc::Reaped r[8];
    CHECK_EQ(reap_all(q, r, 8), 3u);
    for (auto& x : r) {
        if (x.buffer.valid())
            CHECK_EQ(x.status, kCancelled);
        x.buffer.reset();
    }
    CHECK_EQ(q.client().pooled_buffers(), 4u);
    // The pipe saw nothing of it; a do_io reader gets the next write.
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "x", 1), 1);
    char c = 0;
    CHECK_EQ(sys::do_io(p[0], Op::kRead, &c, 1), 1);
    close(p[0]);
    close(p[1]);
}

// A child creates a queue, parks reads on a pipe whose only read end it holds, and exits (or
// faults). Its queue dies with it: the read end closes (our writes fail PeerGone) and nothing
// stays behind, however many times it happens.
void test_client_death() {
    testlib::begin("queue_client_death");
    if (g_self == 0) {
        CHECK(false);
        return;
    }
    for (int round = 0; round < 20; ++round) {
        Handle p[2];
        CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
        const char* mode = round % 2 == 0 ? "park exit" : "park fault";
        const int64_t c = spawn_child(mode, strlen(mode), &p[0], 1);
        CHECK(c > 0);
        close(p[0]);
        const abi::ExitInfo info = wait_child(c);
        CHECK_EQ(info.reason, static_cast<uint32_t>(round % 2 == 0 ? abi::ExitReason::kExited
                                                                   : abi::ExitReason::kFault));
        BAD_INPUT(sys::do_io(p[1], Op::kWrite, "x", 1), kPeerGone);
        close(p[1]);
    }
}

// The child side of test_client_death.
int park(bool fault) {
    const Handle pipe = abi::initial_handle(1);
    Queue* q = new (allocate(sizeof(Queue))) Queue;
    if (q->create(8, 8, 4096) != 0)
        return 3;
    for (int i = 0; i < 8; ++i)
        (void)submit_with(*q, Op::kRead, pipe, 0, i, nullptr, 0, 64);
    if (q->poll() != 0)
        return 4;
    (void)close(pipe);  // the queue's parked reads name a closed handle from now on
    if (fault)
        *reinterpret_cast<volatile uint64_t*>(16) = 1;
    return 0;  // exits without destroying the queue
}

// ---- user-space servers ------------------------------------------------------------------

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
            status = serve_error_status(o == Op::kRead || o == Op::kWrite ? Error::kInvalidArgument
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

bool child_running(int64_t c) {
    abi::ExitInfo info{};
    return sys::do_io(static_cast<uint64_t>(c), Op::kGetMeta, &info, sizeof info,
                      static_cast<uint64_t>(Meta::kExit)) == static_cast<int64_t>(sizeof info) &&
           info.reason == static_cast<uint32_t>(abi::ExitReason::kRunning);
}

// This process serves a test object; a client child uses it through do_io and its queue.
void test_served_object() {
    testlib::begin("serve_object");
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    abi::QueueGeometry bad{3, 1, 64, 0};
    abi::ServeInfo info{};
    BAD_INPUT(sys::serve_create(&bad, &info), kInvalidArgument);
    BAD_INPUT(sys::serve_sync(sp.served(), 0, 0), kInvalidArgument);
    TestStore store;
    const Handle served = sp.served();
    const int64_t c = spawn_child("serve client", 12, &served, 1);
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

// The client child of test_served_object: 0 when everything matched, else the failed step.
int serve_client() {
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
    Queue* q = new (allocate(sizeof(Queue))) Queue;
    if (q->create(8, 8, 4096) != 0)
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
void test_server_death() {
    testlib::begin("serve_server_death");
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const Handle extra[2] = {p[1], g_self};
    const int64_t s = spawn_child("serve die", 9, extra, 2);
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

// The server child of test_server_death: starts the client, takes its four operations,
// and faults without completing them.
int serve_die() {
    ServePort* sp = new (allocate(sizeof(ServePort))) ServePort;
    if (sp->create(8, 8, 4096) != 0)
        return 2;
    const Handle pipe = abi::initial_handle(1);
    const Handle image = abi::initial_handle(2);
    char text[] = "child serve victim";
    const Handle handles[3] = {root(), sp->served(), pipe};
    const abi::SpawnArgs sa{addr(handles),        3, addr(text), sizeof text - 1,
                            addr("serve-victim"), 12};
    if (sys::spawn(image, &sa) <= 0)
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

// The client grandchild of test_server_death.
int serve_victim() {
    const Handle s = abi::initial_handle(1);
    const Handle pipe = abi::initial_handle(2);
    Queue* q = new (allocate(sizeof(Queue))) Queue;
    if (q->create(8, 8, 4096) != 0)
        return 2;
    for (int i = 0; i < 3; ++i)
        (void)submit_with(*q, Op::kRead, s, 0, i, nullptr, 0, 64);
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
void test_client_death_served() {
    testlib::begin("serve_client_death");
    ServePort sp;
    CHECK_EQ(sp.create(8, 8, 4096), 0);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const Handle extra[2] = {sp.served(), p[0]};
    const int64_t c = spawn_child("serve leave", 11, extra, 2);
    CHECK(c > 0);
    close(p[0]);
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
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "x", 1), 1);  // the child may leave now
    close(p[1]);
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

// The client child of test_client_death_served: two reads taken by the server, then exit.
int serve_leave() {
    const Handle s = abi::initial_handle(1);
    const Handle go = abi::initial_handle(2);
    Queue* q = new (allocate(sizeof(Queue))) Queue;
    if (q->create(8, 8, 4096) != 0)
        return 2;
    for (int i = 0; i < 2; ++i)
        (void)submit_with(*q, Op::kRead, s, 0, i, nullptr, 0, 64);
    (void)q->poll();
    char x;
    (void)sys::do_io(go, Op::kRead, &x, 1);  // until the server has taken both
    return 0;  // exits with both pending: the kernel cancels them at the server
}

// ---- the system-call fuzzer ------------------------------------------------------------------

uint64_t g_rng = 1;
uint64_t next() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

uint64_t pick_address(uint8_t* region, uint64_t size, void* good) {
    static const uint64_t bad[] = {
        0, 8, kKernel, 0xffffffff80001000ull, 0x7ffffffff000ull, 1ull << 63, 0x200000000000ull};
    switch (next() % 4) {
        case 0:
            return bad[next() % (sizeof bad / sizeof bad[0])];
        case 1:
            return addr(region) + next() % (size + 64);
        default:
            return addr(good);
    }
}

// Random queue submissions (through the client and forged in the ring) and random queue system
// calls with adversarial arguments. The kernel must answer each with a result, never fault.
int fuzz(uint64_t seed, uint64_t count) {
    g_rng = seed | 1;
    Handle p[2], m = 0, mp[2];
    (void)sys::object_new(Kind::kPipe, 0, p);
    (void)sys::object_new(Kind::kMemory, 8192, &m);
    (void)sys::object_new(Kind::kMessagePipe, 0, mp);
    Queue* q = new (allocate(sizeof(Queue))) Queue;
    if (q->create(16, 8, 4096) != 0)
        return 3;
    // This process also serves an object (a hostile server now and then): its queue submissions
    // on it are forwarded to itself (never do_io on it: that would wait for itself).
    ServePort* sp = new (allocate(sizeof(ServePort))) ServePort;
    if (sp->create(8, 4, 4096) != 0)
        return 6;
    uint64_t pool[] = {0,          console() + (1u << 16),
                       root(),     p[0],
                       p[1],       m,
                       mp[0],      mp[1],
                       0xffff,     q->handle(),
                       1ull << 40, sp->served()};
    uint64_t calls = 0, errors = 0, completions = 0;
    uint64_t served = 0, scribbles = 0, restarts = 0;
    abi::QueueGeometry geometry{};
    abi::QueueInfo info{};
    for (uint64_t i = 0; i < count; ++i) {
        const uint64_t what = next() % 16;
        if (what < 9) {  // a client submission with random fields
            ipc::Request r;
            r.user_data = next();
            r.opcode = static_cast<uint16_t>(next() % 4 == 0 ? next() % 40
                                                             : abi::kQueueOpBase + next() % 12);
            if (r.opcode == static_cast<uint16_t>(ipc::abi::Op::Cancel))
                r.opcode = 0;
            r.object = static_cast<uint32_t>(pool[next() % (sizeof pool / sizeof pool[0])]);
            // Never close or map through the fuzzer's own fixed handles (keeps it going).
            const uint16_t op = r.opcode - abi::kQueueOpBase;
            if (op == static_cast<uint16_t>(Op::kClose) || op == static_cast<uint16_t>(Op::kMap) ||
                op == static_cast<uint16_t>(Op::kDestroy))
                r.opcode = abi::kQueueOpBase + static_cast<uint16_t>(Op::kGetMeta);
            r.args[0] = next() % 3 == 0 ? next() : next() % 8;
            r.length = static_cast<uint32_t>(next() % 5000);
            auto b = q->client().acquire();
            if (b && r.length <= 4096 && next() % 4 != 0) {
                auto bytes = q->client().bytes(*b);
                for (uint32_t k = 0; k < 16; ++k)
                    bytes[k] = static_cast<std::byte>(next());
                if (q->client().submit(r, std::move(*b)))
                    ++calls;
            } else {
                r.length = 0;
                if (q->client().submit(r))
                    ++calls;
            }
        } else if (what < 10) {  // cancel something
            if (q->client().cancel(next(), static_cast<uint32_t>(next() % 3 == 0 ? next() : 0)))
                ++calls;
        } else if (what < 11) {  // forge a raw entry
            auto* sq =
                reinterpret_cast<ipc::abi::RingHeader*>(q->region() + ipc::abi::kSqHeaderOffset);
            auto* e = reinterpret_cast<uint64_t*>(q->region() + ipc::abi::kSqEntriesOffset);
            e[next() % (16 * 8)] = next();
            if (next() % 8 == 0)
                sq->tail.value.store(static_cast<uint32_t>(next()));
        } else if (what < 12) {  // raw create with adversarial arguments
            geometry = {static_cast<uint32_t>(1u << (next() % 12)),
                        static_cast<uint32_t>(next() % 300),
                        static_cast<uint32_t>(next() % 3) * 4096, next() % 8 == 0 ? 1u : 0u};
            const int64_t h = syscall(abi::Syscall::kQueueCreate,
                                      pick_address(q->region(), q->region_size(), &geometry),
                                      pick_address(q->region(), q->region_size(), &info));
            ++calls;
            if (h > 0) {
                if (next() % 2 == 0)
                    (void)sys::queue_poll(h);  // a region nobody laid out
                (void)sys::queue_destroy(h);
                (void)sys::unmap(info.address);
            } else {
                ++errors;
            }
        } else if (what < 13) {  // queue calls on random handles
            const uint64_t h = pool[next() % (sizeof pool / sizeof pool[0])];
            if (h != q->handle()) {
                ++calls;
                const auto n = static_cast<abi::Syscall>(
                    static_cast<uint64_t>(abi::Syscall::kQueueDestroy) + next() % 3);
                if (syscall(n, h, next() % 4, 1000) < 0)
                    ++errors;
            }
        } else if (what == 15 && next() % 2 == 0) {  // serve: complete, scribble, or restart
            const uint64_t how = next() % 32;
            ++calls;
            if (how < 28) {
                if (sp->sync(next() % 2 == 0, 1'000'000) < 0)
                    ++errors;
                (void)sp->server().poll();
                while (auto op = sp->server().take()) {
                    ++served;
                    const uint16_t status =
                        next() % 4 == 0
                            ? static_cast<uint16_t>(next())
                            : (next() % 2 == 0 ? kOk : static_cast<uint16_t>(0x100 + next() % 20));
                    const uint64_t value = next() % 2 == 0 ? next() : next() % 64;
                    if (!sp->server().complete(op->id, status, value))
                        (void)sp->server().complete(op->id, kOk, 0);
                }
                (void)sp->sync(false);
            } else if (how < 31) {  // a hostile server writes anywhere in its region
                const uint64_t at = next() % (sp->region_size() / 8);
                reinterpret_cast<volatile uint64_t*>(sp->region())[at] = next();
                ++scribbles;
            } else {  // the server leaves: everything forwarded completes PeerGone
                (void)sp->destroy();
                sp->~ServePort();
                new (sp) ServePort;
                if (sp->create(8, 4, 4096) != 0)
                    return 7;
                pool[11] = sp->served();
                ++restarts;
            }
        } else {  // let the kernel run the batch
            const int64_t r = next() % 2 == 0 ? q->poll() : q->wait(1 + next() % 4, 2'000'000);
            ++calls;
            if (r < 0) {
                ++errors;
                // A forged tail makes every later poll fail: the client gives up on this queue.
                q->client().peer_gone();
            }
            for (;;) {
                auto c = q->reap();
                if (!c) {
                    if (c.error() == ipc::Error::ProtocolViolation)
                        q->client().peer_gone();  // forged entries made a completion impossible
                    else
                        break;
                } else {
                    ++completions;
                }
            }
            if (q->client().torn_down()) {
                (void)q->destroy();
                q->~Queue();
                new (q) Queue;
                if (q->create(16, 8, 4096) != 0)
                    return 5;
            }
        }
        // Keep something readable now and then so parked reads finish.
        // (do_io would block on a full pipe: only while there is room.)
        uint64_t buffered = abi::kPipeCapacity;
        if (next() % 8 == 0 &&
            sys::do_io(p[0], Op::kGetMeta, &buffered, 8, static_cast<uint64_t>(Meta::kSize)) == 8 &&
            buffered + 4 <= abi::kPipeCapacity) {
            (void)sys::do_io(p[1], Op::kWrite, "fuzz", 4);
        }
    }
    print("queuetest: fuzz seed %lu: %lu calls, %lu errors, %lu completions\n", seed, calls, errors,
          completions);
    print(
        "queuetest: fuzz seed %lu: served %lu forwarded operations, %lu server scribbles, %lu "
        "server restarts\n",
        seed, served, scribbles, restarts);
    return 0;
}

uint64_t parse(const char*& p, const char* end) {
    while (p < end && *p == ' ')
        ++p;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + static_cast<uint64_t>(*p++ - '0');
    return v;
}

void test_fuzz() {
    testlib::begin("queue_syscall_fuzzer");
    const uint64_t seed = sys::clock_ns() ^ 0x5eed;
    char args[64];
    snformat(args, sizeof args, "fuzz %lu 3000", seed);
    print(
        "queuetest: fuzz seed %lu (replay: --module \"build/kernel/user/queuetest.elf child "
        "%s\")\n",
        seed, args);
    const int64_t c = spawn_child(args, strlen(args), nullptr, 0);
    CHECK(c > 0);
    const abi::ExitInfo info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 0);
}

int child(const char* mode, uint64_t length) {
    auto is = [&](const char* m) { return strlen(m) == length && memcmp(mode, m, length) == 0; };
    if (is("park exit"))
        return park(false);
    if (is("park fault"))
        return park(true);
    if (is("serve client"))
        return serve_client();
    if (is("serve die"))
        return serve_die();
    if (is("serve victim"))
        return serve_victim();
    if (is("serve leave"))
        return serve_leave();
    if (length > 5 && memcmp(mode, "fuzz ", 5) == 0) {
        const char* p = mode + 5;
        const uint64_t seed = parse(p, mode + length);
        const uint64_t count = parse(p, mode + length);
        return fuzz(seed, count == 0 ? 1000 : count);
    }
    print("queuetest: unknown child mode\n");
    return 99;
}

}  // namespace

int keel_main(const StartInfo& start) {
    if (start.args_length > 6 && memcmp(start.args, "child ", 6) == 0)
        return child(start.args + 6, start.args_length - 6);
    const int64_t self = open(root(), "self");
    g_self = self > 0 ? static_cast<Handle>(self) : 0;
    test_create_bad_input();
    test_batch();
    test_blocked_and_wait();
    test_cancel();
    test_credit();
    test_hostile_client();
    test_destroy_pending();
    test_client_death();
    test_served_object();
    test_server_death();
    test_client_death_served();
    test_fuzz();
    print("queuetest: %lu bad-input cases\n", testlib::bad_inputs());
    print("%lu passed, %lu failed\n", testlib::passed(), testlib::failed());
    return testlib::failed() == 0 ? 0 : 1;
}
