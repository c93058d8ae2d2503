// IPv4 and ICMP through the Stack: header validation, what is for us, options, TTL, fragment
// reassembly (in order, out of order, overlapping, conflicting, timed out), output routing and
// its limits, echo, the ping client and errors passed to a transport.
#include <gtest/gtest.h>
#include <keel/net/icmp.hpp>
#include <keel/net/ipv4.hpp>
#include <keel/net/stack.hpp>

#include <cstring>
#include <vector>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using namespace testing;

constexpr Ip4 kRemote = 0x08080808;

struct Seen {
    int inputs = 0;
    Bytes payload;
    Ip4 source = 0;
    int errors = 0;
    uint8_t type = 0, code = 0;
    Ip4 original = 0;
    size_t original_size = 0;
};

void on_input(void* c, Ip4 source, Ip4, const uint8_t* p, size_t n, Time) {
    auto* s = static_cast<Seen*>(c);
    ++s->inputs;
    s->source = source;
    s->payload.assign(p, p + n);
}
void on_error(void* c, uint8_t type, uint8_t code, Ip4 dst, const uint8_t*, size_t n, Time) {
    auto* s = static_cast<Seen*>(c);
    ++s->errors;
    s->type = type;
    s->code = code;
    s->original = dst;
    s->original_size = n;
}

Bytes frame(const Bytes& ip) {
    return ethernet(kOurMac, kSlirpMac, 0x0800, ip);
}

Bytes pattern(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i)
        b[i] = static_cast<uint8_t>(i * 7 + 3);
    return b;
}

TEST(Ipv4, ParseChecksEveryField) {
    Ipv4Packet p;
    const Bytes good = ipv4(kRemote, kOurIp, 6, Bytes(8, 1));
    ASSERT_EQ(parse_ipv4(good.data(), good.size(), &p), Ipv4Parse::kOk);
    EXPECT_EQ(p.size, 8u);
    EXPECT_EQ(p.protocol, 6);
    EXPECT_EQ(parse_ipv4(good.data(), 19, &p), Ipv4Parse::kMalformed);
    Bytes b = good;
    b[0] = 0x65;  // version 6
    EXPECT_EQ(parse_ipv4(b.data(), b.size(), &p), Ipv4Parse::kMalformed);
    b = good;
    b[0] = 0x44;  // IHL 4
    EXPECT_EQ(parse_ipv4(b.data(), b.size(), &p), Ipv4Parse::kMalformed);
    b = good;
    b[0] = 0x4f;  // 60 bytes of header in a 28-byte packet
    EXPECT_EQ(parse_ipv4(b.data(), b.size(), &p), Ipv4Parse::kMalformed);
    b = good;
    b[3] = 29;  // total length past the buffer
    EXPECT_EQ(parse_ipv4(b.data(), b.size(), &p), Ipv4Parse::kMalformed);
    b = good;
    b[3] = 19;  // total length inside the header
    EXPECT_EQ(parse_ipv4(b.data(), b.size(), &p), Ipv4Parse::kMalformed);
    b = good;
    b[16] ^= 1;
    EXPECT_EQ(parse_ipv4(b.data(), b.size(), &p), Ipv4Parse::kBadChecksum);
    const Bytes evil = ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 1, 0x8000);  // reserved flag
    EXPECT_EQ(parse_ipv4(evil.data(), evil.size(), &p), Ipv4Parse::kMalformed);
    const Bytes far = ipv4(kRemote, kOurIp, 6, Bytes(16, 1), 1, 0x1fff);  // past 65535
    EXPECT_EQ(parse_ipv4(far.data(), far.size(), &p), Ipv4Parse::kMalformed);
    // Link padding after the datagram is not payload.
    Bytes padded = good;
    padded.resize(good.size() + 10);
    ASSERT_EQ(parse_ipv4(padded.data(), padded.size(), &p), Ipv4Parse::kOk);
    EXPECT_EQ(p.size, 8u);
}

