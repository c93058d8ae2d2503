// wc: lines, words and bytes of its input.
#include <keel/c/format.hpp>

#include "tools.hpp"

using namespace keel::tools;

int keel_main(const StartInfo&) {
    uint64_t lines = 0, words = 0, bytes = 0;
    bool in_word = false;
    if (input() != 0) {
        const int64_t r = each_chunk(input(), [&](const char* b, uint64_t n) {
            for (uint64_t i = 0; i < n; ++i) {
                const char c = b[i];
                lines += c == '\n' ? 1 : 0;
                const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
                words += !space && !in_word ? 1 : 0;
                in_word = !space;
            }
            bytes += n;
            return true;
        });
        if (r < 0) {
            complain("wc", "input", error_text(r));
            return 1;
        }
    }
    char line[80];
    const size_t n = keel::snformat(line, sizeof line, "%lu %lu %lu\n", lines, words, bytes);
    return emit(line, n) ? 0 : 1;
}
