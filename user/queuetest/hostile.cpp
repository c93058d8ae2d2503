// A client that lies to the kernel: a hostile server must never make the kernel fault or leak
// another process's data. Submissions forged directly in the ring and counters scribbled.
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

TEST(queue_hostile_client) {
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
    Random rng(0x9e3779b97f4a7c15ull);
    auto random = [&rng] { return rng.next(); };
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
    Queue* u = heap_queue(8, 4);
    CHECK(u != nullptr);
    if (u == nullptr)
        return;
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

}  // namespace
}  // namespace keel::queuetest
