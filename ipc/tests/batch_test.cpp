// The batched calls: Client::submit_batch, Client::reap_batch and Server::take_id/request.
// Each must do exactly what the one-at-a-time calls would do, in order, stop at the first
// request or completion the single call would refuse, and change nothing when it fails.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <set>
#include <vector>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

constexpr auto kOk = std::uint16_t(abi::Status::Ok);

// Completes every queued operation with Ok (value = its user_data) through take_id/request.
std::uint32_t serve_all(Server& s) {
    std::uint32_t n = 0;
    for (;;) {
        auto id = s.take_id();
        if (!id) {
            EXPECT_EQ(id.error(), Error::Empty) << error_name(id.error());
            break;
        }
        EXPECT_TRUE(s.complete(*id, kOk, s.request(*id).user_data).ok());
        ++n;
    }
    s.publish();
    return n;
}

// ---- submit_batch ---------------------------------------------------------------------------

TEST(SubmitBatch, WritesTheSameEntriesAsSubmitInOrder) {
    Queue q(geometry(8, 4, 64));
    ASSERT_TRUE(q.ready());
    std::array<Request, 3> reqs{op_request(10), op_request(11), op_request(12, 0, kOp + 1)};
    reqs[1].object = 7;
    reqs[1].offset = 0x1234;
    reqs[1].args[2] = 99;
    reqs[1].flags = 5;
    std::array<std::uint32_t, 3> tags{};
    auto n = q.client.submit_batch(reqs, tags);
    ASSERT_TRUE(n.ok()) << error_name(n.error());
    EXPECT_EQ(*n, 3u);
    EXPECT_EQ(q.client.outstanding(), 3u);
    EXPECT_EQ(q.client.sq_tail(), 3u);
    EXPECT_EQ(q.sq_tail().load(), 0u);  // invisible until publish
    q.client.publish();
    EXPECT_EQ(q.sq_tail().load(), 3u);
    std::set<std::uint32_t> distinct(tags.begin(), tags.end());
    EXPECT_EQ(distinct.size(), 3u);
    for (std::uint32_t i = 0; i < 3; ++i) {
        const abi::Submission& e = q.sq_entry(i);
        EXPECT_EQ(e.user_data, reqs[i].user_data);
        EXPECT_EQ(e.tag, tags[i]);
        EXPECT_EQ(e.opcode, reqs[i].opcode);
        EXPECT_EQ(e.buffer, abi::kNoBuffer);
        EXPECT_EQ(e.object, reqs[i].object);
        EXPECT_EQ(e.length, 0u);
        EXPECT_EQ(e.offset, reqs[i].offset);
        EXPECT_EQ(e.args[0], reqs[i].args[0]);
        EXPECT_EQ(e.args[2], reqs[i].args[2]);
        EXPECT_EQ(e.flags, reqs[i].flags);
        EXPECT_EQ(e.reserved0, 0u);
    }
    // The server sees them in order.
    ASSERT_EQ(q.server.poll().value(), 3u);
    for (std::uint32_t i = 0; i < 3; ++i) {
        auto id = q.server.take_id();
        ASSERT_TRUE(id.ok());
        EXPECT_EQ(q.server.request(*id).user_data, reqs[i].user_data);
        EXPECT_EQ(q.server.request(*id).tag, tags[i]);
    }
}

