// lib/net properties (RapidCheck). Reassembly against a model: a random datagram cut at random
// 8-byte boundaries, with extra overlapping pieces, duplicates, drops and any order, is
// delivered exactly when the fragments fed cover it, always equal to the original, and slots
// never outlive the timeout; a piece with changed bytes never yields a mixture; through the
// Stack, a fragmented UDP datagram reaches its socket whole or not at all. DNS names
// round-trip through the wire form, and random messages never make the decoder overrun or
// exceed its bounds. Two Stacks on a simulated link, resolving each other by ARP, exchange UDP
// datagrams and pings: without loss everything arrives intact and in order; with loss what
// arrives is an in-order subsequence of what was sent.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <keel/net/dns.hpp>
#include <keel/net/ipv4.hpp>
#include <keel/net/stack.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using testing::Bytes;

struct Piece {
    uint32_t begin, end;
    bool corrupt;
};

struct Reassembler {
    explicit Reassembler(uint32_t slots, uint32_t capacity)
        : storage(Reassembly::storage_size(slots, capacity) + 16) {
        r.init(slots, capacity, storage.data());
    }
    std::vector<uint8_t> storage;
    Reassembly r;
};

Ipv4Packet fragment(const Bytes& data, uint32_t begin, uint32_t end, uint16_t id) {
    Ipv4Packet p{};
    p.protocol = 6;
    p.identification = id;
    p.source = 0x01020304;
    p.destination = 0x0a00020f;
    p.fragment_offset = static_cast<uint16_t>(begin);
    p.more_fragments = end != data.size();
    p.payload = data.data() + begin;
    p.size = end - begin;
    return p;
}

// Pieces covering [0, total): cut at random multiples of 8.
std::vector<Piece> partition(uint32_t total) {
    std::vector<uint32_t> cuts{0, total};
    const auto n = *rc::gen::inRange<size_t>(0, 12);
    for (size_t i = 0; i < n && total > 8; ++i)
        cuts.push_back(*rc::gen::inRange<uint32_t>(1, (total - 1) / 8 + 1) * 8);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<Piece> out;
    for (size_t i = 0; i + 1 < cuts.size(); ++i)
        out.push_back({cuts[i], cuts[i + 1], false});
    return out;
}

// A random piece: begins at a multiple of 8, ends at a multiple of 8 or at the end.
Piece random_piece(uint32_t total) {
    const uint32_t blocks = (total + 7) / 8;
    const uint32_t b = *rc::gen::inRange<uint32_t>(0, blocks);
    const uint32_t e = *rc::gen::inRange<uint32_t>(b + 1, blocks + 1);
    return {b * 8, e * 8 > total ? total : e * 8, false};
}

bool covers(const std::vector<Piece>& fed, uint32_t total) {
    std::vector<bool> have(total, false);
    for (const Piece& p : fed)
        for (uint32_t i = p.begin; i < p.end; ++i)
            have[i] = true;
    return std::all_of(have.begin(), have.end(), [](bool b) { return b; });
}

RC_GTEST_PROP(NetReassembly, DeliversTheOriginalExactlyWhenCovered, ()) {
    const auto total = *rc::gen::inRange<uint32_t>(1, 3000);
    const auto data = *rc::gen::container<Bytes>(total, rc::gen::arbitrary<uint8_t>());
    std::vector<Piece> pieces = partition(total);
    const auto extra = *rc::gen::inRange<size_t>(0, 6);
    for (size_t i = 0; i < extra; ++i)
        pieces.push_back(random_piece(total));  // overlapping, consistent
    const auto dups = *rc::gen::inRange<size_t>(0, 4);
    for (size_t i = 0; i < dups; ++i)
        pieces.push_back(pieces[*rc::gen::inRange<size_t>(0, pieces.size())]);
    std::vector<Piece> fed;
    for (const Piece& p : pieces)
        if (*rc::gen::inRange(0, 10) != 0)  // a tenth are lost
            fed.push_back(p);
    // Shuffle with RapidCheck's randomness so failures shrink and replay.
    for (size_t i = fed.size(); i > 1; --i)
        std::swap(fed[i - 1], fed[*rc::gen::inRange<size_t>(0, i)]);

    Reassembler ra(*rc::gen::inRange<uint32_t>(1, 5), 4096);
    int delivered = 0;
    Time now = 0;
    for (const Piece& p : fed) {
        const auto res = ra.r.add(fragment(data, p.begin, p.end, 77), now);
        now += kMillisecond;
        RC_ASSERT(res.kind != Reassembly::Result::kDropped);  // consistent pieces never drop
        if (res.kind == Reassembly::Result::kComplete) {
            ++delivered;
            RC_ASSERT(Bytes(res.data, res.data + res.size) == data);
        }
    }
    RC_ASSERT((delivered > 0) == covers(fed, total));
    RC_ASSERT(ra.r.slots_in_use() <= 1u);
    ra.r.expire(now + kReassemblyTimeout);
    RC_ASSERT(ra.r.slots_in_use() == 0u);
    RC_ASSERT(ra.r.deadline() == kNever);
}

