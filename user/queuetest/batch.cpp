// Batches submitted and reaped in one poll, operations that block and finish later, waiting,
// and credit: a client never has more operations out than its completion ring can hold.
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

TEST(queue_batch_submit_and_reap) {
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
    CHECK(q.submit(Op::kSeek, p[0], 0, 7).ok());  // pipes have no seek
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

TEST(queue_blocked_ops_and_wait) {
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

TEST(queue_credit_exhaustion) {
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

}  // namespace
}  // namespace keel::queuetest
