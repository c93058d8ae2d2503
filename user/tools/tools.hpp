// The small programs the shell runs from /bin. Each reads "input" and writes "console" from its
// root (the shell binds a pipe, a file or the console there) and finds files from "cwd" (the
// shell's current directory) or, for absolute paths, "ns" (the shell's name space), all
// through the ordinary object API.
#pragma once

#include "runtime.hpp"

namespace keel::tools {

using namespace keel::user;
namespace abi = keel::abi;

inline constexpr int kMaxArgs = 64;

struct Args {
    const char* words[kMaxArgs];
    int count;
};
// The program's arguments (runtime split_args), or count -1 when they are malformed.
Args arguments(const StartInfo& start);

// Writes all of bytes to the console; false when it is gone (a closed pipe).
bool emit(const char* bytes, uint64_t n);
// "name: what" on the console, for errors.
void complain(const char* program, const char* what, const char* detail);
// Opens a path relative to "cwd", or an absolute one from "ns" (the shell's name space); a
// handle or -Error.
int64_t open_file(const char* path);
// The network server's directory: "net" from the root (a program init started), else srv/net
// from the shell's name space ("ns"). A handle or -Error.
int64_t open_net();
// Copies everything readable from h (a pipe until its end; a file from its start when
// `from_start`: a memory object's position is shared by all its holders) through fn(bytes, n)
// until it returns false; 0 or -Error.
template <class Fn>
int64_t each_chunk(uint64_t h, Fn fn, bool from_start = false) {
    static char chunk[4096];
    if (from_start) {
        const int64_t r = sys::do_io(h, Op::kSeek, nullptr, 0, 0);
        if (r < 0)
            return r;
    }
    for (;;) {
        const int64_t n = sys::do_io(h, Op::kRead, chunk, sizeof chunk);
        if (n <= 0)
            return n;
        if (!fn(chunk, static_cast<uint64_t>(n)))
            return 0;
    }
}

}  // namespace keel::tools
