// lib/net TCP engine unit tests: one engine against a scripted peer (segments built and read
// by tcp_harness.hpp, independently of the engine's parser), and two engines on a wire.
#include <gtest/gtest.h>
#include <keel/net/error.hpp>
#include <keel/net/tcp.hpp>

#include <algorithm>
#include <vector>

#include "tcp_harness.hpp"

namespace keel::net::tcp {
namespace {

using testing::build;
using testing::Host;
using testing::kAck;
using testing::kFin;
using testing::kPsh;
using testing::kRst;
using testing::kSyn;
using testing::Packet;
using testing::Seg;

constexpr Ip4 kA = ip4(10, 0, 0, 1);
constexpr Ip4 kB = ip4(10, 0, 0, 2);
constexpr uint16_t kPort = 80;
constexpr Time kMs = kMillisecond;

std::vector<uint8_t> bytes(size_t n, uint8_t seed = 0) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>(seed + i * 7 + i / 251);
    return v;
}

// Engine a at kA against a scripted peer at kB.
struct Scripted : ::testing::Test {
    Host a{kA, limits()};
    uint16_t local_port = 0;   // a's port of the connection
    uint32_t iss = 0;          // a's initial sequence number
    uint32_t peer_seq = 5000;  // the peer's next sequence number
    Time now = 1000 * kMs;

    static Limits limits() {
        Limits l;
        l.connections = 8;
        l.listeners = 2;
        l.backlog = 4;
        l.receive_buffer = 8192;
        l.send_buffer = 16384;
        l.out_of_order_ranges = 2;
        l.mss = 1000;
        return l;
    }

    void peer(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window = 60000,
              const std::vector<uint8_t>& data = {}, uint16_t mss = 0) {
        a.give(kB, build(kB, kA, kPort, local_port, seq, ack, flags, window, data, mss), now);
    }

    // connect(), the peer's SYN-ACK after rtt: established.
    int64_t open(Time rtt = 100 * kMs, uint16_t window = 60000) {
        const int64_t id = a.engine.connect(kA, kB, kPort, now);
        EXPECT_GE(id, 0);
        Seg syn = a.take();
        EXPECT_TRUE(syn.ok && syn.has(kSyn) && !syn.has(kAck));
        EXPECT_EQ(syn.mss, 1000);
        local_port = syn.source_port;
        iss = syn.seq;
        now += rtt;
        peer(peer_seq, iss + 1, kSyn | kAck, window, {}, 1000);
        ++peer_seq;
        Seg ack = a.take();
        EXPECT_TRUE(ack.ok && ack.has(kAck) && !ack.has(kSyn));
        EXPECT_EQ(ack.ack, peer_seq);
        EXPECT_EQ(a.engine.status(id), 1);
        return id;
    }

    std::vector<Seg> drain() {
        std::vector<Seg> out;
        while (!a.sent.empty())
            out.push_back(a.take());
        return out;
    }

    // Moves time from deadline to deadline with nobody answering, until id is no longer open.
    void run_timers_while_open(int64_t id) {
        for (int k = 0; k < 40; ++k) {
            const Time next = a.engine.poll(now);
            if (a.engine.status(id) != 1)
                return;
            ASSERT_NE(next, kNever);
            now = next;
        }
    }

