// The byte loops of Keel's C library (keel/c/mem.hpp). Compiled with -fno-builtin in every
// environment (lib/c/CMakeLists.txt) so that these loops are never turned back into calls to
// memcpy and friends: in freestanding code those names lead straight back here.
#include <keel/c/mem.hpp>

#include <stdint.h>

namespace keel::c {

namespace {

// An unaligned, aliasing 8-byte word: x86-64 loads and stores it at any address. Copies move
// 8 bytes per step and the tail byte by byte (an 8-byte copy is one load and one store instead
// of eight of each).
// A typedef, not a using-alias: clang honours a lowered alignment only on a typedef (with
// `using` it kept 8, and UBSan in lib/c/tests caught the misaligned accesses).
typedef uint64_t Word __attribute__((may_alias, aligned(1)));

}  // namespace

void* copy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *reinterpret_cast<Word*>(d) = *reinterpret_cast<const Word*>(s);
    for (; n > 0; --n)
        *d++ = *s++;
    return dst;
}

// Each step reads its whole word before writing it, and steps run away from the overlap, so
// overlapping ranges copy correctly in both directions.
void* move(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d < s) {
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *reinterpret_cast<Word*>(d) = *reinterpret_cast<const Word*>(s);
        for (; n > 0; --n)
            *d++ = *s++;
    } else {
        for (; n >= 8; n -= 8)
            *reinterpret_cast<Word*>(d + n - 8) = *reinterpret_cast<const Word*>(s + n - 8);
        for (; n > 0; --n)
            d[n - 1] = s[n - 1];
    }
    return dst;
}

void* fill(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    for (size_t i = 0; i < n; ++i)
        d[i] = static_cast<unsigned char>(c);
    return dst;
}

int compare(const void* a, const void* b, size_t n) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t length(const char* s) {
    size_t n = 0;
    while (s[n] != '\0')
        ++n;
    return n;
}

}  // namespace keel::c
