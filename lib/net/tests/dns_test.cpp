// DNS: names in wire form, compression pointers (and their loops), answers with CNAME chains,
// NXDOMAIN, forged and malformed answers, and the resolver's retransmission through the Stack.
#include <gtest/gtest.h>
#include <keel/net/dns.hpp>
#include <keel/net/stack.hpp>

#include <string>

#include "net_frames.hpp"

namespace keel::net {
namespace {

using namespace testing;

Bytes name(const std::string& text) {
    Bytes b;
    size_t at = 0;
    while (at <= text.size()) {
        size_t dot = text.find('.', at);
        if (dot == std::string::npos)
            dot = text.size();
        b.push_back(static_cast<uint8_t>(dot - at));
        b.insert(b.end(), text.begin() + static_cast<long>(at),
                 text.begin() + static_cast<long>(dot));
        at = dot + 1;
    }
    b.push_back(0);
    return b;
}

// A response in the layout of RFC 1035 section 4.1, as a resolver like slirp's forwarder
// returns it: the question echoed, answer names compressed to the question (0xc00c).
struct Response {
    uint16_t id = 0x1234;
    uint16_t flags = 0x8180;  // response, RD, RA, NOERROR
    std::string question = "example.com";
    uint16_t qtype = 1;
    Bytes answers;
    uint16_t count = 0;