TEST(Ipv4, DeliversToTheTransportAndCountsTheRest) {
    Harness h;
    h.slirp();
    Seen seen;
    h.stack.set_transport(6, on_input, on_error, &seen);
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(4, 9))));
    EXPECT_EQ(seen.inputs, 1);
    EXPECT_EQ(seen.payload, Bytes(4, 9));
    // Options are skipped (a 4-byte NOP NOP NOP EOL).
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(3, 5), 2, 0, 64, {1, 1, 1, 0})));
    EXPECT_EQ(seen.inputs, 2);
    EXPECT_EQ(seen.payload, Bytes(3, 5));
    // The subnet's broadcast and the limited broadcast are for us; others are not.
    h.feed(frame(ipv4(kRemote, ip4(10, 0, 2, 255), 6, Bytes(1, 0))));
    h.feed(frame(ipv4(kRemote, kBroadcastIp4, 6, Bytes(1, 0))));
    EXPECT_EQ(seen.inputs, 4);
    h.feed(frame(ipv4(kRemote, ip4(10, 0, 2, 16), 6, Bytes(1, 0))));
    EXPECT_EQ(h.stack.counters().not_for_us, 1u);
    Bytes bad = ipv4(kRemote, kOurIp, 6, Bytes(1, 0));
    bad[12] ^= 0x40;
    h.feed(frame(bad));
    EXPECT_EQ(h.stack.counters().bad_ipv4_checksum, 1u);
    h.feed(frame(Bytes(12, 0x45)));
    EXPECT_EQ(h.stack.counters().malformed_ipv4, 1u);
    h.feed(frame(ipv4(kBroadcastIp4, kOurIp, 6, Bytes(1, 0))));  // a broadcast source
    EXPECT_EQ(h.stack.counters().malformed_ipv4, 2u);
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(1, 0), 3, 0, 0)));
    EXPECT_EQ(h.stack.counters().ttl_zero, 1u);
    h.feed(frame(ipv4(kRemote, kOurIp, 99, Bytes(1, 0))));
    EXPECT_EQ(h.stack.counters().unknown_protocol, 1u);
    EXPECT_EQ(seen.inputs, 4);
    // Removing the transport stops delivery.
    h.stack.set_transport(6, nullptr, nullptr, nullptr);
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(4, 9))));
    EXPECT_EQ(seen.inputs, 4);
    EXPECT_EQ(h.stack.counters().unknown_protocol, 2u);
}

TEST(Ipv4, UnconfiguredAcceptsAnyDestination) {
    Harness h;
    Seen seen;
    h.stack.set_transport(6, on_input, nullptr, &seen);
    h.feed(frame(ipv4(kGateway, ip4(10, 0, 2, 77), 6, Bytes(1, 0))));
    EXPECT_EQ(seen.inputs, 1);
}

// Fragments of `data` (protocol 6) cut at the given byte offsets (multiples of 8).
std::vector<Bytes> fragments(const Bytes& data, std::vector<size_t> cuts, uint16_t id = 7) {
    cuts.push_back(data.size());
    std::vector<Bytes> out;
    size_t at = 0;
    for (size_t c : cuts) {
        const bool more = c != data.size();
        const Bytes piece(data.begin() + static_cast<long>(at),
                          data.begin() + static_cast<long>(c));
        out.push_back(frame(ipv4(kRemote, kOurIp, 6, piece, id,
                                 static_cast<uint16_t>((more ? 0x2000 : 0) | at / 8))));
        at = c;
    }
    return out;
}

TEST(Ipv4, ReassemblesOutOfOrderFragmentsAndDuplicates) {
    Harness h;
    h.slirp();
    Seen seen;
    h.stack.set_transport(6, on_input, nullptr, &seen);
    const Bytes data = pattern(3001);
    auto f = fragments(data, {1480, 2960});
    h.feed(f[2]);
    h.feed(f[0]);
    h.feed(f[0]);  // a duplicate carries the same bytes: harmless
    EXPECT_EQ(seen.inputs, 0);
    EXPECT_EQ(h.stack.reassembly_in_use(), 1u);
    h.feed(f[1]);
    ASSERT_EQ(seen.inputs, 1);
    EXPECT_EQ(seen.payload, data);
    EXPECT_EQ(h.stack.reassembly_in_use(), 0u);
    EXPECT_EQ(h.stack.counters().fragments_reassembled, 1u);
    EXPECT_EQ(h.stack.counters().fragments_received, 4u);
}

