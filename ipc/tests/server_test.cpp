// ipc::Server: attach, poll, take, complete, bytes, cancel_requested, publish and their error
// paths, driven by a well-behaved Client. Hostile clients are in hostile_client_test.cpp.
#include <gtest/gtest.h>

#include <optional>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

TEST(ServerAttach, RejectsBadArgumentsAndStaysUnattached) {
    const Geometry g = geometry(4, 2, 64);
    AlignedBytes shared(region_size(g) + 64);
    AlignedBytes cstore(Client::private_size(g));
    Client c;
    ASSERT_TRUE(c.create(shared.span().first(region_size(g)), cstore.span(), g).ok());
    // Room for every geometry tried below, so each refusal is about the geometry itself.
    AlignedBytes storage(Server::private_size(geometry(8, 2, 128)) + 8);
    auto try_attach = [&](std::span<std::byte> sh, std::span<std::byte> st, const Geometry& geo) {
        Server s;
        auto r = s.attach(sh, st, geo, kOpLimit);
        if (r.ok())
            return std::optional<Error>{};
        EXPECT_EQ(s.poll().error(), Error::Closed);  // still unattached
        // Nothing was announced in the shared header either.
        EXPECT_EQ(reinterpret_cast<abi::QueueHeader*>(shared.data())->server_state.load(), 0u);
        return std::optional<Error>{r.error()};
    };
    EXPECT_EQ(try_attach(shared.span(), storage.span(), geometry(5, 2, 64)),
              Error::InvalidArgument);
    EXPECT_EQ(try_attach(shared.span(), storage.span().first(Server::private_size(g) - 1), g),
              Error::InvalidArgument);
    EXPECT_EQ(try_attach(shared.span(), storage.span().subspan(4), g), Error::InvalidArgument);
    EXPECT_EQ(try_attach(shared.span().first(region_size(g) - 1), storage.span(), g),
              Error::BadLayout);
    EXPECT_EQ(try_attach(shared.span().subspan(8), storage.span(), g), Error::BadLayout);
    // A valid geometry that is not the one the client created.
    EXPECT_EQ(try_attach(shared.span(), storage.span(), geometry(8, 2, 64)), Error::BadLayout);
    EXPECT_EQ(try_attach(shared.span(), storage.span(), geometry(4, 1, 64)), Error::BadLayout);
    EXPECT_EQ(try_attach(shared.span(), storage.span(), geometry(4, 2, 128)), Error::BadLayout);
    EXPECT_FALSE(try_attach(shared.span(), storage.span(), g).has_value());
}

TEST(ServerAttach, ASecondAttachIsRefused) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    auto before = snapshot_server(q);
    AlignedBytes storage(Server::private_size(q.geometry()));
    auto r = q.server.attach(q.region(), storage.span(), q.geometry(), kOpLimit);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot_server(q), before);
}

TEST(ServerAttach, PicksUpSubmissionsPublishedBeforeIt) {
    const Geometry g = geometry(4, 2, 64);
    AlignedBytes shared(region_size(g));
    AlignedBytes cstore(Client::private_size(g));
    AlignedBytes sstore(Server::private_size(g));
    Client c;
    ASSERT_TRUE(c.create(shared.span(), cstore.span(), g, 0xFFFF'FFFFu).ok());
    ASSERT_TRUE(c.submit(op_request(1)).ok());
    ASSERT_TRUE(c.submit(op_request(2)).ok());
    c.publish();
    Server s;
    ASSERT_TRUE(s.attach(shared.span(), sstore.span(), g, kOpLimit).ok());
    EXPECT_EQ(s.sq_head(), 0xFFFF'FFFFu);
    EXPECT_EQ(s.poll().value(), 2u);
    auto ops = take_all(s);
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0].request.user_data, 1u);
    EXPECT_EQ(ops[1].request.user_data, 2u);
}

TEST(ServerCalls, BeforeAttachEverythingIsClosed) {
    Server s;
    EXPECT_EQ(s.poll().error(), Error::Closed);
    EXPECT_EQ(s.take().error(), Error::Closed);
    EXPECT_EQ(s.complete(0, 0, 0).error(), Error::Closed);
    EXPECT_FALSE(s.cancel_requested(0));
    EXPECT_FALSE(s.client_closed());
    s.publish();
    s.client_gone();
    s.close();
    EXPECT_EQ(s.live(), 0u);
    EXPECT_EQ(s.poll().error(), Error::Closed);
}

TEST(ServerPoll, EmptyRingDrainsNothing) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    auto before = snapshot_server(q);
    auto n = q.server.poll();
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
    EXPECT_EQ(q.server.take().error(), Error::Empty);
    EXPECT_EQ(snapshot_server(q), before);
}

