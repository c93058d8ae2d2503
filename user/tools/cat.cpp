// cat [FILE...]: the files one after the other, or its input when there are none.
#include "tools.hpp"

using namespace keel::tools;

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count < 0) {
        complain("cat", "arguments", "malformed");
        return 2;
    }
    auto out = [](const char* bytes, uint64_t n) { return emit(bytes, n); };
    if (a.count == 0)
        return input() == 0 ? 0 : (each_chunk(input(), out) < 0 ? 1 : 0);
    int status = 0;
    for (int i = 0; i < a.count; ++i) {
        const int64_t h = open_file(a.words[i]);
        const bool directory = h >= 0 && node_type(static_cast<Handle>(h)) ==
                                             static_cast<uint32_t>(abi::NodeType::kDirectory);
        if (h < 0 || directory) {
            complain("cat", a.words[i], h < 0 ? error_text(h) : "is a directory");
            status = 1;
        } else if (const int64_t r = each_chunk(static_cast<uint64_t>(h), out, true); r < 0) {
            complain("cat", a.words[i], error_text(r));
            status = 1;
        }
        if (h >= 0)
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    }
    return status;
}
