// The formatter behind every kernel log line and user program's output.
#include <gtest/gtest.h>
#include <keel/c/format.hpp>
#include <keel/c/string.hpp>

#include <cstdint>

namespace keel {
namespace {

TEST(Format, NumbersStringsAndPadding) {
    char buf[64];
    snformat(buf, sizeof buf, "%d|%u|%x|%5d|%05x|%s|%c|%%", -42, 42u, 0xbeefu, 7, 0xabu, "ok", 'z');
    EXPECT_STREQ(buf, "-42|42|beef|    7|000ab|ok|z|%");
    snformat(buf, sizeof buf, "%lu %lx %ld", ~uint64_t{0}, ~uint64_t{0},
             static_cast<int64_t>(-9223372036854775807ll - 1));
    EXPECT_STREQ(buf, "18446744073709551615 ffffffffffffffff -9223372036854775808");
    snformat(buf, sizeof buf, "%s|%05d|%p", static_cast<const char*>(nullptr), -42,
             reinterpret_cast<void*>(0x1000));
    EXPECT_STREQ(buf, "(null)|-0042|0x0000000000001000");
}

TEST(Format, TruncatesAndReportsTheFullLength) {
    char small[4];
    EXPECT_EQ(snformat(small, sizeof small, "abcdef"), 6u);
    EXPECT_STREQ(small, "abc");
    EXPECT_EQ(snformat(nullptr, 0, "%d", 12345), 5u);
    char one[1] = {'x'};
    EXPECT_EQ(snformat(one, sizeof one, "abc"), 3u);
    EXPECT_EQ(one[0], '\0');
}

TEST(StringHelpers, WholeWordsAndEquality) {
    EXPECT_TRUE(has_word("a test b", "test"));
    EXPECT_TRUE(has_word("  test", "test"));
    EXPECT_FALSE(has_word("attest", "test"));
    EXPECT_FALSE(has_word("tes", "test"));
    EXPECT_TRUE(str_equal("abc", "abc"));
    EXPECT_FALSE(str_equal("abc", "abcd"));
    EXPECT_FALSE(str_equal("abd", "abc"));
}

TEST(StringHelpers, CharactersAndNumbers) {
    EXPECT_TRUE(has_char("bin/ls", '/'));
    EXPECT_FALSE(has_char("ls", '/'));
    EXPECT_FALSE(has_char("", '/'));
    EXPECT_EQ(parse_u64("42"), 42u);
    EXPECT_EQ(parse_u64("7x"), 7u);
    EXPECT_EQ(parse_u64("x7"), 0u);
    EXPECT_EQ(parse_u64(""), 0u);
    EXPECT_EQ(parse_u64("18446744073709551615"), ~uint64_t{0});
    EXPECT_EQ(parse_u64("18446744073709551616"), ~uint64_t{0});  // saturates
    EXPECT_EQ(parse_u64("99999999999999999999999"), ~uint64_t{0});
}

size_t forward(char* buf, size_t size, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    const size_t n = vsnformat(buf, size, fmt, args);
    va_end(args);
    return n;
}

TEST(Format, VaListForm) {
    char buf[8];
    EXPECT_EQ(forward(buf, sizeof buf, "%s-%d", "abc", 12345), 9u);
    EXPECT_STREQ(buf, "abc-123");
}

}  // namespace
}  // namespace keel
