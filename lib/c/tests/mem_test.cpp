// The C library's byte loops (keel::c), under the host's sanitizers: every length around the
// 8-byte word step, unaligned ends, overlapping moves in both directions, checked byte by byte
// against a plain reference (ASan sees any access outside the ranges).
#include <gtest/gtest.h>
#include <keel/c/mem.hpp>

#include <cstddef>
#include <vector>

namespace keel::c {
namespace {

constexpr size_t kSize = 224;

std::vector<unsigned char> pattern(unsigned char seed) {
    std::vector<unsigned char> b(kSize);
    for (size_t i = 0; i < kSize; ++i)
        b[i] = static_cast<unsigned char>(seed + 7 * i);
    return b;
}

TEST(Mem, CopyEveryLengthAndAlignment) {
    // Long runs of words too, then every tail.
    for (size_t n = 0; n <= 200; ++n) {
        for (size_t so = 0; so < 8; ++so) {
            for (size_t d = 0; d < 8; ++d) {
                const auto src = pattern(1);
                auto dst = pattern(100);
                auto want = dst;
                for (size_t i = 0; i < n; ++i)
                    want[d + i] = src[so + i];
                ASSERT_EQ(copy(dst.data() + d, src.data() + so, n), dst.data() + d);
                ASSERT_EQ(dst, want) << "n=" << n << " src+" << so << " dst+" << d;
            }
        }
    }
}

TEST(Mem, MoveOverlappingBothWays) {
    for (size_t n = 0; n <= 40; ++n) {
        for (size_t from = 0; from < 12; ++from) {
            for (size_t to = 0; to < 12; ++to) {
                auto b = pattern(3);
                auto want = b;
                const std::vector<unsigned char> moved(b.begin() + from, b.begin() + from + n);
                for (size_t i = 0; i < n; ++i)
                    want[to + i] = moved[i];
                ASSERT_EQ(move(b.data() + to, b.data() + from, n), b.data() + to);
                ASSERT_EQ(b, want) << "n=" << n << " from " << from << " to " << to;
            }
        }
    }
}

TEST(Mem, FillCompareLength) {
    auto b = pattern(5);
    ASSERT_EQ(fill(b.data() + 3, 0x1ab, 10), b.data() + 3);  // only the low byte counts
    for (size_t i = 0; i < kSize; ++i)
        EXPECT_EQ(b[i], i >= 3 && i < 13 ? 0xab : static_cast<unsigned char>(5 + 7 * i));
    const unsigned char x[] = {1, 2, 0x80}, y[] = {1, 2, 0x7f};
    EXPECT_EQ(compare(x, y, 2), 0);
    EXPECT_GT(compare(x, y, 3), 0);  // unsigned bytes: 0x80 is above 0x7f
    EXPECT_LT(compare(y, x, 3), 0);
    EXPECT_EQ(compare(x, y, 0), 0);
    EXPECT_EQ(length(""), 0u);
    EXPECT_EQ(length("keel"), 4u);
}

}  // namespace
}  // namespace keel::c