TEST(ServerPoll, OnlyPublishedSubmissionsAreSeen) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    EXPECT_EQ(q.server.poll().value(), 0u);
    q.client.publish();
    EXPECT_EQ(q.server.poll().value(), 1u);
    EXPECT_EQ(q.sq_head().load(), 1u);  // consumption is published for the client's ring room
    EXPECT_EQ(q.server.queued(), 1u);
    EXPECT_EQ(q.server.live(), 1u);
}

TEST(ServerPoll, NopCompletesAtOnceWithItsBuffer) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    Buffer h = std::move(q.client.acquire().value());
    std::uint16_t id = h.id();
    ASSERT_TRUE(q.client.submit(op_request(5, 16, std::uint16_t(abi::Op::Nop)), std::move(h)).ok());
    ASSERT_TRUE(q.client.submit(op_request(6, 0, std::uint16_t(abi::Op::Nop))).ok());
    q.client.publish();
    EXPECT_EQ(q.server.poll().value(), 2u);
    EXPECT_EQ(q.server.queued(), 0u);
    EXPECT_EQ(q.server.buffer_held(id), rules::kHeldNo);
    EXPECT_EQ(q.cq_tail().load(), 2u);  // poll publishes what it posted
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0].status, std::uint16_t(abi::Status::Ok));
    EXPECT_EQ(done[0].buffer.id(), id);
    EXPECT_EQ(done[1].status, std::uint16_t(abi::Status::Ok));
    EXPECT_FALSE(done[1].buffer.valid());
}

TEST(ServerPoll, OpcodeLimitIsExclusive) {
    Queue q(geometry(4), 0, kOpLimit);
    ASSERT_TRUE(q.ready());
    ASSERT_TRUE(q.client.submit(op_request(1, 0, kOpLimit - 1)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2, 0, kOpLimit)).ok());
    q.client.publish();
    EXPECT_EQ(q.server.poll().value(), 2u);
    EXPECT_EQ(q.server.queued(), 1u);
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].user_data, 2u);
    EXPECT_EQ(done[0].status, std::uint16_t(abi::Status::BadRequest));
}

TEST(ServerTake, HandsOutInSubmissionOrderAndHoldsTheBuffer) {
    Queue q(geometry(4, 4, 64));
    ASSERT_TRUE(q.ready());
    std::vector<std::uint16_t> ids;
    for (std::uint64_t i = 0; i < 4; ++i) {
        Buffer h = std::move(q.client.acquire().value());
        ids.push_back(h.id());
        ASSERT_TRUE(q.client.submit(op_request(100 + i, 32), std::move(h)).ok());
    }
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 4u);
    for (auto id : ids)
        EXPECT_EQ(q.server.buffer_held(id), rules::kHeldYes);
    for (std::uint64_t i = 0; i < 4; ++i) {
        auto op = q.server.take();
        ASSERT_TRUE(op.ok());
        EXPECT_EQ(op->request.user_data, 100 + i);
        EXPECT_EQ(op->request.buffer, ids[i]);
        EXPECT_EQ(q.server.bytes(*op).size(), 32u);
        EXPECT_EQ(q.server.queued(), 3 - i);
        EXPECT_EQ(q.server.taken(), i + 1);
    }
    auto before = snapshot_server(q);
    EXPECT_EQ(q.server.take().error(), Error::Empty);
    EXPECT_EQ(snapshot_server(q), before);
    EXPECT_EQ(q.server.buffer_held(4), rules::kHeldNo);  // outside the table: never held
    EXPECT_EQ(q.server.buffer_held(abi::kNoBuffer), rules::kHeldNo);
}

