// The server's batched calls: Server::take_batch and Server::complete_batch. Each must do
// exactly what take_id() / complete() would do one by one, in order, stop at the first
// operation complete() would refuse, and change nothing when it fails.
#include <gtest/gtest.h>

#include <array>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

constexpr auto kOk = std::uint16_t(abi::Status::Ok);
constexpr auto kSvc = abi::kFirstServiceStatus;

// n service operations, the first `with_buffers` of them lending a buffer; polled.
void queue_ops(Queue& q, std::uint32_t n, std::uint32_t with_buffers = 0) {
    for (std::uint32_t i = 0; i < n; ++i) {
        if (i < with_buffers) {
            auto b = q.client.acquire();
            ASSERT_TRUE(b.ok());
            ASSERT_TRUE(q.client.submit(op_request(100 + i, 8), std::move(*b)).ok());
        } else {
            ASSERT_TRUE(q.client.submit(op_request(100 + i)).ok());
        }
    }
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), n);
}

TEST(ServerTakeBatch, TakesWhatTakeIdWouldOldestFirst) {
    Queue a(geometry(8, 0, 0));
    Queue b(geometry(8, 0, 0));
    ASSERT_TRUE(a.ready() && b.ready());
    std::array<std::uint32_t, 8> h{};
    EXPECT_EQ(a.server.take_batch(h).error(), Error::Empty);
    EXPECT_EQ(a.server.take_batch(std::span<std::uint32_t>()).value(), 0u);
    ASSERT_NO_FATAL_FAILURE(queue_ops(a, 5));
    ASSERT_NO_FATAL_FAILURE(queue_ops(b, 5));
    auto n = a.server.take_batch(std::span(h).first(3));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 3u);
    EXPECT_EQ(a.server.queued(), 2u);
    EXPECT_EQ(a.server.taken(), 3u);
    std::array<std::uint32_t, 8> h2{};
    auto m = a.server.take_batch(h2);  // asks for 8, gets the 2 left
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(*m, 2u);
    // The same handles, in the same order, as take_id() one by one on a twin queue.
    const std::array<std::uint32_t, 5> batched{h[0], h[1], h[2], h2[0], h2[1]};
    for (std::uint32_t i = 0; i < 5; ++i) {
        auto t = b.server.take_id();
        ASSERT_TRUE(t.ok());
        EXPECT_EQ(batched[i], *t) << i;
        EXPECT_EQ(a.server.request(batched[i]).user_data, 100u + i);
    }
    EXPECT_EQ(a.server.take_batch(h).error(), Error::Empty);
    a.server.close();
    EXPECT_EQ(a.server.take_batch(h).error(), Error::Closed);
}

TEST(ServerCompleteBatch, PostsWhatCompleteWouldInOrderWithTheBuffers) {
    Queue q(geometry(8, 4, 64));
    ASSERT_TRUE(q.ready());
    ASSERT_NO_FATAL_FAILURE(queue_ops(q, 4, 2));
    std::array<std::uint32_t, 4> h{};
    ASSERT_EQ(q.server.take_batch(h).value(), 4u);
    std::array<Server::Done, 4> done{};
    for (std::uint32_t i = 0; i < 4; ++i)
        done[i] = {h[i], std::uint16_t(kSvc + i), 1000u + i};
    auto n = q.server.complete_batch(done);
    ASSERT_TRUE(n.ok()) << error_name(n.error());
    EXPECT_EQ(*n, 4u);
    EXPECT_EQ(q.server.taken(), 0u);
    EXPECT_EQ(q.server.cq_tail(), 4u);
    for (std::uint16_t id = 0; id < 4; ++id)
        EXPECT_EQ(q.server.buffer_held(id), rules::kHeldNo);
    q.server.publish();
    auto reaped = reap_all(q.client);
    ASSERT_EQ(reaped.size(), 4u);
    for (std::uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(reaped[i].user_data, 100u + i);
        EXPECT_EQ(reaped[i].status, kSvc + i);
        EXPECT_EQ(reaped[i].value, 1000u + i);
        EXPECT_EQ(reaped[i].buffer.valid(), i < 2);
    }
    EXPECT_EQ(q.client.outstanding(), 0u);
}

