// ipc::Client: create, the buffer pool and the move-only handle, submit and its error paths
// (each must leave the client and the handle exactly as before), publish, reap.
#include <gtest/gtest.h>

#include <optional>

#include <cstring>
#include <set>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

// ---- create ---------------------------------------------------------------------------------

TEST(ClientCreate, WritesAHeaderTheServerAccepts) {
    Queue q(geometry(8, 3, 128), 0xFFFF'FFF0u);
    ASSERT_TRUE(q.ready());
    const auto& h = q.header();
    auto l = Layout::compute(q.geometry());
    EXPECT_EQ(h.magic, abi::kMagic);
    EXPECT_EQ(h.version, abi::kVersion);
    EXPECT_EQ(h.header_size, sizeof(abi::QueueHeader));
    EXPECT_EQ(h.capacity, 8u);
    EXPECT_EQ(h.buffer_count, 3u);
    EXPECT_EQ(h.buffer_size, 128u);
    EXPECT_EQ(h.sq_entries, l->sq_entries);
    EXPECT_EQ(h.cq_entries, l->cq_entries);
    EXPECT_EQ(h.buffers, l->buffers);
    EXPECT_EQ(h.total_size, l->total_size);
    EXPECT_EQ(h.client_state.load(), abi::kEndpointOpen);
    EXPECT_EQ(h.server_state.load(), abi::kEndpointOpen);  // the server attached
    for (auto* c : {&q.sq_head(), &q.sq_tail(), &q.cq_head(), &q.cq_tail()}) {
        EXPECT_EQ(c->load(), 0xFFFF'FFF0u);
    }
    EXPECT_EQ(q.client.sq_tail(), 0xFFFF'FFF0u);
    EXPECT_EQ(q.client.cq_head(), 0xFFFF'FFF0u);
    EXPECT_EQ(q.client.capacity(), 8u);
    EXPECT_EQ(q.client.credit(), 8u);
    EXPECT_EQ(q.client.outstanding(), 0u);
    EXPECT_EQ(q.client.buffer_count(), 3u);
    EXPECT_EQ(q.client.buffer_size(), 128u);
    EXPECT_EQ(q.client.pooled_buffers(), 3u);
    for (std::uint16_t id = 0; id < 3; ++id)
        EXPECT_EQ(q.client.buffer_state(id), rules::kBufPooled);
    // Ids outside the table are never the client's.
    EXPECT_EQ(q.client.buffer_state(3), rules::kBufLent);
    EXPECT_EQ(q.client.buffer_state(abi::kNoBuffer), rules::kBufLent);
    EXPECT_FALSE(q.client.torn_down());
    EXPECT_FALSE(q.client.server_closed());
}

TEST(ClientCreate, RejectsBadArguments) {
    const Geometry g = geometry(4, 2, 64);
    AlignedBytes shared(region_size(g) + 64);
    AlignedBytes storage(Client::private_size(g) + 8);
    auto try_create = [&](std::span<std::byte> sh, std::span<std::byte> st, const Geometry& geo) {
        Client c;
        auto r = c.create(sh, st, geo);
        if (r.ok())
            return std::optional<Error>{};
        EXPECT_EQ(c.acquire().error(), Error::Closed);  // a failed create leaves it unusable
        return std::optional<Error>{r.error()};
    };
    EXPECT_EQ(try_create(shared.span(), storage.span(), geometry(3, 2, 64)),
              Error::InvalidArgument);
    EXPECT_EQ(try_create(shared.span(), storage.span().first(Client::private_size(g) - 1), g),
              Error::InvalidArgument);
    EXPECT_EQ(try_create(shared.span(), storage.span().subspan(4), g), Error::InvalidArgument);
    EXPECT_EQ(try_create(shared.span().first(region_size(g) - 1), storage.span(), g),
              Error::BadLayout);
    EXPECT_EQ(try_create(shared.span().subspan(8), storage.span(), g), Error::BadLayout);
    EXPECT_FALSE(try_create(shared.span(), storage.span(), g).has_value());
}

TEST(ClientCreate, ASecondCreateIsRefusedAndChangesNothing) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    auto before = snapshot(q);
    AlignedBytes other(region_size(q.geometry()));
    AlignedBytes storage(Client::private_size(q.geometry()));
    auto r = q.client.create(other.span(), storage.span(), q.geometry());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot(q), before);
}

TEST(ClientCreate, EveryCallBeforeCreateFailsClosed) {
    Client c;
    Request r;
    EXPECT_EQ(c.acquire().error(), Error::Closed);
    EXPECT_EQ(c.reap().error(), Error::Closed);
    EXPECT_EQ(c.submit(r).error(), Error::Closed);
    EXPECT_EQ(c.cancel(1, 0).error(), Error::Closed);
    EXPECT_EQ(c.cancel_user_data(1, 0).error(), Error::Closed);
    c.publish();    // no region: must not touch anything
    c.peer_gone();  // nor these
    c.close();
    EXPECT_FALSE(c.server_closed());
    EXPECT_EQ(c.reap().error(), Error::Closed);
}

TEST(ClientTags, EachPendingTagHasItsOwnSlotIndexBelowCapacity) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    std::set<std::uint32_t> slots;
    for (int i = 0; i < 4; ++i) {
        auto tag = q.client.submit(Request{});
        ASSERT_TRUE(tag.ok());
        const std::uint32_t slot = rules::tag_slot_index(*tag);
        EXPECT_LT(slot, 4u);
        EXPECT_EQ(slot, rules::tag_slot<std::uint32_t>(*tag));  // the proven function's answer
        slots.insert(slot);
    }
    EXPECT_EQ(slots.size(), 4u);
}

// ---- the pool and the handle -----------------------------------------------------------------

TEST(ClientBuffers, AcquireHandsOutEachBufferOnceThenEmpty) {
    Queue q(geometry(4, 3));
    ASSERT_TRUE(q.ready());
    std::vector<Buffer> held;
    std::set<std::uint16_t> ids;
    for (int i = 0; i < 3; ++i) {
        auto b = q.client.acquire();
        ASSERT_TRUE(b.ok());
        EXPECT_TRUE(b->valid());
        EXPECT_EQ(q.client.buffer_state(b->id()), rules::kBufInHand);
        ids.insert(b->id());
        held.push_back(std::move(*b));
    }
    EXPECT_EQ(ids, (std::set<std::uint16_t>{0, 1, 2}));
    EXPECT_EQ(q.client.pooled_buffers(), 0u);
    auto before = snapshot(q);
    auto none = q.client.acquire();
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error(), Error::Empty);
    EXPECT_EQ(snapshot(q), before);
    held.clear();  // dropping the handles returns every buffer
    EXPECT_EQ(q.client.pooled_buffers(), 3u);
    for (std::uint16_t id = 0; id < 3; ++id)
        EXPECT_EQ(q.client.buffer_state(id), rules::kBufPooled);
}

