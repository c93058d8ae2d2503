// echo [-e] [WORD...]: the words, separated by one space, and a newline. With -e, backslash
// escapes in the words are written as the bytes they name: \\ \a \b \e (ESC, for a terminal's
// colours) \n \r \t, \0NNN (up to three octal digits) and \xHH (up to two hex digits); any
// other backslash stays as it is.
#include <keel/c/mem.hpp>

#include "tools.hpp"

using namespace keel::tools;

namespace {

int digit(char c, int base) {
    const int v = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : 99;
    return v < base ? v : -1;
}

// The word with its escapes decoded into out (never longer than the word). Its length.
size_t unescape(const char* word, char* out) {
    size_t n = 0;
    for (size_t i = 0; word[i] != '\0'; ++i) {
        if (word[i] != '\\' || word[i + 1] == '\0') {
            out[n++] = word[i];
            continue;
        }
        const char c = word[++i];
        const char* simple = "\\\\a\ab\be\x1bn\nr\rt\t";
        bool done = false;
        for (size_t k = 0; simple[k] != '\0'; k += 2) {
            if (simple[k] == c) {
                out[n++] = simple[k + 1];
                done = true;
                break;
            }
        }
        if (done)
            continue;
        const int base = c == '0' ? 8 : c == 'x' ? 16 : 0;
        if (base == 0) {
            out[n++] = '\\';
            out[n++] = c;
            continue;
        }
        int value = 0, digits = 0;
        while (digits < (base == 8 ? 3 : 2) && digit(word[i + 1], base) >= 0) {
            value = value * base + digit(word[++i], base);
            ++digits;
        }
        if (base == 16 && digits == 0) {  // "\x" alone stays
            out[n++] = '\\';
            out[n++] = 'x';
            continue;
        }
        out[n++] = static_cast<char>(value);
    }
    return n;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count < 0) {
        complain("echo", "arguments", "malformed");
        return 2;
    }
    const bool escapes = a.count > 0 && keel::c::length(a.words[0]) == 2 && a.words[0][0] == '-' &&
                         a.words[0][1] == 'e';
    // The line is written whole, in one write: another process writing to the same console
    // (init reporting a service) cannot cut into it. Words and separators come from the
    // argument string, so the line fits in its length plus the newline.
    static char line[keel::abi::kMaxArgsLength + 2];
    size_t n = 0;
    for (int i = escapes ? 1 : 0; i < a.count; ++i) {
        const char* word = a.words[i];
        if (i > (escapes ? 1 : 0))
            line[n++] = ' ';
        if (escapes) {
            n += unescape(word, line + n);
        } else {
            const size_t length = keel::c::length(word);
            keel::c::copy(line + n, word, length);
            n += length;
        }
    }
    line[n++] = '\n';
    return emit(line, n) ? 0 : 1;
}
