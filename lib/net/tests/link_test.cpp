// Ethernet and ARP through the Stack: framing, VLAN tags, answering requests for our address,
// the cache's merge rule, retries and failure, expiry.
#include <gtest/gtest.h>
#include <keel/net/arp.hpp>
#include <keel/net/ethernet.hpp>
#include <keel/net/stack.hpp>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using namespace testing;

constexpr Mac kPeerMac{{0x02, 0, 0, 0, 0, 0x99}};
constexpr Ip4 kPeer = 0x0a000209;  // 10.0.2.9

TEST(Stack, InitChecksItsArguments) {
    Limits l;
    const size_t size = Stack::storage_size(l);
    EXPECT_EQ(size, Stack::storage_size(l, 1500));
    EXPECT_GT(Stack::storage_size(l, 9000), size);
    Harness ok(l);
    EXPECT_EQ(ok.result, 0);
    Stack s;
    uint8_t* storage = ok.storage.get();
    EXPECT_EQ(s.init(l, kOurMac, 1500, 1, storage, size - 1), fail(Error::kNoRoom));
    EXPECT_EQ(s.init(l, kOurMac, 1500, 1, nullptr, size), fail(Error::kNoRoom));
    EXPECT_EQ(s.init(l, kOurMac, 1500, 1, storage + 8, size), fail(Error::kInvalid));
    EXPECT_EQ(s.init(l, kOurMac, 575, 1, storage, size), fail(Error::kInvalid));
    EXPECT_EQ(s.init(l, kOurMac, 9000, 1, storage, size), fail(Error::kNoRoom));
    Limits bad = l;
    bad.pending_frames = 0;
    EXPECT_EQ(s.init(bad, kOurMac, 1500, 1, storage, size), fail(Error::kInvalid));
    bad = l;
    bad.udp_queue = 100000;
    EXPECT_EQ(s.init(bad, kOurMac, 1500, 1, storage, size), fail(Error::kInvalid));
    // The smallest useful stack: one frame, one neighbour, nothing else.
    Limits tiny{1, 1, 0, 0, 0, 0, 0, 0, 0};
    Harness t(tiny);
    EXPECT_EQ(t.result, 0);
    t.slirp();
    t.feed(udp_frame(kGateway, 9, kOurIp, 9, Bytes{1}));
    EXPECT_EQ(t.stack.counters().udp_no_socket, 1u);
    EXPECT_EQ(t.stack.udp_open(0), fail(Error::kNoRoom));
    EXPECT_EQ(t.stack.dns_start("a.b", 3, 0), fail(Error::kNoRoom));
}

TEST(Ethernet, ParsesTheHeaderAndRefusesShortTaggedAndLengthFrames) {
    const Bytes f = ethernet(kOurMac, kSlirpMac, 0x0800, Bytes(46, 0));
    EthernetFrame e;
    ASSERT_EQ(parse_ethernet(f.data(), f.size(), &e), EthernetParse::kOk);
    EXPECT_EQ(e.destination, kOurMac);
    EXPECT_EQ(e.source, kSlirpMac);
    EXPECT_EQ(e.type, 0x0800);
    EXPECT_EQ(e.size, 46u);
    EXPECT_EQ(parse_ethernet(f.data(), 13, &e), EthernetParse::kTruncated);
    const Bytes v = ethernet(kOurMac, kSlirpMac, 0x8100, Bytes(46, 0));
    EXPECT_EQ(parse_ethernet(v.data(), v.size(), &e), EthernetParse::kVlan);
    const Bytes q = ethernet(kOurMac, kSlirpMac, 0x88a8, Bytes(46, 0));
    EXPECT_EQ(parse_ethernet(q.data(), q.size(), &e), EthernetParse::kVlan);
    const Bytes l = ethernet(kOurMac, kSlirpMac, 46, Bytes(46, 0));
    EXPECT_EQ(parse_ethernet(l.data(), l.size(), &e), EthernetParse::kLengthField);
}

TEST(Ethernet, StackCountsWhatItDrops) {
    Harness h;
    h.slirp();
    const Counters before = h.stack.counters();
    h.feed(Bytes(10, 0xff));
    h.feed(ethernet(kOurMac, kSlirpMac, 0x8100, Bytes(46, 0)));
    h.feed(ethernet(kOurMac, kSlirpMac, 0x86dd, Bytes(46, 0)));   // IPv6: not spoken
    h.feed(ethernet(kPeerMac, kSlirpMac, 0x0800, Bytes(46, 0)));  // another station's
    const Counters& c = h.stack.counters();
    EXPECT_EQ(c.frames_in, before.frames_in + 4);
    EXPECT_EQ(c.malformed_ethernet, before.malformed_ethernet + 1);
    EXPECT_EQ(c.vlan_dropped, 1u);
    EXPECT_EQ(c.unknown_ethertype, 1u);
    EXPECT_EQ(c.not_for_our_mac, 1u);
    EXPECT_FALSE(h.stack.frames_pending());
}

