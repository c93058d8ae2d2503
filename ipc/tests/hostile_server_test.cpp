// A hostile server, played by the test writing the completion ring and the submission ring's
// head directly. Every impossible value must give ProtocolViolation (or RingFull for a head
// that does not move) and leave the client exactly as before: after the bad entry is replaced
// by a good one, the client carries on as if nothing had happened (IPC-R-040..044).
#include <gtest/gtest.h>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

constexpr auto kOk = std::uint16_t(abi::Status::Ok);

class HostileServer : public ::testing::Test {
  protected:
    HostileServer() : q(geometry(4, 4, 64), 0xFFFF'FFFEu) {}

    void SetUp() override {
        ASSERT_TRUE(q.ready());
        auto b = q.client.acquire();
        ASSERT_TRUE(b.ok());
        buf_a = b->id();
        auto ta = q.client.submit(op_request(1, 8), std::move(*b));
        auto tb = q.client.submit(op_request(2));
        ASSERT_TRUE(ta.ok() && tb.ok());
        tag_a = *ta;
        tag_b = *tb;
        auto other = q.client.acquire();  // a buffer in hand that A's completion must not carry
        ASSERT_TRUE(other.ok());
        buf_other = other->id();
        in_hand = std::move(*other);
        q.client.publish();
        // The server consumes the submissions; from here on the test writes its completions.
        ASSERT_EQ(q.server.poll().value(), 2u);
    }

    // Puts `bad` at the client's next completion index and publishes it; reap must refuse it
    // and change nothing.
    void expect_refused(const abi::Completion& bad) {
        auto before = snapshot(q);
        std::uint32_t head = q.client.cq_head();
        q.cq_entry(head) = bad;
        q.cq_tail().store(head + 1);
        auto r = q.client.reap();
        ASSERT_FALSE(r.ok()) << "tag " << bad.tag << " status " << bad.status << " buffer "
                             << bad.buffer;
        EXPECT_EQ(r.error(), Error::ProtocolViolation) << error_name(r.error());
        EXPECT_EQ(snapshot(q), before);
        EXPECT_TRUE(in_hand.valid());
    }

    // The good completion replaces the bad one: the client must accept it normally.
    void expect_recovers() {
        const std::uint32_t outstanding_before = q.client.outstanding();
        std::uint32_t head = q.client.cq_head();
        q.cq_entry(head) = abi::Completion{tag_a, kOk, buf_a, 77};
        auto r = q.client.reap();
        ASSERT_TRUE(r.ok()) << error_name(r.error());
        EXPECT_EQ(r->user_data, 1u);
        EXPECT_EQ(r->value, 77u);
        EXPECT_EQ(r->buffer.id(), buf_a);
        EXPECT_EQ(q.client.outstanding(), outstanding_before - 1);
        EXPECT_EQ(q.client.cq_head(), head + 1);
    }

    Queue q;
    std::uint32_t tag_a = 0, tag_b = 0;
    std::uint16_t buf_a = 0, buf_other = 0;
    Buffer in_hand;
};

TEST_F(HostileServer, TailOutOfRange) {
    auto before = snapshot(q);
    std::uint32_t head = q.client.cq_head();
    for (std::uint32_t tail : {head + 5, head + 0x8000'0000u, head - 1, head - 4}) {
        q.cq_tail().store(tail);
        auto r = q.client.reap();
        ASSERT_FALSE(r.ok()) << tail;
        EXPECT_EQ(r.error(), Error::ProtocolViolation);
        EXPECT_EQ(snapshot(q), before);
    }
    // Capacity entries ahead is the limit, not a violation (they read as completions).
    q.cq_tail().store(head + 1);
    q.cq_entry(head) = abi::Completion{tag_a, kOk, buf_a, 77};
    ASSERT_NO_FATAL_FAILURE(expect_recovers());
}

TEST_F(HostileServer, TagOutOfRangeOrUnknown) {
    const std::uint32_t gen_a = rules::tag_gen<std::uint32_t>(tag_a);
    const abi::Completion bad[] = {
        {tag_of(4, gen_a), kOk, buf_a, 0},       // slot beyond capacity
        {tag_of(0xFFFF, gen_a), kOk, buf_a, 0},  //
        {abi::kNoTag, kOk, abi::kNoBuffer, 0},   //
        {tag_of(2, 0), kOk, abi::kNoBuffer, 0},  // slots never handed out
        {tag_of(3, 0), kOk, buf_a, 0},           //
    };
    for (const auto& c : bad)
        ASSERT_NO_FATAL_FAILURE(expect_refused(c));
    ASSERT_NO_FATAL_FAILURE(expect_recovers());
}

TEST_F(HostileServer, StaleOrFutureGeneration) {
    const abi::Completion bad[] = {
        {tag_a ^ (1u << rules::kSlotBits), kOk, buf_a, 0},
        {tag_a + (5u << rules::kSlotBits), kOk, buf_a, 0},
        {tag_a - (1u << rules::kSlotBits), kOk, buf_a, 0},
    };
    for (const auto& c : bad)
        ASSERT_NO_FATAL_FAILURE(expect_refused(c));
    ASSERT_NO_FATAL_FAILURE(expect_recovers());
}

TEST_F(HostileServer, DuplicateCompletion) {
    // The same completion twice in one batch: the second names a slot that is free again.
    std::uint32_t head = q.client.cq_head();
    q.cq_entry(head) = abi::Completion{tag_a, kOk, buf_a, 0};
    q.cq_entry(head + 1) = abi::Completion{tag_a, kOk, buf_a, 0};
    q.cq_tail().store(head + 2);
    {
        auto r = q.client.reap();
        ASSERT_TRUE(r.ok());
    }
    auto before = snapshot(q);
    auto dup = q.client.reap();
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot(q), before);
    // Even once the slot is reused by a new submission, the old tag is stale.
    auto again = q.client.submit(op_request(3));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(rules::tag_slot<std::uint32_t>(*again), rules::tag_slot<std::uint32_t>(tag_a));
    before = snapshot(q);
    auto stale = q.client.reap();
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot(q), before);
}

