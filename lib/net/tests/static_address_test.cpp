// parse_static_address: the network server's --address/--gateway options.
#include <gtest/gtest.h>
#include <keel/net/static_address.hpp>

#include <cstring>

namespace keel::net {
namespace {

const char* parse(const char* address, const char* gateway, StaticAddress* out) {
    return parse_static_address(address, std::strlen(address), gateway,
                                gateway == nullptr ? 0 : std::strlen(gateway), out);
}

TEST(StaticAddress, AddressAndPrefix) {
    StaticAddress s{};
    ASSERT_EQ(parse("10.0.3.1/24", nullptr, &s), nullptr);
    EXPECT_EQ(s.address, ip4(10, 0, 3, 1));
    EXPECT_EQ(s.netmask, ip4(255, 255, 255, 0));
    EXPECT_EQ(s.gateway, 0u);
    ASSERT_EQ(parse("192.168.7.254/30", "192.168.7.253", &s), nullptr);
    EXPECT_EQ(s.netmask, ip4(255, 255, 255, 252));
    EXPECT_EQ(s.gateway, ip4(192, 168, 7, 253));
    ASSERT_EQ(parse("10.200.0.9/8", "10.0.0.1", &s), nullptr);
    EXPECT_EQ(s.netmask, ip4(255, 0, 0, 0));
    // An empty gateway is none.
    ASSERT_EQ(parse("10.0.3.2/24", "", &s), nullptr);
    EXPECT_EQ(s.gateway, 0u);
}

TEST(StaticAddress, ReadsExactlyTheGivenBytes) {
    StaticAddress s{};
    const char text[] = "10.0.3.1/24junk";
    ASSERT_EQ(parse_static_address(text, 11, nullptr, 0, &s), nullptr);
    EXPECT_EQ(s.netmask, ip4(255, 255, 255, 0));
    EXPECT_NE(parse_static_address(text, 12, nullptr, 0, &s), nullptr);
}

TEST(StaticAddress, RefusalsLeaveTheOutputAlone) {
    const char* bad[] = {
        "10.0.3.1",          // no prefix
        "10.0.3.1/",         // empty prefix
        "10.0.3.1/7",        // too wide
        "10.0.3.1/31",       // no room for two hosts with a broadcast
        "10.0.3.1/32",       //
        "10.0.3.1/024",      // three digits
        "10.0.3.1/08",       // leading zero
        "10.0.3.1/2x",       // not a number
        "10.0.3.1/-8",       //
        "10.0.3/24",         // not a dotted quad
        "10.0.3.256/24",     //
        "010.0.3.1/24",      // leading zero
        "/24",               //
        "10.0.3.0/24",       // the subnet's own address
        "10.0.3.255/24",     // its broadcast
        "127.0.0.1/8",       // loopback
        "0.1.2.3/8",         // this network
        "224.0.0.1/24",      // multicast
        "255.255.255.1/24",  //
        "10.0.3.1/24/1",     // junk after the prefix
        "",
    };
    for (const char* text : bad) {
        StaticAddress s{1, 2, 3};
        EXPECT_NE(parse(text, nullptr, &s), nullptr) << text;
        EXPECT_EQ(s.address, 1u) << text;
        EXPECT_EQ(s.netmask, 2u) << text;
        EXPECT_EQ(s.gateway, 3u) << text;
    }
}

TEST(StaticAddress, GatewayOnTheSubnetAndNotTheAddress) {
    const char* bad[] = {"10.0.4.1", "10.0.3.1", "10.0.3.0", "10.0.3.255",
                         "10.0.3",   "x",        "10.0.3.2 "};
    for (const char* gateway : bad) {
        StaticAddress s{1, 2, 3};
        EXPECT_NE(parse("10.0.3.1/24", gateway, &s), nullptr) << gateway;
        EXPECT_EQ(s.address, 1u) << gateway;
    }
}

}  // namespace
}  // namespace keel::net