RC_GTEST_PROP(NetReassembly, AChangedPieceNeverYieldsAMixture, ()) {
    const auto total = *rc::gen::inRange<uint32_t>(16, 2000);
    const auto data = *rc::gen::container<Bytes>(total, rc::gen::arbitrary<uint8_t>());
    std::vector<Piece> pieces = partition(total);
    Piece bad = random_piece(total);
    bad.corrupt = true;
    pieces.insert(
        pieces.begin() + static_cast<long>(*rc::gen::inRange<size_t>(0, pieces.size() + 1)), bad);
    Bytes changed = data;
    for (uint32_t i = bad.begin; i < bad.end; ++i)
        changed[i] = static_cast<uint8_t>(changed[i] ^ 0x5a);
    Reassembler ra(2, 4096);
    bool bad_seen = false;
    for (const Piece& p : pieces) {
        const Bytes& src = p.corrupt ? changed : data;
        bad_seen |= p.corrupt;
        const auto res = ra.r.add(fragment(src, p.begin, p.end, 5), 0);
        if (res.kind == Reassembly::Result::kComplete) {
            const Bytes got(res.data, res.data + res.size);
            // Either the original (completed before the changed piece arrived, or the changed
            // piece covered only bytes nobody else sent) or exactly the changed version.
            RC_ASSERT(got == data || got == changed);
            if (!bad_seen)
                RC_ASSERT(got == data);
        }
    }
    ra.r.expire(kReassemblyTimeout);
    RC_ASSERT(ra.r.slots_in_use() == 0u);
}

RC_GTEST_PROP(NetReassembly, DatagramsBeyondTheCapacityAreNeverDelivered, ()) {
    const auto capacity = *rc::gen::inRange<uint32_t>(1, 64) * 8;
    const auto total = *rc::gen::inRange<uint32_t>(capacity + 1, capacity + 600);
    const Bytes data(total, 0x11);
    Reassembler ra(1, capacity);
    std::vector<Piece> pieces = partition(total);
    for (size_t i = pieces.size(); i > 1; --i)
        std::swap(pieces[i - 1], pieces[*rc::gen::inRange<size_t>(0, i)]);
    for (const Piece& p : pieces)
        RC_ASSERT(ra.r.add(fragment(data, p.begin, p.end, 9), 0).kind !=
                  Reassembly::Result::kComplete);
    ra.r.expire(kReassemblyTimeout);
    RC_ASSERT(ra.r.slots_in_use() == 0u);
}

RC_GTEST_PROP(NetReassembly, ThroughTheStackAUdpDatagramArrivesWholeOrNotAtAll, ()) {
    testing::Harness h;
    h.slirp();
    const int64_t socket = h.stack.udp_open(7000);
    const auto size = *rc::gen::inRange<size_t>(0, 1400);
    const auto data = *rc::gen::container<Bytes>(size, rc::gen::arbitrary<uint8_t>());
    const Ip4 remote = 0x08080808;
    const Bytes datagram = testing::udp(remote, 53, testing::kOurIp, 7000, data);
    const auto total = static_cast<uint32_t>(datagram.size());
    std::vector<Piece> pieces = partition(total);
    const auto extra = *rc::gen::inRange<size_t>(0, 4);
    for (size_t i = 0; i < extra; ++i)
        pieces.push_back(random_piece(total));
    std::vector<Piece> fed;
    for (const Piece& p : pieces)
        if (*rc::gen::inRange(0, 8) != 0)
            fed.push_back(p);
    for (size_t i = fed.size(); i > 1; --i)
        std::swap(fed[i - 1], fed[*rc::gen::inRange<size_t>(0, i)]);
    for (const Piece& p : fed) {
        const Bytes piece(datagram.begin() + p.begin, datagram.begin() + p.end);
        const auto field = static_cast<uint16_t>((p.end != total ? 0x2000 : 0) | p.begin / 8);
        h.feed(testing::ethernet(testing::kOurMac, testing::kSlirpMac, 0x0800,
                                 testing::ipv4(remote, testing::kOurIp, 17, piece, 0x99, field)),
               kSecond);
    }
    uint8_t buffer[1500];
    Ip4 from = 0;
    uint16_t port = 0;
    const int64_t n = h.stack.udp_receive(socket, &from, &port, buffer, sizeof buffer);
    if (covers(fed, total)) {
        RC_ASSERT(n == static_cast<int64_t>(size));
        RC_ASSERT(Bytes(buffer, buffer + n) == data);
        RC_ASSERT(from == remote);
        RC_ASSERT(port == 53);
    } else {
        RC_ASSERT(n == fail(Error::kWouldBlock));
    }
    h.stack.poll(kSecond + kReassemblyTimeout);
    RC_ASSERT(h.stack.reassembly_in_use() == 0u);
}