    State state(int64_t id) {
        Info i{};
        EXPECT_EQ(a.engine.info(id, &i), 0);
        return i.state;
    }
};

TEST_F(Scripted, ActiveHandshake) {
    const int64_t id = open();
    EXPECT_EQ(state(id), State::kEstablished);
    Info i{};
    a.engine.info(id, &i);
    EXPECT_EQ(i.srtt_us, 100000u);
    // RFC 6298: SRTT 100 ms, RTTVAR 50 ms, RTO = 100 + 4 * 50 ms.
    EXPECT_EQ(i.rto_us, 300000u);
    EXPECT_EQ(i.remote, kB);
    EXPECT_GE(i.local_port, 49152);
    EXPECT_EQ(a.engine.counters().connections_opened, 1u);
}

TEST_F(Scripted, WindowScaleIsNegotiated) {
    const int64_t id = a.engine.connect(kA, kB, kPort, now);
    Seg syn = a.take();
    EXPECT_EQ(syn.window_scale, 0);  // offered always; 8 KiB needs no shift
    local_port = syn.source_port;
    iss = syn.seq;
    // Their SYN-ACK's window is not scaled; later windows are, by 2^3.
    a.give(kB, build(kB, kA, kPort, local_port, peer_seq, iss + 1, kSyn | kAck, 1000, {}, 1000, 3),
           now);
    ++peer_seq;
    Info i{};
    a.engine.info(id, &i);
    EXPECT_EQ(i.send_window, 1000u);
    peer(peer_seq, iss + 1, kAck, 1000);
    a.engine.info(id, &i);
    EXPECT_EQ(i.send_window, 8000u);
}

TEST(WindowScale, BigBufferAdvertisesScaledWindow) {
    Limits l;
    l.connections = 2;
    l.receive_buffer = 262144;  // shift 3
    Host a(kA, l);
    ASSERT_GE(a.engine.listen(0, 80, 2), 0);
    a.give(kB, build(kB, kA, 1234, 80, 100, 0, kSyn, 65535, {}, 1460, 0), 0);
    Seg synack = a.take();
    EXPECT_EQ(synack.window_scale, 3);
    EXPECT_EQ(synack.window, 65535);  // a SYN's window is not scaled
    a.give(kB, build(kB, kA, 1234, 80, 101, synack.seq + 1, kAck | kPsh, 65535, bytes(100)), 0);
    a.give(kB, build(kB, kA, 1234, 80, 201, synack.seq + 1, kAck | kPsh, 65535, bytes(100)), 0);
    Seg ack = a.take();
    EXPECT_EQ(ack.ack, 301u);
    EXPECT_EQ(ack.window, (262144 - 200) >> 3);
    // Without the peer's offer: no option on the SYN-ACK and no scaling.
    a.give(kB, build(kB, kA, 1235, 80, 100, 0, kSyn, 65535, {}, 1460), 0);
    synack = a.take();
    EXPECT_EQ(synack.window_scale, -1);
    a.give(kB, build(kB, kA, 1235, 80, 101, synack.seq + 1, kAck | kPsh, 65535, bytes(100)), 0);
    a.give(kB, build(kB, kA, 1235, 80, 201, synack.seq + 1, kAck | kPsh, 65535, bytes(100)), 0);
    EXPECT_EQ(a.take().window, 65535);
}

TEST_F(Scripted, PassiveHandshake) {
    const int64_t l = a.engine.listen(0, 8080, 4);
    ASSERT_GE(l, 0);
    EXPECT_EQ(a.engine.accept(l), fail(Error::kWouldBlock));
    local_port = 8080;
    peer(peer_seq, 0, kSyn, 30000, {}, 536);
    Seg synack = a.take();
    ASSERT_TRUE(synack.ok);
    EXPECT_TRUE(synack.has(kSyn | kAck));
    EXPECT_EQ(synack.ack, peer_seq + 1);
    EXPECT_EQ(synack.mss, 1000);
    EXPECT_EQ(a.engine.accept(l), fail(Error::kWouldBlock));  // half-open is not acceptable
    ++peer_seq;
    peer(peer_seq, synack.seq + 1, kAck, 30000, bytes(10));
    const int64_t id = a.engine.accept(l);
    ASSERT_GE(id, 0);
    EXPECT_EQ(a.engine.status(id), 1);
    EXPECT_EQ(a.engine.readable(id), 10u);
    EXPECT_EQ(a.engine.accept(l), fail(Error::kWouldBlock));
    // Their MSS is honoured: 536-byte segments.
    ASSERT_EQ(a.engine.send(id, bytes(1200).data(), 1200, now), 1200);
    auto out = drain();
    ASSERT_GE(out.size(), 2u);
    EXPECT_EQ(out[0].data.size(), 536u);
}

TEST_F(Scripted, ConnectionRefusedByRst) {
    const int64_t id = a.engine.connect(kA, kB, kPort, now);
    Seg syn = a.take();
    local_port = syn.source_port;
    EXPECT_EQ(a.engine.status(id), 0);
    peer(0, syn.seq + 1, kRst | kAck, 0);
    EXPECT_EQ(a.engine.status(id), fail(Error::kRefused));
    EXPECT_EQ(a.engine.send(id, bytes(1).data(), 1, now), fail(Error::kRefused));
    a.engine.close(id, now);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
    EXPECT_EQ(a.engine.status(id), fail(Error::kInvalid));
}

TEST_F(Scripted, RstWithWrongAckInSynSentIsIgnored) {
    const int64_t id = a.engine.connect(kA, kB, kPort, now);
    Seg syn = a.take();
    local_port = syn.source_port;
    peer(0, syn.seq + 7, kRst | kAck, 0);
    EXPECT_EQ(a.engine.status(id), 0);
}

TEST_F(Scripted, ConnectTimesOutWithBackoff) {
    const int64_t id = a.engine.connect(kA, kB, kPort, now);
    a.take();
    const Time start = now;
    // RTO 1 s doubling: SYN again at 1, 3, 7, 15, 31 s; gives up at 63 s.
    const Time expect[] = {1, 3, 7, 15, 31, 63};
    for (Time t : expect) {
        const Time next = a.engine.poll(now);
        EXPECT_EQ(next, start + t * kSecond);
        now = next;
        a.engine.poll(now);
        if (t != 63) {
            Seg s = a.take();
            EXPECT_TRUE(s.has(kSyn));
        }
    }
    EXPECT_EQ(a.engine.status(id), fail(Error::kTimedOut));
    EXPECT_EQ(a.engine.counters().retransmits, 5u);
    EXPECT_EQ(a.engine.counters().timeouts, 1u);
    EXPECT_EQ(a.engine.poll(now), kNever);
}

TEST_F(Scripted, IcmpPortUnreachableRefusesConnect) {
    const int64_t id = a.engine.connect(kA, kB, kPort, now);
    Packet p = a.sent.front();
    a.sent.clear();
    a.engine.icmp_error(3, 3, kB, p.bytes.data(), 8, now);
    EXPECT_EQ(a.engine.status(id), fail(Error::kRefused));
    const int64_t id2 = a.engine.connect(kA, kB, kPort, now);
    p = a.sent.front();
    a.engine.icmp_error(3, 1, kB, p.bytes.data(), 8, now);
    EXPECT_EQ(a.engine.status(id2), fail(Error::kUnreachable));
}

TEST_F(Scripted, DataIsRetransmittedOnRtoWithBackoff) {
    const int64_t id = open(100 * kMs);
    ASSERT_EQ(a.engine.send(id, bytes(100).data(), 100, now), 100);
    Seg d = a.take();
    ASSERT_EQ(d.data.size(), 100u);
    EXPECT_EQ(d.seq, iss + 1);
    // RTO 300 ms from the handshake's measurement.
    EXPECT_EQ(a.engine.poll(now), now + 300 * kMs);
    now += 300 * kMs;
    a.engine.poll(now);
    Seg r = a.take();
    EXPECT_EQ(r.seq, iss + 1);
    EXPECT_EQ(r.data, d.data);
    Info i{};
    a.engine.info(id, &i);
    EXPECT_EQ(i.rto_us, 600000u);  // doubled
    EXPECT_EQ(a.engine.poll(now), now + 600 * kMs);
    EXPECT_EQ(a.engine.counters().retransmits, 1u);
    // The ACK of the retransmission is not measured (Karn) but ends the backoff.
    now += 50 * kMs;
    peer(peer_seq, iss + 101, kAck);
    a.engine.info(id, &i);
    EXPECT_EQ(i.rto_us, 300000u);
    EXPECT_EQ(i.srtt_us, 100000u);
    EXPECT_EQ(i.unacked, 0u);
    EXPECT_EQ(a.engine.poll(now), kNever);
}

// After a timeout snd_nxt goes back to snd_una, but the peer may hold everything sent: an ACK
// with the rewound sequence number would fall below its RCV.NXT and be dropped, ACK field and
// all. Two sides in that state dropped each other's ACKs for ever (TcpProperty, seed
// 15180384271453878922). A segment without data carries the highest sequence sent.
TEST_F(Scripted, AckAfterGoBackCarriesTheHighestSequenceSent) {
    const int64_t id = open(100 * kMs);
    ASSERT_EQ(a.engine.send(id, bytes(3000).data(), 3000, now), 3000);
    ASSERT_EQ(drain().size(), 3u);
    now = a.engine.poll(now);
    a.engine.poll(now);
    Seg r = a.take();  // the timeout resends the first segment only
    EXPECT_EQ(r.seq, iss + 1);
    EXPECT_EQ(r.data.size(), 1000u);
    // The peer got all 3000 bytes, but its ACK was lost; now it sends data of its own.
    peer(peer_seq, iss + 1, kAck, 60000, bytes(10));
    peer_seq += 10;
    now += kDelayedAck;
    a.engine.poll(now);
    Seg ack = a.take();
    EXPECT_TRUE(ack.has(kAck));
    EXPECT_TRUE(ack.data.empty());
    EXPECT_EQ(ack.ack, peer_seq);
    EXPECT_EQ(ack.seq, iss + 3001);
    // The peer's ACK of everything ends the retransmission.
    peer(peer_seq, iss + 3001, kAck);
    Info i{};
    a.engine.info(id, &i);
    EXPECT_EQ(i.unacked, 0u);
}

TEST_F(Scripted, RttMeasurementUpdatesRto) {
    const int64_t id = open(100 * kMs);
    ASSERT_EQ(a.engine.send(id, bytes(100).data(), 100, now), 100);
    a.take();
    now += 20 * kMs;
    peer(peer_seq, iss + 101, kAck);
    Info i{};
    a.engine.info(id, &i);
    // SRTT = 7/8 * 100 + 1/8 * 20 = 90; RTTVAR = 3/4 * 50 + 1/4 * 80 = 57.5; RTO 320 ms.
    EXPECT_EQ(i.srtt_us, 90000u);
    EXPECT_EQ(i.rto_us, 320000u);
}

TEST_F(Scripted, RetriesGiveUpWithTimedOut) {
    const int64_t id = open(100 * kMs);
    a.engine.send(id, bytes(10).data(), 10, now);
    run_timers_while_open(id);
    EXPECT_EQ(a.engine.status(id), fail(Error::kTimedOut));
    EXPECT_EQ(a.engine.counters().retransmits, 12u);
    // The last word is a RST, in case the peer is still there.
    ASSERT_FALSE(a.sent.empty());
    EXPECT_TRUE(testing::read(a.sent.back()).has(kRst));
}

TEST_F(Scripted, FastRetransmitOnThreeDuplicateAcks) {
    const int64_t id = open(100 * kMs);
    // The initial window (4 * 1000) lets four segments out.
    ASSERT_EQ(a.engine.send(id, bytes(4000).data(), 4000, now), 4000);
    auto out = drain();
    ASSERT_EQ(out.size(), 4u);
    // The first is lost: three duplicate ACKs for iss + 1.
    for (int k = 0; k < 3; ++k)
        peer(peer_seq, iss + 1, kAck);
    EXPECT_EQ(a.engine.counters().fast_retransmits, 1u);
    out = drain();
    ASSERT_GE(out.size(), 1u);
    EXPECT_EQ(out[0].seq, iss + 1);
    EXPECT_EQ(out[0].data.size(), 1000u);
    Info i{};
    a.engine.info(id, &i);
    EXPECT_EQ(i.cwnd, 2000u + 3000u);  // ssthresh (flight / 2) + 3 segments
    // A partial ACK (up to the second segment) retransmits the next hole at once.
    peer(peer_seq, iss + 2001, kAck);
    EXPECT_EQ(a.engine.counters().fast_retransmits, 2u);
    out = drain();
    ASSERT_GE(out.size(), 1u);
    EXPECT_EQ(out[0].seq, iss + 2001);
    // The full ACK ends recovery with cwnd at ssthresh.
    peer(peer_seq, iss + 4001, kAck);
    a.engine.info(id, &i);
    EXPECT_EQ(i.cwnd, 2000u);
    EXPECT_EQ(i.unacked, 0u);
    EXPECT_EQ(a.engine.counters().retransmits, 0u);
}

TEST_F(Scripted, ZeroWindowIsProbed) {
    const int64_t id = open(100 * kMs, 1000);
    ASSERT_EQ(a.engine.send(id, bytes(3000).data(), 3000, now), 3000);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);  // the peer's window is 1000
    // Taken, but the window closes.
    peer(peer_seq, iss + 1001, kAck, 0);
    EXPECT_TRUE(drain().empty());
    const Time next = a.engine.poll(now);
    ASSERT_NE(next, kNever);
    EXPECT_EQ(next, now + 500 * kMs);  // the persist timer: RTO 300 ms, at least 500 ms
    now = next;
    a.engine.poll(now);
    out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data.size(), 1u);
    EXPECT_EQ(out[0].seq, iss + 1001);
    EXPECT_EQ(a.engine.counters().zero_window_probes, 1u);
    // Still closed: the next probe backs off (twice the RTO).
    peer(peer_seq, iss + 1001, kAck, 0);
    Info i{};
    a.engine.info(id, &i);
    EXPECT_EQ(a.engine.poll(now), now + 2 * Time{i.rto_us} * 1000);
    // The window opens: the data flows.
    peer(peer_seq, iss + 1001, kAck, 4000);
    out = drain();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].seq, iss + 1001);
    EXPECT_EQ(a.engine.status(id), 1);
}

