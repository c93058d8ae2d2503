// Full and empty rings at capacity 1, 2, a middle size and abi::kMaxCapacity, with the four
// ring counters starting where they cross 2^32 (and the sign bit) during the test.
#include <gtest/gtest.h>

#include <tuple>

#include "queue_harness.hpp"

namespace keel::ipc {
namespace {

using namespace test;

struct RingCase {
    std::uint32_t capacity;
    std::uint32_t first_index;
};

void PrintTo(const RingCase& k, std::ostream* os) {
    *os << "{capacity=" << k.capacity << " first_index=" << k.first_index << "}";
}

class Ring : public ::testing::TestWithParam<RingCase> {
  protected:
    std::uint32_t cap() const { return GetParam().capacity; }
    std::uint32_t first() const { return GetParam().first_index; }
};

// Fills both rings to capacity, checks the next submit is refused for lack of credit, drains
// everything in order, and repeats so the counters pass 2^32 while the rings are in use.
TEST_P(Ring, FillAndDrainInOrderAcrossTheWrap) {
    Queue q(geometry(cap(), cap(), 64), first());
    ASSERT_TRUE(q.ready());
    std::uint64_t next = 0;
    for (int round = 0; round < 3; ++round) {
        std::vector<std::uint16_t> lent;
        for (std::uint32_t i = 0; i < cap(); ++i) {
            auto b = q.client.acquire();
            ASSERT_TRUE(b.ok()) << i;
            lent.push_back(b->id());
            auto t = q.client.submit(op_request(next + i, 8), std::move(*b));
            ASSERT_TRUE(t.ok()) << i << ' ' << error_name(t.error());
        }
        EXPECT_EQ(q.client.credit(), 0u);
        auto before = snapshot(q);
        auto refused = q.client.submit(op_request(~0ull));
        ASSERT_FALSE(refused.ok());
        EXPECT_EQ(refused.error(), Error::NoCredit);
        EXPECT_EQ(snapshot(q), before);

        q.client.publish();
        ASSERT_EQ(q.server.poll().value(), cap());
        EXPECT_EQ(q.server.poll().value(), 0u);  // drained; nothing counted twice
        auto ops = take_all(q.server);
        ASSERT_EQ(ops.size(), cap());
        for (std::uint32_t i = 0; i < cap(); ++i) {
            ASSERT_EQ(ops[i].request.user_data, next + i);
            ASSERT_TRUE(q.server.complete(ops[i].id, 0, next + i).ok());
        }
        EXPECT_EQ(q.client.reap().error(), Error::Empty);  // nothing published yet
        q.server.publish();
        for (std::uint32_t i = 0; i < cap(); ++i) {
            auto r = q.client.reap();
            ASSERT_TRUE(r.ok()) << i << ' ' << error_name(r.error());
            ASSERT_EQ(r->user_data, next + i);
            ASSERT_EQ(r->value, next + i);
            ASSERT_EQ(r->buffer.id(), lent[i]);
        }
        EXPECT_EQ(q.client.reap().error(), Error::Empty);
        next += cap();
        const std::uint32_t expect = first() + std::uint32_t(next);  // wraps like the counters
        EXPECT_EQ(q.client.sq_tail(), expect);
        EXPECT_EQ(q.client.cq_head(), expect);
        EXPECT_EQ(q.server.sq_head(), expect);
        EXPECT_EQ(q.server.cq_tail(), expect);
        EXPECT_EQ(q.client.outstanding(), 0u);
        EXPECT_EQ(q.client.pooled_buffers(), cap());
    }
    // Everything is reaped, but the server reads the client's head only when its credit as last
    // seen runs short (IPC-R-012): a poll with nothing to take leaves the last batch counted.
    ASSERT_TRUE(q.server.poll().ok());
    EXPECT_EQ(q.server.live(), cap());
    // One more submission needs that credit: the poll reads the head and takes it.
    ASSERT_TRUE(q.client.submit(op_request(next)).ok());
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), 1u);
    EXPECT_EQ(q.server.live(), 1u);
}

// One operation at a time: every index in turn, including the ones next to 2^32.
TEST_P(Ring, OneAtATime) {
    Queue q(geometry(cap(), 1, 64), first());
    ASSERT_TRUE(q.ready());
    for (std::uint64_t i = 0; i < 2 * std::min(cap(), 8u) + 3; ++i) {
        auto b = q.client.acquire();
        ASSERT_TRUE(b.ok());
        ASSERT_TRUE(q.client.submit(op_request(i, 1), std::move(*b)).ok());
        q.client.publish();
        ASSERT_EQ(q.server.poll().value(), 1u);
        auto op = q.server.take();
        ASSERT_TRUE(op.ok());
        ASSERT_TRUE(q.server.complete(op->id, 0, i).ok());
        q.server.publish();
        auto r = q.client.reap();
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->value, i);
        EXPECT_EQ(q.client.reap().error(), Error::Empty);
    }
}

// The completion ring full of unreaped completions: no credit for the client, nothing more
// drained by the server, until the client reaps.
TEST_P(Ring, FullCompletionRingBlocksUntilReaped) {
    Queue q(geometry(cap(), 0, 0), first());
    ASSERT_TRUE(q.ready());
    for (std::uint32_t i = 0; i < cap(); ++i) {
        ASSERT_TRUE(q.client.submit(op_request(i, 0, std::uint16_t(abi::Op::Nop))).ok());
    }
    q.client.publish();
    ASSERT_EQ(q.server.poll().value(), cap());
    EXPECT_EQ(q.server.live(), cap());
    EXPECT_EQ(q.cq_tail().load() - q.cq_head().load(), cap());
    EXPECT_EQ(q.client.submit(op_request(0, 0, std::uint16_t(abi::Op::Nop))).error(),
              Error::NoCredit);
    auto server_before = snapshot_server(q);
    EXPECT_EQ(q.server.poll().value(), 0u);
    EXPECT_EQ(snapshot_server(q), server_before);

    auto r = q.client.reap();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->user_data, 0u);
    ASSERT_TRUE(q.client.submit(op_request(cap(), 0, std::uint16_t(abi::Op::Nop))).ok());
    q.client.publish();
    EXPECT_EQ(q.server.poll().value(), 1u);
    auto rest = reap_all(q.client);
    ASSERT_EQ(rest.size(), cap());
    for (std::uint32_t i = 0; i < cap(); ++i)
        EXPECT_EQ(rest[i].user_data, i + 1);
}

std::string case_name(const ::testing::TestParamInfo<RingCase>& info) {
    return "cap" + std::to_string(info.param.capacity) + "_first" +
           std::to_string(info.param.first_index);
}

INSTANTIATE_TEST_SUITE_P(
    Capacities, Ring,
    ::testing::Values(RingCase{1, 0}, RingCase{1, 0xFFFF'FFFFu}, RingCase{2, 0},
                      RingCase{2, 0xFFFF'FFFEu}, RingCase{2, 0xFFFF'FFFFu},
                      RingCase{16, 0xFFFF'FFF9u}, RingCase{16, 0x7FFF'FFF9u},
                      RingCase{abi::kMaxCapacity, 0},
                      RingCase{abi::kMaxCapacity, 0xFFFF'FFFFu - abi::kMaxCapacity / 2}),
    case_name);

}  // namespace
}  // namespace keel::ipc
