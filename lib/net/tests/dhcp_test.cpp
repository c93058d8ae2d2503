// The DHCP client against replies laid out as QEMU's user network (slirp, bootp.c) sends them:
// a 548-byte BOOTP message from 10.0.2.2 to the limited broadcast, options in slirp's order
// (message type, server id, lease time 86400 s, subnet mask, router, DNS server, END), the
// rest of the 312-byte options field zero. Then retransmission, renewal, rebinding, expiry,
// NAK and malformed replies.
#include <gtest/gtest.h>
#include <keel/net/dhcp.hpp>
#include <keel/net/stack.hpp>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using namespace testing;

constexpr size_t kUdpAt = 14 + 20;
constexpr size_t kDhcpAt = kUdpAt + 8;

Bytes slirp_reply(uint8_t type, uint32_t xid, const Mac& mac = kOurMac) {
    Bytes b{2, 1, 6, 0};
    be32(b, xid);
    be16(b, 0);
    be16(b, 0);
    be32(b, 0);
    be32(b, type == 6 ? 0 : kOurIp);  // yiaddr
    be32(b, kGateway);                // siaddr
    be32(b, 0);
    b.insert(b.end(), mac.bytes, mac.bytes + 6);
    b.resize(236, 0);  // chaddr's padding, sname, file
    be32(b, 0x63825363);
    b.insert(b.end(), {53, 1, type, 54, 4});
    be32(b, kGateway);
    if (type != 6) {
        b.insert(b.end(), {51, 4});
        be32(b, 86400);
        b.insert(b.end(), {1, 4});
        be32(b, kMask);
        b.insert(b.end(), {3, 4});
        be32(b, kGateway);
        b.insert(b.end(), {6, 4});
        be32(b, kDns);
    }
    b.push_back(255);
    b.resize(548, 0);
    return b;
}

Bytes reply_frame(const Bytes& dhcp) {
    return udp_frame(kGateway, 67, kBroadcastIp4, 68, dhcp, kBroadcastMac);
}

// The option `code` in a message we sent, or empty.
Bytes option(const Bytes& frame, uint8_t code) {
    for (size_t i = kDhcpAt + 240; i + 1 < frame.size() && frame[i] != 255;) {
        if (frame[i] == 0) {
            ++i;
            continue;
        }
        if (frame[i] == code)
            return Bytes(frame.begin() + static_cast<long>(i) + 2,
                         frame.begin() + static_cast<long>(i) + 2 + frame[i + 1]);
        i += 2 + frame[i + 1];
    }
    return {};
}

uint32_t xid_of(const Bytes& frame) {
    return rd32(frame.data() + kDhcpAt + 4);
}

void check_client_message(const Bytes& f, uint8_t type, Ip4 src, Ip4 dst) {
    ASSERT_GE(f.size(), kDhcpAt + 300);
    EXPECT_EQ(inet_sum(f.data() + 14, 20), 0);
    EXPECT_EQ(rd32(f.data() + 14 + 12), src);
    EXPECT_EQ(rd32(f.data() + 14 + 16), dst);
    EXPECT_EQ(rd16(f.data() + kUdpAt), 68);
    EXPECT_EQ(rd16(f.data() + kUdpAt + 2), 67);
    const size_t udp_size = rd16(f.data() + kUdpAt + 4);
    EXPECT_EQ(inet_sum(f.data() + kUdpAt, udp_size, pseudo(src, dst, 17, udp_size)), 0);
    EXPECT_EQ(f[kDhcpAt], 1);
    EXPECT_EQ(0, std::memcmp(f.data() + kDhcpAt + 28, kOurMac.bytes, 6));
    EXPECT_EQ(rd32(f.data() + kDhcpAt + 236), 0x63825363u);
    EXPECT_EQ(option(f, 53), Bytes{type});
}

// DISCOVER, OFFER, REQUEST, ACK at time 0.
uint32_t lease(Harness& h) {
    h.stack.start_dhcp(0);
    auto out = h.drain();
    EXPECT_EQ(out.size(), 1u);
    const uint32_t xid = xid_of(out[0]);
    h.feed(reply_frame(slirp_reply(2, xid)));
    out = h.drain();
    EXPECT_EQ(out.size(), 1u);
    h.feed(reply_frame(slirp_reply(5, xid)));
    return xid;
}