TEST_F(Scripted, AdvertisedWindowIsFreeBufferSpace) {
    const int64_t id = open();
    peer(peer_seq, iss + 1, kAck | kPsh, 60000, bytes(1000));
    peer_seq += 1000;
    peer(peer_seq, iss + 1, kAck | kPsh, 60000, bytes(1000));
    peer_seq += 1000;
    Seg ack = a.take();  // the second full segment is acknowledged at once
    EXPECT_EQ(ack.ack, peer_seq);
    EXPECT_EQ(ack.window, 8192 - 2000);
    // Fill it: the rest of the buffer, then beyond is refused.
    while (a.engine.readable(id) < 8192) {
        const auto n = std::min<size_t>(1000, 8192 - a.engine.readable(id));
        peer(peer_seq, iss + 1, kAck, 60000, bytes(n));
        peer_seq += static_cast<uint32_t>(n);
    }
    peer(peer_seq, iss + 1, kAck, 60000, bytes(10));  // no room: an ACK, window 0
    auto out = drain();
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back().window, 0);
    EXPECT_EQ(a.engine.readable(id), 8192u);
    std::vector<uint8_t> buf(8192);
    EXPECT_EQ(a.engine.receive(id, buf.data(), buf.size(), now), 8192);
    out = drain();
    ASSERT_EQ(out.size(), 1u);  // the window update
    EXPECT_EQ(out[0].window, 8192);
}

TEST_F(Scripted, AckIsDelayedAtMost200Ms) {
    const int64_t id = open();
    peer(peer_seq, iss + 1, kAck | kPsh, 60000, bytes(300));
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(a.engine.poll(now), now + 200 * kMs);
    now += 200 * kMs;
    a.engine.poll(now);
    Seg ack = a.take();
    EXPECT_EQ(ack.ack, peer_seq + 300);
    EXPECT_EQ(a.engine.poll(now), kNever);
    // Data going out carries the owed ACK: no separate one.
    peer(peer_seq + 300, iss + 1, kAck | kPsh, 60000, bytes(300));
    ASSERT_EQ(a.engine.send(id, bytes(10).data(), 10, now), 10);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, peer_seq + 600);
    EXPECT_EQ(out[0].data.size(), 10u);
}

