#include <gtest/gtest.h>
#include <keel/net/addr.hpp>
#include <keel/net/wire.hpp>

#include <cstring>

namespace keel::net {
namespace {

TEST(Wire, ChecksumMatchesRfc1071Example) {
    // RFC 1071 section 3: these eight bytes sum to 0xddf2 (checksum 0x220d).
    const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_add(0, bytes, sizeof bytes), 0x2ddf0u);
    EXPECT_EQ(checksum_fold(checksum_add(0, bytes, sizeof bytes)), 0x220d);
}

TEST(Wire, ChecksumOfAChecksummedHeaderIsZero) {
    // An IPv4 header captured from QEMU's user network (10.0.2.2 -> 10.0.2.15, ICMP).
    uint8_t header[] = {0x45, 0x00, 0x00, 0x54, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01,
                        0x00, 0x00, 0x0a, 0x00, 0x02, 0x02, 0x0a, 0x00, 0x02, 0x0f};
    put16(header + 10, checksum_fold(checksum_add(0, header, sizeof header)));
    EXPECT_EQ(checksum_fold(checksum_add(0, header, sizeof header)), 0);
    header[15] ^= 1;
    EXPECT_NE(checksum_fold(checksum_add(0, header, sizeof header)), 0);
}

TEST(Wire, ChecksumChainsOverEvenPiecesAndPadsTheOddEnd) {
    const uint8_t bytes[] = {1, 2, 3, 4, 5, 6, 7};
    const uint32_t whole = checksum_add(0, bytes, sizeof bytes);
    EXPECT_EQ(checksum_fold(checksum_add(checksum_add(0, bytes, 4), bytes + 4, 3)),
              checksum_fold(whole));
    const uint8_t padded[] = {1, 2, 3, 4, 5, 6, 7, 0};
    EXPECT_EQ(checksum_fold(whole), checksum_fold(checksum_add(0, padded, sizeof padded)));
}

// The definition, one big-endian word at a time: what the eight-bytes-a-step sum must equal.
uint32_t reference_sum(uint32_t sum, const uint8_t* data, size_t size) {
    uint64_t acc = sum;
    size_t i = 0;
    for (; i + 1 < size; i += 2)
        acc += static_cast<uint64_t>(data[i]) << 8 | data[i + 1];
    if (i < size)
        acc += static_cast<uint64_t>(data[i]) << 8;
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return static_cast<uint32_t>(acc);
}

TEST(Wire, ChecksumEqualsTheWordByWordSumAtEveryLengthAndAlignment) {
    // Lengths around the 8-byte steps and the 256-step lane limit (2048 bytes), up to a jumbo
    // datagram; every start alignment; all-0xff bytes (the largest lane sums) and a pattern.
    static uint8_t buffer[9000 + 8];
    for (int fill = 0; fill < 2; ++fill) {
        for (size_t i = 0; i < sizeof buffer; ++i)
            buffer[i] = fill == 0 ? 0xff : static_cast<uint8_t>(i * 131 + (i >> 8) * 7 + 1);
        for (size_t offset = 0; offset < 8; ++offset) {
            for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{15},
                                size_t{20}, size_t{1460}, size_t{1480}, size_t{2047}, size_t{2048},
                                size_t{2049}, size_t{2056}, size_t{4097}, size_t{9000}}) {
                for (uint32_t start : {0u, 0xffffu, 0xfffffff0u}) {
                    EXPECT_EQ(checksum_add(start, buffer + offset, size),
                              reference_sum(start, buffer + offset, size))
                        << "size " << size << " offset " << offset << " start " << start;
                }
            }
        }
    }
}

TEST(Wire, ChecksumCopyCopiesExactlyAndSumsAsTheWordByWordSum) {
    // The same lengths and alignments, source and destination misaligned independently; the
    // bytes around the destination range must stay untouched (guards of 0x5a).
    static uint8_t source[9000 + 8];
    static uint8_t target[9000 + 32];
    for (int fill = 0; fill < 2; ++fill) {
        for (size_t i = 0; i < sizeof source; ++i)
            source[i] = fill == 0 ? 0xff : static_cast<uint8_t>(i * 131 + (i >> 8) * 7 + 1);
        for (size_t from = 0; from < 8; ++from) {
            for (size_t to : {size_t{8}, size_t{11}, size_t{13}}) {
                for (size_t size :
                     {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{15},
                      size_t{1460}, size_t{2047}, size_t{2048}, size_t{2049}, size_t{9000}}) {
                    for (uint32_t start : {0u, 0xffffu, 0xfffffff0u}) {
                        for (uint8_t& b : target)
                            b = 0x5a;
                        EXPECT_EQ(checksum_copy(start, target + to, source + from, size),
                                  reference_sum(start, source + from, size))
                            << "size " << size << " from " << from << " to " << to;
                        EXPECT_EQ(std::memcmp(target + to, source + from, size), 0);
                        for (size_t i = 0; i < to; ++i)
                            ASSERT_EQ(target[i], 0x5a);
                        for (size_t i = to + size; i < sizeof target; ++i)
                            ASSERT_EQ(target[i], 0x5a);
                    }
                }
            }
        }
    }
}

TEST(Wire, PseudoHeaderSumsItsWords) {
    EXPECT_EQ(checksum_fold(pseudo_header_sum(ip4(10, 0, 2, 15), ip4(10, 0, 2, 2), 6, 20)),
              checksum_fold(0x0a00u + 0x020fu + 0x0a00u + 0x0202u + 6u + 20u));
}

TEST(Wire, BigEndianRoundTrips) {
    uint8_t b[4];
    put32(b, 0x01020304u);
    EXPECT_EQ(b[0], 1);
    EXPECT_EQ(get32(b), 0x01020304u);
    put16(b, 0xbeef);
    EXPECT_EQ(get16(b), 0xbeef);
}

TEST(Addr, ParsesAndFormatsDottedQuads) {
    Ip4 a = 0;
    ASSERT_TRUE(parse_ip4("10.0.2.15", 9, &a));
    EXPECT_EQ(a, ip4(10, 0, 2, 15));
    char text[kIp4TextSize];
    EXPECT_EQ(format_ip4(a, text), 9u);
    EXPECT_STREQ(text, "10.0.2.15");
    EXPECT_EQ(format_ip4(0xffffffffu, text), 15u);
    EXPECT_STREQ(text, "255.255.255.255");
    for (const char* bad : {"", "1.2.3", "1.2.3.4.", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d",
                            "1.2.3.4 ", "-1.2.3.4", "1.2.3.1000"}) {
        EXPECT_FALSE(parse_ip4(bad, std::strlen(bad), &a)) << bad;
    }
    // The size bounds the text: a longer buffer is not read past it.
    EXPECT_TRUE(parse_ip4("1.2.3.4xyz", 7, &a));
    EXPECT_EQ(a, ip4(1, 2, 3, 4));
}

}  // namespace
}  // namespace keel::net
