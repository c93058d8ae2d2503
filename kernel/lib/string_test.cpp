// Kernel tests for the libc copies (lib/string.cpp): every length around the 8-byte word step,
// unaligned ends, and overlapping moves in both directions, checked byte by byte.
#include <cstdint>

#include "lib/string.hpp"
#include "test/ktest.hpp"

namespace keel {
namespace {

constexpr size_t kSize = 64;

void fill(unsigned char* b, unsigned char seed) {
    for (size_t i = 0; i < kSize; ++i)
        b[i] = static_cast<unsigned char>(seed + 7 * i);
}

KTEST(string_memcpy_every_length_and_alignment) {
    unsigned char src[kSize], dst[kSize];
    bool ok = true;
    for (size_t n = 0; n <= 40; ++n) {
        for (size_t so = 0; so < 8; ++so) {
            for (size_t doff = 0; doff < 8; ++doff) {
                fill(src, 1);
                fill(dst, 100);
                KEXPECT(memcpy(dst + doff, src + so, n) == dst + doff);
                for (size_t i = 0; i < kSize; ++i) {
                    const bool inside = i >= doff && i < doff + n;
                    const unsigned char want =
                        inside ? static_cast<unsigned char>(1 + 7 * (i - doff + so))
                               : static_cast<unsigned char>(100 + 7 * i);
                    ok = ok && dst[i] == want;
                }
            }
        }
    }
    KEXPECT(ok);
}

KTEST(string_memmove_overlapping_both_ways) {
    unsigned char b[kSize];
    bool ok = true;
    for (size_t n = 0; n <= 40; ++n) {
        for (size_t from = 0; from < 12; ++from) {
            for (size_t to = 0; to < 12; ++to) {
                fill(b, 3);
                KEXPECT(memmove(b + to, b + from, n) == b + to);
                for (size_t i = 0; i < kSize; ++i) {
                    const bool inside = i >= to && i < to + n;
                    const unsigned char want =
                        static_cast<unsigned char>(3 + 7 * (inside ? i - to + from : i));
                    ok = ok && b[i] == want;
                }
            }
        }
    }
    KEXPECT(ok);
}

}  // namespace
}  // namespace keel