TEST(SubmitBatch, LendsEachBufferAndEmptiesItsHandle) {
    Queue q(geometry(4, 4, 64));
    ASSERT_TRUE(q.ready());
    std::array<Buffer, 3> bufs;
    std::array<std::uint16_t, 3> ids{};
    for (std::size_t i = 0; i < bufs.size(); ++i) {
        bufs[i] = std::move(q.client.acquire().value());
        ids[i] = bufs[i].id();
    }
    std::array<Request, 3> reqs{op_request(1, 64), op_request(2, 8), op_request(3, 0)};
    auto n = q.client.submit_batch(reqs, bufs);
    ASSERT_TRUE(n.ok()) << error_name(n.error());
    EXPECT_EQ(*n, 3u);
    for (std::size_t i = 0; i < bufs.size(); ++i) {
        EXPECT_FALSE(bufs[i].valid());
        EXPECT_EQ(q.client.buffer_state(ids[i]), rules::kBufLent);
        EXPECT_EQ(q.sq_entry(std::uint32_t(i)).buffer, ids[i]);
        EXPECT_EQ(q.sq_entry(std::uint32_t(i)).length, reqs[i].length);
    }
    EXPECT_EQ(q.client.pooled_buffers(), 1u);
}

TEST(SubmitBatch, StopsAtTheFirstRefusedRequestAndLeavesTheRest) {
    Queue q(geometry(8, 4, 64));
    ASSERT_TRUE(q.ready());
    // Request 2 is a Cancel (only cancel() may send one): 0 and 1 go, 2 and 3 stay.
    std::array<Request, 4> reqs{op_request(1), op_request(2),
                                op_request(3, 0, std::uint16_t(abi::Op::Cancel)), op_request(4)};
    auto n = q.client.submit_batch(reqs);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 2u);
    EXPECT_EQ(q.client.outstanding(), 2u);
    EXPECT_EQ(q.client.sq_tail(), 2u);

    // With buffers: request 1's length exceeds the buffer; its handle keeps its buffer.
    std::array<Buffer, 2> bufs;
    for (auto& b : bufs)
        b = std::move(q.client.acquire().value());
    const std::uint16_t kept = bufs[1].id();
    std::array<Request, 2> breqs{op_request(5, 64), op_request(6, 65)};
    auto m = q.client.submit_batch(breqs, bufs);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(*m, 1u);
    EXPECT_FALSE(bufs[0].valid());
    ASSERT_TRUE(bufs[1].valid());
    EXPECT_EQ(bufs[1].id(), kept);
    EXPECT_EQ(q.client.buffer_state(kept), rules::kBufInHand);
    EXPECT_EQ(q.client.outstanding(), 3u);
}

TEST(SubmitBatch, StopsWhenCreditRunsOut) {
    Queue q(geometry(4, 0, 0));
    ASSERT_TRUE(q.ready());
    std::vector<Request> reqs;
    for (int i = 0; i < 6; ++i)
        reqs.push_back(op_request(std::uint64_t(i)));
    auto n = q.client.submit_batch(reqs);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 4u);  // capacity 4: the credit of the whole queue
    auto before = snapshot(q);
    auto again = q.client.submit_batch(std::span<const Request>(reqs).subspan(4));
    EXPECT_EQ(again.error(), Error::NoCredit);
    EXPECT_EQ(snapshot(q), before);
}

TEST(SubmitBatch, AFailedCallIsTheFirstRequestsErrorAndChangesNothing) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    auto before = snapshot(q);
    std::array<Request, 2> reqs{op_request(1, 8), op_request(2)};
    EXPECT_EQ(q.client.submit_batch(reqs).error(), Error::InvalidArgument);  // length, no buffer
    std::array<Buffer, 2> empty;
    EXPECT_EQ(q.client.submit_batch(reqs, empty).error(), Error::InvalidBuffer);
    std::array<Buffer, 1> one;
    EXPECT_EQ(q.client.submit_batch(reqs, one).error(), Error::InvalidArgument);  // sizes
    std::array<std::uint32_t, 1> short_tags{};
    EXPECT_EQ(q.client.submit_batch(reqs, short_tags).error(), Error::InvalidArgument);
    EXPECT_EQ(snapshot(q), before);
    // Another client's buffer: NotOwner, and the handle keeps it.
    Queue other(geometry(4, 2, 64));
    ASSERT_TRUE(other.ready());
    std::array<Buffer, 1> foreign{std::move(other.client.acquire().value())};
    std::array<Request, 1> r1{op_request(3, 8)};
    EXPECT_EQ(q.client.submit_batch(r1, foreign).error(), Error::NotOwner);
    EXPECT_TRUE(foreign[0].valid());
    EXPECT_EQ(snapshot(q), before);
    // After teardown: PeerGone, as submit().
    q.client.peer_gone();
    before = snapshot(q);
    std::array<Request, 2> ok{op_request(4), op_request(5)};
    EXPECT_EQ(q.client.submit_batch(ok).error(), Error::PeerGone);
    EXPECT_EQ(snapshot(q), before);
    // An empty batch is no error and changes nothing.
    auto none = q.client.submit_batch(std::span<const Request>());
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, 0u);
}

