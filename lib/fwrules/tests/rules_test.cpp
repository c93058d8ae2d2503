// lib/fwrules: the format's rules, each error with its line and column, and first-match
// decisions.
#include <gtest/gtest.h>
#include <keel/fwrules/rules.hpp>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace keel::fwrules {
namespace {

constexpr Address ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return a << 24 | b << 16 | c << 8 | d;
}

struct Parsed {
    bool ok;
    RuleSet set;
    Error error;
};

Parsed parse_text(const std::string& text) {
    Parsed p{};
    // An exact-size copy: ASan sees a read past the end.
    char* copy = new char[text.size() + 1];
    std::memcpy(copy, text.data(), text.size());
    p.ok = parse(copy, text.size(), &p.set, &p.error);
    delete[] copy;
    return p;
}

void expect_error(const std::string& text, uint32_t line, uint32_t column, const char* reason) {
    const Parsed p = parse_text(text);
    ASSERT_FALSE(p.ok) << text;
    EXPECT_EQ(p.error.line, line) << text;
    EXPECT_EQ(p.error.column, column) << text;
    EXPECT_STREQ(p.error.reason, reason) << text;
    EXPECT_EQ(p.set.count, 0u) << "a refused file leaves no rules";
    EXPECT_EQ(p.set.default_action, Action::kDeny);
}

TEST(Parse, AFileWithEveryForm) {
    const Parsed p = parse_text(
        "# the test network\n"
        "\n"
        "allow tcp 10.0.2.2 8000   # the host's web server\n"
        "deny  tcp 10.0.2.0/24 1-1023\r\n"
        "\tallow udp any 53\n"
        "allow icmp any\n"
        "deny any 0.0.0.0/0 any\n"
        "default allow");
    ASSERT_TRUE(p.ok) << p.error.line << ":" << p.error.column << " " << p.error.reason;
    ASSERT_EQ(p.set.count, 5u);
    EXPECT_EQ(p.set.default_action, Action::kAllow);
    EXPECT_EQ(p.set.default_line, 8u);
    const Rule& a = p.set.rules[0];
    EXPECT_EQ(a.action, Action::kAllow);
    EXPECT_EQ(a.protocol, Protocol::kTcp);
    EXPECT_EQ(a.address, ip(10, 0, 2, 2));
    EXPECT_EQ(a.prefix, 32);
    EXPECT_EQ(a.port_low, 8000);
    EXPECT_EQ(a.port_high, 8000);
    EXPECT_EQ(a.line, 3u);
    const Rule& b = p.set.rules[1];
    EXPECT_EQ(b.action, Action::kDeny);
    EXPECT_EQ(b.address, ip(10, 0, 2, 0));
    EXPECT_EQ(b.prefix, 24);
    EXPECT_EQ(b.port_low, 1);
    EXPECT_EQ(b.port_high, 1023);
    EXPECT_EQ(p.set.rules[2].prefix, 0);
    EXPECT_EQ(p.set.rules[2].port_low, 53);
    EXPECT_EQ(p.set.rules[3].protocol, Protocol::kIcmp);
    EXPECT_EQ(p.set.rules[3].port_low, 0);
    EXPECT_EQ(p.set.rules[3].port_high, 65535);
    EXPECT_EQ(p.set.rules[4].protocol, Protocol::kAny);
    EXPECT_EQ(p.set.rules[4].line, 7u);
}