// ---- DNS names ---------------------------------------------------------------------------------

rc::Gen<std::string> dns_name() {
    return rc::gen::exec([] {
        const std::string alphabet =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
        std::string out;
        const auto labels = *rc::gen::inRange(1, 8);
        for (int i = 0; i < labels; ++i) {
            const auto n = *rc::gen::inRange<size_t>(1, 64);
            std::string label;
            for (size_t j = 0; j < n; ++j)
                label += alphabet[*rc::gen::inRange<size_t>(0, alphabet.size())];
            if (out.size() + (out.empty() ? 0 : 1) + label.size() > kDnsMaxText)
                break;
            out += (out.empty() ? "" : ".") + label;
        }
        return out;
    });
}

RC_GTEST_PROP(NetDns, NamesRoundTripThroughTheWireForm, ()) {
    const std::string name = *dns_name();
    uint8_t wire[kDnsMaxName];
    const size_t size = dns_encode_name(name.data(), name.size(), wire);
    RC_ASSERT(size == name.size() + 2);
    char text[kDnsMaxText + 1];
    size_t text_size = 0, next = 0;
    RC_ASSERT(dns_decode_name(wire, size, 0, text, &text_size, &next));
    RC_ASSERT(std::string(text, text_size) == name);
    RC_ASSERT(next == size);
    // The same name behind a compression pointer, after other bytes.
    Bytes m(7, 0);
    m.insert(m.end(), wire, wire + size);
    m.push_back(0xc0);
    m.push_back(7);
    RC_ASSERT(dns_decode_name(m.data(), m.size(), m.size() - 2, text, &text_size, &next));
    RC_ASSERT(std::string(text, text_size) == name);
    RC_ASSERT(next == m.size());
    // And a query built from it is answered by a response echoing it.
    uint8_t query[kDnsMaxQuery];
    const size_t qsize = dns_write_query(query, 0x4321, wire, size);
    Bytes reply(query, query + qsize);
    reply[2] = 0x81;
    reply[3] = 0x80;
    reply[7] = 1;
    reply.insert(reply.end(), {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 2, 99});
    Ip4 address = 0;
    RC_ASSERT(dns_parse_answer(reply.data(), reply.size(), 0x4321, wire, size, &address) == 0);
    RC_ASSERT(address == 0x0a000263u);
}

RC_GTEST_PROP(NetDns, RandomMessagesStayInBounds, ()) {
    const auto m = *rc::gen::container<Bytes>(*rc::gen::inRange<size_t>(0, 300),
                                              rc::gen::arbitrary<uint8_t>());
    const auto offset = *rc::gen::inRange<size_t>(0, m.size() + 2);
    char text[kDnsMaxText + 1];
    size_t text_size = 0, next = 0;
    if (dns_decode_name(m.data(), m.size(), offset, text, &text_size, &next)) {
        RC_ASSERT(text_size <= kDnsMaxText);
        RC_ASSERT(next > offset);
        RC_ASSERT(next <= m.size());
        RC_ASSERT(std::string(text).size() == text_size);
    }
    uint8_t qname[kDnsMaxName];
    const size_t qsize = dns_encode_name("example.com", 11, qname);
    Ip4 address = 0;
    const int64_t r = dns_parse_answer(
        m.data(), m.size(), m.size() >= 2 ? testing::rd16(m.data()) : 0, qname, qsize, &address);
    RC_ASSERT(r == 0 || r == fail(Error::kNotFound) || r == fail(Error::kUnreachable) ||
              r == fail(Error::kMalformed));
}

// ---- two stacks on a link --------------------------------------------------------------------

constexpr Mac kMacA{{2, 0, 0, 0, 0, 0xa}}, kMacB{{2, 0, 0, 0, 0, 0xb}};
constexpr Ip4 kA = 0x0a00020f, kB = 0x0a000214;

