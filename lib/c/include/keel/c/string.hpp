// Small string helpers for freestanding code, on keel::c's byte loops (usable on the host too).
#pragma once

#include <stddef.h>

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
