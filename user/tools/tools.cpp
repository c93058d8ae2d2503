#include "tools.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

namespace keel::tools {

Args arguments(const StartInfo& start) {
    static char storage[abi::kMaxArgsLength + kMaxArgs];
    Args a{};
    a.count = split_args(start.args, start.args_length, storage, sizeof storage, a.words, kMaxArgs);
    return a;
}

bool emit(const char* bytes, uint64_t n) {
    while (n > 0) {
        const int64_t r = sys::do_io(console(), Op::kWrite, bytes, n);
        if (r <= 0)
            return false;
        bytes += r;
        n -= static_cast<uint64_t>(r);
    }
    return true;
}

void complain(const char* program, const char* what, const char* detail) {
    char line[256];
    const size_t n = snformat(line, sizeof line, "%s: %s: %s\n", program, what, detail);
    emit(line, n < sizeof line ? n : sizeof line - 1);
}

int64_t open_file(const char* path) {
    const int64_t cwd = open(root(), path[0] == '/' ? "ns" : "cwd");
    if (cwd < 0)
        return cwd;
    // From "ns", an absolute path is relative to it (open_path would start at this root).
    const char* relative = path[0] == '/' ? path + 1 : path;
    const int64_t h = open_path(static_cast<Handle>(cwd), relative, c::length(relative));
    (void)sys::do_io(static_cast<uint64_t>(cwd), Op::kClose);
    return h;
}

int64_t open_net() {
    const int64_t direct = open(root(), "net");
    if (direct >= 0)
        return direct;
    const int64_t ns = open(root(), "ns");
    if (ns < 0)
        return direct;
    const int64_t net = open_path(static_cast<Handle>(ns), "srv/net", 7);
    (void)sys::do_io(static_cast<uint64_t>(ns), Op::kClose);
    return net;
}

}  // namespace keel::tools
