// Declarations of the kernel libc (lib/string.cpp) and small string helpers built on it.
#pragma once

#include <cstddef>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}

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
    const size_t n = strlen(word);
    for (const char* p = line; *p != '\0';) {
        while (*p == ' ')
            ++p;
        const char* end = p;
        while (*end != '\0' && *end != ' ')
            ++end;
        if (static_cast<size_t>(end - p) == n && memcmp(p, word, n) == 0)
            return true;
        p = end;
    }
    return false;
}

}  // namespace keel