TEST(Arp, ParseRefusesOtherHardwareAndShortPackets) {
    ArpPacket p;
    Bytes a = arp(1, kPeerMac, kPeer, Mac{}, kOurIp);
    ASSERT_TRUE(parse_arp(a.data(), a.size(), &p));
    EXPECT_EQ(p.sender_ip, kPeer);
    EXPECT_EQ(p.target_ip, kOurIp);
    EXPECT_FALSE(parse_arp(a.data(), 27, &p));
    Bytes b = a;
    b[1] = 6;  // IEEE 802 hardware
    EXPECT_FALSE(parse_arp(b.data(), b.size(), &p));
    b = a;
    b[5] = 16;  // a protocol address of 16 bytes
    EXPECT_FALSE(parse_arp(b.data(), b.size(), &p));
    b = a;
    b[7] = 3;  // RARP request
    EXPECT_FALSE(parse_arp(b.data(), b.size(), &p));
}

TEST(Arp, AnswersARequestForOurAddress) {
    Harness h;
    h.stack.configure(kOurIp, kMask, kGateway, kDns);
    // slirp asking who has 10.0.2.15, written in its layout (padded to 60 bytes; the ARP frames
    // captured from slirp in slirp_capture_test.cpp are replies).
    const Bytes frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02,
                         0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x52, 0x55,
                         0x0a, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
                         0x00, 0x00, 0x0a, 0x00, 0x02, 0x0f, 0,    0,    0,    0,    0,    0,
                         0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0};
    h.feed(frame);
    const auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    const Bytes& r = out[0];
    ASSERT_EQ(r.size(), 60u);
    EXPECT_EQ(0, std::memcmp(r.data(), kSlirpMac.bytes, 6));
    EXPECT_EQ(0, std::memcmp(r.data() + 6, kOurMac.bytes, 6));
    EXPECT_EQ(rd16(r.data() + 12), 0x0806);
    EXPECT_EQ(rd16(r.data() + 20), 2);  // reply
    EXPECT_EQ(0, std::memcmp(r.data() + 22, kOurMac.bytes, 6));
    EXPECT_EQ(rd32(r.data() + 28), kOurIp);
    EXPECT_EQ(0, std::memcmp(r.data() + 32, kSlirpMac.bytes, 6));
    EXPECT_EQ(rd32(r.data() + 38), kGateway);
    EXPECT_EQ(h.stack.counters().arp_replies_sent, 1u);
    EXPECT_EQ(h.stack.arp_entries_in_use(), 1u);  // RFC 826: the asker is learnt
}

TEST(Arp, ResolvesBeforeSendingAndFlushesTheQueue) {
    Harness h;
    h.stack.configure(kOurIp, kMask, kGateway, kDns);
    const uint8_t payload[4] = {1, 2, 3, 4};
    ASSERT_TRUE(h.stack.ip_output()(0, kPeer, 253, payload, 4));
    ASSERT_TRUE(h.stack.ip_output()(0, kPeer, 253, payload, 4));
    auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);  // only the request: the datagrams wait
    EXPECT_EQ(rd16(out[0].data() + 12), 0x0806);
    EXPECT_EQ(rd32(out[0].data() + 38), kPeer);
    EXPECT_EQ(h.stack.frames_in_use(), 2u);
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, arp(2, kPeerMac, kPeer, kOurMac, kOurIp)));
    out = h.drain();
    ASSERT_EQ(out.size(), 2u);
    for (const Bytes& f : out) {
        EXPECT_EQ(0, std::memcmp(f.data(), kPeerMac.bytes, 6));
        EXPECT_EQ(rd16(f.data() + 12), 0x0800);
        EXPECT_EQ(inet_sum(f.data() + 14, 20), 0);
        EXPECT_EQ(f[14 + 8], 64);  // TTL
    }
    // Resolved: the next one goes at once.
    ASSERT_TRUE(h.stack.ip_output()(0, kPeer, 253, payload, 4));
    EXPECT_EQ(h.drain().size(), 1u);
}

TEST(Arp, RetriesThreeTimesThenDropsTheQueuedFrames) {
    Harness h;
    h.stack.configure(kOurIp, kMask, kGateway, kDns);
    const uint8_t payload[4] = {};
    ASSERT_TRUE(h.stack.ip_output()(0, kPeer, 253, payload, 4));
    EXPECT_EQ(h.drain().size(), 1u);
    Time now = 0;
    for (int retry = 1; retry <= 3; ++retry) {
        now += kSecond;
        EXPECT_EQ(h.stack.poll(now), now + kSecond);
        EXPECT_EQ(h.drain().size(), 1u) << retry;
    }
    now += kSecond;
    h.stack.poll(now);
    EXPECT_TRUE(h.drain().empty());
    EXPECT_EQ(h.stack.counters().arp_requests_sent, 4u);
    EXPECT_EQ(h.stack.counters().arp_failures, 1u);
    EXPECT_EQ(h.stack.counters().frames_dropped_arp, 1u);
    EXPECT_EQ(h.stack.frames_in_use(), 0u);
    EXPECT_EQ(h.stack.arp_entries_in_use(), 0u);
}