TEST(SubmitBatch, ARingFullOfUnreadEntriesStopsTheBatch) {
    // The server never polls: its head stays put. Credit is reaped back by hand (a hostile
    // server completing what it never read), so only the ring room can stop the batch.
    Queue q(geometry(2, 0, 0));
    ASSERT_TRUE(q.ready());
    std::array<Request, 2> reqs{op_request(1), op_request(2)};
    std::array<std::uint32_t, 2> tags{};
    ASSERT_EQ(q.client.submit_batch(reqs, tags).value(), 2u);
    q.client.publish();
    q.raw_complete(abi::Completion{tags[0], kOk, abi::kNoBuffer, 0});
    q.raw_complete(abi::Completion{tags[1], kOk, abi::kNoBuffer, 0});
    std::array<Reaped, 2> out;
    ASSERT_EQ(q.client.reap_batch(out).value(), 2u);
    auto before = snapshot(q);
    EXPECT_EQ(q.client.submit_batch(reqs).error(), Error::RingFull);
    EXPECT_EQ(snapshot(q), before);
    q.sq_head().store(1);  // the server read one entry: one more fits
    auto n = q.client.submit_batch(reqs);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1u);
    q.sq_head().store(7);  // impossible: past the tail
    std::array<Request, 1> one{op_request(3)};
    before = snapshot(q);
    EXPECT_EQ(q.client.submit_batch(one).error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot(q), before);
}

// ---- reap_batch -----------------------------------------------------------------------------

TEST(ReapBatch, ReapsWhatReapWouldInOrderWithOneHeadStore) {
    Queue q(geometry(8, 4, 64), 0xFFFF'FFFDu);  // the counters wrap during the test
    ASSERT_TRUE(q.ready());
    std::array<Buffer, 2> bufs;
    std::array<std::uint16_t, 2> ids{};
    for (std::size_t i = 0; i < 2; ++i) {
        bufs[i] = std::move(q.client.acquire().value());
        ids[i] = bufs[i].id();
    }
    std::array<Request, 2> breqs{op_request(1, 64), op_request(2, 64)};
    std::array<std::uint32_t, 2> btags{};
    ASSERT_EQ(q.client.submit_batch(breqs, bufs, btags).value(), 2u);
    std::array<Request, 2> reqs{op_request(3), op_request(4)};
    std::array<std::uint32_t, 2> tags{};
    ASSERT_EQ(q.client.submit_batch(reqs, tags).value(), 2u);
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 4u);
    ASSERT_EQ(serve_all(q.server), 4u);

    std::array<Reaped, 3> out;
    out[2].buffer = std::move(q.client.acquire().value());  // overwritten: back to the pool
    const std::uint32_t pooled = q.client.pooled_buffers();
    const std::uint32_t head0 = q.client.cq_head();
    auto n = q.client.reap_batch(out);
    ASSERT_TRUE(n.ok()) << error_name(n.error());
    EXPECT_EQ(*n, 3u);
    EXPECT_EQ(q.client.pooled_buffers(), pooled + 1);
    EXPECT_EQ(q.client.cq_head(), head0 + 3);
    EXPECT_EQ(q.cq_head().load(), head0 + 3);
    for (std::uint32_t i = 0; i < 2; ++i) {
        EXPECT_EQ(out[i].user_data, breqs[i].user_data);
        EXPECT_EQ(out[i].tag, btags[i]);
        EXPECT_EQ(out[i].status, kOk);
        EXPECT_EQ(out[i].value, breqs[i].user_data);
        EXPECT_FALSE(out[i].is_cancel);
        ASSERT_TRUE(out[i].buffer.valid());
        EXPECT_EQ(out[i].buffer.id(), ids[i]);
        EXPECT_EQ(q.client.buffer_state(ids[i]), rules::kBufInHand);
    }
    EXPECT_EQ(out[2].tag, tags[0]);
    EXPECT_FALSE(out[2].buffer.valid());
    EXPECT_EQ(q.client.outstanding(), 1u);

    // The rest: fewer than asked for.
    std::array<Reaped, 4> more;
    auto m = q.client.reap_batch(more);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(*m, 1u);
    EXPECT_EQ(more[0].tag, tags[1]);
    EXPECT_EQ(q.client.outstanding(), 0u);
    auto before = snapshot(q);
    EXPECT_EQ(q.client.reap_batch(more).error(), Error::Empty);
    EXPECT_EQ(snapshot(q), before);
    auto none = q.client.reap_batch(std::span<Reaped>());
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, 0u);
}

