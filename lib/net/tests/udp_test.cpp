// UDP through the Stack: binding, ephemeral ports, queues and their bounds, checksums both
// ways, malformed lengths, and what is sent.
#include <gtest/gtest.h>
#include <keel/net/stack.hpp>
#include <keel/net/udp.hpp>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using namespace testing;

constexpr Ip4 kRemote = 0x08080808;

TEST(Udp, ParseVerifiesLengthAndChecksum) {
    UdpDatagram d;
    const Bytes good = udp(kRemote, 1000, kOurIp, 2000, Bytes{1, 2, 3});
    ASSERT_EQ(parse_udp(good.data(), good.size(), kRemote, kOurIp, &d), UdpParse::kOk);
    EXPECT_EQ(d.source_port, 1000);
    EXPECT_EQ(d.destination_port, 2000);
    EXPECT_EQ(d.size, 3u);
    EXPECT_EQ(parse_udp(good.data(), good.size(), kRemote, kOurIp + 1, &d),
              UdpParse::kBadChecksum);  // the pseudo header counts
    EXPECT_EQ(parse_udp(good.data(), 7, kRemote, kOurIp, &d), UdpParse::kMalformed);
    Bytes b = good;
    b[5] = 12;  // longer than the datagram
    EXPECT_EQ(parse_udp(b.data(), b.size(), kRemote, kOurIp, &d), UdpParse::kMalformed);
    b[5] = 7;  // shorter than the header
    EXPECT_EQ(parse_udp(b.data(), b.size(), kRemote, kOurIp, &d), UdpParse::kMalformed);
    const Bytes none = udp(kRemote, 1000, kOurIp, 2000, Bytes{1, 2, 3}, false);
    EXPECT_EQ(parse_udp(none.data(), none.size(), 1, 2, &d), UdpParse::kOk);  // 0: unchecked
}

TEST(Udp, ReceivesIntoABoundSocket) {
    Harness h;
    h.slirp();
    const int64_t s = h.stack.udp_open(5000);
    ASSERT_GE(s, 0);
    EXPECT_EQ(h.stack.udp_port(s), 5000);
    EXPECT_EQ(h.stack.udp_open(5000), fail(Error::kAddressInUse));
    Ip4 from = 0;
    uint16_t port = 0;
    uint8_t buf[64];
    EXPECT_EQ(h.stack.udp_receive(s, &from, &port, buf, sizeof buf), fail(Error::kWouldBlock));
    const uint64_t events = h.stack.events();
    h.feed(udp_frame(kRemote, 53, kOurIp, 5000, Bytes{'h', 'i'}));
    EXPECT_GT(h.stack.events(), events);
    ASSERT_EQ(h.stack.udp_receive(s, &from, &port, buf, sizeof buf), 2);
    EXPECT_EQ(from, kRemote);
    EXPECT_EQ(port, 53);
    EXPECT_EQ(buf[0], 'h');
    // Truncated to the caller's buffer; the rest is gone.
    h.feed(udp_frame(kRemote, 9, kOurIp, 5000, Bytes(100, 7)));
    EXPECT_EQ(h.stack.udp_receive(s, &from, &port, buf, 10), 10);
    EXPECT_EQ(h.stack.udp_receive(s, &from, &port, buf, 10), fail(Error::kWouldBlock));
    h.stack.udp_close(s);
    EXPECT_EQ(h.stack.udp_receive(s, &from, &port, buf, 10), fail(Error::kInvalid));
    EXPECT_EQ(h.stack.udp_port(s), 0);
    h.feed(udp_frame(kRemote, 9, kOurIp, 5000, Bytes(1, 7)));
    EXPECT_EQ(h.stack.counters().udp_no_socket, 1u);
    // The slot is taken again: the old id stays dead.
    const int64_t again = h.stack.udp_open(5000);
    ASSERT_GE(again, 0);
    EXPECT_NE(again, s);
    EXPECT_EQ(h.stack.udp_port(s), 0);
}