TEST(Ipv4, OverlapsWithTheSameBytesAreAcceptedAndContradictionsDropTheDatagram) {
    Harness h;
    h.slirp();
    Seen seen;
    h.stack.set_transport(6, on_input, nullptr, &seen);
    const Bytes data = pattern(64);
    // [0,32) and [16,64): overlapping, consistent.
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(data.begin(), data.begin() + 32), 9, 0x2000)));
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(data.begin() + 16, data.end()), 9, 2)));
    ASSERT_EQ(seen.inputs, 1);
    EXPECT_EQ(seen.payload, data);
    // The same, but the second piece disagrees in one byte of the overlap (a teardrop-style
    // rewrite): nothing is delivered.
    Bytes evil(data.begin() + 16, data.end());
    evil[3] ^= 0xff;
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(data.begin(), data.begin() + 32), 10, 0x2000)));
    h.feed(frame(ipv4(kRemote, kOurIp, 6, evil, 10, 2)));
    EXPECT_EQ(seen.inputs, 1);
    EXPECT_EQ(h.stack.counters().fragments_dropped, 2u);
    EXPECT_EQ(h.stack.reassembly_in_use(), 0u);
    // Two different ends, a middle fragment of 12 bytes, a piece beyond the end.
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 11, 1)));
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(16, 1), 11, 1)));
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(12, 1), 12, 0x2000)));
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 13, 1)));
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(16, 1), 13, 0x2002)));
    EXPECT_EQ(h.stack.counters().fragments_dropped, 2u + 2 + 1 + 2);
    EXPECT_EQ(seen.inputs, 1);
    EXPECT_EQ(h.stack.reassembly_in_use(), 0u);
}

TEST(Ipv4, ReassemblyIsBoundedInSlotsAndSizeAndTimesOut) {
    Limits l;
    l.reassembly_slots = 2;
    l.reassembly_bytes = 4096;
    Harness h(l);
    h.slirp();
    Seen seen;
    h.stack.set_transport(6, on_input, nullptr, &seen);
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 1, 0x2000)), kSecond);
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 2, 0x2000)), 2 * kSecond);
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 3, 0x2000)), 2 * kSecond);  // no slot
    EXPECT_EQ(h.stack.counters().fragments_dropped, 1u);
    EXPECT_EQ(h.stack.reassembly_in_use(), 2u);
    // A fragment reaching past reassembly_bytes drops its datagram.
    h.feed(frame(ipv4(kRemote, kOurIp, 6, Bytes(8, 1), 2, 512)), 2 * kSecond);
    EXPECT_EQ(h.stack.counters().fragments_dropped, 3u);
    EXPECT_EQ(h.stack.reassembly_in_use(), 1u);
    EXPECT_EQ(h.stack.poll(3 * kSecond), 31 * kSecond);
    h.stack.poll(31 * kSecond);
    EXPECT_EQ(h.stack.reassembly_in_use(), 0u);
    EXPECT_EQ(h.stack.counters().reassembly_timeouts, 1u);
    EXPECT_EQ(h.stack.counters().fragments_dropped, 4u);
    EXPECT_EQ(seen.inputs, 0);
}

TEST(Ipv4, BuildWritesThePayloadInPlaceAndRefusesAsSendDoes) {
    Harness h;
    struct Fill {
        int calls = 0;
        uint8_t seed = 0;
        static void write(void* context, uint8_t* payload, size_t size) {
            auto* f = static_cast<Fill*>(context);
            ++f->calls;
            for (size_t i = 0; i < size; ++i)
                payload[i] = static_cast<uint8_t>(f->seed + i * 3);
        }
    } fill;
    fill.seed = 9;
    const IpOutput out = h.stack.ip_output();
    ASSERT_NE(out.build, nullptr);
    // Refused before anything is built: fill is not called.
    EXPECT_FALSE(out.build(out.context, 0, kRemote, 6, 10, &Fill::write, &fill));  // no address
    h.slirp();
    EXPECT_FALSE(out.build(out.context, 0, kRemote, 6, 1481, &Fill::write, &fill));  // too large
    EXPECT_EQ(fill.calls, 0);
    EXPECT_EQ(h.stack.counters().output_no_route, 1u);
    EXPECT_EQ(h.stack.counters().output_too_large, 1u);
    // The same datagram through send and through build: the same frame but for the IPv4
    // identification and so the header checksum.
    uint8_t payload[1480];
    for (size_t i = 0; i < sizeof payload; ++i)
        payload[i] = static_cast<uint8_t>(9 + i * 3);
    for (size_t size : {size_t{0}, size_t{1}, size_t{77}, size_t{1480}}) {
        ASSERT_TRUE(out(0, kRemote, 6, payload, size));
        ASSERT_TRUE(out.build(out.context, 0, kRemote, 6, size, &Fill::write, &fill));
        const auto frames = h.drain();
        ASSERT_EQ(frames.size(), 2u);
        ASSERT_EQ(frames[0].size(), frames[1].size());
        EXPECT_EQ(inet_sum(frames[1].data() + 14, 20), 0);
        auto a = frames[0], b = frames[1];
        for (auto* f : {&a, &b})
            (*f)[14 + 4] = (*f)[14 + 5] = (*f)[14 + 10] = (*f)[14 + 11] = 0;
        EXPECT_EQ(a, b) << "size " << size;
    }
    EXPECT_EQ(fill.calls, 4);
}

