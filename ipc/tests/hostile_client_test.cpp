// A hostile client, played by the test writing the submission ring, the completion ring's head
// and the queue header directly. A malformed submission gets a BadRequest completion and
// changes nothing else (IPC-R-050..053); an impossible counter or header gives
// ProtocolViolation or BadLayout and changes nothing at all.
#include <gtest/gtest.h>

#include <functional>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

constexpr auto kBadRequest = std::uint16_t(abi::Status::BadRequest);

class HostileClient : public ::testing::Test {
  protected:
    // The Client object only lays out the queue; after that the test is the client.
    HostileClient() : q(geometry(4, 4, 64), 0xFFFF'FFFEu) {}
    void SetUp() override { ASSERT_TRUE(q.ready()); }

    // Publishes `e`; the server must answer it at once with BadRequest carrying `back`, and
    // apart from the answered entry nothing may change.
    void expect_bad_request(const abi::Submission& e, std::uint16_t back) {
        auto before = snapshot_server(q);
        // IPC-R-012: the poll reads the client's completion head only when the credit as last
        // seen cannot take the entry; then everything the client consumed is credit again.
        const bool reads_head = before.live + 1 > q.server.capacity();
        const std::uint32_t live_then =
            reads_head ? before.cq_tail - q.cq_head().load() : before.live;
        q.raw_submit(e);
        auto n = q.server.poll();
        ASSERT_TRUE(n.ok()) << error_name(n.error());
        ASSERT_EQ(*n, 1u);
        const abi::Completion c = q.cq_entry(before.cq_tail);
        EXPECT_EQ(c.tag, e.tag);
        EXPECT_EQ(c.status, kBadRequest) << "opcode " << e.opcode << " buffer " << e.buffer;
        EXPECT_EQ(c.buffer, back);
        EXPECT_EQ(c.value, 0u);
        EXPECT_EQ(q.cq_tail().load(), before.cq_tail + 1);  // published
        // The client consumes the answer; then the server is as before, one entry further on.
        // The answer still counts against the credit until a poll reads the head again.
        q.cq_head().store(before.cq_tail + 1);
        ASSERT_EQ(q.server.poll().value(), 0u);
        auto after = snapshot_server(q);
        EXPECT_EQ(after.sq_head, before.sq_head + 1);
        EXPECT_EQ(after.cq_tail, before.cq_tail + 1);
        EXPECT_EQ(after.live, live_then + 1);
        after.sq_head = before.sq_head;
        after.cq_tail = before.cq_tail;
        after.live = before.live;
        after.shared_sq_head = before.shared_sq_head;
        after.shared_cq_tail = before.shared_cq_tail;
        EXPECT_EQ(after, before);
    }

    // Writes an impossible counter; poll must refuse and change nothing, then work again once
    // the counter is put back.
    void expect_violation(std::atomic<std::uint32_t>& counter, std::uint32_t bad) {
        std::uint32_t good = counter.load();
        auto before = snapshot_server(q);
        counter.store(bad);
        auto r = q.server.poll();
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error(), Error::ProtocolViolation) << error_name(r.error());
        EXPECT_EQ(snapshot_server(q), before);
        counter.store(good);
        EXPECT_TRUE(q.server.poll().ok());
    }

    // Publishes Nops until the server's credit as last seen cannot take them all, so that its
    // next poll must read the client's completion head (IPC-R-012).
    // Needs some credit in use: the ring holds at most capacity() visible entries.
    void make_poll_read_the_head() {
        ASSERT_GT(q.server.live(), 0u);
        const std::uint32_t visible = q.sq_tail().load() - q.server.sq_head();
        for (std::uint32_t i = q.server.live() + visible; i <= q.server.capacity(); ++i)
            q.raw_submit(raw_submission(0x100 + i, std::uint16_t(abi::Op::Nop)));
    }

    Queue q;
};

TEST_F(HostileClient, BufferIdOutOfRange) {
    for (std::uint16_t id : {std::uint16_t(4), std::uint16_t(0x1234), std::uint16_t(0xFFFE)}) {
        ASSERT_NO_FATAL_FAILURE(expect_bad_request(raw_submission(id, kOp, id, 8), abi::kNoBuffer));
        ASSERT_NO_FATAL_FAILURE(expect_bad_request(
            raw_submission(id, std::uint16_t(abi::Op::Nop), id, 8), abi::kNoBuffer));
    }
}