TEST_F(Scripted, FastRetransmitIsNotRepeatedBeforeRecover) {
    const int64_t id = open(100 * kMs);
    ASSERT_EQ(a.engine.send(id, bytes(4000).data(), 4000, now), 4000);
    drain();
    // A timeout first: recover moves to the highest sequence sent.
    now = a.engine.poll(now);
    a.engine.poll(now);
    EXPECT_EQ(a.engine.counters().retransmits, 1u);
    drain();
    // Duplicate ACKs for data sent before the timeout do not start a fast retransmit
    // (RFC 6582 3.2 step 2).
    for (int k = 0; k < 4; ++k)
        peer(peer_seq, iss + 1, kAck);
    EXPECT_EQ(a.engine.counters().fast_retransmits, 0u);
}

TEST_F(Scripted, UnansweredZeroWindowProbesGiveUp) {
    const int64_t id = open(100 * kMs, 1000);
    a.engine.send(id, bytes(3000).data(), 3000, now);
    peer(peer_seq, iss + 1001, kAck, 0);
    run_timers_while_open(id);
    EXPECT_EQ(a.engine.status(id), fail(Error::kTimedOut));
    EXPECT_EQ(a.engine.counters().zero_window_probes, 12u);
}

TEST_F(Scripted, OutOfOrderSegmentsAreReassembled) {
    const int64_t id = open();
    const auto d = bytes(3000, 3);
    auto part = [&](size_t from, size_t n) {
        return std::vector<uint8_t>(d.begin() + static_cast<long>(from),
                                    d.begin() + static_cast<long>(from + n));
    };
    peer(peer_seq + 2000, iss + 1, kAck, 60000, part(2000, 1000));
    Seg ack = a.take();
    EXPECT_EQ(ack.ack, peer_seq);  // a duplicate ACK at once
    peer(peer_seq + 1000, iss + 1, kAck, 60000, part(1000, 1000));
    EXPECT_EQ(a.engine.readable(id), 0u);
    EXPECT_EQ(a.engine.ranges_in_use(), 1u);  // merged into one
    peer(peer_seq, iss + 1, kAck, 60000, part(0, 1000));
    EXPECT_EQ(a.engine.readable(id), 3000u);
    EXPECT_EQ(a.engine.ranges_in_use(), 0u);
    std::vector<uint8_t> buf(3000);
    EXPECT_EQ(a.engine.receive(id, buf.data(), buf.size(), now), 3000);
    EXPECT_EQ(buf, d);
    EXPECT_EQ(a.engine.counters().out_of_order_kept, 2u);
}

TEST_F(Scripted, OutOfOrderRangesAreBounded) {
    const int64_t id = open();
    // Two ranges fit (limits().out_of_order_ranges); a third disjoint one is dropped.
    peer(peer_seq + 1000, iss + 1, kAck, 60000, bytes(100));
    peer(peer_seq + 2000, iss + 1, kAck, 60000, bytes(100));
    peer(peer_seq + 3000, iss + 1, kAck, 60000, bytes(100));
    EXPECT_EQ(a.engine.ranges_in_use(), 2u);
    EXPECT_EQ(a.engine.counters().out_of_order_dropped, 1u);
    // Beyond the window: not acceptable.
    peer(peer_seq + 9000, iss + 1, kAck, 60000, bytes(100));
    EXPECT_EQ(a.engine.counters().unacceptable, 1u);
    EXPECT_EQ(a.engine.readable(id), 0u);
}

TEST_F(Scripted, ActiveCloseThroughTimeWait) {
    const int64_t id = open();
    a.engine.close(id, now);
    Seg fin = a.take();
    ASSERT_TRUE(fin.has(kFin | kAck));
    EXPECT_EQ(fin.seq, iss + 1);
    EXPECT_EQ(a.engine.status(id), fail(Error::kInvalid));  // the id is gone for the caller
    EXPECT_EQ(a.engine.slots_in_use(), 1u);
    peer(peer_seq, iss + 2, kAck);  // FIN_WAIT_2
    peer(peer_seq, iss + 2, kFin | kAck);
    Seg ack = a.take();
    EXPECT_EQ(ack.ack, peer_seq + 1);
    // TIME_WAIT: 2 * MSL = 60 s; a retransmitted FIN is acknowledged again.
    EXPECT_EQ(a.engine.poll(now), now + 60 * kSecond);
    now += 10 * kSecond;
    peer(peer_seq, iss + 2, kFin | kAck);
    EXPECT_EQ(a.take().ack, peer_seq + 1);
    EXPECT_EQ(a.engine.poll(now), now + 60 * kSecond);  // restarted
    now += 60 * kSecond;
    a.engine.poll(now);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, ShutdownThenPeerFinGivesClosed) {
    const int64_t id = open();
    EXPECT_EQ(a.engine.shutdown(id, now), 0);
    Seg fin = a.take();
    EXPECT_TRUE(fin.has(kFin));
    EXPECT_EQ(state(id), State::kFinWait1);
    EXPECT_EQ(a.engine.send(id, bytes(1).data(), 1, now), fail(Error::kNotConnected));
    // FIN and ACK of ours together: FIN_WAIT_1 straight to TIME_WAIT.
    peer(peer_seq, iss + 2, kFin | kAck, 60000, bytes(5));
    EXPECT_EQ(state(id), State::kTimeWait);
    EXPECT_EQ(a.engine.status(id), 1);  // five bytes still to read
    std::vector<uint8_t> buf(10);
    EXPECT_EQ(a.engine.receive(id, buf.data(), 10, now), 5);
    EXPECT_EQ(a.engine.receive(id, buf.data(), 10, now), 0);
    EXPECT_EQ(a.engine.status(id), fail(Error::kClosed));
    now += 61 * kSecond;
    a.engine.poll(now);
    EXPECT_EQ(state(id), State::kClosed);
    EXPECT_EQ(a.engine.status(id), fail(Error::kClosed));
    a.engine.close(id, now);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, PassiveCloseThroughLastAck) {
    const int64_t id = open();
    peer(peer_seq, iss + 1, kFin | kAck);
    EXPECT_EQ(a.take().ack, peer_seq + 1);
    EXPECT_EQ(state(id), State::kCloseWait);
    std::vector<uint8_t> buf(10);
    EXPECT_EQ(a.engine.receive(id, buf.data(), 10, now), 0);
    // Half-closed: we may still send.
    EXPECT_EQ(a.engine.send(id, bytes(10).data(), 10, now), 10);
    a.take();
    a.engine.close(id, now);
    Seg fin = a.take();
    EXPECT_TRUE(fin.has(kFin));
    EXPECT_EQ(fin.seq, iss + 11);
    peer(peer_seq + 1, iss + 12, kAck);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, SimultaneousCloseGoesThroughClosing) {
    const int64_t id = open();
    a.engine.shutdown(id, now);
    Seg fin = a.take();
    // The peer's FIN crosses ours: it does not acknowledge ours.
    peer(peer_seq, iss + 1, kFin | kAck);
    EXPECT_EQ(state(id), State::kClosing);
    peer(peer_seq + 1, fin.seq + 1, kAck);
    EXPECT_EQ(state(id), State::kTimeWait);
    now += 60 * kSecond;
    a.engine.poll(now);
    EXPECT_EQ(a.engine.status(id), fail(Error::kClosed));
}

