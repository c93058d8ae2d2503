// lib/virtio's network device pieces on the host: the configuration against the negotiated
// features, random MAC addresses, frame lengths and every received header a device may lie in.
#include <gtest/gtest.h>
#include <keel/virtio/net.hpp>

#include <cstring>
#include <set>

namespace keel::virtio::net {
namespace {

constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

TEST(Net, Layout) {
    EXPECT_EQ(offsetof(Header, flags), 0u);
    EXPECT_EQ(offsetof(Header, gso_type), 1u);
    EXPECT_EQ(offsetof(Header, hdr_len), 2u);
    EXPECT_EQ(offsetof(Header, csum_start), 6u);
    EXPECT_EQ(offsetof(Header, num_buffers), 10u);
    EXPECT_EQ(config_bytes(0), 6u);
    EXPECT_EQ(config_bytes(kFeatureMac | kFeatureStatus), 8u);
    EXPECT_EQ(config_bytes(kFeatureStatus | kFeatureMtu), 12u);
}

TEST(Net, Config) {
    Config c{};
    // QEMU's: mac and status, no mtu.
    ASSERT_EQ(check_config(kFeatureMac | kFeatureStatus, kMac, kStatusLinkUp, 0, &c), nullptr);
    EXPECT_TRUE(c.has_mac);
    EXPECT_EQ(std::memcmp(c.mac, kMac, 6), 0);
    EXPECT_TRUE(c.link_up);
    EXPECT_EQ(c.mtu, 1500);
    // Link down, other status bits ignored.
    ASSERT_EQ(check_config(kFeatureMac | kFeatureStatus, kMac, 2, 0, &c), nullptr);
    EXPECT_FALSE(c.link_up);
    // No status feature: up whatever the field says; no mac feature: none, whatever it says.
    ASSERT_EQ(check_config(0, kMac, 0, 0, &c), nullptr);
    EXPECT_TRUE(c.link_up);
    EXPECT_FALSE(c.has_mac);
    // mtu: a smaller one is taken, a larger one capped at 1500, the floor is 68.
    ASSERT_EQ(check_config(kFeatureMtu, kMac, 0, 1400, &c), nullptr);
    EXPECT_EQ(c.mtu, 1400);
    ASSERT_EQ(check_config(kFeatureMtu, kMac, 0, 9000, &c), nullptr);
    EXPECT_EQ(c.mtu, 1500);
    ASSERT_EQ(check_config(kFeatureMtu, kMac, 0, 68, &c), nullptr);
    EXPECT_EQ(c.mtu, 68);
    EXPECT_NE(check_config(kFeatureMtu, kMac, 0, 67, &c), nullptr);
    EXPECT_NE(check_config(kFeatureMtu, kMac, 0, 0, &c), nullptr);
    // A multicast or all-zero mac is refused; *out untouched on failure.
    const uint8_t multicast[6] = {0x01, 0, 0x5e, 0, 0, 1};
    const uint8_t zero[6] = {};
    c.mtu = 7;
    EXPECT_NE(check_config(kFeatureMac, multicast, 0, 0, &c), nullptr);
    EXPECT_NE(check_config(kFeatureMac, zero, 0, 0, &c), nullptr);
    EXPECT_EQ(c.mtu, 7);
    // Without the feature the same bytes are not looked at.
    EXPECT_EQ(check_config(0, multicast, 0, 0, &c), nullptr);
}

TEST(Net, RandomMac) {
    std::set<uint64_t> seen;
    for (uint64_t seed = 0; seed < 1000; ++seed) {
        uint8_t m[6];
        random_mac(seed, m);
        EXPECT_EQ(m[0] & 3, 2) << seed;  // locally administered, unicast
        uint64_t v = 0;
        for (uint8_t b : m)
            v = v << 8 | b;
        seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(Net, FrameLength) {
    EXPECT_FALSE(frame_length_ok(0, 1500));
    EXPECT_FALSE(frame_length_ok(13, 1500));
    EXPECT_TRUE(frame_length_ok(14, 1500));
    EXPECT_TRUE(frame_length_ok(1514, 1500));
    EXPECT_FALSE(frame_length_ok(1515, 1500));
    EXPECT_FALSE(frame_length_ok(~0ull, 1500));
    EXPECT_TRUE(frame_length_ok(82, 68));
    EXPECT_FALSE(frame_length_ok(83, 68));
}

TEST(Net, Received) {
    uint8_t b[2048] = {};
    uint32_t n = 0;
    EXPECT_EQ(check_received(b, 0, 1500, &n), Received::kShort);
    EXPECT_EQ(check_received(b, 25, 1500, &n), Received::kShort);
    ASSERT_EQ(check_received(b, 26, 1500, &n), Received::kOk);
    EXPECT_EQ(n, 14u);
    ASSERT_EQ(check_received(b, 12 + 1514, 1500, &n), Received::kOk);
    EXPECT_EQ(n, 1514u);
    EXPECT_EQ(check_received(b, 12 + 1515, 1500, &n), Received::kLong);
    EXPECT_EQ(check_received(b, 2048, 1500, &n), Received::kLong);
    EXPECT_EQ(check_received(b, 12 + 600, 500, &n), Received::kLong);
    // num_buffers 1 (the spec) or 0 (QEMU leaves it): fine; more would span buffers.
    b[10] = 1;
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kOk);
    b[10] = 2;
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kBadHeader);
    b[10] = 0;
    b[11] = 1;
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kBadHeader);
    b[11] = 0;
    // Flags: data-valid is harmless; a partial checksum or an unknown bit is not.
    b[0] = kHeaderDataValid;
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kOk);
    b[0] = kHeaderNeedsCsum;
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kBadHeader);
    b[0] = 0x80;
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kBadHeader);
    b[0] = 0;
    // Any segmentation is refused.
    for (int gso = 1; gso < 256; ++gso) {
        b[1] = static_cast<uint8_t>(gso);
        EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kBadHeader) << gso;
    }
    b[1] = 0;
    // The other fields mean nothing without offloads: ignored.
    std::memset(b + 2, 0xff, 8);
    EXPECT_EQ(check_received(b, 100, 1500, &n), Received::kOk);
}

}  // namespace
}  // namespace keel::virtio::net
