// Kernel tests for the formatter used by every log line.
#include "lib/format.hpp"
#include "lib/string.hpp"
#include "test/ktest.hpp"

namespace keel {
namespace {

KTEST(format_numbers_strings_and_truncation) {
    char buf[64];
    snformat(buf, sizeof buf, "%d|%u|%x|%5d|%05x|%s|%c|%%", -42, 42u, 0xbeefu, 7, 0xabu, "ok", 'z');
    KEXPECT(str_equal(buf, "-42|42|beef|    7|000ab|ok|z|%"));
    snformat(buf, sizeof buf, "%lu %lx %ld", ~uint64_t{0}, ~uint64_t{0},
             static_cast<int64_t>(-9223372036854775807ll - 1));
    KEXPECT(str_equal(buf, "18446744073709551615 ffffffffffffffff -9223372036854775808"));
    char small[4];
    KEXPECT_EQ(snformat(small, sizeof small, "abcdef"), 6u);
    KEXPECT(str_equal(small, "abc"));
    KEXPECT(has_word("a test b", "test"));
    KEXPECT(!has_word("attest", "test"));
}

}  // namespace
}  // namespace keel