// A served connection we closed first sits in TIME_WAIT; the same peer port comes back at once
// (QEMU's user network passes the host client's port through). A new SYN beyond the old
// connection reopens it with a higher initial sequence number (RFC 1122 4.2.2.13); an old
// duplicate SYN, a SYN for a connection still held, or one to a port nobody listens on any more
// does not.
TEST_F(Scripted, NewSynReopensATimeWaitNobodyHolds) {
    const int64_t l = a.engine.listen(0, 8080, 4);
    ASSERT_GE(l, 0);
    local_port = 8080;
    // The old connection: served, answered, closed by us first.
    auto serve_and_close = [&](bool close) {
        peer(peer_seq, 0, kSyn, 30000, {}, 1000);
        Seg synack = a.take();
        EXPECT_TRUE(synack.has(kSyn | kAck));
        ++peer_seq;
        peer(peer_seq, synack.seq + 1, kAck, 30000, bytes(20));
        peer_seq += 20;
        const int64_t id = a.engine.accept(l);
        EXPECT_GE(id, 0);
        std::vector<uint8_t> buf(20);
        EXPECT_EQ(a.engine.receive(id, buf.data(), buf.size(), now), 20);
        // Within the initial window (3 segments of 1000): the data and our FIN go at once.
        EXPECT_EQ(a.engine.send(id, bytes(1500).data(), 1500, now), 1500);
        if (close)
            a.engine.close(id, now);
        else
            EXPECT_EQ(a.engine.shutdown(id, now), 0);
        uint32_t last = 0;
        for (const Seg& seg : drain())
            last = seg.seq + static_cast<uint32_t>(seg.data.size()) + (seg.has(kFin) ? 1 : 0);
        peer(peer_seq, last, kFin | kAck);  // everything acknowledged, and the peer's FIN
        ++peer_seq;
        EXPECT_EQ(a.take().ack, peer_seq);
        return std::pair{id, last};
    };
    auto [old_id, old_last] = serve_and_close(true);
    EXPECT_EQ(a.engine.slots_in_use(), 1u);  // TIME_WAIT
    // An old duplicate SYN (at or before what was received) is not a new connection.
    peer(peer_seq - 30, 0, kSyn, 30000);
    Seg dup = a.take();
    EXPECT_FALSE(dup.has(kSyn));
    EXPECT_EQ(a.engine.counters().reopened, 0u);
    // A new one, further on: a SYN-ACK at once, above the old connection's numbers.
    peer_seq += 1000;
    peer(peer_seq, 0, kSyn, 30000);
    Seg synack = a.take();
    ASSERT_TRUE(synack.has(kSyn | kAck));
    EXPECT_EQ(synack.ack, peer_seq + 1);
    EXPECT_GE(synack.seq - old_last, 65538u);
    EXPECT_LT(synack.seq - old_last, 0x8000'0000u);
    EXPECT_EQ(a.engine.counters().reopened, 1u);
    ++peer_seq;
    peer(peer_seq, synack.seq + 1, kAck, 30000, bytes(5));
    peer_seq += 5;
    const int64_t again = a.engine.accept(l);
    ASSERT_GE(again, 0);
    EXPECT_EQ(a.engine.readable(again), 5u);
    EXPECT_EQ(a.engine.status(old_id), fail(Error::kInvalid));  // the old id stays stale
    EXPECT_EQ(a.engine.slots_in_use(), 1u);
    // Still held by its caller (shut down, not closed): a new SYN does not take it away.
    a.engine.abort(again, now);
    drain();
    auto [held, held_last] = serve_and_close(false);
    (void)held_last;
    EXPECT_EQ(state(held), State::kTimeWait);
    peer_seq += 1000;
    peer(peer_seq, 0, kSyn, 30000);
    EXPECT_FALSE(a.take().has(kSyn));
    EXPECT_EQ(state(held), State::kTimeWait);
    EXPECT_EQ(a.engine.counters().reopened, 1u);
    // Let go of, but nobody listens any more: the SYN meets the old connection.
    a.engine.close(held, now);
    a.engine.close_listener(l, now);
    peer_seq += 1000;
    peer(peer_seq, 0, kSyn, 30000);
    EXPECT_FALSE(a.take().has(kSyn));
    EXPECT_EQ(a.engine.counters().reopened, 1u);
}

TEST_F(Scripted, FinWithTheHandshakeAckWaitsForAccept) {
    const int64_t l = a.engine.listen(0, 8080, 4);
    local_port = 8080;
    peer(peer_seq, 0, kSyn, 30000);
    Seg synack = a.take();
    ++peer_seq;
    // The handshake's ACK carries data and the FIN: CLOSE_WAIT before anyone accepted it.
    peer(peer_seq, synack.seq + 1, kAck | kFin, 30000, bytes(3));
    EXPECT_EQ(a.take().ack, peer_seq + 4);
    const int64_t id = a.engine.accept(l);
    ASSERT_GE(id, 0);
    EXPECT_EQ(state(id), State::kCloseWait);
    std::vector<uint8_t> buf(8);
    EXPECT_EQ(a.engine.receive(id, buf.data(), 8, now), 3);
    EXPECT_EQ(a.engine.receive(id, buf.data(), 8, now), 0);
    // A retransmitted FIN in CLOSE_WAIT and in LAST_ACK is acknowledged again.
    peer(peer_seq, synack.seq + 1, kAck | kFin, 30000, bytes(3));
    EXPECT_EQ(a.take().ack, peer_seq + 4);
    a.engine.close(id, now);
    Seg fin = a.take();
    EXPECT_TRUE(fin.has(kFin));
    peer(peer_seq, synack.seq + 1, kAck | kFin, 30000, bytes(3));
    Seg again = a.take();
    EXPECT_EQ(again.ack, peer_seq + 4);
    // Our FIN is retransmitted on the RTO until acknowledged.
    now = a.engine.poll(now);
    a.engine.poll(now);
    EXPECT_EQ(a.take().seq, fin.seq);
    peer(peer_seq + 4, fin.seq + 1, kAck);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, RstInEveryClosingStateEndsIt) {
    // CLOSING, LAST_ACK and TIME_WAIT end quietly on an exact RST; FIN_WAIT_2 fails.
    const int64_t id = open();
    a.engine.shutdown(id, now);
    a.take();
    peer(peer_seq, iss + 2, kAck);
    EXPECT_EQ(state(id), State::kFinWait2);
    peer(peer_seq, 0, kRst);
    EXPECT_EQ(a.engine.status(id), fail(Error::kReset));
    a.engine.close(id, now);
    const int64_t id2 = open();
    peer(peer_seq, iss + 1, kAck | kFin);
    a.engine.shutdown(id2, now);
    EXPECT_EQ(state(id2), State::kLastAck);
    drain();
    peer(peer_seq + 1, 0, kRst);
    EXPECT_EQ(state(id2), State::kClosed);
    EXPECT_EQ(a.engine.status(id2), fail(Error::kClosed));
}

TEST_F(Scripted, DataAfterCloseIsAnsweredWithRst) {
    const int64_t id = open();
    EXPECT_EQ(a.engine.send_space(id), 16384u);
    ASSERT_EQ(a.engine.send(id, bytes(100).data(), 100, now), 100);
    EXPECT_EQ(a.engine.send_space(id), 16384u - 100);
    EXPECT_EQ(drain().size(), 1u);
    a.engine.close(id, now);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].has(kFin));
    EXPECT_EQ(out[0].seq, iss + 101);
    peer(peer_seq, iss + 102, kAck);
    // Nobody will read this: the peer learns at once.
    peer(peer_seq, iss + 102, kAck | kPsh, 60000, bytes(10));
    Seg rst = a.take();
    EXPECT_TRUE(rst.has(kRst));
    EXPECT_EQ(rst.seq, iss + 102);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, FinWait2OrphanIsFreedAfterTwoMsl) {
    const int64_t id = open();
    a.engine.close(id, now);
    a.take();
    peer(peer_seq, iss + 2, kAck);
    EXPECT_EQ(a.engine.slots_in_use(), 1u);
    now += 61 * kSecond;
    a.engine.poll(now);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, CloseWithUnreadDataResets) {
    const int64_t id = open();
    peer(peer_seq, iss + 1, kAck | kPsh, 60000, bytes(10));
    drain();
    a.engine.close(id, now);
    Seg rst = a.take();
    EXPECT_TRUE(rst.has(kRst));
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, ResetValidationFollowsRfc5961) {
    const int64_t id = open();
    // Out of the window: dropped silently.
    peer(peer_seq + 100000, 0, kRst);
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(a.engine.status(id), 1);
    // In the window, not exact: a challenge ACK.
    peer(peer_seq + 10, 0, kRst);
    Seg c = a.take();
    EXPECT_TRUE(c.has(kAck));
    EXPECT_EQ(c.ack, peer_seq);
    EXPECT_EQ(a.engine.counters().challenge_acks, 1u);
    EXPECT_EQ(a.engine.status(id), 1);
    // A SYN in a synchronised state: a challenge ACK too.
    peer(peer_seq + 10, 0, kSyn);
    EXPECT_EQ(a.engine.counters().challenge_acks, 2u);
    EXPECT_EQ(a.engine.status(id), 1);
    // Exact: the connection is reset.
    peer(peer_seq, 0, kRst);
    EXPECT_EQ(a.engine.status(id), fail(Error::kReset));
    EXPECT_EQ(a.engine.counters().resets_received, 1u);
    std::vector<uint8_t> buf(4);
    EXPECT_EQ(a.engine.receive(id, buf.data(), 4, now), fail(Error::kReset));
}

