// Cancellation in each state of its target (IPC-R-060..064): queued -> target Cancelled with its
// buffer, cancel Ok; taken -> cancel InProgress, target completes later exactly once;
// unknown or completed -> NotFound. Every accepted submission completes exactly once.
#include <gtest/gtest.h>

#include <map>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

class Cancel : public ::testing::Test {
  protected:
    Cancel() : q(geometry(8, 4, 64), 0xFFFF'FFFDu) {}  // the counters wrap during each test

    std::uint32_t submit_with_buffer(std::uint64_t user_data, std::uint16_t* id = nullptr) {
        auto b = q.client.acquire();
        EXPECT_TRUE(b.ok());
        if (id != nullptr)
            *id = b->id();
        auto t = q.client.submit(op_request(user_data, 16), std::move(*b));
        EXPECT_TRUE(t.ok());
        return t.ok() ? *t : abi::kNoTag;
    }
    void round_trip() {
        q.client.publish();
        ASSERT_TRUE(q.server.poll().ok());
    }
    // Each user_data of `done` must appear once; returns them by user_data.
    static std::map<std::uint64_t, Reaped> by_user_data(std::vector<Reaped> done) {
        std::map<std::uint64_t, Reaped> m;
        for (auto& r : done) {
            auto [it, fresh] = m.emplace(r.user_data, std::move(r));
            EXPECT_TRUE(fresh) << "user_data " << it->first << " completed twice";
        }
        return m;
    }

    Queue q;
};

TEST_F(Cancel, QueuedTargetCompletesCancelledWithItsBuffer) {
    std::uint16_t id = 0;
    std::uint32_t tag = submit_with_buffer(1, &id);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    ASSERT_EQ(q.server.queued(), 1u);
    EXPECT_EQ(q.server.buffer_held(id), rules::kHeldYes);
    auto c = q.client.cancel(100, tag);
    ASSERT_TRUE(c.ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    // The target is gone from the server: nothing to take, buffer not held, no credit kept.
    EXPECT_EQ(q.server.queued(), 0u);
    EXPECT_EQ(q.server.take().error(), Error::Empty);
    EXPECT_EQ(q.server.buffer_held(id), rules::kHeldNo);

    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 2u);
    // The target's completion is posted before the cancel's.
    EXPECT_EQ(done[0].tag, tag);
    EXPECT_EQ(done[0].status, std::uint16_t(abi::Status::Cancelled));
    EXPECT_FALSE(done[0].is_cancel);
    ASSERT_TRUE(done[0].buffer.valid());
    EXPECT_EQ(done[0].buffer.id(), id);
    EXPECT_EQ(done[1].tag, *c);
    EXPECT_EQ(done[1].user_data, 100u);
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::Ok));
    EXPECT_TRUE(done[1].is_cancel);
    EXPECT_FALSE(done[1].buffer.valid());  // a cancel never carries the target's buffer
    EXPECT_EQ(q.client.outstanding(), 0u);
    EXPECT_EQ(q.client.reap().error(), Error::Empty);
}

TEST_F(Cancel, QueuedTargetInTheSameBatchAsItsCancel) {
    std::uint32_t tag = submit_with_buffer(1);
    ASSERT_TRUE(q.client.cancel(2, tag).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto done = by_user_data(reap_all(q.client));
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::Cancelled));
    EXPECT_EQ(done[2].status, std::uint16_t(abi::Status::Ok));
}

TEST_F(Cancel, RemovingFromTheMiddleKeepsFifoOrder) {
    std::uint32_t tags[4];
    for (std::uint64_t i = 0; i < 4; ++i)
        tags[i] = submit_with_buffer(i);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    ASSERT_TRUE(q.client.cancel(10, tags[1]).ok());
    ASSERT_TRUE(q.client.cancel(11, tags[3]).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto ops = take_all(q.server);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0].request.user_data, 0u);
    EXPECT_EQ(ops[1].request.user_data, 2u);
    for (auto& op : ops)
        ASSERT_TRUE(q.server.complete(op.id, 0, 0).ok());
    q.server.publish();
    auto done = by_user_data(reap_all(q.client));
    ASSERT_EQ(done.size(), 6u);
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::Cancelled));
    EXPECT_EQ(done[3].status, std::uint16_t(abi::Status::Cancelled));
    EXPECT_EQ(done[0].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(done[2].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(q.client.pooled_buffers(), 0u);  // all four buffers are in hand in `done`
    done.clear();
    EXPECT_EQ(q.client.pooled_buffers(), 4u);
}

TEST_F(Cancel, TakenTargetIsInProgressThenCompletesExactlyOnce) {
    for (std::uint16_t final_status :
         {std::uint16_t(abi::Status::Ok), std::uint16_t(abi::Status::Cancelled)}) {
        std::uint16_t id = 0;
        std::uint32_t tag = submit_with_buffer(1, &id);
        ASSERT_NO_FATAL_FAILURE(round_trip());
        auto op = q.server.take();
        ASSERT_TRUE(op.ok());
        ASSERT_TRUE(q.client.cancel(2, tag).ok());
        ASSERT_NO_FATAL_FAILURE(round_trip());
        EXPECT_TRUE(q.server.cancel_requested(op->id));
        EXPECT_EQ(q.server.taken(), 1u);
        EXPECT_EQ(q.server.buffer_held(id), rules::kHeldYes);  // the service still uses it

        auto first = reap_all(q.client);
        ASSERT_EQ(first.size(), 1u);
        EXPECT_TRUE(first[0].is_cancel);
        EXPECT_EQ(first[0].status, std::uint16_t(abi::Status::InProgress));
        EXPECT_EQ(q.client.buffer_state(id), rules::kBufLent);

        ASSERT_TRUE(q.server.complete(op->id, final_status, 5).ok());
        q.server.publish();
        auto second = reap_all(q.client);
        ASSERT_EQ(second.size(), 1u);
        EXPECT_EQ(second[0].tag, tag);
        EXPECT_EQ(second[0].status, final_status);
        EXPECT_EQ(second[0].buffer.id(), id);
        EXPECT_EQ(q.client.outstanding(), 0u);
    }
}

TEST_F(Cancel, TwoCancelsOfATakenTargetStillGiveOneCompletion) {
    std::uint32_t tag = submit_with_buffer(1);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(q.client.cancel(2, tag).ok());
    ASSERT_TRUE(q.client.cancel(3, tag).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    ASSERT_TRUE(q.server.complete(op->id, 0, 0).ok());
    q.server.publish();
    auto done = by_user_data(reap_all(q.client));
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[2].status, std::uint16_t(abi::Status::InProgress));
    EXPECT_EQ(done[3].status, std::uint16_t(abi::Status::InProgress));
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::Ok));
}