TEST_F(HostileClient, BufferAlreadyLentToAnotherOperation) {
    q.raw_submit(raw_submission(100, kOp, 1, 8));
    ASSERT_EQ(q.server.poll().value(), 1u);
    ASSERT_EQ(q.server.buffer_held(1), rules::kHeldYes);
    // The buffer is not the client's to lend: it is not returned with the refusal either.
    ASSERT_NO_FATAL_FAILURE(expect_bad_request(raw_submission(101, kOp, 1, 8), abi::kNoBuffer));
    ASSERT_NO_FATAL_FAILURE(
        expect_bad_request(raw_submission(102, std::uint16_t(abi::Op::Nop), 1, 8), abi::kNoBuffer));
    ASSERT_NO_FATAL_FAILURE(expect_bad_request(
        raw_submission(103, std::uint16_t(abi::Op::Cancel), 1, 0), abi::kNoBuffer));
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    EXPECT_EQ(op->request.tag, 100u);
    EXPECT_EQ(op->request.buffer, 1u);
    ASSERT_TRUE(q.server.complete(op->id, 0, 0).ok());
    EXPECT_EQ(q.server.buffer_held(1), rules::kHeldNo);
}

TEST_F(HostileClient, UnknownOpcode) {
    for (std::uint16_t opcode : {std::uint16_t(2), std::uint16_t(abi::kFirstServiceOp - 1),
                                 kOpLimit, std::uint16_t(0xFFFF)}) {
        ASSERT_NO_FATAL_FAILURE(expect_bad_request(raw_submission(opcode, opcode), abi::kNoBuffer));
        // A buffer that was the client's to lend comes back with the refusal.
        ASSERT_NO_FATAL_FAILURE(expect_bad_request(raw_submission(opcode, opcode, 2, 8), 2));
    }
}

