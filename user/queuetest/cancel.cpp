// Operations that end before they finish: cancel in its three cases, destroy with operations
// pending, and a client process that dies with operations pending.
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

TEST(queue_cancel_three_cases) {
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

TEST(queue_destroy_with_pending_ops) {
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
TEST(queue_client_death) {
    if (self() == 0) {
        CHECK(false);
        return;
    }
    for (int round = 0; round < 20; ++round) {
        Handle p[2];
        CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
        const char* mode = round % 2 == 0 ? "park exit" : "park fault";
        const int64_t c = spawn_child(mode, &p[0], 1);
        CHECK(c > 0);
        close(p[0]);
        const abi::ExitInfo info = wait_child(c);
        CHECK_EQ(info.reason, static_cast<uint32_t>(round % 2 == 0 ? abi::ExitReason::kExited
                                                                   : abi::ExitReason::kFault));
        BAD_INPUT(sys::do_io(p[1], Op::kWrite, "x", 1), kPeerGone);
        close(p[1]);
    }
}

// The child side of queue_client_death.
int park(bool fault) {
    const Handle pipe = abi::initial_handle(1);
    Queue* q = heap_queue_reading(pipe, 8);
    if (q == nullptr)
        return 3;
    if (q->poll() != 0)
        return 4;
    (void)close(pipe);  // the queue's parked reads name a closed handle from now on
    if (fault)
        *reinterpret_cast<volatile uint64_t*>(16) = 1;
    return 0;  // exits without destroying the queue
}

CHILD_MODE("park exit") {
    return park(false);
}
CHILD_MODE("park fault") {
    return park(true);
}

}  // namespace
}  // namespace keel::queuetest