TEST_F(Scripted, ChallengeAcksAreRateLimited) {
    const int64_t id = open();
    for (int k = 0; k < 25; ++k)
        peer(peer_seq + 10, 0, kRst);
    EXPECT_EQ(drain().size(), 10u);
    EXPECT_EQ(a.engine.counters().challenge_acks, 10u);
    EXPECT_EQ(a.engine.counters().challenge_acks_suppressed, 15u);
    now += kSecond;
    peer(peer_seq + 10, 0, kSyn);
    EXPECT_EQ(drain().size(), 1u);
    EXPECT_EQ(a.engine.status(id), 1);
}

TEST_F(Scripted, KeepaliveProbesThenTimesOut) {
    const int64_t id = open();
    a.engine.set_keepalive(id, true);
    const Time idle = 7200 * kSecond;
    EXPECT_EQ(a.engine.poll(now), now + idle);
    now += idle;
    a.engine.poll(now);
    Seg p = a.take();
    EXPECT_EQ(p.seq, iss);  // snd.una - 1
    EXPECT_TRUE(p.data.empty());
    // Answered: the count starts again from the idle time.
    peer(peer_seq, iss + 1, kAck);
    EXPECT_EQ(a.engine.poll(now), now + idle);
    now += idle;
    for (int k = 0; k < 9; ++k) {
        a.engine.poll(now);
        EXPECT_EQ(a.take().seq, iss);
        now += 75 * kSecond;
    }
    EXPECT_EQ(a.engine.status(id), 1);
    a.engine.poll(now);
    EXPECT_EQ(a.engine.status(id), fail(Error::kTimedOut));
    EXPECT_EQ(a.engine.counters().keepalive_probes, 10u);
}