TEST_F(HostileServer, WrongBuffer) {
    const abi::Completion bad[] = {
        {tag_a, kOk, abi::kNoBuffer, 0},  // A's buffer not returned
        {tag_a, kOk, buf_other, 0},       // a buffer the client holds
        {tag_a, kOk, 3, 0},               // a buffer in the pool
        {tag_a, kOk, 4, 0},               // out of range
        {tag_a, kOk, 0xFFFE, 0},          //
        {tag_b, kOk, buf_a, 0},           // B lent none: returns A's
        {tag_b, kOk, buf_other, 0},       //
    };
    for (const auto& c : bad)
        ASSERT_NO_FATAL_FAILURE(expect_refused(c));
    // A Cancel never lends a buffer, so its answer may carry none.
    auto cancel = q.client.cancel(9, tag_b);
    ASSERT_TRUE(cancel.ok());
    ASSERT_NO_FATAL_FAILURE(
        expect_refused(abi::Completion{*cancel, std::uint16_t(abi::Status::NotFound), buf_a, 0}));
    EXPECT_EQ(q.client.buffer_state(buf_a), rules::kBufLent);
    EXPECT_EQ(q.client.buffer_state(buf_other), rules::kBufInHand);
    ASSERT_NO_FATAL_FAILURE(expect_recovers());
}

TEST_F(HostileServer, ImpossibleStatus) {
    const abi::Completion bad[] = {
        {tag_a, std::uint16_t(abi::Status::InProgress), buf_a, 0},
        {tag_a, std::uint16_t(abi::Status::NotFound), buf_a, 0},
        {tag_b, std::uint16_t(abi::Status::InProgress), abi::kNoBuffer, 0},
    };
    for (const auto& c : bad)
        ASSERT_NO_FATAL_FAILURE(expect_refused(c));
    ASSERT_NO_FATAL_FAILURE(expect_recovers());
}

TEST_F(HostileServer, StatusesThatAreAllowed) {
    // Control for ImpossibleStatus: a Cancel may be answered InProgress; an operation may end
    // with a service status.
    auto c = q.client.cancel(9, tag_a);
    ASSERT_TRUE(c.ok());
    std::uint32_t head = q.client.cq_head();
    q.cq_entry(head) =
        abi::Completion{*c, std::uint16_t(abi::Status::InProgress), abi::kNoBuffer, 0};
    q.cq_entry(head + 1) = abi::Completion{tag_b, abi::kFirstServiceStatus + 3, abi::kNoBuffer, 0};
    q.cq_tail().store(head + 2);
    auto r1 = q.client.reap();
    ASSERT_TRUE(r1.ok());
    EXPECT_TRUE(r1->is_cancel);
    auto r2 = q.client.reap();
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->status, abi::kFirstServiceStatus + 3);
}

