// Small string helpers for freestanding code, on keel::c's byte loops (usable on the host too).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/c/mem.hpp>

namespace keel {

inline bool str_equal(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// True when `word` appears in the space-separated `line` as a whole word.
inline bool has_char(const char* s, char c) {
    for (; *s != '\0'; ++s) {
        if (*s == c)
            return true;
    }
    return false;
}

// The decimal number at the start of s; 0 when it does not start with a digit. Saturates at
// the largest uint64_t instead of wrapping.
inline uint64_t parse_u64(const char* s) {
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
        const uint64_t d = static_cast<uint64_t>(*s - '0');
        if (v > (~uint64_t{0} - d) / 10)
            return ~uint64_t{0};
        v = v * 10 + d;
    }
    return v;
}

inline bool has_word(const char* line, const char* word) {
    const size_t n = c::length(word);
    for (const char* p = line; *p != '\0';) {
        while (*p == ' ')
            ++p;
        const char* end = p;
        while (*end != '\0' && *end != ' ')
            ++end;
        if (static_cast<size_t>(end - p) == n && c::compare(p, word, n) == 0)
            return true;
        p = end;
    }
    return false;
}

}  // namespace keel