TEST(ReapBatch, ABadCompletionAfterGoodOnesEndsTheBatchAndIsReportedNext) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    std::array<Request, 3> reqs{op_request(1), op_request(2), op_request(3)};
    std::array<std::uint32_t, 3> tags{};
    ASSERT_EQ(q.client.submit_batch(reqs, tags).value(), 3u);
    q.client.publish();
    // A hostile server: a good completion, a duplicate of it, then a good one.
    q.raw_complete(abi::Completion{tags[0], kOk, abi::kNoBuffer, 0});
    q.raw_complete(abi::Completion{tags[0], kOk, abi::kNoBuffer, 0});
    q.raw_complete(abi::Completion{tags[2], kOk, abi::kNoBuffer, 0});
    std::array<Reaped, 3> out;
    auto n = q.client.reap_batch(out);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(out[0].tag, tags[0]);
    EXPECT_EQ(q.cq_head().load(), 1u);
    auto before = snapshot(q);
    EXPECT_EQ(q.client.reap_batch(out).error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot(q), before);
    EXPECT_EQ(q.client.reap().error(), Error::ProtocolViolation);  // reap agrees
    // An impossible tail: refused, nothing changed.
    Queue q2(geometry(4, 0, 0));
    ASSERT_TRUE(q2.ready());
    ASSERT_TRUE(q2.client.submit(op_request(1)).ok());
    q2.cq_tail().store(9);
    before = snapshot(q2);
    EXPECT_EQ(q2.client.reap_batch(out).error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot(q2), before);
}

TEST(ReapBatch, AfterTeardownDrainsExactlyAsReap) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    Buffer b = std::move(q.client.acquire().value());
    const std::uint16_t id = b.id();
    std::array<Request, 1> breq{op_request(1, 8)};
    std::array<Buffer, 1> bufs{std::move(b)};
    ASSERT_EQ(q.client.submit_batch(breq, bufs).value(), 1u);
    std::array<Request, 2> reqs{op_request(2), op_request(3)};
    ASSERT_EQ(q.client.submit_batch(reqs).value(), 2u);
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 3u);
    auto first = q.server.take_id();  // op 1 completes; 2 and 3 never do
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(q.server.complete(*first, kOk, 0).ok());
    q.server.publish();
    q.client.peer_gone();
    std::array<Reaped, 8> out;
    auto n = q.client.reap_batch(out);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 3u);
    EXPECT_EQ(out[0].status, kOk);  // the completion the server had posted
    ASSERT_TRUE(out[0].buffer.valid());
    EXPECT_EQ(out[0].buffer.id(), id);
    EXPECT_EQ(out[1].status, std::uint16_t(abi::Status::PeerGone));
    EXPECT_EQ(out[2].status, std::uint16_t(abi::Status::PeerGone));
    EXPECT_EQ(q.client.outstanding(), 0u);
    EXPECT_EQ(q.client.reap_batch(out).error(), Error::Empty);
}

