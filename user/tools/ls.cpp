// ls [DIR...]: the names in each directory (the current one without arguments), with a '/'
// after the directories and the size after each file.
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include "tools.hpp"

using namespace keel::tools;

namespace {

int list(const char* path) {
    const int64_t dir = open_file(path);
    if (dir < 0) {
        complain("ls", path, error_text(dir));
        return 1;
    }
    static char names[8192];
    const int64_t n = sys::do_io(static_cast<uint64_t>(dir), Op::kPeek, names, sizeof names);
    if (n < 0) {
        complain("ls", path,
                 n == -static_cast<int64_t>(abi::Error::kNotSupported) ? "not a directory"
                                                                       : error_text(n));
        (void)sys::do_io(static_cast<uint64_t>(dir), Op::kClose);
        return 1;
    }
    for (int64_t at = 0; at < n;) {
        int64_t end = at;
        while (end < n && names[end] != '\n')
            ++end;
        const int64_t h = sys::do_io(static_cast<uint64_t>(dir), Op::kOpen, names + at,
                                     static_cast<uint64_t>(end - at));
        uint64_t kind = 0, size = 0;
        if (h >= 0) {
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kGetMeta, &kind, 8,
                             static_cast<uint64_t>(abi::Meta::kKind));
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kGetMeta, &size, 8,
                             static_cast<uint64_t>(abi::Meta::kSize));
            (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
        }
        char name[keel::abi::kMaxNameLength + 1];
        const uint64_t length = static_cast<uint64_t>(end - at) < sizeof name - 1
                                    ? static_cast<uint64_t>(end - at)
                                    : sizeof name - 1;
        keel::c::copy(name, names + at, length);
        name[length] = '\0';
        char line[128];
        size_t k;
        if (kind == static_cast<uint64_t>(abi::Kind::kRoot)) {
            k = keel::snformat(line, sizeof line, "%s/\n", name);
        } else if (kind == static_cast<uint64_t>(abi::Kind::kMemory)) {
            // The name, padded to a column, then the size (the formatter has no left-justify).
            k = keel::snformat(line, sizeof line, "%s", name);
            while (k < 33)
                line[k++] = ' ';
            k += keel::snformat(line + k, sizeof line - k, "%lu\n", size);
        } else {
            k = keel::snformat(line, sizeof line, "%s\n", name);
        }
        if (!emit(line, k < sizeof line ? k : sizeof line - 1))
            break;
        at = end + 1;
    }
    (void)sys::do_io(static_cast<uint64_t>(dir), Op::kClose);
    return 0;
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