TEST_F(Scripted, BacklogFullDropsSyns) {
    const int64_t l = a.engine.listen(kA, 8080, 2);
    ASSERT_GE(l, 0);
    for (uint16_t port = 1000; port < 1003; ++port)
        a.give(kB, build(kB, kA, port, 8080, 100, 0, kSyn, 1000), now);
    EXPECT_EQ(drain().size(), 2u);
    EXPECT_EQ(a.engine.counters().backlog_full, 1u);
    // Closing the listener resets the pending ones and frees their slots.
    a.engine.close_listener(l, now);
    auto out = drain();
    EXPECT_EQ(out.size(), 2u);
    for (const Seg& s : out)
        EXPECT_TRUE(s.has(kRst));
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Scripted, ListenAddressInUse) {
    EXPECT_GE(a.engine.listen(kA, 80, 1), 0);
    EXPECT_EQ(a.engine.listen(kA, 80, 1), fail(Error::kAddressInUse));
    EXPECT_EQ(a.engine.listen(0, 80, 1), fail(Error::kAddressInUse));
    EXPECT_GE(a.engine.listen(kB, 80, 1), 0);                     // another address of ours
    EXPECT_EQ(a.engine.listen(kA, 81, 1), fail(Error::kNoRoom));  // two listener slots
    EXPECT_EQ(a.engine.listen(kA, 0, 1), fail(Error::kInvalid));
}

TEST_F(Scripted, ClosedPortAnswersWithRst) {
    local_port = 9;
    peer(777, 0, kSyn, 1000);
    Seg r = a.take();
    EXPECT_TRUE(r.has(kRst | kAck));
    EXPECT_EQ(r.seq, 0u);
    EXPECT_EQ(r.ack, 778u);
    peer(777, 4242, kAck, 1000, bytes(5));
    r = a.take();
    EXPECT_TRUE(r.has(kRst));
    EXPECT_FALSE(r.has(kAck));
    EXPECT_EQ(r.seq, 4242u);
    peer(777, 4242, kRst, 1000);  // never a RST for a RST
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(a.engine.counters().no_listener, 3u);
}

TEST_F(Scripted, MalformedSegmentsAreCountedAndDropped) {
    const int64_t l = a.engine.listen(0, 80, 1);
    ASSERT_GE(l, 0);
    local_port = 80;
    auto good = build(kB, kA, kPort, 80, 1, 0, kSyn, 1000, {}, 1460);
    auto fix = [](std::vector<uint8_t> b) {
        b[16] = b[17] = 0;
        put16(&b[16], checksum_fold(checksum_add(
                          pseudo_header_sum(kB, kA, 6, static_cast<uint16_t>(b.size())), b.data(),
                          b.size())));
        return b;
    };
    // Short.
    a.give(kB, std::vector<uint8_t>(good.begin(), good.begin() + 19), now);
    // Data offset below 5, and beyond the segment.
    auto b = good;
    b[12] = 4 << 4;
    a.give(kB, fix(b), now);
    b[12] = 7 << 4;
    a.give(kB, fix(b), now);
    // An option running off the end: MSS claiming 8 bytes.
    b = good;
    b[21] = 8;
    a.give(kB, fix(b), now);
    // MSS with a wrong length.
    b[21] = 3;
    a.give(kB, fix(b), now);
    // A length byte missing.
    b = good;
    b[20] = 1;
    b[21] = 1;
    b[22] = 1;
    b[23] = 5;
    a.give(kB, fix(b), now);
    EXPECT_EQ(a.engine.counters().malformed, 6u);
    // A single byte changed.
    b = good;
    b[5] ^= 0x40;
    a.give(kB, b, now);
    EXPECT_EQ(a.engine.counters().bad_checksum, 1u);
    EXPECT_TRUE(drain().empty());
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
    a.give(kB, good, now);
    EXPECT_EQ(drain().size(), 1u);
    EXPECT_EQ(a.engine.counters().segments_in, 8u);
}

TEST_F(Scripted, BadIdsAreRefused) {
    EXPECT_EQ(a.engine.status(-1), fail(Error::kInvalid));
    EXPECT_EQ(a.engine.status(12345), fail(Error::kInvalid));
    EXPECT_EQ(a.engine.accept(7), fail(Error::kInvalid));
    EXPECT_EQ(a.engine.send_space(3), 0u);
    EXPECT_EQ(a.engine.connect(kA, kB, 0, now), fail(Error::kInvalid));
    uint8_t storage[16];
    Engine e;
    EXPECT_EQ(e.init(Limits{}, IpOutput{}, 0, storage, sizeof storage), fail(Error::kInvalid));
    Limits bad;
    bad.connections = 0;
    EXPECT_EQ(Engine::storage_size(bad), 0u);
}

// Two engines on a lossless wire.
struct Pair : ::testing::Test {
    Host a{kA, Scripted::limits(), 1};
    Host b{kB, Scripted::limits(), 2};
    Time now = 5 * kSecond;

    void pump() {
        for (int k = 0; k < 10000 && (!a.sent.empty() || !b.sent.empty()); ++k) {
            while (!a.sent.empty()) {
                Packet p = a.sent.front();
                a.sent.pop_front();
                b.engine.input(p.source, p.destination, p.bytes.data(), p.bytes.size(), now);
            }
            while (!b.sent.empty()) {
                Packet p = b.sent.front();
                b.sent.pop_front();
                a.engine.input(p.source, p.destination, p.bytes.data(), p.bytes.size(), now);
            }
        }
    }
    void tick(Time dt) {
        now += dt;
        a.engine.poll(now);
        b.engine.poll(now);
        pump();
    }
};

TEST_F(Pair, DataBothWays) {
    const int64_t l = b.engine.listen(0, kPort, 4);
    const int64_t ca = a.engine.connect(kA, kB, kPort, now);
    pump();
    const int64_t cb = b.engine.accept(l);
    ASSERT_GE(cb, 0);
    EXPECT_EQ(a.engine.status(ca), 1);
    const auto d1 = bytes(100000, 1), d2 = bytes(70000, 2);
    std::vector<uint8_t> r1, r2;
    size_t s1 = 0, s2 = 0;
    std::vector<uint8_t> buf(5000);
    for (int round = 0; round < 5000 && (r1.size() < d1.size() || r2.size() < d2.size()); ++round) {
        int64_t n = a.engine.send(ca, d1.data() + s1, d1.size() - s1, now);
        if (n > 0)
            s1 += static_cast<size_t>(n);
        n = b.engine.send(cb, d2.data() + s2, d2.size() - s2, now);
        if (n > 0)
            s2 += static_cast<size_t>(n);
        pump();
        while ((n = b.engine.receive(cb, buf.data(), buf.size(), now)) > 0)
            r1.insert(r1.end(), buf.begin(), buf.begin() + n);
        while ((n = a.engine.receive(ca, buf.data(), buf.size(), now)) > 0)
            r2.insert(r2.end(), buf.begin(), buf.begin() + n);
        tick(10 * kMs);
    }
    EXPECT_EQ(r1, d1);
    EXPECT_EQ(r2, d2);
    EXPECT_EQ(a.engine.counters().retransmits + b.engine.counters().retransmits, 0u);
    a.engine.shutdown(ca, now);
    pump();
    EXPECT_EQ(b.engine.receive(cb, buf.data(), buf.size(), now), 0);
    b.engine.close(cb, now);
    pump();
    EXPECT_EQ(a.engine.receive(ca, buf.data(), buf.size(), now), 0);
    EXPECT_EQ(a.engine.status(ca), fail(Error::kClosed));
    a.engine.close(ca, now);
    EXPECT_EQ(b.engine.slots_in_use(), 0u);
    tick(61 * kSecond);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
}