TEST(ReapBatch, BeforeCreateIsClosed) {
    Client c;
    std::array<Reaped, 2> out;
    EXPECT_EQ(c.reap_batch(out).error(), Error::Closed);
    std::array<Request, 2> reqs{op_request(1), op_request(2)};
    EXPECT_EQ(c.submit_batch(reqs).error(), Error::Closed);
}

// Many rounds through every buffer: none is ever lost or handed out twice.
TEST(ReapBatch, BuffersSurviveManyRounds) {
    Queue q(geometry(8, 8, 64), 0xFFFF'FF00u);
    ASSERT_TRUE(q.ready());
    std::array<Buffer, 8> bufs;
    for (auto& b : bufs)
        b = std::move(q.client.acquire().value());
    std::array<Request, 8> reqs;
    for (std::uint32_t i = 0; i < 8; ++i)
        reqs[i] = op_request(i, 64);
    std::array<Reaped, 8> out;
    for (int round = 0; round < 200; ++round) {
        const std::size_t n = 1 + std::size_t(round) % 8;
        auto s = q.client.submit_batch(std::span<const Request>(reqs.data(), n),
                                       std::span<Buffer>(bufs.data(), n));
        ASSERT_TRUE(s.ok());
        ASSERT_EQ(*s, n);
        q.client.publish();
        ASSERT_EQ(q.server.poll().value(), n);
        ASSERT_EQ(serve_all(q.server), n);
        auto r = q.client.reap_batch(std::span<Reaped>(out.data(), n));
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(*r, n);
        std::set<std::uint16_t> seen;
        for (std::size_t i = 0; i < n; ++i) {
            ASSERT_TRUE(out[i].buffer.valid());
            seen.insert(out[i].buffer.id());
            bufs[i] = std::move(out[i].buffer);
        }
        ASSERT_EQ(seen.size(), n);
        ASSERT_EQ(q.client.outstanding(), 0u);
        ASSERT_EQ(q.cq_head().load(), q.cq_tail().load());  // everything posted was consumed
    }
}

// ---- Server::take_id / request --------------------------------------------------------------

TEST(ServerTakeId, TakesInOrderWithoutACopyAndAgreesWithTake) {
    Queue q(geometry(4, 2, 64));
    ASSERT_TRUE(q.ready());
    EXPECT_EQ(q.server.take_id().error(), Error::Empty);
    Buffer b = std::move(q.client.acquire().value());
    const std::uint16_t id = b.id();
    ASSERT_TRUE(q.client.submit(op_request(1, 16), std::move(b)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 2u);
    auto before = snapshot_server(q);
    auto t = q.server.take_id();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(q.server.queued(), 1u);
    EXPECT_EQ(q.server.taken(), 1u);
    const abi::Submission& r = q.server.request(*t);
    EXPECT_EQ(r.user_data, 1u);
    EXPECT_EQ(r.buffer, id);
    EXPECT_EQ(r.length, 16u);
    EXPECT_NE(snapshot_server(q), before);
    auto op2 = q.server.take();  // the copying take sees the next one
    ASSERT_TRUE(op2.ok());
    EXPECT_EQ(op2->request.user_data, 2u);
    EXPECT_EQ(q.server.take_id().error(), Error::Empty);
    EXPECT_TRUE(q.server.complete(*t, kOk, 0).ok());
    EXPECT_TRUE(q.server.complete(op2->id, kOk, 0).ok());
    q.server.close();
    EXPECT_EQ(q.server.take_id().error(), Error::Closed);
}

}  // namespace
}  // namespace keel::ipc
