#include "module_string.hpp"

namespace keel::loader {

void split_module_string(const char* src, char* name, uint32_t name_cap, char* args,
                         uint32_t args_cap) {
    while (*src == ' ')
        ++src;
    const char* word_end = src;
    while (*word_end != '\0' && *word_end != ' ')
        ++word_end;
    const char* base = src;
    for (const char* p = src; p < word_end; ++p) {
        if (*p == '/')
            base = p + 1;
    }
    uint32_t n = 0;
    for (const char* p = base; p < word_end && n + 1 < name_cap; ++p)
        name[n++] = *p;
    name[n] = '\0';
    while (*word_end == ' ')
        ++word_end;
    n = 0;
    for (const char* p = word_end; *p != '\0' && n + 1 < args_cap; ++p)
        args[n++] = *p;
    args[n] = '\0';
}

void append_words(char* dst, uint32_t cap, const char* src) {
    if (cap == 0)
        return;
    uint32_t n = 0;
    while (n + 1 < cap && dst[n] != '\0')
        ++n;
    if (n != 0 && *src != '\0' && n + 1 < cap)
        dst[n++] = ' ';
    for (; *src != '\0' && n + 1 < cap; ++src)
        dst[n++] = *src;
    dst[n] = '\0';
}

}  // namespace keel::loader