TEST_F(HostileClient, LengthThatDoesNotFit) {
    ASSERT_NO_FATAL_FAILURE(expect_bad_request(raw_submission(1, kOp, 2, 65), 2));
    ASSERT_NO_FATAL_FAILURE(expect_bad_request(raw_submission(2, kOp, 2, 0xFFFF'FFFFu), 2));
    ASSERT_NO_FATAL_FAILURE(
        expect_bad_request(raw_submission(3, kOp, abi::kNoBuffer, 1), abi::kNoBuffer));
    ASSERT_NO_FATAL_FAILURE(expect_bad_request(
        raw_submission(4, std::uint16_t(abi::Op::Nop), abi::kNoBuffer, 8), abi::kNoBuffer));
}

TEST_F(HostileClient, CancelWithABuffer) {
    ASSERT_NO_FATAL_FAILURE(
        expect_bad_request(raw_submission(1, std::uint16_t(abi::Op::Cancel), 3, 0), 3));
}

TEST_F(HostileClient, CancelTargetBeyond32Bits) {
    q.raw_submit(raw_submission(7));
    ASSERT_EQ(q.server.poll().value(), 1u);
    auto c = raw_submission(8, std::uint16_t(abi::Op::Cancel));
    c.args[0] = (std::uint64_t(1) << 32) | 7;  // would be tag 7 if truncated
    q.raw_submit(c);
    ASSERT_EQ(q.server.poll().value(), 1u);
    const abi::Completion answer = q.cq_entry(q.server.cq_tail() - 1);
    EXPECT_EQ(answer.tag, 8u);
    EXPECT_EQ(answer.status, std::uint16_t(abi::Status::NotFound));
    EXPECT_EQ(q.server.queued(), 1u);
}

TEST_F(HostileClient, RepeatedTagsStillGetOneCompletionEach) {
    q.raw_submit(raw_submission(5, kOp, 0, 8));
    q.raw_submit(raw_submission(5, kOp, 1, 8));
    auto c = raw_submission(6, std::uint16_t(abi::Op::Cancel));
    c.args[0] = 5;
    q.raw_submit(c);
    ASSERT_EQ(q.server.poll().value(), 3u);
    // One of the two (the oldest record found) was cancelled; the other is still queued.
    EXPECT_EQ(q.server.queued(), 1u);
    EXPECT_EQ(q.server.cq_tail() - q.cq_head().load(), 2u);
    auto op = q.server.take();
    ASSERT_TRUE(op.ok());
    EXPECT_EQ(op->request.tag, 5u);
    ASSERT_TRUE(q.server.complete(op->id, 0, 0).ok());
    EXPECT_EQ(q.server.cq_tail() - q.cq_head().load(), 3u);
    EXPECT_EQ(q.server.buffer_held(0), rules::kHeldNo);
    EXPECT_EQ(q.server.buffer_held(1), rules::kHeldNo);
}

TEST_F(HostileClient, SubmissionTailOutOfRange) {
    std::uint32_t head = q.server.sq_head();
    for (std::uint32_t bad : {head + 5, head + 0x8000'0000u, head - 1, head - 4}) {
        ASSERT_NO_FATAL_FAILURE(expect_violation(q.sq_tail(), bad));
    }
}

TEST_F(HostileClient, SubmissionTailMovingBack) {
    // Fill the completion ring (no reaping) so the server sees a tail it cannot drain yet.
    for (std::uint32_t i = 0; i < 4; ++i)
        q.raw_submit(raw_submission(i, 0));
    ASSERT_EQ(q.server.poll().value(), 4u);
    for (std::uint32_t i = 4; i < 6; ++i)
        q.raw_submit(raw_submission(i, 0));
    ASSERT_EQ(q.server.poll().value(), 0u);  // no credit: seen, not drained
    std::uint32_t head = q.server.sq_head();
    ASSERT_NO_FATAL_FAILURE(expect_violation(q.sq_tail(), head + 1));
    ASSERT_NO_FATAL_FAILURE(expect_violation(q.sq_tail(), head));
    // Once the client reaps, the two waiting entries are drained.
    q.cq_head().store(q.server.cq_tail());
    EXPECT_EQ(q.server.poll().value(), 2u);
}

TEST_F(HostileClient, CompletionHeadPastTailOrBack) {
    const std::uint32_t first = q.cq_head().load();
    for (std::uint32_t i = 0; i < 2; ++i)
        q.raw_submit(raw_submission(i, std::uint16_t(abi::Op::Nop)));
    ASSERT_EQ(q.server.poll().value(), 2u);
    const std::uint32_t tail = q.server.cq_tail();
    // While the credit as last seen covers what is visible the head is not read, so nothing
    // there is refused yet (IPC-R-012): a bad head costs its writer only its own credit.
    q.cq_head().store(tail + 1);
    EXPECT_EQ(q.server.poll().value(), 0u);
    q.cq_head().store(first);
    // Once the poll needs the head, an impossible one is refused.
    make_poll_read_the_head();
    ASSERT_NO_FATAL_FAILURE(expect_violation(q.cq_head(), tail + 1));
    ASSERT_NO_FATAL_FAILURE(expect_violation(q.cq_head(), tail + 0x8000'0000u));
    // Everything reaped: the waiting Nop is taken, and the head the server saw is the tail.
    const std::uint32_t reaped = q.server.cq_tail();
    q.cq_head().store(reaped);
    ASSERT_EQ(q.server.poll().value(), 1u);
    EXPECT_EQ(q.server.live(), 1u);
    make_poll_read_the_head();
    ASSERT_NO_FATAL_FAILURE(expect_violation(q.cq_head(), reaped - 1));  // moving back
    ASSERT_NO_FATAL_FAILURE(expect_violation(q.cq_head(), reaped - 2));
}

TEST_F(HostileClient, ImpossibleCompletionHeadConsumesNothing) {
    // The credit is used up by answers the client has not reaped yet, and a submission is
    // waiting: the poll must read the head, and a server that did not validate it first would
    // take the submission.
    for (std::uint32_t i = 0; i < 4; ++i)
        q.raw_submit(raw_submission(i, std::uint16_t(abi::Op::Nop)));
    ASSERT_EQ(q.server.poll().value(), 4u);
    q.raw_submit(raw_submission(10, kOp, 0, 8));
    auto before = snapshot_server(q);
    const std::uint32_t good = q.server.cq_tail();
    q.cq_head().store(good + 1);
    auto r = q.server.poll();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::ProtocolViolation);
    EXPECT_EQ(snapshot_server(q), before);
    EXPECT_EQ(q.server.buffer_held(0), rules::kHeldNo);
    q.cq_head().store(good);
    EXPECT_EQ(q.server.poll().value(), 1u);
    EXPECT_EQ(q.server.buffer_held(0), rules::kHeldYes);
}

TEST(HostileClientClosed, AttachToAClosedQueueThenPeerGone) {
    Queue q(geometry(2));
    ASSERT_TRUE(q.ready());
    q.client.close();
    const Geometry g = q.geometry();
    AlignedBytes storage(Server::private_size(g));
    Server late;
    ASSERT_TRUE(late.attach(q.region(), storage.span(), g, kOpLimit).ok());
    EXPECT_TRUE(late.client_closed());
    EXPECT_EQ(late.poll().error(), Error::PeerGone);
}

// ---- garbage header at attach ------------------------------------------------------------------

struct Unattached {
    std::uint32_t capacity, live, queued, taken, sq_head, cq_tail;
    bool operator==(const Unattached&) const = default;
};
void PrintTo(const Unattached& u, std::ostream* os) {
    *os << "{capacity=" << u.capacity << " live=" << u.live << " queued=" << u.queued
        << " taken=" << u.taken << " sq_head=" << u.sq_head << " cq_tail=" << u.cq_tail << "}";
}
Unattached observe(const Server& s) {
    return {s.capacity(), s.live(), s.queued(), s.taken(), s.sq_head(), s.cq_tail()};
}

TEST(HostileHeader, EveryFieldIsCheckedAndAFailedAttachChangesNothing) {
    const Geometry g = geometry(8, 2, 128);
    AlignedBytes shared(region_size(g));
    AlignedBytes cstore(Client::private_size(g));
    AlignedBytes sstore(Server::private_size(g));
    Client c;
    ASSERT_TRUE(c.create(shared.span(), cstore.span(), g, 0x1234).ok());
    auto& h = *reinterpret_cast<abi::QueueHeader*>(shared.data());
    auto& cq = *reinterpret_cast<abi::RingHeader*>(shared.data() + abi::kCqHeaderOffset);

    using Edit = std::function<void()>;
    const std::pair<const char*, Edit> edits[] = {
        {"magic", [&] { h.magic ^= 1; }},
        {"magic zero", [&] { h.magic = 0; }},
        {"version", [&] { h.version = abi::kVersion + 1; }},
        {"header_size", [&] { h.header_size = 64; }},
        {"capacity", [&] { h.capacity = 16; }},
        {"capacity huge", [&] { h.capacity = 0xFFFF'FFFFu; }},
        {"buffer_count", [&] { h.buffer_count = 3; }},
        {"buffer_size", [&] { h.buffer_size = 64; }},
        {"sq_entries", [&] { h.sq_entries += 64; }},
        {"cq_entries", [&] { h.cq_entries -= 64; }},
        {"buffers", [&] { h.buffers = 0; }},
        {"total_size", [&] { h.total_size += 1; }},
        {"cq head ahead", [&] { cq.head.value.store(0x1235); }},
        {"cq tail ahead", [&] { cq.tail.value.store(0x1235); }},
    };
    std::vector<std::byte> pristine(shared.data(), shared.data() + abi::kSqEntriesOffset);
    Server s;
    const Unattached fresh = observe(s);
    for (const auto& [name, edit] : edits) {
        std::memcpy(shared.data(), pristine.data(), pristine.size());
        edit();
        auto r = s.attach(shared.span(), sstore.span(), g, kOpLimit);
        ASSERT_FALSE(r.ok()) << name;
        EXPECT_EQ(r.error(), Error::BadLayout) << name;
        EXPECT_EQ(observe(s), fresh) << name;
        EXPECT_EQ(s.poll().error(), Error::Closed) << name;
        EXPECT_EQ(h.server_state.load(), 0u) << name << ": nothing announced";
    }
    // The same Server attaches once the header is good again.
    std::memcpy(shared.data(), pristine.data(), pristine.size());
    ASSERT_TRUE(s.attach(shared.span(), sstore.span(), g, kOpLimit).ok());
    EXPECT_EQ(s.capacity(), 8u);
    EXPECT_EQ(s.sq_head(), 0x1234u);
    EXPECT_EQ(h.server_state.load(), abi::kEndpointOpen);
}

}  // namespace
}  // namespace keel::ipc