TEST(Parse, BadLinesRefuseTheWholeFileWithLineAndColumn) {
    const std::string good = "allow tcp 10.0.2.2 80\n";
    expect_error(good + "alow tcp any\ndefault deny\n", 2, 1,
                 "unknown word (expected allow, deny or default)");
    expect_error(good + "allow tpc any\ndefault deny\n", 2, 7,
                 "unknown protocol (expected tcp, udp, icmp or any)");
    expect_error(good + "allow tcp\ndefault deny\n", 2, 10,
                 "missing the address (a.b.c.d, a.b.c.d/N or any)");
    expect_error("deny\n", 1, 5, "missing the protocol (tcp, udp, icmp or any)");
    expect_error(good + "allow tcp 10.0.2.256 80\ndefault deny\n", 2, 11,
                 "bad address (expected a.b.c.d, a.b.c.d/N or any)");
    expect_error("allow tcp 10.0.2 80\ndefault deny\n", 1, 11,
                 "bad address (expected a.b.c.d, a.b.c.d/N or any)");
    expect_error("allow tcp 10.0.2.1.5 80\ndefault deny\n", 1, 11,
                 "bad address (expected a.b.c.d, a.b.c.d/N or any)");
    expect_error("allow tcp 010.0.2.1 80\ndefault deny\n", 1, 11,
                 "bad address (expected a.b.c.d, a.b.c.d/N or any)");
    expect_error("allow tcp 10.0.2.0/33 80\ndefault deny\n", 1, 11,
                 "bad prefix length (expected /0 to /32)");
    expect_error("allow tcp 10.0.2.0/ 80\ndefault deny\n", 1, 11,
                 "bad prefix length (expected /0 to /32)");
    expect_error("allow tcp 10.0.2.1/24 80\ndefault deny\n", 1, 11,
                 "address has bits set past its prefix length");
    expect_error("allow tcp any 65536\ndefault deny\n", 1, 15,
                 "bad port (expected N, N-M or any; 0 to 65535)");
    expect_error("allow tcp any 80-\ndefault deny\n", 1, 15,
                 "bad port (expected N, N-M or any; 0 to 65535)");
    expect_error("allow tcp any -80\ndefault deny\n", 1, 15,
                 "bad port (expected N, N-M or any; 0 to 65535)");
    expect_error("allow tcp any 90-80\ndefault deny\n", 1, 15, "port range runs backwards");
    expect_error("allow icmp any 7\ndefault deny\n", 1, 16, "icmp has no ports");
    expect_error("allow tcp any 80 extra\ndefault deny\n", 1, 18, "unexpected word after the rule");
    expect_error("default\n", 1, 8, "missing the default action (allow or deny)");
    expect_error("default maybe\n", 1, 9, "unknown default action (expected allow or deny)");
    expect_error("default deny\ndefault allow\n", 2, 1,
                 "a second default line (there is one per file)");
    expect_error("default deny now\n", 1, 14, "unexpected word after the rule");
    expect_error("allow tcp any 80\n", 2, 1, "no default line (default allow or default deny)");
    expect_error("", 2, 1, "no default line (default allow or default deny)");
    expect_error(std::string("default deny\nallow tcp any 8\0\n", 30), 2, 16, "control byte");
    expect_error("default deny\n" + std::string(257, ' ') + "\n", 2, 257,
                 "line longer than 256 bytes");
}

TEST(Parse, LimitsAndComments) {
    std::string text = "default deny # trailing comment\n";
    for (uint32_t i = 0; i < kMaxRules; ++i)
        text += "allow udp any " + std::to_string(i) + "\n";
    Parsed p = parse_text(text);
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.set.count, kMaxRules);
    expect_error(text + "deny tcp any\n", kMaxRules + 2, 1, "more than 64 rules");
    // A '#' inside a word is not a comment: it is part of the word.
    expect_error("allow tcp any 8#0\ndefault deny\n", 1, 15,
                 "bad port (expected N, N-M or any; 0 to 65535)");
    expect_error(std::string(kMaxText + 1, '\n'), 1, 1, "file larger than 64 KiB");
    // A line of exactly 256 bytes is fine.
    p = parse_text("default deny" + std::string(kMaxLine - 12, ' '));
    EXPECT_TRUE(p.ok);
}