TEST(Udp, CountsMalformedChecksumsAndFullQueues) {
    Limits l;
    l.udp_queue = 2;
    l.udp_datagram = 64;
    Harness h(l);
    h.slirp();
    const int64_t s = h.stack.udp_open(7);
    ASSERT_GE(s, 0);
    Bytes bad = udp(kRemote, 9, kOurIp, 7, Bytes{1, 2, 3});
    bad[8] ^= 1;
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0800, ipv4(kRemote, kOurIp, 17, bad)));
    EXPECT_EQ(h.stack.counters().bad_udp_checksum, 1u);
    Bytes longer = udp(kRemote, 9, kOurIp, 7, Bytes{1, 2, 3});
    longer[5] = 200;
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0800, ipv4(kRemote, kOurIp, 17, longer)));
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0800, ipv4(kRemote, kOurIp, 17, Bytes(5, 0))));
    h.feed(udp_frame(kRemote, 0, kOurIp, 7, Bytes{1}));  // source port 0
    EXPECT_EQ(h.stack.counters().malformed_udp, 3u);
    h.feed(udp_frame(kRemote, 9, kOurIp, 7, Bytes(65, 0)));
    EXPECT_EQ(h.stack.counters().udp_too_large, 1u);
    for (int i = 0; i < 3; ++i)
        h.feed(udp_frame(kRemote, 9, kOurIp, 7, Bytes(1, static_cast<uint8_t>(i))));
    EXPECT_EQ(h.stack.counters().udp_queue_full, 1u);
    EXPECT_EQ(h.stack.counters().udp_delivered, 2u);
    uint8_t b = 0xff;
    EXPECT_EQ(h.stack.udp_receive(s, nullptr, nullptr, &b, 1), 1);
    EXPECT_EQ(b, 0);
    EXPECT_EQ(h.stack.udp_receive(s, nullptr, nullptr, &b, 1), 1);
    EXPECT_EQ(b, 1);
    // A checksum of zero means "not computed" and is accepted.
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0800,
                    ipv4(kRemote, kOurIp, 17, udp(kRemote, 9, kOurIp, 7, Bytes{5}, false))));
    EXPECT_EQ(h.stack.udp_receive(s, nullptr, nullptr, &b, 1), 1);
    EXPECT_EQ(b, 5);
}

TEST(Udp, EphemeralPortsAndSocketLimit) {
    Limits l;
    l.udp_sockets = 3;
    Harness h(l);
    int64_t ids[3];
    for (auto& id : ids) {
        id = h.stack.udp_open(0);
        ASSERT_GE(id, 0);
        EXPECT_GE(h.stack.udp_port(id), 49152);
    }
    EXPECT_NE(h.stack.udp_port(ids[0]), h.stack.udp_port(ids[1]));
    EXPECT_EQ(h.stack.udp_open(0), fail(Error::kNoRoom));
    EXPECT_EQ(h.stack.udp_port(-1), 0);
    EXPECT_EQ(h.stack.udp_port(12345678), 0);
}

TEST(Udp, SendsWithAChecksumAndRefusesWhatCannotGo) {
    Harness h;
    const int64_t s = h.stack.udp_open(4000);
    const uint8_t data[5] = {'h', 'e', 'l', 'l', 'o'};
    EXPECT_EQ(h.stack.udp_send(s, kRemote, 53, data, 5, 0), fail(Error::kUnreachable));
    h.slirp();
    EXPECT_EQ(h.stack.udp_send(s, kRemote, 53, data, 5, 0), 5);
    EXPECT_EQ(h.stack.udp_send(s, kRemote, 0, data, 5, 0), fail(Error::kInvalid));
    EXPECT_EQ(h.stack.udp_send(s + 1, kRemote, 53, data, 5, 0), fail(Error::kInvalid));
    static uint8_t big[1473];
    EXPECT_EQ(h.stack.udp_send(s, kRemote, 53, big, 1473, 0), fail(Error::kInvalid));
    EXPECT_EQ(h.stack.udp_send(s, kRemote, 53, big, 1472, 0), 1472);
    const auto out = h.drain();
    ASSERT_EQ(out.size(), 2u);
    const uint8_t* u = out[0].data() + 34;
    EXPECT_EQ(rd16(u), 4000);
    EXPECT_EQ(rd16(u + 2), 53);
    EXPECT_EQ(rd16(u + 4), 13);
    EXPECT_NE(rd16(u + 6), 0);
    EXPECT_EQ(inet_sum(u, 13, pseudo(kOurIp, kRemote, 17, 13)), 0);
    EXPECT_EQ(out[1].size(), 1514u);
}

TEST(Udp, PortUnreachableIsReportedOnce) {
    Harness h;
    h.slirp();
    const int64_t s = h.stack.udp_open(4000);
    const uint8_t data[4] = {1, 2, 3, 4};
    ASSERT_EQ(h.stack.udp_send(s, kRemote, 9, data, 4, 0), 4);
    const auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    const Bytes original(out[0].begin() + 14, out[0].begin() + 14 + 28);
    const uint64_t events = h.stack.events();
    h.feed(
        ethernet(kOurMac, kSlirpMac, 0x0800, ipv4(kRemote, kOurIp, 1, icmp(3, 3, 0, 0, original))));
    EXPECT_GT(h.stack.events(), events);
    uint8_t b[8];
    EXPECT_EQ(h.stack.udp_receive(s, nullptr, nullptr, b, 8), fail(Error::kRefused));
    EXPECT_EQ(h.stack.udp_receive(s, nullptr, nullptr, b, 8), fail(Error::kWouldBlock));
}

}  // namespace
}  // namespace keel::net