// A link that takes frames as they are built (the network server's transmit buffers):
// `room` buffers, each frame kept as committed.
struct Sink {
    int room = 0;
    int acquired = 0;
    uint8_t buffer[1600];
    std::vector<Bytes> frames;
    static uint8_t* acquire(void* context, size_t size) {
        auto* s = static_cast<Sink*>(context);
        if (s->room == 0 || size > sizeof s->buffer)
            return nullptr;
        --s->room;
        ++s->acquired;
        std::memset(s->buffer, 0xa5, sizeof s->buffer);  // what is not written shows
        return s->buffer;
    }
    static void commit(void* context, uint8_t* frame, size_t size) {
        auto* s = static_cast<Sink*>(context);
        EXPECT_EQ(frame, s->buffer);
        s->frames.emplace_back(frame, frame + size);
    }
    LinkOutput output() { return LinkOutput{this, &Sink::acquire, &Sink::commit}; }
};

TEST(Ipv4, FramesGoStraightToTheLinkOutputInOrderAndOnlyWhenResolved) {
    Harness h;
    h.slirp();
    Sink sink;
    h.stack.set_link_output(sink.output());
    const IpOutput out = h.stack.ip_output();
    uint8_t payload[1480];
    for (size_t i = 0; i < sizeof payload; ++i)
        payload[i] = static_cast<uint8_t>(i * 5 + 1);
    const uint64_t before = h.stack.counters().frames_out;
    // Room: straight to the link, the same frame as through a slot (but the IPv4 id).
    sink.room = 2;
    ASSERT_TRUE(out(0, kRemote, 6, payload, 1480));
    ASSERT_TRUE(out(0, kRemote, 6, payload, 3));  // padded to 60 bytes
    EXPECT_TRUE(h.drain().empty());
    ASSERT_EQ(sink.frames.size(), 2u);
    EXPECT_EQ(sink.frames[0].size(), 1514u);
    EXPECT_EQ(sink.frames[1].size(), 60u);
    EXPECT_EQ(h.stack.counters().frames_out, before + 2);
    h.stack.set_link_output(LinkOutput{});
    ASSERT_TRUE(out(0, kRemote, 6, payload, 1480));
    auto slot = h.drain();
    ASSERT_EQ(slot.size(), 1u);
    auto direct = sink.frames[0];
    for (auto* f : {&direct, &slot[0]})
        (*f)[14 + 4] = (*f)[14 + 5] = (*f)[14 + 10] = (*f)[14 + 11] = 0;
    EXPECT_EQ(direct, slot[0]);
    EXPECT_EQ(0, std::memcmp(sink.frames[0].data(), kSlirpMac.bytes, 6));  // via the gateway
    EXPECT_EQ(inet_sum(sink.frames[0].data() + 14, 20), 0);
    for (size_t i = 14 + 20 + 3; i < 60; ++i)
        EXPECT_EQ(sink.frames[1][i], 0) << i;  // the padding is zeros, not the buffer's bytes
    // No room: the frame waits in a slot; then, with room again, a newer frame must not pass
    // it: it waits too, and both leave through take_frame in order.
    h.stack.set_link_output(sink.output());
    sink.frames.clear();
    ASSERT_TRUE(out(0, kRemote, 6, payload, 100));
    sink.room = 4;
    ASSERT_TRUE(out(0, kRemote, 6, payload, 200));
    EXPECT_TRUE(sink.frames.empty());
    auto queued = h.drain();
    ASSERT_EQ(queued.size(), 2u);
    EXPECT_EQ(queued[0].size(), 14u + 20u + 100u);
    EXPECT_EQ(queued[1].size(), 14u + 20u + 200u);
    ASSERT_TRUE(out(0, kRemote, 6, payload, 300));  // the slots are empty again: straight
    ASSERT_EQ(sink.frames.size(), 1u);
    // An on-link neighbour not yet resolved: the frame waits for ARP in a slot, and the ARP
    // request goes through take_frame.
    sink.frames.clear();
    ASSERT_TRUE(out(0, ip4(10, 0, 2, 77), 6, payload, 10));
    EXPECT_TRUE(sink.frames.empty());
    const auto arp_out = h.drain();
    ASSERT_EQ(arp_out.size(), 1u);
    EXPECT_EQ(rd16(arp_out[0].data() + 12), 0x0806);
}