TEST(ClientBuffers, NoBuffersMeansEmpty) {
    Queue q(Geometry{2, 0, 0});
    ASSERT_TRUE(q.ready());
    EXPECT_EQ(q.client.acquire().error(), Error::Empty);
}

TEST(ClientBuffers, ReleaseReturnsToPoolAndEmptiesTheHandle) {
    Queue q(geometry(4, 2));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    std::uint16_t id = b->id();
    ASSERT_TRUE(q.client.release(std::move(*b)).ok());
    EXPECT_FALSE(b->valid());
    EXPECT_EQ(b->id(), abi::kNoBuffer);
    EXPECT_EQ(q.client.buffer_state(id), rules::kBufPooled);
    EXPECT_EQ(q.client.pooled_buffers(), 2u);
}

TEST(ClientBuffers, ReleaseTwiceIsInvalidBufferAndChangesNothing) {
    Queue q(geometry(4, 2));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    Buffer h = std::move(*b);
    ASSERT_TRUE(q.client.release(std::move(h)).ok());
    auto other = q.client.acquire();  // someone else now holds a buffer: it must stay theirs
    ASSERT_TRUE(other.ok());
    auto before = snapshot(q);
    auto again = q.client.release(std::move(h));
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error(), Error::InvalidBuffer);
    EXPECT_EQ(snapshot(q), before);
    EXPECT_TRUE(other->valid());
}

