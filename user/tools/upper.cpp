// upper: its input with ASCII letters in upper case.
#include "tools.hpp"

using namespace keel::tools;

int keel_main(const StartInfo&) {
    if (input() == 0)
        return 0;
    const int64_t r = each_chunk(input(), [](const char* b, uint64_t n) {
        static char up[4096];
        for (uint64_t i = 0; i < n; ++i)
            up[i] = b[i] >= 'a' && b[i] <= 'z' ? static_cast<char>(b[i] - 'a' + 'A') : b[i];
        return emit(up, n);
    });
    return r < 0 ? 1 : 0;
}
