// Teardown with operations in every state (IPC-R-070..072): Client::peer_gone, Client::close,
// Server::client_gone, Server::close. Every pending operation completes exactly once and
// every buffer returns; completions the server posts after the teardown are never read.
#include <gtest/gtest.h>

#include <map>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

constexpr auto kOk = std::uint16_t(abi::Status::Ok);
constexpr auto kCancelled = std::uint16_t(abi::Status::Cancelled);
constexpr auto kPeerGone = std::uint16_t(abi::Status::PeerGone);

// user_data of the operations, one per state they are left in.
enum Ud : std::uint64_t {
    kReaped = 1,        // completed and reaped before the teardown: not pending
    kPublished = 2,     // completed, published by the server, not reaped
    kTaken = 3,         // taken by the service
    kQueued = 4,        // accepted by the server, waiting for take()
    kPosted = 5,        // completed by the service, not yet published
    kUnpolled = 6,      // published by the client, not yet polled
    kUnpublished = 7,   // submitted, not published
    kCancelQueued = 9,  // a Cancel of kQueued, not published
};

class Teardown : public ::testing::Test {
  protected:
    Teardown() : q(geometry(8, 8, 64), 0xFFFF'FFFEu) {}

    void SetUp() override {
        ASSERT_TRUE(q.ready());
        for (Ud u : {kReaped, kPublished, kPosted, kTaken, kQueued})
            submit(u);
        q.client.publish();
        ASSERT_EQ(q.server.poll().value(), 5u);
        for (Ud u : {kReaped, kPublished, kPosted, kTaken}) {
            auto op = q.server.take();
            ASSERT_TRUE(op.ok());
            ASSERT_EQ(op->request.user_data, std::uint64_t(u));
            op_id[u] = op->id;
        }
        ASSERT_TRUE(q.server.complete(op_id[kReaped], kOk, 0).ok());
        q.server.publish();
        {
            auto r = q.client.reap();
            ASSERT_TRUE(r.ok());
            ASSERT_EQ(r->user_data, std::uint64_t(kReaped));
        }
        ASSERT_TRUE(q.server.complete(op_id[kPublished], kOk, 0).ok());
        q.server.publish();
        submit(kUnpolled);
        q.client.publish();
        ASSERT_TRUE(q.server.complete(op_id[kPosted], kOk, 0).ok());  // not published
        submit(kUnpublished);
        auto c = q.client.cancel(kCancelQueued, tag[kQueued]);
        ASSERT_TRUE(c.ok());
        tag[kCancelQueued] = *c;

        ASSERT_EQ(q.client.outstanding(), 7u);
        ASSERT_EQ(q.client.pooled_buffers(), 2u);  // 8 buffers, 6 lent
        ASSERT_EQ(q.server.taken(), 1u);
        ASSERT_EQ(q.server.queued(), 1u);
    }

    void submit(Ud u) {
        auto b = q.client.acquire();
        ASSERT_TRUE(b.ok());
        buffer[u] = b->id();
        auto t = q.client.submit(op_request(u, 8), std::move(*b));
        ASSERT_TRUE(t.ok());
        tag[u] = *t;
    }

    // Reaps until Empty; checks each pending operation completes exactly once, with
    // `published_status` for the one whose completion was published before the teardown and
    // `teardown_status` for all others, each with its own buffer; then that nothing leaked.
    void expect_drain(std::uint16_t teardown_status) {
        auto first = q.client.reap();
        ASSERT_TRUE(first.ok());
        // What the server had published before the teardown comes first, as it was posted.
        EXPECT_EQ(first->user_data, std::uint64_t(kPublished));
        EXPECT_EQ(first->status, kOk);
        EXPECT_EQ(first->buffer.id(), buffer[kPublished]);
        std::map<std::uint64_t, Reaped> rest;
        for (;;) {
            auto r = q.client.reap();
            if (!r) {
                EXPECT_EQ(r.error(), Error::Empty);
                break;
            }
            std::uint64_t u = r->user_data;
            EXPECT_TRUE(rest.emplace(u, std::move(r).value()).second) << u << " twice";
        }
        ASSERT_EQ(rest.size(), 6u);
        for (Ud u : {kTaken, kQueued, kPosted, kUnpolled, kUnpublished}) {
            ASSERT_EQ(rest.count(u), 1u) << u;
            const Reaped& r = rest[u];
            EXPECT_EQ(r.status, teardown_status) << u;
            EXPECT_EQ(r.tag, tag[u]);
            EXPECT_FALSE(r.is_cancel);
            ASSERT_TRUE(r.buffer.valid()) << u;
            EXPECT_EQ(r.buffer.id(), buffer[u]);
        }
        ASSERT_EQ(rest.count(kCancelQueued), 1u);
        EXPECT_TRUE(rest[kCancelQueued].is_cancel);
        EXPECT_EQ(rest[kCancelQueued].status, teardown_status);
        EXPECT_FALSE(rest[kCancelQueued].buffer.valid());
        EXPECT_EQ(q.client.reap().error(), Error::Empty);

        EXPECT_EQ(q.client.outstanding(), 0u);
        EXPECT_EQ(q.client.credit(), 8u);
        rest.clear();
        first->buffer.reset();
        EXPECT_EQ(q.client.pooled_buffers(), 8u);
        for (std::uint16_t id = 0; id < 8; ++id) {
            EXPECT_EQ(q.client.buffer_state(id), rules::kBufPooled);
        }
    }

    void expect_client_refuses(Error e) {
        auto before = snapshot(q);
        EXPECT_EQ(q.client.submit(op_request(50)).error(), e);
        {
            auto b = q.client.acquire();  // the client's own buffers stay usable
            ASSERT_TRUE(b.ok());
            EXPECT_EQ(q.client.submit(op_request(51, 8), std::move(*b)).error(), e);
            EXPECT_TRUE(b->valid());  // the refused submit kept the buffer
        }
        EXPECT_EQ(q.client.cancel(52, tag[kTaken]).error(), e);
        EXPECT_EQ(q.client.cancel_user_data(53, kTaken).error(), e);
        q.client.publish();  // torn down: publishes nothing
        EXPECT_EQ(snapshot(q), before);
    }

    Queue q;
    std::map<std::uint64_t, std::uint32_t> tag;
    std::map<std::uint64_t, std::uint16_t> buffer;
    std::map<std::uint64_t, std::uint32_t> op_id;
};

TEST_F(Teardown, PeerGoneCompletesEverythingOnceWithPeerGone) {
    std::uint32_t shared_sq_tail = q.sq_tail().load();
    q.client.peer_gone();
    EXPECT_TRUE(q.client.torn_down());
    EXPECT_EQ(q.header().client_state.load(), abi::kEndpointOpen);  // nothing to announce
    ASSERT_NO_FATAL_FAILURE(expect_client_refuses(Error::PeerGone));
    EXPECT_EQ(q.sq_tail().load(), shared_sq_tail);  // kUnpublished never became visible
    // The server publishes kPosted's completion after the teardown: it must not be read.
    q.server.publish();
    q.client.peer_gone();  // idempotent
    ASSERT_NO_FATAL_FAILURE(expect_drain(kPeerGone));
    q.client.close();  // closing after the peer is gone keeps PeerGone and announces nothing
    EXPECT_EQ(q.header().client_state.load(), abi::kEndpointOpen);
    EXPECT_EQ(q.client.submit(op_request(1)).error(), Error::PeerGone);
}

TEST_F(Teardown, ClientCloseCompletesEverythingOnceWithCancelled) {
    q.client.close();
    EXPECT_TRUE(q.client.torn_down());
    EXPECT_EQ(q.header().client_state.load(), abi::kEndpointClosed);
    ASSERT_NO_FATAL_FAILURE(expect_client_refuses(Error::Closed));
    q.server.publish();
    q.client.close();      // idempotent
    q.client.peer_gone();  // after close: no change of status
    ASSERT_NO_FATAL_FAILURE(expect_drain(kCancelled));
}

TEST_F(Teardown, ServerSeesTheCloseAndDropsWhatTheClientNoLongerWaitsFor) {
    q.client.close();
    EXPECT_TRUE(q.server.client_closed());
    auto before = snapshot_server(q);
    EXPECT_EQ(q.server.poll().error(), Error::PeerGone);
    EXPECT_EQ(snapshot_server(q), before);

    q.server.client_gone();
    // The queued op is dropped and its buffer released; the taken one is flagged.
    EXPECT_EQ(q.server.queued(), 0u);
    EXPECT_EQ(q.server.buffer_held(buffer[kQueued]), rules::kHeldNo);
    EXPECT_EQ(q.server.taken(), 1u);
    EXPECT_TRUE(q.server.cancel_requested(op_id[kTaken]));
    EXPECT_EQ(q.server.take().error(), Error::Closed);
    EXPECT_EQ(q.server.poll().error(), Error::PeerGone);

    // Completing the taken op posts nothing: nobody would read it.
    std::uint32_t cq_tail = q.server.cq_tail();
    std::uint32_t shared_cq_tail = q.cq_tail().load();
    ASSERT_TRUE(q.server.complete(op_id[kTaken], kOk, 0).ok());
    q.server.publish();
    EXPECT_EQ(q.server.cq_tail(), cq_tail);
    EXPECT_EQ(q.cq_tail().load(), shared_cq_tail);
    EXPECT_EQ(q.server.taken(), 0u);
    EXPECT_EQ(q.server.buffer_held(buffer[kTaken]), rules::kHeldNo);
    EXPECT_EQ(q.server.complete(op_id[kTaken], kOk, 0).error(), Error::NotOwner);
    for (std::uint16_t id = 0; id < 8; ++id)
        EXPECT_EQ(q.server.buffer_held(id), rules::kHeldNo);

    before = snapshot_server(q);
    q.server.client_gone();  // idempotent
    EXPECT_EQ(snapshot_server(q), before);
    q.server.close();
    EXPECT_EQ(q.header().server_state.load(), abi::kEndpointClosed);
    // And the client still gets every operation back exactly once.
    ASSERT_NO_FATAL_FAILURE(expect_drain(kCancelled));
}

TEST_F(Teardown, CompletionPostedAfterClientCloseIsNotReadTwice) {
    q.client.close();
    // A server that has not noticed yet completes the taken op and publishes it.
    ASSERT_TRUE(q.server.complete(op_id[kTaken], kOk, 0).ok());
    q.server.publish();
    ASSERT_NO_FATAL_FAILURE(expect_drain(kCancelled));
}

TEST_F(Teardown, ServerCloseThenClientPeerGone) {
    q.server.close();
    EXPECT_EQ(q.header().server_state.load(), abi::kEndpointClosed);
    EXPECT_TRUE(q.client.server_closed());
    EXPECT_EQ(q.server.poll().error(), Error::Closed);
    EXPECT_EQ(q.server.take().error(), Error::Closed);
    // The service may still finish what it holds; nothing is posted any more.
    std::uint32_t cq_tail = q.server.cq_tail();
    ASSERT_TRUE(q.server.complete(op_id[kTaken], kOk, 0).ok());
    EXPECT_EQ(q.server.cq_tail(), cq_tail);
    q.server.close();        // idempotent
    q.server.client_gone();  // after close: nothing to do
    EXPECT_EQ(q.header().server_state.load(), abi::kEndpointClosed);

    q.client.peer_gone();
    ASSERT_NO_FATAL_FAILURE(expect_drain(kPeerGone));
}

TEST(TeardownEmpty, NothingPendingMeansEmptyAtOnce) {
    Queue q(geometry(2, 2, 64));
    ASSERT_TRUE(q.ready());
    q.client.peer_gone();
    EXPECT_EQ(q.client.reap().error(), Error::Empty);
    EXPECT_EQ(q.client.pooled_buffers(), 2u);
    Queue r(geometry(2, 2, 64));
    ASSERT_TRUE(r.ready());
    r.client.close();
    EXPECT_EQ(r.client.reap().error(), Error::Empty);
    r.server.client_gone();
    EXPECT_EQ(r.server.live(), 0u);
}

// A completion in the ring at teardown that does not validate is not trusted; its operation
// (and any after it) completes locally, still exactly once.
TEST(TeardownHostile, BadCompletionInTheDrainIsSkippedNotDuplicated) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    std::uint16_t id = b->id();
    auto t1 = q.client.submit(op_request(1, 8), std::move(*b));
    auto t2 = q.client.submit(op_request(2));
    ASSERT_TRUE(t1.ok() && t2.ok());
    q.client.publish();
    // Hostile server: t1's completion with the wrong buffer, then a valid one for t2.
    q.raw_complete(abi::Completion{*t1, kOk, abi::kNoBuffer, 0});
    q.raw_complete(abi::Completion{*t2, kOk, abi::kNoBuffer, 0});
    q.client.peer_gone();
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 2u);
    std::map<std::uint64_t, const Reaped*> by;
    for (auto& r : done)
        by[r.user_data] = &r;
    ASSERT_EQ(by.size(), 2u);
    EXPECT_EQ(by[1]->status, kPeerGone);
    EXPECT_EQ(by[1]->buffer.id(), id);
    EXPECT_EQ(q.client.outstanding(), 0u);
}