TEST(Ipv4, OutputRoutesAndRefusesWhatItCannotSend) {
    Harness h;
    const uint8_t payload[1500] = {};
    EXPECT_FALSE(h.stack.ip_output()(0, kRemote, 6, payload, 10));  // unconfigured
    EXPECT_EQ(h.stack.counters().output_no_route, 1u);
    h.slirp();
    EXPECT_FALSE(h.stack.ip_output()(0, kRemote, 6, payload, 1481));  // above MTU - 20
    EXPECT_EQ(h.stack.counters().output_too_large, 1u);
    ASSERT_TRUE(h.stack.ip_output()(0, kRemote, 6, payload, 1480));
    const auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].size(), 1514u);
    EXPECT_EQ(0, std::memcmp(out[0].data(), kSlirpMac.bytes, 6));  // via the gateway
    EXPECT_EQ(rd32(out[0].data() + 14 + 12), kOurIp);
    EXPECT_EQ(rd32(out[0].data() + 14 + 16), kRemote);
    EXPECT_EQ(rd16(out[0].data() + 14 + 6), 0);  // DF clear, no fragment
    EXPECT_EQ(inet_sum(out[0].data() + 14, 20), 0);
    // Without a gateway an off-link destination has no route.
    h.stack.configure(kOurIp, kMask, 0, kDns);
    EXPECT_FALSE(h.stack.ip_output()(0, kRemote, 6, payload, 10));
    EXPECT_EQ(h.stack.counters().output_no_route, 2u);
}

TEST(Ipv4, APendingFrameQueueFullDropsOutput) {
    Limits l;
    l.pending_frames = 2;
    Harness h(l);
    h.slirp();
    const uint8_t payload[8] = {};
    EXPECT_TRUE(h.stack.ip_output()(0, kRemote, 6, payload, 8));
    EXPECT_TRUE(h.stack.ip_output()(0, kRemote, 6, payload, 8));
    EXPECT_FALSE(h.stack.ip_output()(0, kRemote, 6, payload, 8));
    EXPECT_EQ(h.stack.counters().frames_dropped_queue, 1u);
    // take_frame with too small a buffer leaves the frame.
    uint8_t small[10];
    EXPECT_EQ(h.stack.take_frame(small, sizeof small), 0u);
    EXPECT_EQ(h.drain().size(), 2u);
}