TEST(Decide, FirstMatchWinsThenTheDefault) {
    const Parsed p = parse_text(
        "allow tcp 10.0.2.2 8000\n"
        "deny tcp 10.0.2.0/24 any\n"
        "allow udp 10.0.2.3 53\n"
        "deny icmp 10.0.0.0/8\n"
        "allow any any 1000-2000\n"
        "default deny\n");
    ASSERT_TRUE(p.ok);
    const RuleSet& s = p.set;
    Decision d = decide(s, Protocol::kTcp, ip(10, 0, 2, 2), 8000);
    EXPECT_EQ(d.action, Action::kAllow);
    EXPECT_EQ(d.rule, 1u);
    d = decide(s, Protocol::kTcp, ip(10, 0, 2, 2), 8001);
    EXPECT_EQ(d.action, Action::kDeny);
    EXPECT_EQ(d.rule, 2u);
    EXPECT_EQ(d.line, 2u);
    d = decide(s, Protocol::kTcp, ip(10, 0, 3, 2), 1500);
    EXPECT_EQ(d.action, Action::kAllow);
    EXPECT_EQ(d.rule, 5u);
    d = decide(s, Protocol::kUdp, ip(10, 0, 2, 3), 53);
    EXPECT_EQ(d.rule, 3u);
    d = decide(s, Protocol::kUdp, ip(10, 0, 2, 3), 54);
    EXPECT_EQ(d.action, Action::kDeny);
    EXPECT_EQ(d.rule, 0u);
    EXPECT_EQ(d.line, 6u);
    d = decide(s, Protocol::kIcmp, ip(10, 9, 9, 9), 0);
    EXPECT_EQ(d.rule, 4u);
    d = decide(s, Protocol::kIcmp, ip(11, 0, 0, 1), 0);
    EXPECT_EQ(d.rule, 0u);
}

TEST(Write, CanonicalLinesParseBack) {
    const Parsed p = parse_text(
        "allow tcp 10.0.2.2 8000\ndeny udp 192.168.0.0/16 1-1023\nallow icmp any any\n"
        "deny any 0.0.0.0/0 any\ndefault allow\n");
    ASSERT_TRUE(p.ok);
    const char* want[] = {"allow tcp 10.0.2.2 8000", "deny udp 192.168.0.0/16 1-1023",
                          "allow icmp any", "deny any any any"};
    for (uint32_t i = 0; i < p.set.count; ++i) {
        char line[kMaxRuleText];
        const size_t n = write_rule(p.set.rules[i], line, sizeof line);
        EXPECT_EQ(n, std::strlen(want[i]));
        EXPECT_STREQ(line, want[i]);
    }
    char small[8];
    EXPECT_EQ(write_rule(p.set.rules[0], small, sizeof small), 0u);
    EXPECT_STREQ(small, "");
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

TEST(ShippedFiles, TheExamplesParseAndTheBadOneFailsWhereTheTestSays) {
    // user/etc/firewall.rules (the system image's example) and the test image's rules.
    Parsed p = parse_text(read_file(KEEL_USER_ETC "/firewall.rules"));
    ASSERT_TRUE(p.ok) << p.error.line << ":" << p.error.column << " " << p.error.reason;
    EXPECT_EQ(p.set.default_action, Action::kDeny);
    p = parse_text(read_file(KEEL_USER_ETC "/test/firewall-test.rules"));
    ASSERT_TRUE(p.ok) << p.error.line << ":" << p.error.column << " " << p.error.reason;
    EXPECT_EQ(p.set.count, 8u);  // kernel/tests/qemu-firewall.sh expects "8 rules" and rule 1..7
    EXPECT_EQ(decide(p.set, Protocol::kTcp, ip(10, 0, 2, 2), 80).rule, 1u);
    EXPECT_EQ(decide(p.set, Protocol::kTcp, ip(10, 0, 2, 2), 40000).rule, 2u);
    EXPECT_EQ(decide(p.set, Protocol::kTcp, ip(10, 0, 2, 15), 7320).rule, 3u);
    EXPECT_EQ(decide(p.set, Protocol::kUdp, ip(10, 0, 2, 2), 9).rule, 6u);
    EXPECT_EQ(decide(p.set, Protocol::kUdp, ip(10, 0, 2, 2), 40000).rule, 7u);
    // The malformed one: qemu_firewall expects this line, column and reason on the console.
    expect_error(read_file(KEEL_USER_ETC "/test/firewall-bad.rules"), 5, 13,
                 "bad address (expected a.b.c.d, a.b.c.d/N or any)");
}

}  // namespace
}  // namespace keel::fwrules