TEST(ServerComplete, ErrorsChangeNothing) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    Buffer h = std::move(q.client.acquire().value());
    ASSERT_TRUE(q.client.submit(op_request(1, 8), std::move(h)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 2u);
    auto op = q.server.take();  // op 1 taken, op 2 still queued
    ASSERT_TRUE(op.ok());
    std::uint32_t queued_id = 0;
    while (queued_id == op->id)
        ++queued_id;

    auto before = snapshot_server(q);
    auto expect_refused = [&](Result<void> r, Error e) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error(), e) << error_name(r.error());
        EXPECT_EQ(snapshot_server(q), before);
    };
    expect_refused(q.server.complete(4, 0, 0), Error::InvalidArgument);  // id out of range
    expect_refused(q.server.complete(0xFFFF'FFFFu, 0, 0), Error::InvalidArgument);
    // InProgress and NotFound answer a Cancel only.
    expect_refused(q.server.complete(op->id, std::uint16_t(abi::Status::InProgress), 0),
                   Error::InvalidArgument);
    expect_refused(q.server.complete(op->id, std::uint16_t(abi::Status::NotFound), 0),
                   Error::InvalidArgument);
    // Queued (not taken) or free records are not the service's to complete.
    for (std::uint32_t id = 0; id < 4; ++id) {
        if (id != op->id)
            expect_refused(q.server.complete(id, 0, 0), Error::NotOwner);
    }
    ASSERT_TRUE(q.server.complete(op->id, std::uint16_t(abi::Status::Ok), 8).ok());
    before = snapshot_server(q);
    expect_refused(q.server.complete(op->id, 0, 0), Error::NotOwner);  // twice
    EXPECT_EQ(q.server.taken(), 0u);
    EXPECT_EQ(q.server.buffer_held(op->request.buffer), rules::kHeldNo);
}

TEST(ServerComplete, PostsOnPublishAndCountsUntilReaped) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(q.server.complete(op->id, 0, 7).ok());
    EXPECT_EQ(q.server.cq_tail(), 1u);
    EXPECT_EQ(q.cq_tail().load(), 0u);
    EXPECT_EQ(q.server.live(), 1u);  // the completion still holds its credit
    q.server.publish();
    EXPECT_EQ(q.cq_tail().load(), 1u);
    auto r = q.client.reap();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value, 7u);
    // The credit as last seen covers everything visible: the poll does not read the head and
    // the completion still counts (IPC-R-012) until the credit runs short.
    ASSERT_TRUE(q.server.poll().ok());
    EXPECT_EQ(q.server.live(), 1u);
    for (std::uint32_t i = 2; i <= 5; ++i)
        ASSERT_TRUE(q.client.submit(op_request(i)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 4u);  // read the head: all four fit
    EXPECT_EQ(q.server.live(), 4u);
}

TEST(ServerCancelRequested, OnlyForTakenOpsAskedToCancel) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    auto tag = q.client.submit(op_request(1));
    ASSERT_TRUE(tag.ok());
    q.client.publish();
    ASSERT_TRUE(q.server.poll().ok());
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    EXPECT_FALSE(q.server.cancel_requested(op->id));
    EXPECT_FALSE(q.server.cancel_requested(4));
    EXPECT_FALSE(q.server.cancel_requested(0xFFFF'FFFFu));
    ASSERT_TRUE(q.client.cancel(2, *tag).ok());
    q.client.publish();
    ASSERT_TRUE(q.server.poll().ok());
    EXPECT_TRUE(q.server.cancel_requested(op->id));
    ASSERT_TRUE(q.server.complete(op->id, std::uint16_t(abi::Status::Cancelled), 0).ok());
    EXPECT_FALSE(q.server.cancel_requested(op->id));  // the flag dies with the op
}

TEST(ServerBytes, OnlyACurrentHandleViewsItsOwnRequestsBuffer) {
    Queue q(geometry(4, 2, 128));
    ASSERT_TRUE(q.ready());
    auto l = Layout::compute(q.geometry());
    Operation forged;  // an Operation the service made up, not one take() returned
    forged.request.buffer = 1;
    forged.request.length = 128;
    EXPECT_TRUE(q.server.bytes(forged).empty());

    Buffer h = std::move(q.client.acquire().value());
    Buffer h2 = std::move(q.client.acquire().value());
    const std::uint16_t id = h.id();
    ASSERT_TRUE(q.client.submit(op_request(1, 100), std::move(h)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());  // no buffer
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 2u);
    auto op = q.server.take();
    auto bare = q.server.take();
    ASSERT_TRUE(op.ok() && bare.ok());
    auto s = q.server.bytes(*op);
    EXPECT_EQ(s.size(), 100u);
    EXPECT_EQ(s.data(), q.region().data() + l->buffers + std::size_t(id) * 128);
    EXPECT_TRUE(q.server.bytes(*bare).empty());
    // The server's own copy of the request decides, whatever the caller's copy says.
    Operation edited = *op;
    edited.request.buffer = h2.id();
    edited.request.length = 128;
    EXPECT_EQ(q.server.bytes(edited).data(), s.data());
    EXPECT_EQ(q.server.bytes(edited).size(), 100u);
    // Completed: the buffer is the client's again, and the handle views nothing.
    ASSERT_TRUE(q.server.complete(op->id, 0, 0).ok());
    EXPECT_TRUE(q.server.bytes(*op).empty());
    EXPECT_TRUE(q.server.bytes(edited).empty());
}

// IPC-R-054: a handle completes its operation once. Kept past complete(), it names nothing,
// even when its record serves another operation (the record freed last is the next one used;
// capacity 2 leaves credit for a cancel).
TEST(ServerHandles, AStaleHandleAfterReuseChangesNothing) {
    Queue q(geometry(2, 2, 64));
    ASSERT_TRUE(q.ready());
    Buffer h = std::move(q.client.acquire().value());
    ASSERT_TRUE(q.client.submit(op_request(1, 8), std::move(h)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);
    auto first = q.server.take();
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(q.server.complete(first->id, 0, 1).ok());
    q.server.publish();
    auto r1 = q.client.reap();
    ASSERT_TRUE(r1.ok());
    EXPECT_EQ(r1->user_data, 1u);

    Buffer again = std::move(r1->buffer);
    const std::uint16_t buf = again.id();
    auto tag = q.client.submit(op_request(2, 16), std::move(again));
    ASSERT_TRUE(tag.ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);
    auto second = q.server.take();
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(Server::record_index(second->id), Server::record_index(first->id));
    EXPECT_NE(second->id, first->id);
    ASSERT_TRUE(q.client.cancel(3, *tag).ok());  // flag the second operation
    q.client.publish();
    ASSERT_TRUE(q.server.poll().ok());
    EXPECT_TRUE(q.server.cancel_requested(second->id));

    auto before = snapshot_server(q);
    auto stale = q.server.complete(first->id, 0, 99);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error(), Error::NotOwner);
    EXPECT_EQ(snapshot_server(q), before);
    EXPECT_EQ(q.server.taken(), 1u);
    EXPECT_EQ(q.server.buffer_held(buf), rules::kHeldYes);
    EXPECT_FALSE(q.server.cancel_requested(first->id));
    EXPECT_TRUE(q.server.bytes(*first).empty());
    EXPECT_EQ(q.server.bytes(*second).size(), 16u);
    EXPECT_DEATH((void)q.server.request(first->id), "not the handle of a taken operation");
    EXPECT_EQ(q.server.request(second->id).user_data, 2u);

    // The second operation still completes, once, with its own value.
    ASSERT_TRUE(q.server.complete(second->id, 0, 2).ok());
    q.server.publish();
    auto r2 = q.client.reap();  // the cancel's InProgress first
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->user_data, 3u);
    auto r3 = q.client.reap();
    ASSERT_TRUE(r3.ok());
    EXPECT_EQ(r3->user_data, 2u);
    EXPECT_EQ(r3->value, 2u);
    EXPECT_EQ(q.client.reap().error(), Error::Empty);
}

