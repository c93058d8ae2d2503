// In-place submission: Client::prepare hands out the ring entry, the caller writes the
// service's fields, Client::commit passes the protocol's fields as arguments. It must queue
// exactly what submit() would, never trust what is in the entry for the protocol's fields, refuse
// what submit() refuses with nothing changed, and never queue past the credit or the ring's room
// through an entry that is no longer the one prepare() handed out.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

constexpr auto kOk = std::uint16_t(abi::Status::Ok);

TEST(InPlace, QueuesWhatSubmitWouldWithTheBufferLent) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    const std::uint16_t id = b->id();
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok()) << error_name(e.error());
    EXPECT_EQ(*e, &q.sq_entry(0));
    (*e)->object = 7;
    (*e)->offset = 0x1234;
    (*e)->args[0] = 11;
    (*e)->args[2] = 99;
    (*e)->flags = 5;
    EXPECT_EQ(q.client.outstanding(), 0u);  // prepare queues nothing
    auto tag = q.client.commit(*e, 42, kOp, 32, std::move(*b));
    ASSERT_TRUE(tag.ok()) << error_name(tag.error());
    EXPECT_FALSE(b->valid());  // ownership moved with the submission
    EXPECT_EQ(q.client.buffer_state(id), rules::kBufLent);
    EXPECT_EQ(q.client.outstanding(), 1u);
    EXPECT_EQ(q.client.sq_tail(), 1u);
    EXPECT_EQ(q.sq_tail().load(), 0u);  // invisible until publish
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    EXPECT_EQ(op->request.user_data, 42u);
    EXPECT_EQ(op->request.tag, *tag);
    EXPECT_EQ(op->request.opcode, kOp);
    EXPECT_EQ(op->request.buffer, id);
    EXPECT_EQ(op->request.length, 32u);
    EXPECT_EQ(op->request.object, 7u);
    EXPECT_EQ(op->request.offset, 0x1234u);
    EXPECT_EQ(op->request.args[0], 11u);
    EXPECT_EQ(op->request.args[2], 99u);
    EXPECT_EQ(op->request.flags, 5u);
    ASSERT_TRUE(q.server.complete(op->id, kOk, 3).ok());
    q.server.publish();
    auto r = q.client.reap();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->tag, *tag);
    EXPECT_EQ(r->user_data, 42u);
    ASSERT_TRUE(r->buffer.valid());
    EXPECT_EQ(r->buffer.id(), id);
}

TEST(InPlace, TheProtocolFieldsComeFromCommitNotFromTheEntry) {
    // Whatever the caller (or anything else) left in the entry's protocol fields, the commit's
    // arguments are what is queued and recorded: nothing is read back from shared memory.
    Queue q(geometry(2, 1, 64));
    ASSERT_TRUE(q.ready());
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok());
    (*e)->user_data = 0xdead;
    (*e)->tag = 0xffff'0001;
    (*e)->opcode = std::uint16_t(abi::Op::Cancel);
    (*e)->buffer = 0;
    (*e)->length = 4096;
    auto tag = q.client.commit(*e, 5, std::uint16_t(abi::Op::Nop));
    ASSERT_TRUE(tag.ok()) << error_name(tag.error());
    const abi::Submission& s = q.sq_entry(0);
    EXPECT_EQ(s.user_data, 5u);
    EXPECT_EQ(s.tag, *tag);
    EXPECT_EQ(s.opcode, std::uint16_t(abi::Op::Nop));
    EXPECT_EQ(s.buffer, abi::kNoBuffer);
    EXPECT_EQ(s.length, 0u);
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);  // a Nop: answered inside poll
    q.server.publish();
    auto r = q.client.reap();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->user_data, 5u);
    EXPECT_EQ(r->status, kOk);
    EXPECT_FALSE(r->buffer.valid());
    EXPECT_EQ(q.client.buffer_state(0), rules::kBufPooled);
}

TEST(InPlace, RefusalsAreSubmitsAndChangeNothing) {
    Queue q(geometry(2, 2, 64));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    Buffer h = std::move(*b);
    const std::uint16_t id = h.id();
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok());
    auto before = snapshot(q);
    auto expect_refused = [&](Result<std::uint32_t> r, Error err) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error(), err) << error_name(r.error());
        EXPECT_TRUE(h.valid());
        EXPECT_EQ(h.id(), id);
        EXPECT_EQ(snapshot(q), before);
    };
    // Longer than the buffer; Cancel (its own call); an empty or foreign handle.
    expect_refused(q.client.commit(*e, 1, kOp, 65, std::move(h)), Error::InvalidArgument);
    const auto cancel = std::uint16_t(abi::Op::Cancel);
    expect_refused(q.client.commit(*e, 1, cancel, 0, std::move(h)), Error::InvalidArgument);
    expect_refused(q.client.commit(*e, 1, cancel), Error::InvalidArgument);
    Buffer empty;
    expect_refused(q.client.commit(*e, 1, kOp, 0, std::move(empty)), Error::InvalidBuffer);
    Queue other(geometry(2, 1, 64));
    ASSERT_TRUE(other.ready());
    auto foreign = other.client.acquire();
    ASSERT_TRUE(foreign.ok());
    expect_refused(q.client.commit(*e, 1, kOp, 0, std::move(*foreign)), Error::NotOwner);
    EXPECT_TRUE(foreign->valid());
    // Not the entry prepare() handed out.
    expect_refused(q.client.commit(*e + 1, 1, kOp), Error::InvalidArgument);
    expect_refused(q.client.commit(nullptr, 1, kOp, 0, std::move(h)), Error::InvalidArgument);

    // No credit: prepare says so, as submit() would.
    ASSERT_TRUE(q.client.commit(*e, 1, kOp).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());
    before = snapshot(q);
    auto none = q.client.prepare();
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error(), Error::NoCredit);
    EXPECT_EQ(snapshot(q), before);
}