TEST(ClientBuffers, MovedFromHandleIsEmpty) {
    Queue q(geometry(4, 2));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    Buffer a = std::move(*b);
    Buffer moved = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_TRUE(moved.valid());
    auto before = snapshot(q);
    EXPECT_EQ(q.client.release(std::move(a)).error(), Error::InvalidBuffer);
    EXPECT_EQ(q.client.submit(op_request(1), std::move(a)).error(), Error::InvalidBuffer);
    EXPECT_TRUE(q.client.bytes(a).empty());
    a.reset();  // resetting an empty handle is harmless
    EXPECT_EQ(snapshot(q), before);
}

TEST(ClientBuffers, MoveAssignmentReturnsTheOverwrittenBuffer) {
    Queue q(geometry(4, 2));
    ASSERT_TRUE(q.ready());
    auto a = q.client.acquire();
    auto b = q.client.acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    std::uint16_t a_id = a->id();
    std::uint16_t b_id = b->id();
    Buffer x = std::move(*a);
    Buffer y = std::move(*b);
    x = std::move(y);  // x's old buffer must go back to the pool, not leak
    EXPECT_EQ(x.id(), b_id);
    EXPECT_EQ(q.client.buffer_state(a_id), rules::kBufPooled);
    EXPECT_EQ(q.client.buffer_state(b_id), rules::kBufInHand);
    EXPECT_EQ(q.client.pooled_buffers(), 1u);
    Buffer& self = x;
    x = std::move(self);  // self-move keeps the buffer
    EXPECT_TRUE(x.valid());
    EXPECT_EQ(q.client.buffer_state(b_id), rules::kBufInHand);
}

TEST(ClientBuffers, ForeignHandleIsRefusedAndKept) {
    Queue q(geometry(4, 2));
    Queue other(geometry(4, 2));
    ASSERT_TRUE(q.ready() && other.ready());
    auto foreign = other.client.acquire();
    ASSERT_TRUE(foreign.ok());
    Buffer f = std::move(*foreign);
    auto before = snapshot(q);
    auto other_before = snapshot(other);

    EXPECT_EQ(q.client.release(std::move(f)).error(), Error::NotOwner);
    EXPECT_TRUE(f.valid());
    EXPECT_EQ(q.client.submit(op_request(1, 8), std::move(f)).error(), Error::NotOwner);
    EXPECT_TRUE(f.valid());
    EXPECT_TRUE(q.client.bytes(f).empty());
    EXPECT_EQ(snapshot(q), before);
    EXPECT_EQ(snapshot(other), other_before);
    // The handle still works with its own client.
    EXPECT_TRUE(other.client.release(std::move(f)).ok());
    EXPECT_EQ(other.client.pooled_buffers(), 2u);
}

TEST(ClientBuffers, BytesAreTheBuffersOwnSlice) {
    Queue q(geometry(4, 3, 128));
    ASSERT_TRUE(q.ready());
    auto l = Layout::compute(q.geometry());
    std::vector<Buffer> bs;
    for (int i = 0; i < 3; ++i)
        bs.push_back(std::move(q.client.acquire().value()));
    for (auto& b : bs) {
        auto s = q.client.bytes(b);
        EXPECT_EQ(s.size(), 128u);
        EXPECT_EQ(s.data(), q.region().data() + l->buffers + std::size_t(b.id()) * 128);
    }
}

// ---- submit -----------------------------------------------------------------------------------