TEST(Arp, UnsolicitedRepliesOnlyRefreshEntriesWeHold) {
    Harness h;
    h.stack.configure(kOurIp, kMask, kGateway, kDns);
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, arp(2, kPeerMac, kPeer, kOurMac, kOurIp)));
    EXPECT_EQ(h.stack.arp_entries_in_use(), 0u);
    EXPECT_EQ(h.stack.counters().arp_unsolicited_ignored, 1u);
    // A gratuitous ARP for the gateway, known already, moves it to a new MAC.
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0806, arp(1, kSlirpMac, kGateway, Mac{}, kOurIp)));
    h.drain();
    h.feed(ethernet(kBroadcastMac, kPeerMac, 0x0806, arp(1, kPeerMac, kGateway, Mac{}, kGateway)));
    const uint8_t payload[1] = {0};
    ASSERT_TRUE(h.stack.ip_output()(0, ip4(8, 8, 8, 8), 253, payload, 1));
    const auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(0, std::memcmp(out[0].data(), kPeerMac.bytes, 6));
}

TEST(Arp, RefusesSendersThatCannotBeNeighbours) {
    Harness h;
    h.stack.configure(kOurIp, kMask, kGateway, kDns);
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, arp(1, kPeerMac, 0, Mac{}, kOurIp)));
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, arp(1, kPeerMac, kOurIp, Mac{}, kOurIp)));
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, arp(1, kBroadcastMac, kPeer, Mac{}, kOurIp)));
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, Bytes(20, 0)));
    EXPECT_EQ(h.stack.counters().malformed_arp, 4u);
    EXPECT_EQ(h.stack.arp_entries_in_use(), 0u);
    EXPECT_TRUE(h.drain().empty());
}

TEST(Arp, EntriesExpireAfterSixtySeconds) {
    Harness h;
    h.slirp(0);  // the gateway and the DNS server
    EXPECT_EQ(h.stack.arp_entries_in_use(), 2u);
    h.stack.poll(60 * kSecond - 1);
    EXPECT_EQ(h.stack.arp_entries_in_use(), 2u);
    h.stack.poll(60 * kSecond);
    EXPECT_EQ(h.stack.arp_entries_in_use(), 0u);
    const uint8_t payload[1] = {0};
    ASSERT_TRUE(h.stack.ip_output()(0, kGateway, 253, payload, 1));
    const auto out = h.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(rd16(out[0].data() + 12), 0x0806);  // asked afresh
}

TEST(Arp, ANewAddressForgetsNeighboursAndWaitingFrames) {
    Harness h;
    h.slirp();
    const uint8_t payload[1] = {0};
    ASSERT_TRUE(h.stack.ip_output()(0, kPeer, 253, payload, 1));  // waits for ARP
    EXPECT_EQ(h.stack.frames_in_use(), 2u);
    h.stack.configure(kOurIp, kMask, kGateway, kDns);  // the same: nothing forgotten
    EXPECT_EQ(h.stack.frames_in_use(), 2u);
    h.drain();
    h.stack.configure(ip4(10, 0, 3, 15), kMask, ip4(10, 0, 3, 2), kDns);
    EXPECT_EQ(h.stack.frames_in_use(), 0u);
    EXPECT_EQ(h.stack.arp_entries_in_use(), 0u);
    EXPECT_EQ(h.stack.counters().frames_dropped_arp, 1u);
    // The reply for the old neighbour is now about another subnet's address: not learnt.
    h.feed(ethernet(kOurMac, kPeerMac, 0x0806, arp(2, kPeerMac, kPeer, kOurMac, kOurIp)));
    EXPECT_EQ(h.stack.arp_entries_in_use(), 0u);
}

TEST(Arp, AFullCacheOfPendingEntriesRefusesNewDestinations) {
    Limits l;
    l.arp_entries = 2;
    Harness h(l);
    h.stack.configure(kOurIp, kMask, kGateway, kDns);
    const uint8_t payload[1] = {0};
    EXPECT_TRUE(h.stack.ip_output()(0, ip4(10, 0, 2, 30), 253, payload, 1));
    EXPECT_TRUE(h.stack.ip_output()(0, ip4(10, 0, 2, 31), 253, payload, 1));
    EXPECT_FALSE(h.stack.ip_output()(0, ip4(10, 0, 2, 32), 253, payload, 1));
    EXPECT_EQ(h.stack.counters().arp_cache_full, 1u);
}

}  // namespace
}  // namespace keel::net
