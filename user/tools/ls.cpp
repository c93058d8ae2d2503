// ls [DIR...]: the names in each directory (the current one without arguments), with a '/'
// after the directories and the size after each file.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "tools.hpp"

using namespace keel::tools;

namespace {

// One line for the entry `name` of dir: "name/" for a directory, "name   size" for a file.
bool show(uint64_t dir, const char* name, uint64_t length) {
    const int64_t h = sys::do_io(dir, Op::kOpen, name, length);
    uint64_t size = 0;
    const uint32_t type = h >= 0 ? node_type(static_cast<Handle>(h), &size) : 0;
    if (h >= 0)
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    char shown[keel::abi::kMaxNameLength + 1];
    const uint64_t k = length < sizeof shown - 1 ? length : sizeof shown - 1;
    keel::c::copy(shown, name, k);
    shown[k] = '\0';
    char line[160];
    size_t n;
    if (type == static_cast<uint32_t>(abi::NodeType::kDirectory)) {
        n = keel::snformat(line, sizeof line, "%s/\n", shown);
    } else if (type == static_cast<uint32_t>(abi::NodeType::kFile)) {
        // The name, padded to a column, then the size (the formatter has no left-justify).
        n = keel::snformat(line, sizeof line, "%s", shown);
        while (n < 33)
            line[n++] = ' ';
        n += keel::snformat(line + n, sizeof line - n, "%lu\n", size);
    } else {
        n = keel::snformat(line, sizeof line, "%s\n", shown);
    }
    return emit(line, n < sizeof line ? n : sizeof line - 1);
}

int list(const char* path) {
    const int64_t dir = open_file(path);
    if (dir < 0) {
        complain("ls", path, error_text(dir));
        return 1;
    }
    const auto d = static_cast<uint64_t>(dir);
    int status = 0;
    if (node_type(static_cast<Handle>(dir)) != static_cast<uint32_t>(abi::NodeType::kDirectory)) {
        complain("ls", path, "not a directory");
        status = 1;
    }
    // A directory reads as whole names, one per line, from the entry `arg` on: the next read
    // starts after the names the last one gave.
    static char names[8192];
    for (uint64_t cursor = 0; status == 0;) {
        const int64_t n = sys::do_io(d, Op::kRead, names, sizeof names, cursor);
        if (n < 0) {
            complain("ls", path, error_text(n));
            status = 1;
        }
        if (n <= 0)
            break;
        bool more = true;
        for (int64_t at = 0; at < n && more;) {
            int64_t end = at;
            while (end < n && names[end] != '\n')
                ++end;
            more = show(d, names + at, static_cast<uint64_t>(end - at));
            ++cursor;
            at = end + 1;
        }
        if (!more)
            break;
    }
    (void)sys::do_io(d, Op::kClose);
    return status;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count < 0) {
        complain("ls", "arguments", "malformed");
        return 2;
    }
    if (a.count == 0)
        return list("");
    int status = 0;
    for (int i = 0; i < a.count; ++i)
        status |= list(a.words[i]);
    return status;
}