TEST(ServerHandles, ADoubleCompleteChangesNothingEvenAfterClientGone) {
    Queue q(geometry(2));
    ASSERT_TRUE(q.ready());
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 2u);
    auto a = q.server.take();
    auto b = q.server.take();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(q.server.complete(a->id, 0, 0).ok());
    auto before = snapshot_server(q);
    EXPECT_EQ(q.server.complete(a->id, 0, 0).error(), Error::NotOwner);
    EXPECT_EQ(snapshot_server(q), before);
    q.server.client_gone();
    ASSERT_TRUE(q.server.complete(b->id, 0, 0).ok());  // freed, nothing posted
    before = snapshot_server(q);
    EXPECT_EQ(q.server.complete(b->id, 0, 0).error(), Error::NotOwner);
    EXPECT_EQ(q.server.complete(a->id, 0, 0).error(), Error::NotOwner);
    EXPECT_EQ(snapshot_server(q), before);
}

// Generations are 16 bits: a handle names its record at one generation, and a record's
// generation takes 2^16 reuses to come back (the same bound as client tags, IPC-R-021).
TEST(ServerHandles, EveryReuseGivesANewHandleUntilTheGenerationWraps) {
    Queue q(geometry(1));
    ASSERT_TRUE(q.ready());
    std::uint32_t first = 0;
    for (std::uint32_t i = 0; i <= 0x10000; ++i) {
        ASSERT_TRUE(q.client.submit(op_request(i)).ok());
        q.client.publish();
        ASSERT_EQ(q.server.poll().value(), 1u);
        auto op = q.server.take();
        ASSERT_TRUE(op.ok());
        EXPECT_EQ(op->id >> 16, i & 0xFFFF);
        if (i == 0)
            first = op->id;
        else if (i < 0x10000)
            ASSERT_EQ(q.server.complete(first, 0, 0).error(), Error::NotOwner);
        ASSERT_TRUE(q.server.complete(op->id, 0, 0).ok());
        q.server.publish();
        ASSERT_TRUE(q.client.reap().ok());
    }
}

}  // namespace
}  // namespace keel::ipc
