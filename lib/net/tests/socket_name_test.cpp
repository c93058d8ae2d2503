#include <gtest/gtest.h>
#include <keel/net/socket_name.hpp>

#include <string>

namespace keel::net {
namespace {

// The parsed host points into the text: keep the text alive until the next parse.
bool parse(const std::string& s, SocketName* out) {
    static std::string kept;
    kept = s;
    return parse_socket_name(kept.data(), kept.size(), out);
}

TEST(SocketName, ParsesEveryKind) {
    SocketName n{};
    ASSERT_TRUE(parse("tcp/listen/80", &n));
    EXPECT_EQ(n.kind, SocketKind::kTcpListen);
    EXPECT_EQ(n.port, 80);
    ASSERT_TRUE(parse("tcp/connect/10.0.2.2/8000", &n));
    EXPECT_EQ(n.kind, SocketKind::kTcpConnect);
    EXPECT_EQ(std::string(n.host, n.host_size), "10.0.2.2");
    EXPECT_EQ(n.port, 8000);
    ASSERT_TRUE(parse("tcp/connect/example.org/65535", &n));
    EXPECT_EQ(std::string(n.host, n.host_size), "example.org");
    EXPECT_EQ(n.port, 65535);
    ASSERT_TRUE(parse("udp/bind/0", &n));
    EXPECT_EQ(n.kind, SocketKind::kUdpBind);
    EXPECT_EQ(n.port, 0);
    ASSERT_TRUE(parse("icmp/echo/10.0.2.2", &n));
    EXPECT_EQ(n.kind, SocketKind::kIcmpEcho);
    ASSERT_TRUE(parse("dns/debian.org", &n));
    EXPECT_EQ(n.kind, SocketKind::kDns);
    EXPECT_EQ(std::string(n.host, n.host_size), "debian.org");
    ASSERT_TRUE(parse("info", &n));
    EXPECT_EQ(n.kind, SocketKind::kInfo);
    ASSERT_TRUE(parse("accept", &n));
    EXPECT_EQ(n.kind, SocketKind::kAccept);
}

TEST(SocketName, RefusesEverythingElse) {
    SocketName n{};
    for (const char* bad : {"",
                            "/",
                            "tcp",
                            "tcp/",
                            "tcp/listen",
                            "tcp/listen/",
                            "tcp/listen/0",
                            "tcp/listen/65536",
                            "tcp/listen/080",
                            "tcp/listen/8a",
                            "tcp/listen/80/",
                            "tcp//listen/80",
                            "/tcp/listen/80",
                            "tcp/connect/10.0.2.2",
                            "tcp/connect//80",
                            "tcp/connect/a b/80",
                            "tcp/connect/h/0",
                            "tcp/connect/h/80/x",
                            "udp/bind/65536",
                            "udp/bind/",
                            "udp/bind/-1",
                            "icmp/echo/",
                            "icmp/echo/a/b",
                            "dns/",
                            "dns/a_b",
                            "dns/a%2f",
                            "info/",
                            "infox",
                            "accept/x",
                            "tcp/listen/99999",
                            "tcp/listen/123456"}) {
        EXPECT_FALSE(parse(bad, &n)) << bad;
    }
    EXPECT_FALSE(parse("dns/" + std::string(254, 'a'), &n));
    EXPECT_TRUE(parse("dns/" + std::string(253, 'a'), &n));
    EXPECT_FALSE(parse(std::string("info\0", 5), &n));
}

TEST(SocketName, BeginningsOfNamesArePrefixes) {
    SocketName n{};
    for (const char* prefix :
         {"tcp", "tcp/listen", "tcp/connect", "tcp/connect/10.0.2.2", "tcp/connect/example.org",
          "udp", "udp/bind", "icmp", "icmp/echo", "dns"}) {
        EXPECT_EQ(match_socket_name(prefix, std::string(prefix).size(), &n), NameMatch::kPrefix)
            << prefix;
    }
    for (const char* none : {"tc", "tcp/", "tcp/lis", "tcp/connect/a_b", "udp/bind/", "icmp/x",
                             "dns/", "info/x", "x"}) {
        EXPECT_EQ(match_socket_name(none, std::string(none).size(), &n), NameMatch::kNone) << none;
    }
}

}  // namespace
}  // namespace keel::net