TEST(ServerCompleteBatch, StopsAtTheFirstRefusedAndLeavesTheRest) {
    Queue q(geometry(8, 0, 0));
    ASSERT_TRUE(q.ready());
    ASSERT_NO_FATAL_FAILURE(queue_ops(q, 3));
    std::array<std::uint32_t, 3> h{};
    ASSERT_EQ(q.server.take_batch(h).value(), 3u);
    // The second repeats the first: complete() would refuse it (not current any more).
    std::array<Server::Done, 3> done{{{h[0], kOk, 1}, {h[0], kOk, 2}, {h[1], kOk, 3}}};
    auto n = q.server.complete_batch(done);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(q.server.taken(), 2u);
    // Now the first is the refused one: its error, nothing changed.
    auto before = snapshot_server(q);
    auto r = q.server.complete_batch(std::span(done).subspan(1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::NotOwner);
    EXPECT_EQ(snapshot_server(q), before);
    std::array<Server::Done, 1> bad_status{{{h[1], std::uint16_t(abi::Status::InProgress), 0}}};
    EXPECT_EQ(q.server.complete_batch(bad_status).error(), Error::InvalidArgument);
    std::array<Server::Done, 1> out_of_range{{{0xFFFF, kOk, 0}}};
    EXPECT_EQ(q.server.complete_batch(out_of_range).error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot_server(q), before);
    std::array<Server::Done, 2> rest{{{h[1], kOk, 4}, {h[2], kOk, 5}}};
    EXPECT_EQ(q.server.complete_batch(rest).value(), 2u);
    EXPECT_EQ(q.server.complete_batch(std::span<const Server::Done>()).value(), 0u);
    q.server.publish();
    EXPECT_EQ(reap_all(q.client).size(), 3u);
}

TEST(ServerCompleteBatch, AfterClientGoneFreesAndPostsNothing) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    ASSERT_NO_FATAL_FAILURE(queue_ops(q, 2, 2));
    std::array<std::uint32_t, 2> h{};
    ASSERT_EQ(q.server.take_batch(h).value(), 2u);
    q.server.client_gone();
    const std::uint32_t tail = q.server.cq_tail();
    std::array<Server::Done, 2> done{{{h[0], kOk, 0}, {h[1], kOk, 0}}};
    EXPECT_EQ(q.server.complete_batch(done).value(), 2u);
    EXPECT_EQ(q.server.cq_tail(), tail);
    EXPECT_EQ(q.server.taken(), 0u);
    EXPECT_EQ(q.server.buffer_held(0), rules::kHeldNo);
    EXPECT_EQ(q.server.buffer_held(1), rules::kHeldNo);
}

TEST(ServerCompleteBatch, TheClientHeadIsNotReadWhileTheBatchFits) {
    // Every taken operation holds a credit, so a batch fits the ring as the server last saw
    // the client's head: complete_batch, like complete(), then reads no head at all, and an
    // impossible one written meanwhile changes nothing.
    Queue q(geometry(4, 0, 0));
    ASSERT_TRUE(q.ready());
    ASSERT_NO_FATAL_FAILURE(queue_ops(q, 4));
    std::array<std::uint32_t, 4> h{};
    ASSERT_EQ(q.server.take_batch(h).value(), 4u);
    std::array<Server::Done, 4> done{};
    for (std::uint32_t i = 0; i < 4; ++i)
        done[i] = {h[i], kOk, i};
    q.cq_head().store(9);  // impossible: past the tail
    EXPECT_EQ(q.server.complete_batch(done).value(), 4u);
    EXPECT_EQ(q.server.cq_tail(), 4u);
    q.server.publish();
    q.cq_head().store(0);
    EXPECT_EQ(reap_all(q.client).size(), 4u);
}

}  // namespace
}  // namespace keel::ipc