struct Link {
    Link() : a(Limits{}, kMacA, 11), b(Limits{}, kMacB, 22) {
        a.stack.configure(kA, 0xffffff00, 0, 0);
        b.stack.configure(kB, 0xffffff00, 0, 0);
    }
    // Moves frames both ways until both are quiet, each lost with probability loss/10;
    // advances time past retries so ARP can give up or succeed.
    void pump(int loss) {
        for (int round = 0; round < 64; ++round) {
            bool moved = false;
            for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}})
                for (const Bytes& f : from->drain()) {
                    moved = true;
                    if (loss == 0 || *rc::gen::inRange(0, 10) >= loss)
                        to->feed(f, now);
                }
            if (!moved) {
                const Time next = std::min(a.stack.poll(now), b.stack.poll(now));
                if (next == kNever || next > now + 10 * kSecond)
                    return;
                now = next;
                a.stack.poll(now);
                b.stack.poll(now);
            }
        }
    }
    testing::Harness a, b;
    Time now = 0;
};

RC_GTEST_PROP(NetLink, UdpAndPingsThroughArp, ()) {
    Link link;
    const auto loss = *rc::gen::inRange(0, 4);  // tenths of frames lost
    const int64_t sa = link.a.stack.udp_open(0), sb = link.b.stack.udp_open(7000);
    RC_ASSERT(sa >= 0);
    RC_ASSERT(sb >= 0);
    std::vector<Bytes> sent_ab, sent_ba, got_ab, got_ba;
    std::vector<uint16_t> pings_sent, pings_got;
    const auto ops = *rc::gen::inRange(1, 30);
    for (int i = 0; i < ops; ++i) {
        const auto kind = *rc::gen::inRange(0, 3);
        const auto payload = *rc::gen::container<Bytes>(*rc::gen::inRange<size_t>(0, 1473),
                                                        rc::gen::arbitrary<uint8_t>());
        if (kind == 0) {
            if (link.a.stack.udp_send(sa, kB, 7000, payload.data(), payload.size(), link.now) >= 0)
                sent_ab.push_back(payload);
        } else if (kind == 1) {
            if (link.b.stack.udp_send(sb, kA, link.a.stack.udp_port(sa), payload.data(),
                                      payload.size(), link.now) >= 0)
                sent_ba.push_back(payload);
        } else {
            const auto size = std::min<size_t>(payload.size(), 1400);
            if (link.a.stack.ping_send(kB, 0x77, static_cast<uint16_t>(i), payload.data(), size,
                                       link.now) == 0)
                pings_sent.push_back(static_cast<uint16_t>(i));
        }
        link.pump(loss);
        uint8_t buf[1500];
        Ip4 from = 0;
        uint16_t port = 0;
        for (int64_t n; (n = link.b.stack.udp_receive(sb, &from, &port, buf, sizeof buf)) >= 0;) {
            RC_ASSERT(from == kA);
            RC_ASSERT(port == link.a.stack.udp_port(sa));
            got_ab.emplace_back(buf, buf + n);
        }
        for (int64_t n; (n = link.a.stack.udp_receive(sa, &from, &port, buf, sizeof buf)) >= 0;) {
            RC_ASSERT(from == kB);
            RC_ASSERT(port == 7000);
            got_ba.emplace_back(buf, buf + n);
        }
        uint16_t seq = 0;
        while (link.a.stack.ping_receive(0x77, &seq, &from, buf, sizeof buf) >= 0) {
            RC_ASSERT(from == kB);
            pings_got.push_back(seq);
        }
    }
    // What arrived is an in-order subsequence of what was sent (everything, without loss).
    auto subsequence = [](const auto& got, const auto& sent) {
        size_t j = 0;
        for (const auto& g : got) {
            while (j < sent.size() && !(sent[j] == g))
                ++j;
            if (j == sent.size())
                return false;
            ++j;
        }
        return true;
    };
    RC_ASSERT(subsequence(got_ab, sent_ab));
    RC_ASSERT(subsequence(got_ba, sent_ba));
    RC_ASSERT(subsequence(pings_got, pings_sent));
    if (loss == 0) {
        RC_ASSERT(got_ab == sent_ab);
        RC_ASSERT(got_ba == sent_ba);
        RC_ASSERT(pings_got == pings_sent);
        RC_ASSERT(link.a.stack.counters().arp_failures == 0u);
    }
    for (auto* h : {&link.a, &link.b}) {
        const Counters& c = h->stack.counters();
        RC_ASSERT(c.malformed_ethernet + c.malformed_arp + c.malformed_ipv4 + c.bad_ipv4_checksum +
                      c.malformed_udp + c.bad_udp_checksum + c.malformed_icmp ==
                  0u);
        RC_ASSERT(h->stack.arp_entries_in_use() <= Limits{}.arp_entries);
    }
}

}  // namespace
}  // namespace keel::net
