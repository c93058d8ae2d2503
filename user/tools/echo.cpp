// echo [WORD...]: the words, separated by one space, and a newline.
#include <keel/c/mem.hpp>

#include "tools.hpp"

using namespace keel::tools;

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count < 0) {
        complain("echo", "arguments", "malformed");
        return 2;
    }
    for (int i = 0; i < a.count; ++i) {
        if ((i > 0 && !emit(" ", 1)) || !emit(a.words[i], keel::c::length(a.words[i])))
            return 1;
    }
    return emit("\n", 1) ? 0 : 1;
}
