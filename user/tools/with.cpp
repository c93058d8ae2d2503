// with TABLE COMMAND [ARGS...]: runs COMMAND here, but hands it the process table at TABLE (a
// path: /srv/jobs) as its "processes", so everything it starts through its table goes there
// (`with /srv/jobs shell -f build.sh`: the script's jobs go to the job server). Every other name
// of this program's root is passed on unchanged (console, input, cwd, ns); "self" is COMMAND's
// image. COMMAND is a program of /bin or a path, as in the shell. Exits with COMMAND's status
// (128 + the vector when a fault ended it, as the shell reports it).
#include <keel/c/mem.hpp>

#include "names.hpp"
#include "tools.hpp"

using namespace keel;
using namespace keel::tools;

namespace {

constexpr int kFailed = 126;  // COMMAND could not be started (the shell's convention)

int fail(const char* what, int64_t error) {
    complain("with", what, error_text(error));
    return kFailed;
}

}  // namespace

int keel_main(const StartInfo& start) {
    const Args a = arguments(start);
    if (a.count < 2) {
        complain("with", "usage", "with TABLE COMMAND [ARGS...]");
        return 2;
    }
    const int64_t table = open_file(a.words[0]);
    if (table < 0)
        return fail(a.words[0], table);
    const char* command = a.words[1];
    int64_t image;
    bool bare = true;
    for (const char* p = command; *p != '\0'; ++p)
        bare = bare && *p != '/';
    if (bare) {
        char path[64];
        if (c::length(command) + 6 > sizeof path)
            return fail(command, -static_cast<int64_t>(abi::Error::kTooLarge));
        c::copy(path, "/bin/", 5);
        c::copy(path + 5, command, c::length(command) + 1);
        image = open_file(path);
    } else {
        image = open_file(command);
    }
    if (image < 0)
        return fail(command, image);
    char args[abi::kMaxArgsLength];
    const uint64_t args_length = cmdline::quote_args(a.words + 2, a.count - 2, args, sizeof args);
    if (args_length > sizeof args)
        return fail(command, -static_cast<int64_t>(abi::Error::kTooLarge));
    Handle child_root = 0;
    int64_t r = sys::object_new(abi::Kind::kRoot, 0, &child_root);
    const char* const replaced[] = {"processes", "self"};
    if (r >= 0)
        r = copy_names(root(), child_root, replaced, 2);
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "processes", 9, static_cast<uint64_t>(table));
    if (r >= 0)
        r = sys::do_io(child_root, Op::kCreate, "self", 4, static_cast<uint64_t>(image));
    if (r < 0)
        return fail(command, r);
    const char* base = command + c::length(command);
    while (base > command && base[-1] != '/')
        --base;
    const uint64_t base_length = c::length(base);
    const Handle given[] = {child_root};
    const abi::SpawnArgs sa{reinterpret_cast<uint64_t>(given),
                            1,
                            reinterpret_cast<uint64_t>(args),
                            args_length,
                            reinterpret_cast<uint64_t>(base),
                            base_length < abi::kMaxNameLength ? base_length : abi::kMaxNameLength,
                            0};
    // Started here, with the system call: only what COMMAND starts goes to TABLE.
    const int64_t process = sys::spawn(static_cast<Handle>(image), &sa);
    (void)sys::do_io(child_root, Op::kClose);
    if (process < 0)
        return fail(command, process);
    abi::ExitInfo info{};
    r = sys::do_io(static_cast<uint64_t>(process), Op::kRead, &info, sizeof info);
    if (r < 0)
        return fail(command, r);
    if (info.reason == static_cast<uint32_t>(abi::ExitReason::kFault))
        return 128 + static_cast<int>(info.vector);
    return static_cast<int>(info.status);
}