TEST_F(Pair, SimultaneousOpen) {
    // Both connect to each other's port: a's port must be known, so b listens nowhere and a
    // answers b's SYN only through its own SYN_SENT connection.
    const int64_t ca = a.engine.connect(kA, kB, 7000, now);
    Seg syn_a = a.take();
    // b's SYN to a's ephemeral port, from port 7000, crossing a's.
    const auto syn_b = build(kB, kA, 7000, syn_a.source_port, 900, 0, kSyn, 5000, {}, 1000);
    a.engine.input(kB, kA, syn_b.data(), syn_b.size(), now);
    Info i{};
    a.engine.info(ca, &i);
    EXPECT_EQ(i.state, State::kSynReceived);
    Seg synack = a.take();
    EXPECT_TRUE(synack.has(kSyn | kAck));
    EXPECT_EQ(synack.ack, 901u);
    const auto ack = build(kB, kA, 7000, syn_a.source_port, 900, syn_a.seq + 1, kSyn | kAck, 5000);
    a.engine.input(kB, kA, ack.data(), ack.size(), now);
    a.engine.info(ca, &i);
    EXPECT_EQ(i.state, State::kEstablished);
}

TEST_F(Pair, ConnectCloseLoopsDoNotExhaustTheTable) {
    const int64_t l = b.engine.listen(0, kPort, 4);
    for (int round = 0; round < 40; ++round) {
        const int64_t ca = a.engine.connect(kA, kB, kPort, now);
        ASSERT_GE(ca, 0) << round;
        pump();
        const int64_t cb = b.engine.accept(l);
        ASSERT_GE(cb, 0) << round;
        a.engine.close(ca, now);
        pump();
        b.engine.close(cb, now);
        pump();
        tick(kSecond);
        // Connections in TIME_WAIT are recycled under pressure; the table never fills.
        EXPECT_LE(a.engine.slots_in_use(), Scripted::limits().connections);
        EXPECT_EQ(b.engine.slots_in_use(), 0u);
    }
    tick(61 * kSecond);
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
    EXPECT_EQ(a.engine.counters().connections_opened, a.engine.counters().connections_freed);
}

TEST_F(Pair, ResetOnAbort) {
    const int64_t l = b.engine.listen(0, kPort, 4);
    const int64_t ca = a.engine.connect(kA, kB, kPort, now);
    pump();
    const int64_t cb = b.engine.accept(l);
    a.engine.abort(ca, now);
    pump();
    EXPECT_EQ(b.engine.status(cb), fail(Error::kReset));
    EXPECT_EQ(a.engine.slots_in_use(), 0u);
    b.engine.close(cb, now);
    EXPECT_EQ(b.engine.slots_in_use(), 0u);
}

// The in-place path (IpOutput::build, the Stack's: the segment written into the frame with its
// data summed as it is copied) writes exactly the bytes the scratch path writes, for the SYN
// (its options), data segments, a FIN, and data that wraps around the send ring's end after an
// odd and after an even number of bytes (the two ways the copy is split).
TEST(TcpInPlace, BuildsTheSameSegmentsAsTheScratchPath) {
    Limits l = Scripted::limits();
    l.send_buffer = 4096;
    Host scratch{kA, l, 7, false};
    Host in_place{kA, l, 7, true};
    Time now = 1000 * kMs;
    uint32_t peer_seq = 5000;
    std::vector<std::vector<uint8_t>> out[2];
    Host* hosts[2] = {&scratch, &in_place};
    int64_t id[2] = {-1, -1};
    uint16_t port = 0;
    uint32_t acked = 0;
    // Everything each host sent so far, moved to out[]; the peer acknowledges it all.
    auto drain = [&](bool acknowledge) {
        uint32_t next = 0;
        for (int h = 0; h < 2; ++h) {
            while (!hosts[h]->sent.empty()) {
                out[h].push_back(hosts[h]->sent.front().bytes);
                const Seg seg = hosts[h]->take();
                ASSERT_TRUE(seg.ok);  // the reader checks the checksum independently
                port = seg.source_port;
                next = seg.seq + static_cast<uint32_t>(seg.data.size()) +
                       (seg.has(kSyn) || seg.has(kFin) ? 1u : 0u);
            }
        }
        if (acknowledge && next != 0)
            acked = next;
    };
    for (int h = 0; h < 2; ++h)
        id[h] = hosts[h]->engine.connect(kA, kB, kPort, now);
    drain(true);
    now += 10 * kMs;
    for (int h = 0; h < 2; ++h)
        hosts[h]->give(
            kB, build(kB, kA, kPort, port, peer_seq, acked, kSyn | kAck, 60000, {}, 1000), now);
    ++peer_seq;
    drain(false);
    // 1001 bytes, then writes that cross the ring's end at 4096 after 4096 - 1001 (odd) bytes,
    // then after an even count.
    const std::vector<uint8_t> pieces[] = {bytes(1001, 1), bytes(3500, 2), bytes(2001, 3),
                                           bytes(3000, 4)};
    for (const auto& data : pieces) {
        for (int h = 0; h < 2; ++h)
            ASSERT_EQ(hosts[h]->engine.send(id[h], data.data(), data.size(), now),
                      static_cast<int64_t>(data.size()));
        drain(true);
        now += 10 * kMs;
        for (int h = 0; h < 2; ++h)
            hosts[h]->give(kB, build(kB, kA, kPort, port, peer_seq, acked, kAck, 60000), now);
        drain(true);
    }
    for (int h = 0; h < 2; ++h)
        ASSERT_EQ(hosts[h]->engine.shutdown(id[h], now), 0);
    drain(true);
    EXPECT_EQ(out[0], out[1]);
    EXPECT_GT(out[0].size(), 10u);
    EXPECT_EQ(in_place.built, out[1].size());
    EXPECT_EQ(scratch.built, 0u);
}

}  // namespace
}  // namespace keel::net::tcp