TEST(ClientSubmit, WritesTheRequestIntoTheRingAndPublishes) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    std::uint16_t id = b->id();
    Request r;
    r.user_data = 0x1122334455667788u;
    r.opcode = kOp + 1;
    r.object = 77;
    r.length = 64;
    r.offset = 0xABCDEF;
    r.args[0] = 1;
    r.args[1] = 2;
    r.args[2] = 3;
    r.flags = 9;
    auto tag = q.client.submit(r, std::move(*b));
    ASSERT_TRUE(tag.ok());
    EXPECT_FALSE(b->valid());  // ownership moved with the submission
    EXPECT_EQ(q.client.buffer_state(id), rules::kBufLent);
    EXPECT_EQ(q.client.outstanding(), 1u);
    EXPECT_EQ(q.client.credit(), 3u);
    EXPECT_EQ(q.client.sq_tail(), 1u);
    EXPECT_EQ(q.sq_tail().load(), 0u);  // invisible until publish
    q.client.publish();
    EXPECT_EQ(q.sq_tail().load(), 1u);

    const abi::Submission& e = q.sq_entry(0);
    EXPECT_EQ(e.user_data, r.user_data);
    EXPECT_EQ(e.tag, *tag);
    EXPECT_EQ(e.opcode, r.opcode);
    EXPECT_EQ(e.buffer, id);
    EXPECT_EQ(e.object, 77u);
    EXPECT_EQ(e.length, 64u);
    EXPECT_EQ(e.offset, 0xABCDEFu);
    EXPECT_EQ(e.args[0], 1u);
    EXPECT_EQ(e.args[1], 2u);
    EXPECT_EQ(e.args[2], 3u);
    EXPECT_EQ(e.flags, 9u);
    EXPECT_EQ(e.reserved0, 0u);  // the shared region started as garbage: this was written

    auto t2 = q.client.submit(op_request(5));
    ASSERT_TRUE(t2.ok());
    EXPECT_EQ(q.sq_entry(1).buffer, abi::kNoBuffer);
    EXPECT_NE(*t2, *tag);
}

TEST(ClientSubmit, TagsAreUniqueAmongLiveOpsAndChangeOnReuse) {
    Queue q(geometry(4, 0, 0));
    ASSERT_TRUE(q.ready());
    std::set<std::uint32_t> live;
    for (int i = 0; i < 4; ++i) {
        auto t = q.client.submit(op_request(i, 0, std::uint16_t(abi::Op::Nop)));
        ASSERT_TRUE(t.ok());
        EXPECT_LT(rules::tag_slot<std::uint32_t>(*t), 4u);
        live.insert(*t);
    }
    EXPECT_EQ(live.size(), 4u);
    q.client.publish();
    ASSERT_TRUE(q.server.poll().ok());
    auto done = reap_all(q.client);
    ASSERT_EQ(done.size(), 4u);
    for (int i = 0; i < 4; ++i) {
        auto t = q.client.submit(op_request(i, 0, std::uint16_t(abi::Op::Nop)));
        ASSERT_TRUE(t.ok());
        EXPECT_EQ(live.count(*t), 0u) << "a reused slot must carry a new generation";
    }
}

TEST(ClientSubmit, ErrorsLeaveClientAndHandleUntouched) {
    Queue q(geometry(2, 2, 64));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    Buffer h = std::move(*b);
    std::uint16_t id = h.id();
    auto before = snapshot(q);
    auto expect_refused = [&](Result<std::uint32_t> r, Error e) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error(), e) << error_name(r.error());
        EXPECT_TRUE(h.valid());
        EXPECT_EQ(h.id(), id);
        EXPECT_EQ(snapshot(q), before);
    };
    // Longer than the buffer.
    expect_refused(q.client.submit(op_request(1, 65), std::move(h)), Error::InvalidArgument);
    // Cancel is its own call, with or without a buffer.
    Request cancel = op_request(1, 0, std::uint16_t(abi::Op::Cancel));
    expect_refused(q.client.submit(cancel, std::move(h)), Error::InvalidArgument);
    expect_refused(q.client.submit(cancel), Error::InvalidArgument);
    // A length with no buffer to describe.
    expect_refused(q.client.submit(op_request(1, 8)), Error::InvalidArgument);

    // No credit: both slots are taken.
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());
    before = snapshot(q);
    expect_refused(q.client.submit(op_request(3, 64), std::move(h)), Error::NoCredit);
    expect_refused(q.client.submit(op_request(3)), Error::NoCredit);
    expect_refused(q.client.cancel(3, 0), Error::NoCredit);
    expect_refused(q.client.cancel_user_data(3, 1), Error::NoCredit);

    // The full length of the buffer is fine once credit is back.
    q.client.publish();
    ASSERT_TRUE(q.server.poll().ok());
    for (auto& op : take_all(q.server))
        ASSERT_TRUE(q.server.complete(op.id, 0, 0).ok());
    q.server.publish();
    EXPECT_EQ(reap_all(q.client).size(), 2u);
    EXPECT_TRUE(q.client.submit(op_request(4, 64), std::move(h)).ok());
    EXPECT_FALSE(h.valid());
}