TEST(InPlace, AnEntryFromBeforeAnotherSubmissionIsRefused) {
    // prepare(), then a submission through another call: the prepared entry is now the queued
    // one's. A lap later the same address comes round again, now with no credit left: commit
    // must refuse it rather than queue a third operation into a two-entry ring.
    Queue q(geometry(2, 0, 0));
    ASSERT_TRUE(q.ready());
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    auto before = snapshot(q);
    EXPECT_EQ(q.client.commit(*e, 9, kOp).error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot(q), before);
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());  // tail 2: the same slot as *e
    ASSERT_EQ(q.client.credit(), 0u);
    before = snapshot(q);
    EXPECT_EQ(q.client.commit(*e, 9, kOp).error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot(q), before);
    EXPECT_EQ(q.sq_entry(0).user_data, 1u);  // the queued entry kept
}

TEST(InPlace, AnEntryFromALapEarlierIsRefusedWithCreditAndRoom) {
    // The refinement check's counterexample (spec/README.md): an entry prepared at tail 1,
    // then Nops at tails 1 and 2, completed and reaped; at tail 3 the slot is the prepared
    // one again, with credit and (as the client's cached head says) room. The prepared tail
    // is remembered: commit refuses the old entry, and a fresh prepare hands it out again.
    Queue q(geometry(2, 0, 0));
    ASSERT_TRUE(q.ready());
    auto nop_round_trip = [&] {
        ASSERT_TRUE(q.client.submit(Request{}).ok());
        q.client.publish();
        ASSERT_EQ(q.server.poll().value(), 1u);
        ASSERT_TRUE(q.client.reap().ok());
    };
    nop_round_trip();
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, &q.sq_entry(1));
    nop_round_trip();
    nop_round_trip();
    ASSERT_EQ(q.client.sq_tail(), 3u);
    ASSERT_EQ(q.client.credit(), 2u);
    auto before = snapshot(q);
    EXPECT_EQ(q.client.commit(*e, 9, kOp).error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot(q), before);
    auto again = q.client.prepare();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *e);
    EXPECT_TRUE(q.client.commit(*again, 9, kOp).ok());
}

TEST(InPlace, TeardownBetweenPrepareAndCommitWins) {
    Queue q(geometry(2, 1, 64));
    ASSERT_TRUE(q.ready());
    auto b = q.client.acquire();
    ASSERT_TRUE(b.ok());
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok());
    q.client.peer_gone();
    auto before = snapshot(q);
    EXPECT_EQ(q.client.commit(*e, 1, kOp, 8, std::move(*b)).error(), Error::PeerGone);
    EXPECT_TRUE(b->valid());
    EXPECT_EQ(snapshot(q), before);
    EXPECT_EQ(q.client.prepare().error(), Error::PeerGone);
    Queue c(geometry(2, 0, 0));
    ASSERT_TRUE(c.ready());
    auto ce = c.client.prepare();
    ASSERT_TRUE(ce.ok());
    c.client.close();
    EXPECT_EQ(c.client.commit(*ce, 1, kOp).error(), Error::Closed);
    EXPECT_EQ(c.client.outstanding(), 0u);
}

TEST(InPlace, AHostileHeadIsRefusedByPrepare) {
    // The server never reads (its head stays), then writes a head past the tail.
    Queue q(geometry(2, 0, 0));
    ASSERT_TRUE(q.ready());
    std::array<std::uint32_t, 2> tags{};
    for (std::uint32_t i = 0; i < 2; ++i) {
        auto e = q.client.prepare();
        ASSERT_TRUE(e.ok());
        auto t = q.client.commit(*e, i, kOp);
        ASSERT_TRUE(t.ok());
        tags[i] = *t;
    }
    q.client.publish();
    for (auto t : tags)
        q.raw_complete(abi::Completion{t, kOk, abi::kNoBuffer, 0});
    ASSERT_EQ(reap_all(q.client).size(), 2u);
    auto before = snapshot(q);
    EXPECT_EQ(q.client.prepare().error(), Error::RingFull);
    EXPECT_EQ(snapshot(q), before);
    q.sq_head().store(7);  // impossible: past the tail
    EXPECT_EQ(q.client.prepare().error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot(q), before);
    q.sq_head().store(1);  // one read: one entry fits
    auto e = q.client.prepare();
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, &q.sq_entry(2));
    EXPECT_TRUE(q.client.commit(*e, 3, kOp).ok());
}

}  // namespace
}  // namespace keel::ipc