// At teardown the client reads the completion tail one last time; an impossible tail is
// ignored (the drain stops at the last valid tail seen) and every operation still completes
// exactly once, locally.
class TeardownImpossibleTail : public ::testing::TestWithParam<bool> {};

TEST_P(TeardownImpossibleTail, EverythingCompletesLocally) {
    const bool close = GetParam();
    Queue q(geometry(4, 2, 64), 0xFFFF'FFFFu);
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    std::uint16_t id = b->id();
    auto t1 = q.client.submit(op_request(1, 8), std::move(*b));
    auto t2 = q.client.submit(op_request(2));
    ASSERT_TRUE(t1.ok() && t2.ok());
    q.client.publish();
    // A valid completion for t1 is written, but the published tail is impossible.
    std::uint32_t head = q.client.cq_head();
    q.cq_entry(head) = abi::Completion{*t1, kOk, id, 0};
    q.cq_tail().store(head + 100);
    if (close) {
        q.client.close();
    } else {
        q.client.peer_gone();
    }
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 2u);
    std::map<std::uint64_t, const Reaped*> by;
    for (auto& r : done)
        by[r.user_data] = &r;
    ASSERT_EQ(by.size(), 2u);
    const std::uint16_t status = close ? kCancelled : kPeerGone;
    EXPECT_EQ(by[1]->status, status);  // not the unpublishable Ok
    EXPECT_EQ(by[1]->buffer.id(), id);
    EXPECT_EQ(by[2]->status, status);
    EXPECT_EQ(q.client.cq_head(), head);  // nothing was read from the ring
    EXPECT_EQ(q.client.outstanding(), 0u);
}

INSTANTIATE_TEST_SUITE_P(PeerGoneOrClose, TeardownImpossibleTail, ::testing::Bool());

}  // namespace
}  // namespace keel::ipc