TEST(ClientSubmit, ALentBufferCannotBeSubmittedOrReleasedAgain) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    Buffer h = std::move(q.client.acquire().value());
    std::uint16_t id = h.id();
    ASSERT_TRUE(q.client.submit(op_request(1, 8), std::move(h)).ok());
    ASSERT_EQ(q.client.buffer_state(id), rules::kBufLent);
    auto before = snapshot(q);
    // The submit emptied the handle: there is nothing left to lend or release.
    EXPECT_EQ(q.client.submit(op_request(2, 8), std::move(h)).error(), Error::InvalidBuffer);
    EXPECT_EQ(q.client.release(std::move(h)).error(), Error::InvalidBuffer);
    // Nor can the pool hand it out while it is lent.
    auto other = q.client.acquire();
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->id(), id);
    EXPECT_EQ(q.client.acquire().error(), Error::Empty);
    other->reset();
    EXPECT_EQ(snapshot(q), before);
}

// ---- publish and reap --------------------------------------------------------------------------

TEST(ClientReap, EmptyRingIsEmptyAndChangesNothing) {
    Queue q(geometry(4));
    ASSERT_TRUE(q.ready());
    auto before = snapshot(q);
    EXPECT_EQ(q.client.reap().error(), Error::Empty);
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    q.client.publish();
    before = snapshot(q);
    EXPECT_EQ(q.client.reap().error(), Error::Empty);  // submitted, not completed
    EXPECT_EQ(snapshot(q), before);
}

TEST(ClientReap, ReturnsTheCompletionWithItsBuffer) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    Buffer h = std::move(q.client.acquire().value());
    std::uint16_t id = h.id();
    std::memcpy(q.client.bytes(h).data(), "ping", 4);
    auto tag = q.client.submit(op_request(99, 4), std::move(h));
    ASSERT_TRUE(tag.ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    auto in = q.server.bytes(*op);
    ASSERT_EQ(in.size(), 4u);
    EXPECT_EQ(std::memcmp(in.data(), "ping", 4), 0);
    std::memcpy(in.data(), "pong", 4);
    ASSERT_TRUE(q.server.complete(op->id, abi::kFirstServiceStatus, 4).ok());
    EXPECT_EQ(q.client.reap().error(), Error::Empty);  // posted, not yet published
    q.server.publish();
    auto r = q.client.reap();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->user_data, 99u);
    EXPECT_EQ(r->tag, *tag);
    EXPECT_EQ(r->status, abi::kFirstServiceStatus);
    EXPECT_EQ(r->value, 4u);
    EXPECT_FALSE(r->is_cancel);
    ASSERT_TRUE(r->buffer.valid());
    EXPECT_EQ(r->buffer.id(), id);
    EXPECT_EQ(q.client.buffer_state(id), rules::kBufInHand);
    EXPECT_EQ(std::memcmp(q.client.bytes(r->buffer).data(), "pong", 4), 0);
    EXPECT_EQ(q.client.outstanding(), 0u);
    EXPECT_EQ(q.client.cq_head(), 1u);
    EXPECT_EQ(q.cq_head().load(), 1u);  // consumption is published for the server's credit
    EXPECT_EQ(q.client.reap().error(), Error::Empty);
}

}  // namespace
}  // namespace keel::ipc