// The client reads the server's submission-ring head only when its cached view says the ring
// is full; a hostile server can complete operations without consuming their submissions.
class HostileServerHead : public ::testing::Test {
  protected:
    HostileServerHead() : q(geometry(2, 2, 64), 0xFFFF'FFFFu) {}

    void SetUp() override {
        ASSERT_TRUE(q.ready());
        // Two submissions fill the ring; the "server" completes them but leaves the head.
        for (std::uint64_t i = 0; i < 2; ++i) {
            auto t = q.client.submit(op_request(i));
            ASSERT_TRUE(t.ok());
            q.raw_complete(abi::Completion{*t, kOk, abi::kNoBuffer, 0});
        }
        q.client.publish();
        ASSERT_EQ(reap_all(q.client).size(), 2u);
        ASSERT_EQ(q.client.credit(), 2u);
        seen = q.sq_head().load();
        auto b = q.client.acquire();
        ASSERT_TRUE(b.ok());
        held = std::move(*b);
    }

    void expect_refused(std::uint32_t head, Error e) {
        q.sq_head().store(head);
        auto before = snapshot(q);
        auto r = q.client.submit(op_request(5, 8), std::move(held));
        ASSERT_FALSE(r.ok()) << head;
        EXPECT_EQ(r.error(), e) << error_name(r.error());
        EXPECT_TRUE(held.valid());
        EXPECT_EQ(snapshot(q), before);
    }

    // `call` refused with `e`, with `head` published, and nothing changed.
    template <class Call>
    void expect_refused_with(std::uint32_t head, Error e, Call&& call) {
        q.sq_head().store(head);
        auto before = snapshot(q);
        auto r = call();
        ASSERT_FALSE(r.ok()) << head;
        EXPECT_EQ(r.error(), e) << error_name(r.error());
        EXPECT_EQ(snapshot(q), before);
    }

    Queue q;
    std::uint32_t seen = 0;
    Buffer held;
};

TEST_F(HostileServerHead, HeadThatDoesNotMoveIsRingFull) {
    ASSERT_NO_FATAL_FAILURE(expect_refused(seen, Error::RingFull));
    EXPECT_EQ(q.client.submit(op_request(6)).error(), Error::RingFull);
}

TEST_F(HostileServerHead, HeadPastTailOrBackwardsIsAViolation) {
    std::uint32_t tail = q.client.sq_tail();
    for (std::uint32_t head : {tail + 1, tail + 0x8000'0000u, seen - 1, seen - 100}) {
        ASSERT_NO_FATAL_FAILURE(expect_refused(head, Error::ProtocolViolation));
    }
    // A head that did move, validly, frees the ring again.
    q.sq_head().store(tail);
    EXPECT_TRUE(q.client.submit(op_request(7, 8), std::move(held)).ok());
}

// The order in which a submission's errors win (rules::push_error, lend_error): every check
// before the head's wins over an impossible head (which would give ProtocolViolation), and
// nothing changes, cached head included.
TEST_F(HostileServerHead, EarlierChecksWinOverAnImpossibleHead) {
    const std::uint32_t impossible = q.client.sq_tail() + 1;
    // lend_error: a length past the buffer.
    ASSERT_NO_FATAL_FAILURE(expect_refused_with(impossible, Error::InvalidArgument, [&] {
        return q.client.submit(op_request(5, 65), std::move(held));
    }));
    // unlent_error: a length without a buffer.
    ASSERT_NO_FATAL_FAILURE(expect_refused_with(impossible, Error::InvalidArgument,
                                                [&] { return q.client.submit(op_request(5, 8)); }));
    // push_error: a Cancel opcode submitted as a request.
    ASSERT_NO_FATAL_FAILURE(expect_refused_with(impossible, Error::InvalidArgument, [&] {
        return q.client.submit(op_request(5, 0, std::uint16_t(abi::Op::Cancel)));
    }));
    // The head's own check, then (the same call, nothing else wrong).
    ASSERT_NO_FATAL_FAILURE(expect_refused_with(impossible, Error::ProtocolViolation,
                                                [&] { return q.client.submit(op_request(5)); }));
    // push_error: the mode first of all.
    q.client.close();
    ASSERT_NO_FATAL_FAILURE(expect_refused_with(impossible, Error::Closed,
                                                [&] { return q.client.submit(op_request(5)); }));
}

// No credit is reported before the head is read: a ring full of unreaped operations and an
// impossible head give NoCredit, not ProtocolViolation.
TEST(HostileServerOrder, NoCreditBeforeTheHead) {
    Queue q(geometry(2, 2, 64), 0xFFFF'FFFFu);
    ASSERT_TRUE(q.ready());
    ASSERT_TRUE(q.client.submit(op_request(1)).ok());
    ASSERT_TRUE(q.client.submit(op_request(2)).ok());
    q.sq_head().store(q.client.sq_tail() + 1);
    auto before = snapshot(q);
    auto r = q.client.submit(op_request(3));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::NoCredit) << error_name(r.error());
    EXPECT_EQ(snapshot(q), before);
}

}  // namespace
}  // namespace keel::ipc
