// The handshake parsers: exactly what encode_* writes for a valid message is accepted; every
// other length, every flipped bit, every inconsistent geometry is refused.
#include <gtest/gtest.h>

#include <ipc/linux/hello.hpp>
#include <ipc/linux/wake_page.hpp>

namespace keel::ipc::linux_transport {
namespace {

Hello valid_hello(const Geometry& g) {
    return Hello{g, kQueueOffset + Layout::compute(g)->total_size};
}

TEST(Hello, RoundTrips) {
    for (Geometry g : {Geometry{1, 0, 0}, Geometry{16, 8, 16384}, Geometry{1u << 15, 0xFFFE, 64}}) {
        auto bytes = encode_hello(valid_hello(g));
        auto parsed = parse_hello(bytes);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(parsed->geometry.capacity, g.capacity);
        EXPECT_EQ(parsed->geometry.buffer_count, g.buffer_count);
        EXPECT_EQ(parsed->geometry.buffer_size, g.buffer_size);
        EXPECT_EQ(parsed->region_size, valid_hello(g).region_size);
    }
}

TEST(Hello, RefusesWrongLengths) {
    auto bytes = encode_hello(valid_hello({16, 8, 16384}));
    std::byte longer[kHelloSize + 1] = {};
    std::copy(bytes.begin(), bytes.end(), longer);
    EXPECT_EQ(parse_hello({}).error(), Error::InvalidArgument);
    EXPECT_EQ(parse_hello(std::span(bytes).first(kHelloSize - 1)).error(), Error::InvalidArgument);
    EXPECT_EQ(parse_hello(longer).error(), Error::InvalidArgument);
}

// Every field is either fixed or tied to the others through region_size, so no single-bit
// change can yield another valid Hello.
TEST(Hello, RefusesEveryFlippedBit) {
    const auto good = encode_hello(valid_hello({16, 8, 16384}));
    int refused = 0;
    for (std::size_t i = 0; i < kHelloSize; ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            auto bad = good;
            bad[i] ^= std::byte(1u << bit);
            auto parsed = parse_hello(bad);
            EXPECT_FALSE(parsed.ok()) << "byte " << i << " bit " << bit;
            if (!parsed.ok()) {
                EXPECT_EQ(parsed.error(), Error::BadLayout);
                ++refused;
            }
        }
    }
    EXPECT_EQ(refused, int(kHelloSize * 8));
}

TEST(Hello, RefusesInvalidGeometry) {
    for (Geometry g : {Geometry{0, 0, 0}, Geometry{3, 0, 0}, Geometry{1u << 16, 0, 0},
                       Geometry{4, 1, 0}, Geometry{4, 1, 65}, Geometry{4, 0x10000, 64}}) {
        Hello h{g, kQueueOffset + (1u << 20)};
        EXPECT_EQ(parse_hello(encode_hello(h)).error(), Error::BadLayout)
            << g.capacity << " " << g.buffer_count << " " << g.buffer_size;
    }
}

TEST(Hello, RefusesRegionSizeNotMatchingGeometry) {
    Hello h = valid_hello({16, 8, 16384});
    for (std::uint64_t size : {std::uint64_t(0), h.region_size - 1, h.region_size + 1,
                               h.region_size - kQueueOffset, ~std::uint64_t(0)}) {
        Hello bad = h;
        bad.region_size = size;
        EXPECT_EQ(parse_hello(encode_hello(bad)).error(), Error::BadLayout) << size;
    }
}

TEST(HelloReply, RoundTripsEveryStatus) {
    for (auto s : {ReplyStatus::Accepted, ReplyStatus::BadHello, ReplyStatus::TooLarge,
                   ReplyStatus::BadRegion, ReplyStatus::BadQueue, ReplyStatus::ServerError}) {
        auto parsed = parse_reply(encode_reply(HelloReply{s, 19}));
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(parsed->status, s);
        EXPECT_EQ(parsed->op_limit, 19);
    }
}

TEST(HelloReply, RefusesBadBytes) {
    const auto good = encode_reply(HelloReply{ReplyStatus::Accepted, 19});
    EXPECT_EQ(parse_reply(std::span(good).first(kReplySize - 1)).error(), Error::InvalidArgument);
    auto unknown = good;
    unknown[6] = std::byte(6);  // one past the last status
    EXPECT_EQ(parse_reply(unknown).error(), Error::BadLayout);
    // Magic, version and reserved bytes: every flipped bit is refused.
    for (std::size_t i : {0u, 1u, 2u, 3u, 4u, 5u, 10u, 11u, 12u, 13u, 14u, 15u}) {
        for (int bit = 0; bit < 8; ++bit) {
            auto bad = good;
            bad[i] ^= std::byte(1u << bit);
            EXPECT_EQ(parse_reply(bad).error(), Error::BadLayout) << i << " " << bit;
        }
    }
}

}  // namespace
}  // namespace keel::ipc::linux_transport