TEST(Dhcp, LeasesFromSlirp) {
    Harness h;
    const uint64_t events = h.stack.events();
    h.stack.start_dhcp(0);
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(0, std::memcmp(out[0].data(), kBroadcastMac.bytes, 6));
    check_client_message(out[0], 1, 0, kBroadcastIp4);
    EXPECT_EQ(out[0][kDhcpAt + 10], 0x80);  // broadcast flag: we cannot take unicast yet
    const uint32_t xid = xid_of(out[0]);

    h.feed(reply_frame(slirp_reply(2, xid)));
    out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    check_client_message(out[0], 3, 0, kBroadcastIp4);
    EXPECT_EQ(xid_of(out[0]), xid);
    EXPECT_EQ(option(out[0], 50), (Bytes{10, 0, 2, 15}));
    EXPECT_EQ(option(out[0], 54), (Bytes{10, 0, 2, 2}));
    EXPECT_FALSE(h.stack.interface().configured);

    h.feed(reply_frame(slirp_reply(5, xid)), kSecond);
    const Interface& i = h.stack.interface();
    ASSERT_TRUE(i.configured);
    EXPECT_EQ(i.address, kOurIp);
    EXPECT_EQ(i.netmask, kMask);
    EXPECT_EQ(i.gateway, kGateway);
    EXPECT_EQ(i.dns, kDns);
    EXPECT_EQ(i.lease_end, kSecond + 86400 * kSecond);
    EXPECT_GT(h.stack.events(), events);
    EXPECT_EQ(h.stack.counters().dhcp_leases, 1u);
    // T1 is half the lease.
    EXPECT_EQ(h.stack.poll(2 * kSecond), kSecond + 43200 * kSecond);
}

TEST(Dhcp, RetransmitsWithBackoff) {
    Harness h;
    h.stack.start_dhcp(0);
    EXPECT_EQ(h.drain().size(), 1u);
    Time now = 0;
    Time previous_gap = 0;
    for (int i = 0; i < 6; ++i) {
        const Time next = h.stack.poll(now);
        const Time gap = next - now;
        const Time nominal = (i < 4 ? (4ull << i) : 64) * kSecond;
        EXPECT_GE(gap, nominal - kSecond) << i;
        EXPECT_LE(gap, nominal + kSecond) << i;
        EXPECT_TRUE(h.drain().empty());
        now = next;
        h.stack.poll(now);
        const auto out = h.drain();
        ASSERT_EQ(out.size(), 1u);
        check_client_message(out[0], 1, 0, kBroadcastIp4);
        EXPECT_GE(gap + 2 * kSecond, previous_gap);
        previous_gap = gap;
    }
    EXPECT_EQ(h.stack.counters().dhcp_sent, 7u);
}

TEST(Dhcp, RenewsAtT1RebindsAtT2AndLosesTheAddressAtTheEnd) {
    Harness h;
    lease(h);
    ASSERT_TRUE(h.stack.interface().configured);
    const Time t1 = 43200 * kSecond, t2 = 75600 * kSecond, end = 86400 * kSecond;
    h.stack.poll(t1);
    auto out = h.drain();
    // The server's MAC was never learnt (the ACK was broadcast): ARP first.
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(rd16(out[0].data() + 12), 0x0806);
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0806, arp(2, kSlirpMac, kGateway, kOurMac, kOurIp)), t1);
    out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    check_client_message(out[0], 3, kOurIp, kGateway);      // unicast to the server
    EXPECT_EQ(rd32(out[0].data() + kDhcpAt + 12), kOurIp);  // ciaddr
    EXPECT_TRUE(option(out[0], 50).empty());
    EXPECT_TRUE(h.stack.interface().configured);

    h.stack.poll(t2);
    out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    check_client_message(out[0], 3, kOurIp, kBroadcastIp4);
    EXPECT_EQ(0, std::memcmp(out[0].data(), kBroadcastMac.bytes, 6));

    const uint64_t events = h.stack.events();
    h.stack.poll(end);
    EXPECT_FALSE(h.stack.interface().configured);
    EXPECT_GT(h.stack.events(), events);
    out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    check_client_message(out[0], 1, 0, kBroadcastIp4);
}