TEST(Icmp, AnswersEchoRequestsToUsOnly) {
    Harness h;
    h.slirp();
    const Bytes data = pattern(56);
    h.feed(frame(ipv4(kRemote, kOurIp, 1, icmp(8, 0, 0x1234, 7, data))));
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    const uint8_t* ip = out[0].data() + 14;
    EXPECT_EQ(rd32(ip + 16), kRemote);
    EXPECT_EQ(ip[9], 1);
    const uint8_t* m = ip + 20;
    EXPECT_EQ(m[0], 0);  // echo reply
    EXPECT_EQ(rd16(m + 4), 0x1234);
    EXPECT_EQ(rd16(m + 6), 7);
    EXPECT_EQ(inet_sum(m, 8 + 56), 0);
    EXPECT_EQ(0, std::memcmp(m + 8, data.data(), 56));
    EXPECT_EQ(h.stack.counters().icmp_echo_answered, 1u);
    // To the broadcast address: silence (no amplification).
    h.feed(frame(ipv4(kRemote, kBroadcastIp4, 1, icmp(8, 0, 1, 1, data))));
    EXPECT_TRUE(h.drain().empty());
    Bytes bad = icmp(8, 0, 1, 1, data);
    bad[9] ^= 1;
    h.feed(frame(ipv4(kRemote, kOurIp, 1, bad)));
    h.feed(frame(ipv4(kRemote, kOurIp, 1, Bytes(4, 0))));
    EXPECT_EQ(h.stack.counters().malformed_icmp, 2u);
    EXPECT_TRUE(h.drain().empty());
}

TEST(Icmp, PingClientKeepsRepliesByIdentifier) {
    Harness h;
    h.slirp();
    const Bytes data = pattern(32);
    ASSERT_EQ(h.stack.ping_send(kGateway, 0x4242, 1, data.data(), data.size(), 0), 0);
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    const uint8_t* m = out[0].data() + 34;
    EXPECT_EQ(m[0], 8);
    EXPECT_EQ(inet_sum(m, 40), 0);
    uint16_t seq = 0;
    Ip4 from = 0;
    uint8_t buf[64];
    EXPECT_EQ(h.stack.ping_receive(0x4242, &seq, &from, buf, sizeof buf), fail(Error::kWouldBlock));
    const uint64_t events = h.stack.events();
    h.feed(frame(ipv4(kGateway, kOurIp, 1, icmp(0, 0, 0x4242, 1, data))));
    h.feed(frame(ipv4(kGateway, kOurIp, 1, icmp(0, 0, 0x9999, 1, data))));  // not ours
    EXPECT_GT(h.stack.events(), events);
    EXPECT_EQ(h.stack.counters().icmp_replies_dropped, 1u);
    EXPECT_EQ(h.stack.ping_receive(0x9999, &seq, &from, buf, sizeof buf), fail(Error::kWouldBlock));
    ASSERT_EQ(h.stack.ping_receive(0x4242, &seq, &from, buf, 10), 10);
    EXPECT_EQ(seq, 1);
    EXPECT_EQ(from, kGateway);
    EXPECT_EQ(0, std::memcmp(buf, data.data(), 10));
    EXPECT_EQ(h.stack.ping_receive(0x4242, &seq, &from, buf, sizeof buf), fail(Error::kWouldBlock));
    EXPECT_EQ(h.stack.ping_send(kGateway, 1, 1, buf, 1473, 0), fail(Error::kInvalid));
}

TEST(Icmp, UnreachablePassesTheOriginalToTheTransport) {
    Harness h;
    h.slirp();
    Seen seen;
    h.stack.set_transport(6, on_input, on_error, &seen);
    Bytes original = ipv4(kOurIp, kRemote, 6, Bytes(20, 0));
    original.resize(28);  // the header and 8 bytes of TCP, as routers send
    h.feed(frame(ipv4(kGateway, kOurIp, 1, icmp(3, 1, 0, 0, original))));
    ASSERT_EQ(seen.errors, 1);
    EXPECT_EQ(seen.type, 3);
    EXPECT_EQ(seen.code, 1);
    EXPECT_EQ(seen.original, kRemote);
    EXPECT_EQ(seen.original_size, 8u);
    EXPECT_EQ(h.stack.counters().icmp_errors, 1u);
    // Too short to hold the header and 8 bytes; about a datagram we did not send.
    original.resize(27);
    h.feed(frame(ipv4(kGateway, kOurIp, 1, icmp(3, 1, 0, 0, original))));
    Bytes other = ipv4(kRemote, kOurIp, 6, Bytes(8, 0));
    h.feed(frame(ipv4(kGateway, kOurIp, 1, icmp(11, 0, 0, 0, other))));
    EXPECT_EQ(h.stack.counters().malformed_icmp, 2u);
    EXPECT_EQ(seen.errors, 1);
}

}  // namespace
}  // namespace keel::net
