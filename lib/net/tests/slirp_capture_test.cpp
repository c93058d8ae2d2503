// Frames captured from QEMU 7.2's real user network (slirp): lib/net's Stack (seed 1, so its
// DHCP transaction id, DNS id and ports are the ones below) ran on the host against
// `qemu-system-x86_64 -machine none -netdev user,id=u -netdev hubport,hubid=0,netdev=u
// -netdev socket,udp=...,localaddr=... -netdev hubport,hubid=0,netdev=s`, leasing an address,
// pinging the gateway and asking the DNS server for example.com (no upstream: NXDOMAIN). Each
// frame slirp sent is below as it arrived; the test replays the same calls in the same order
// and checks that the Stack takes every one of them without a malformed counter moving.
#include <gtest/gtest.h>
#include <keel/net/stack.hpp>

#include <string>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using namespace testing;

const char* const kOffer =
    "ffffffffffff52550a0002020800451002400000000040116c9c0a000202ffffffff00430044022c5cb10201"
    "0600dbf682c900000000000000000a00020f0a00020200000000525400123456000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000006382536335010236040a0002020104ffffff0003040a00020206040a0002"
    "03330400015180ff000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000";

const char* const kAck =
    "ffffffffffff52550a0002020800451002400001000040116c9b0a000202ffffffff00430044022c59b10201"
    "0600dbf682c900000000000000000a00020f0a00020200000000525400123456000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000006382536335010536040a0002020104ffffff0003040a00020206040a0002"
    "03330400015180ff000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000";

const char* const kArpReplyDns =
    "52540012345652550a0002030806000108000604000252550a0002030a0002035254001234560a00020f0000"
    "0000000000000000000000000000000000000000";

const char* const kArpReplyGateway =
    "52540012345652550a0002020806000108000604000252550a0002020a0002025254001234560a00020f0000"
    "0000000000000000000000000000000000000000";

const char* const kEchoReply =
    "52540012345652550a00020208004500002c00020000ff01a3be0a0002020a00020f00002eb6007700016b65"
    "656c0000000000000000000000000000";

const char* const kDnsNxdomain =
    "52540012345652550a00020208004500003900030000401162a00a0002030a00020f0035fb3300255c933fa5"
    "81830001000000000000076578616d706c6503636f6d0000010001";

Bytes hex(const char* text) {
    Bytes b;
    const std::string s(text);
    for (size_t i = 0; i + 1 < s.size(); i += 2)
        b.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    return b;
}

TEST(SlirpCapture, LeasesPingsAndResolvesAgainstRealSlirpFrames) {
    Harness h(Limits{}, kOurMac, 1);
    Stack& s = h.stack;
    s.start_dhcp(0);
    const int64_t socket = s.udp_open(0);
    ASSERT_GE(socket, 0);
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    const Bytes offer = hex(kOffer), ack = hex(kAck);
    ASSERT_EQ(offer.size(), 590u);
    // The captured OFFER answers this very DISCOVER: same transaction id.
    EXPECT_EQ(rd32(out[0].data() + 42 + 4), rd32(offer.data() + 42 + 4));
    h.feed(offer, kMillisecond);
    out = h.drain();
    ASSERT_EQ(out.size(), 1u);  // the REQUEST
    h.feed(ack, 2 * kMillisecond);
    const Interface& i = s.interface();
    ASSERT_TRUE(i.configured);
    EXPECT_EQ(i.address, kOurIp);
    EXPECT_EQ(i.netmask, kMask);
    EXPECT_EQ(i.gateway, kGateway);
    EXPECT_EQ(i.dns, kDns);
    EXPECT_EQ(i.lease_end, 2 * kMillisecond + 86400 * kSecond);  // slirp's 24 hours

    const int64_t query = s.dns_start("example.com", 11, 3 * kMillisecond);
    ASSERT_GE(query, 0);
    const uint8_t data[16] = {'k', 'e', 'e', 'l'};
    ASSERT_EQ(s.ping_send(kGateway, 0x77, 1, data, sizeof data, 3 * kMillisecond), 0);
    const uint8_t four[4] = {1, 2, 3, 4};
    ASSERT_EQ(s.udp_send(socket, kDns, 53, four, 4, 3 * kMillisecond), 4);
    EXPECT_EQ(h.drain().size(), 2u);  // ARP for the DNS server and for the gateway
    h.feed(hex(kArpReplyDns), 4 * kMillisecond);
    h.feed(hex(kArpReplyGateway), 4 * kMillisecond);
    out = h.drain();
    ASSERT_EQ(out.size(), 3u);  // the query, the UDP datagram, the echo request
    h.feed(hex(kEchoReply), 5 * kMillisecond);
    uint16_t sequence = 0;
    Ip4 from = 0;
    uint8_t buffer[64];
    ASSERT_EQ(s.ping_receive(0x77, &sequence, &from, buffer, sizeof buffer), 16);
    EXPECT_EQ(sequence, 1);
    EXPECT_EQ(from, kGateway);
    EXPECT_EQ(buffer[0], 'k');
    h.feed(hex(kDnsNxdomain), 6 * kMillisecond);
    Ip4 address = 0;
    EXPECT_EQ(s.dns_result(query, &address), fail(Error::kNotFound));

    const Counters& c = s.counters();
    EXPECT_EQ(c.malformed_ethernet + c.malformed_arp + c.malformed_ipv4 + c.bad_ipv4_checksum +
                  c.malformed_icmp + c.malformed_udp + c.bad_udp_checksum + c.malformed_dhcp +
                  c.malformed_dns,
              0u);
    EXPECT_EQ(c.dhcp_leases, 1u);
    EXPECT_EQ(c.dns_answers, 1u);
    EXPECT_EQ(c.icmp_replies_kept, 1u);
}

}  // namespace
}  // namespace keel::net