TEST_F(Cancel, SecondCancelOfAQueuedTargetIsNotFound) {
    std::uint32_t tag = submit_with_buffer(1);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    ASSERT_TRUE(q.client.cancel(2, tag).ok());
    ASSERT_TRUE(q.client.cancel(3, tag).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto done = by_user_data(reap_all(q.client));
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::Cancelled));
    EXPECT_EQ(done[2].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(done[3].status, std::uint16_t(abi::Status::NotFound));
}

TEST_F(Cancel, UnknownTargetIsNotFound) {
    std::uint32_t live = submit_with_buffer(1);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    // No such tag; kNoTag; the live tag with another generation; another slot's tag.
    std::uint32_t targets[] = {
        abi::kNoTag, live ^ (1u << rules::kSlotBits),
        tag_of(rules::tag_slot<std::uint32_t>(live) + 1, rules::tag_gen<std::uint32_t>(live))};
    for (std::uint32_t t : targets)
        ASSERT_TRUE(q.client.cancel(t, t).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 3u);
    for (auto& r : done) {
        EXPECT_TRUE(r.is_cancel);
        EXPECT_EQ(r.status, std::uint16_t(abi::Status::NotFound)) << r.user_data;
    }
    EXPECT_EQ(q.server.queued(), 1u);  // the live op was not touched
}

TEST_F(Cancel, CompletedTargetIsNotFoundWhetherReapedOrNot) {
    std::uint32_t tag = submit_with_buffer(1);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(q.server.complete(op->id, 0, 0).ok());
    q.server.publish();
    // Completed and published, not reaped: the cancel finds nothing at the server.
    ASSERT_TRUE(q.client.cancel(2, tag).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0].tag, tag);
    EXPECT_EQ(done[0].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::NotFound));
    // Completed and reaped.
    ASSERT_TRUE(q.client.cancel(3, tag).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto again = reap_all(q.client);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].status, std::uint16_t(abi::Status::NotFound));
}

TEST_F(Cancel, ACancelCannotBeCancelled) {
    std::uint32_t tag = submit_with_buffer(1);
    auto c1 = q.client.cancel(2, tag);
    ASSERT_TRUE(c1.ok());
    auto c2 = q.client.cancel(3, *c1);
    ASSERT_TRUE(c2.ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto done = by_user_data(reap_all(q.client));
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[2].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(done[3].status, std::uint16_t(abi::Status::NotFound));
}

TEST_F(Cancel, ByUserData) {
    submit_with_buffer(7);
    submit_with_buffer(8);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    ASSERT_TRUE(q.client.cancel_user_data(100, 8).ok());
    ASSERT_TRUE(q.client.cancel_user_data(101, 9).ok());  // unknown: still sent, NotFound
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto ops = take_all(q.server);
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].request.user_data, 7u);
    auto done = by_user_data(reap_all(q.client));
    ASSERT_EQ(done.size(), 3u);
    EXPECT_EQ(done[8].status, std::uint16_t(abi::Status::Cancelled));
    EXPECT_EQ(done[100].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(done[101].status, std::uint16_t(abi::Status::NotFound));
}

TEST_F(Cancel, ByUserDataSkipsCancelsWithTheSameUserData) {
    std::uint32_t t = submit_with_buffer(5);
    ASSERT_TRUE(q.client.cancel(6, abi::kNoTag).ok());  // a live cancel whose user_data is 6
    submit_with_buffer(6);
    ASSERT_NO_FATAL_FAILURE(round_trip());
    ASSERT_TRUE(q.client.cancel_user_data(7, 6).ok());
    ASSERT_NO_FATAL_FAILURE(round_trip());
    auto ops = take_all(q.server);
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].request.tag, t);  // the operation 6 was cancelled, not the cancel
}

TEST_F(Cancel, TakesOneCredit) {
    for (std::uint64_t i = 0; i < 7; ++i) {
        ASSERT_TRUE(q.client.submit(op_request(i)).ok());
    }
    auto c = q.client.cancel(100, abi::kNoTag);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(q.client.credit(), 0u);
    auto before = snapshot(q);
    EXPECT_EQ(q.client.cancel(101, abi::kNoTag).error(), Error::NoCredit);
    EXPECT_EQ(snapshot(q), before);
}

}  // namespace
}  // namespace keel::ipc