TEST(Dhcp, ARenewalAckExtendsTheLease) {
    Harness h;
    lease(h);
    const Time t1 = 43200 * kSecond;
    h.stack.poll(t1);
    EXPECT_EQ(h.drain().size(), 1u);  // ARP for the server
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0806, arp(2, kSlirpMac, kGateway, kOurMac, kOurIp)), t1);
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    const uint32_t xid = xid_of(out[0]);
    // slirp answers a renewal to the client's address.
    h.feed(udp_frame(kGateway, 67, kOurIp, 68, slirp_reply(5, xid)), t1 + kSecond);
    EXPECT_EQ(h.stack.interface().lease_end, t1 + kSecond + 86400 * kSecond);
    EXPECT_EQ(h.stack.counters().dhcp_leases, 2u);
}

TEST(Dhcp, NakRestartsDiscovery) {
    Harness h;
    h.stack.start_dhcp(0);
    const uint32_t xid = xid_of(h.drain()[0]);
    h.feed(reply_frame(slirp_reply(2, xid)));
    h.drain();
    h.feed(reply_frame(slirp_reply(6, xid)));
    EXPECT_EQ(h.stack.counters().dhcp_naks, 1u);
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    check_client_message(out[0], 1, 0, kBroadcastIp4);
    EXPECT_NE(xid_of(out[0]), xid);
    EXPECT_FALSE(h.stack.interface().configured);
}

TEST(Dhcp, MalformedRepliesAreCountedAndChangeNothing) {
    Harness h;
    h.stack.start_dhcp(0);
    const uint32_t xid = xid_of(h.drain()[0]);
    std::vector<Bytes> bad;
    Bytes b = slirp_reply(2, xid + 1);  // another transaction
    bad.push_back(b);
    bad.push_back(slirp_reply(2, xid, Mac{{2, 2, 2, 2, 2, 2}}));  // another client
    b = slirp_reply(2, xid);
    b[236] = 0;  // the magic cookie
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b[0] = 1;  // a request, not a reply
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b.resize(240 + 3 + 6 + 3);  // the lease-time option runs off the end
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b[241] = 2;  // message type of length 2
    bad.push_back(b);
    b = slirp_reply(2, xid);
    for (size_t i = 240; i < b.size(); ++i)
        if (b[i] == 255)
            b[i] = 0;  // no END
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b[244] = 3;  // the server id option of length 3
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b.resize(200);  // not even the fixed part
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b[16] = 224;  // a multicast address offered
    bad.push_back(b);
    b = slirp_reply(2, xid);
    b[16] = 127;  // loopback
    bad.push_back(b);
    for (const Bytes& m : bad)
        h.feed(reply_frame(m));
    EXPECT_EQ(h.stack.counters().malformed_dhcp, bad.size());
    EXPECT_TRUE(h.drain().empty());
    // The real OFFER still works afterwards.
    h.feed(reply_frame(slirp_reply(2, xid)));
    EXPECT_EQ(h.drain().size(), 1u);
}

TEST(Dhcp, ParseKeepsTheFirstRouterAndRejectsOddLists) {
    Bytes m = slirp_reply(5, 1);
    DhcpMessage d;
    ASSERT_TRUE(parse_dhcp(m.data(), m.size(), kOurMac, &d));
    EXPECT_EQ(d.type, 5);
    EXPECT_EQ(d.lease, 86400u);
    EXPECT_EQ(d.router, kGateway);
    EXPECT_EQ(d.dns, kDns);
    EXPECT_EQ(d.server_id, kGateway);
    // Router option with 6 bytes: not a list of addresses.
    for (size_t i = 240; i + 1 < m.size(); i += 2 + m[i + 1])
        if (m[i] == 3) {
            m[i + 1] = 6;
            break;
        }
    EXPECT_FALSE(parse_dhcp(m.data(), m.size(), kOurMac, &d));
}

}  // namespace
}  // namespace keel::net