    void a(const Bytes& owner, Ip4 address, uint16_t type = 1, uint16_t rdlength = 4) {
        append(answers, owner);
        be16(answers, type);
        be16(answers, 1);
        be32(answers, 300);
        be16(answers, rdlength);
        be32(answers, address);
        ++count;
    }
    void cname(const Bytes& owner, const Bytes& target) {
        append(answers, owner);
        be16(answers, 5);
        be16(answers, 1);
        be32(answers, 300);
        be16(answers, static_cast<uint16_t>(target.size()));
        append(answers, target);
        ++count;
    }
    Bytes bytes() const {
        Bytes b;
        be16(b, id);
        be16(b, flags);
        be16(b, 1);
        be16(b, count);
        be16(b, 0);
        be16(b, 0);
        append(b, name(question));
        be16(b, qtype);
        be16(b, 1);
        append(b, answers);
        return b;
    }
};

const Bytes kToQuestion{0xc0, 0x0c};

int64_t parse(const Bytes& m, const std::string& q, Ip4* out, uint16_t id = 0x1234) {
    const Bytes qn = name(q);
    return dns_parse_answer(m.data(), m.size(), id, qn.data(), qn.size(), out);
}

TEST(Dns, EncodesNames) {
    uint8_t out[kDnsMaxName];
    const char* n = "www.Example.com.";
    ASSERT_EQ(dns_encode_name(n, 16, out), 17u);
    EXPECT_EQ(Bytes(out, out + 17), name("www.Example.com"));
    EXPECT_EQ(dns_encode_name("", 0, out), 0u);
    EXPECT_EQ(dns_encode_name(".", 1, out), 0u);
    EXPECT_EQ(dns_encode_name("a..b", 4, out), 0u);
    EXPECT_EQ(dns_encode_name(".a", 2, out), 0u);
    EXPECT_EQ(dns_encode_name("a b", 3, out), 0u);
    EXPECT_EQ(dns_encode_name("a.b..", 5, out), 0u);
    const std::string label63(63, 'a'), label64(64, 'a');
    EXPECT_EQ(dns_encode_name(label63.data(), 63, out), 65u);
    EXPECT_EQ(dns_encode_name(label64.data(), 64, out), 0u);
    std::string longest;
    for (int i = 0; i < 4; ++i)
        longest += std::string(i < 3 ? 63 : 61, 'x') + (i < 3 ? "." : "");
    ASSERT_EQ(longest.size(), 253u);
    EXPECT_EQ(dns_encode_name(longest.data(), longest.size(), out), 255u);
    longest += "y";
    EXPECT_EQ(dns_encode_name(longest.data(), longest.size(), out), 0u);
}

TEST(Dns, DecodesCompressedNamesAndRefusesLoops) {
    // "mail.example.com" at 12 as labels, then "www" + pointer to "example.com" at 17.
    Bytes m(12, 0);
    append(m, name("mail.example.com"));
    const size_t www = m.size();
    m.insert(m.end(), {3, 'w', 'w', 'w', 0xc0, 17});
    char text[kDnsMaxText + 1];
    size_t size = 0, next = 0;
    ASSERT_TRUE(dns_decode_name(m.data(), m.size(), www, text, &size, &next));
    EXPECT_EQ(std::string(text, size), "www.example.com");
    EXPECT_EQ(next, m.size());
    // A pointer to itself, a pointer forward, a truncated pointer, a reserved label type,
    // a label running off the end.
    const Bytes self{0xc0, 0x00};
    EXPECT_FALSE(dns_decode_name(self.data(), self.size(), 0, text, &size, &next));
    const Bytes forward{0xc0, 0x02, 0};
    EXPECT_FALSE(dns_decode_name(forward.data(), forward.size(), 0, text, &size, &next));
    const Bytes cut{1, 'a', 0xc0};
    EXPECT_FALSE(dns_decode_name(cut.data(), cut.size(), 0, text, &size, &next));
    const Bytes reserved{0x40, 0};
    EXPECT_FALSE(dns_decode_name(reserved.data(), reserved.size(), 0, text, &size, &next));
    const Bytes runs{5, 'a', 'b'};
    EXPECT_FALSE(dns_decode_name(runs.data(), runs.size(), 0, text, &size, &next));
    const Bytes dotted{3, 'a', '.', 'b', 0};  // a dot inside a label
    EXPECT_FALSE(dns_decode_name(dotted.data(), dotted.size(), 0, text, &size, &next));
    // A chain of backward pointers longer than kDnsMaxJumps.
    Bytes chain{0};
    for (uint32_t i = 0; i <= kDnsMaxJumps; ++i)
        chain.insert(chain.end(), {0xc0, static_cast<uint8_t>(i == 0 ? 0 : chain.size() - 2)});
    EXPECT_FALSE(dns_decode_name(chain.data(), chain.size(), chain.size() - 2, text, &size, &next));
    // Labels that add up past 255 bytes through pointers.
    Bytes big;
    size_t previous = 0;
    for (int i = 0; i < 5; ++i) {
        const size_t here = big.size();
        big.push_back(63);
        big.insert(big.end(), 63, 'z');
        if (i == 0)
            big.push_back(0);
        else
            big.insert(big.end(), {static_cast<uint8_t>(0xc0 | previous >> 8),
                                   static_cast<uint8_t>(previous)});
        previous = here;
    }
    EXPECT_FALSE(dns_decode_name(big.data(), big.size(), previous, text, &size, &next));
    // Four such labels do not fit (1 + 4 * 64 = 257 > 255 bytes); three do.
    EXPECT_TRUE(dns_decode_name(big.data(), big.size(), 65 + 66, text, &size, &next));
    EXPECT_EQ(size, 3 * 63 + 2u);
}

TEST(Dns, AnswersWithAnARecordAndACnameChain) {
    Response r;
    r.a(kToQuestion, ip4(93, 184, 216, 34));
    Ip4 out = 0;
    EXPECT_EQ(parse(r.bytes(), "example.com", &out), 0);
    EXPECT_EQ(out, ip4(93, 184, 216, 34));
    EXPECT_EQ(parse(r.bytes(), "EXAMPLE.com", &out), 0);  // case does not matter

    // www.example.com CNAME edge.example.net (written out), edge CNAME last.example.net
    // (compressed against the previous target), the A record listed before the aliases.
    Response c;
    c.question = "www.example.com";
    c.a(name("last.example.net"), ip4(1, 2, 3, 4));
    c.cname(kToQuestion, name("edge.example.net"));
    c.cname(name("edge.example.net"), name("last.example.net"));
    EXPECT_EQ(parse(c.bytes(), "www.example.com", &out), 0);
    EXPECT_EQ(out, ip4(1, 2, 3, 4));

    // A CNAME loop ends in kNotFound, not a hang.
    Response loop;
    loop.question = "a.test";
    loop.cname(kToQuestion, name("b.test"));
    loop.cname(name("b.test"), name("a.test"));
    EXPECT_EQ(parse(loop.bytes(), "a.test", &out), fail(Error::kNotFound));
}

TEST(Dns, ErrorsAndForgeries) {
    Ip4 out = 0;
    Response nx;
    nx.flags = 0x8183;
    EXPECT_EQ(parse(nx.bytes(), "example.com", &out), fail(Error::kNotFound));
    Response fail_;
    fail_.flags = 0x8182;  // SERVFAIL
    EXPECT_EQ(parse(fail_.bytes(), "example.com", &out), fail(Error::kUnreachable));
    Response nodata;
    EXPECT_EQ(parse(nodata.bytes(), "example.com", &out), fail(Error::kNotFound));
    Response r;
    r.a(kToQuestion, 1);
    EXPECT_EQ(parse(r.bytes(), "example.com", &out, 0x1235), fail(Error::kMalformed));
    EXPECT_EQ(parse(r.bytes(), "example.org", &out), fail(Error::kMalformed));
    Response query = r;
    query.flags = 0x0100;  // not a response
    EXPECT_EQ(parse(query.bytes(), "example.com", &out), fail(Error::kMalformed));
    Response aaaa = r;
    aaaa.qtype = 28;
    EXPECT_EQ(parse(aaaa.bytes(), "example.com", &out), fail(Error::kMalformed));
    Response absurd = r;
    absurd.count = 65535;  // more answers than bytes
    EXPECT_EQ(parse(absurd.bytes(), "example.com", &out), fail(Error::kMalformed));
    Bytes cut = r.bytes();
    cut.pop_back();  // rdata one byte short
    EXPECT_EQ(parse(cut, "example.com", &out), fail(Error::kMalformed));
    Response wrong;
    wrong.a(kToQuestion, 1, 1, 16);  // an A record of 16 bytes: not an address
    Bytes w = wrong.bytes();
    w.resize(w.size() + 12);
    EXPECT_EQ(parse(w, "example.com", &out), fail(Error::kNotFound));
    Bytes qd2 = r.bytes();
    qd2[5] = 2;
    EXPECT_EQ(parse(qd2, "example.com", &out), fail(Error::kMalformed));
    EXPECT_EQ(parse(Bytes(11, 0), "example.com", &out), fail(Error::kMalformed));
}

constexpr size_t kDnsAt = 14 + 20 + 8;

TEST(Dns, ResolverAsksTheServerAndTakesOnlyTheRealAnswer) {
    Harness h;
    h.slirp();
    const int64_t q = h.stack.dns_start("example.com", 11, 0);
    ASSERT_GE(q, 0);
    Ip4 out = 0;
    EXPECT_EQ(h.stack.dns_result(q, &out), fail(Error::kWouldBlock));
    auto sent = h.drain();
    ASSERT_EQ(sent.size(), 1u);
    const Bytes& f = sent[0];
    EXPECT_EQ(rd32(f.data() + 14 + 16), kDns);
    const uint16_t port = rd16(f.data() + 34);
    EXPECT_GE(port, 49152);
    EXPECT_EQ(rd16(f.data() + 36), 53);
    const uint16_t id = rd16(f.data() + kDnsAt);
    EXPECT_EQ(Bytes(f.begin() + kDnsAt + 12, f.begin() + kDnsAt + 25), name("example.com"));

    Response r;
    r.id = id;
    r.a(kToQuestion, ip4(93, 184, 216, 34));
    // From another address, to another port, with another id: all ignored.
    h.feed(udp_frame(ip4(6, 6, 6, 6), 53, kOurIp, port, r.bytes()));
    h.feed(udp_frame(kDns, 53, kOurIp, static_cast<uint16_t>(port + 1), r.bytes()));
    Response forged = r;
    forged.id = static_cast<uint16_t>(id + 1);
    h.feed(udp_frame(kDns, 53, kOurIp, port, forged.bytes()));
    EXPECT_EQ(h.stack.counters().malformed_dns, 1u);
    EXPECT_EQ(h.stack.dns_result(q, &out), fail(Error::kWouldBlock));
    const uint64_t events = h.stack.events();
    h.feed(udp_frame(kDns, 53, kOurIp, port, r.bytes()));
    EXPECT_GT(h.stack.events(), events);
    EXPECT_EQ(h.stack.dns_result(q, &out), 0);
    EXPECT_EQ(out, ip4(93, 184, 216, 34));
    EXPECT_EQ(h.stack.dns_result(q, &out), fail(Error::kInvalid));  // freed
}

TEST(Dns, ResolverRetransmitsThenTimesOut) {
    Harness h;
    h.slirp();
    const int64_t q = h.stack.dns_start("example.com", 11, 0);
    ASSERT_GE(q, 0);
    EXPECT_EQ(h.drain().size(), 1u);
    EXPECT_EQ(h.stack.poll(0), kSecond);
    h.stack.poll(kSecond);
    EXPECT_EQ(h.drain().size(), 1u);
    EXPECT_EQ(h.stack.poll(kSecond), 3 * kSecond);
    h.stack.poll(3 * kSecond);
    EXPECT_TRUE(h.drain().empty());
    Ip4 out = 0;
    EXPECT_EQ(h.stack.dns_result(q, &out), fail(Error::kTimedOut));
    EXPECT_EQ(h.stack.counters().dns_sent, 2u);
}

TEST(Dns, ResolverNamesLiteralsBadNamesAndLimits) {
    Limits l;
    l.dns_queries = 1;
    Harness h(l);
    EXPECT_EQ(h.stack.dns_start("example.com", 11, 0), fail(Error::kUnreachable));
    h.slirp();
    Ip4 out = 0;
    const int64_t lit = h.stack.dns_start("10.0.2.2", 8, 0);
    ASSERT_GE(lit, 0);
    EXPECT_EQ(h.stack.dns_result(lit, &out), 0);
    EXPECT_EQ(out, kGateway);
    EXPECT_EQ(h.stack.dns_start("bad name", 8, 0), fail(Error::kInvalid));
    const int64_t q = h.stack.dns_start("example.com", 11, 0);
    ASSERT_GE(q, 0);
    EXPECT_EQ(h.stack.dns_start("example.org", 11, 0), fail(Error::kNoRoom));
    h.stack.dns_cancel(q);
    EXPECT_EQ(h.stack.dns_result(q, &out), fail(Error::kInvalid));
    const int64_t again = h.stack.dns_start("example.org", 11, 0);
    EXPECT_GE(again, 0);
    EXPECT_NE(again, q);
}

TEST(Dns, NxdomainAndPortUnreachableEndTheQuery) {
    Harness h;
    h.slirp();
    const int64_t q = h.stack.dns_start("nowhere.test", 12, 0);
    auto f = h.drain()[0];
    Response nx;
    nx.id = rd16(f.data() + kDnsAt);
    nx.flags = 0x8183;
    nx.question = "nowhere.test";
    h.feed(udp_frame(kDns, 53, kOurIp, rd16(f.data() + 34), nx.bytes()));
    Ip4 out = 0;
    EXPECT_EQ(h.stack.dns_result(q, &out), fail(Error::kNotFound));

    const int64_t q2 = h.stack.dns_start("nowhere.test", 12, 0);
    f = h.drain()[0];
    Bytes original(f.begin() + 14, f.begin() + 14 + 28);
    h.feed(ethernet(kOurMac, kSlirpMac, 0x0800, ipv4(kDns, kOurIp, 1, icmp(3, 3, 0, 0, original))));
    EXPECT_EQ(h.stack.dns_result(q2, &out), fail(Error::kUnreachable));
}

}  // namespace
}  // namespace keel::net
