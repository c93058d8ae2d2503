// The test mode: the boot modules named in init's arguments, one after the other.
#include "init.hpp"

namespace keel::init {

namespace {

// A name from the arguments as a C string in `out` (kMaxNameLength + 1 bytes); false when it
// is empty or too long.
bool copy_name(char* out, const char* name, uint64_t length) {
    if (length == 0 || length > abi::kMaxNameLength)
        return false;
    for (uint64_t i = 0; i < length; ++i)
        out[i] = name[i];
    out[length] = '\0';
    return true;
}

// Binds `name` of init's root into `child_root` under the same name; false (and says why)
// when init has no such name or the bind fails.
bool grant(Handle child_root, const char* name, uint64_t length) {
    char text[abi::kMaxNameLength + 1];
    if (!copy_name(text, name, length))
        return false;
    const int64_t h = open(root(), text);
    if (h < 0) {
        print("init: nothing named '%s' to give (error %ld)\n", text, -h);
        return false;
    }
    const int64_t r = sys::do_io(child_root, Op::kCreate, text, length, static_cast<uint64_t>(h));
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    return r >= 0;
}

// One program ("PROGRAM" or "PROGRAM+NAME..."): 0 when it exited with status 0.
int run(const char* word, uint64_t word_length) {
    uint64_t length = 0;
    while (length < word_length && word[length] != '+')
        ++length;
    char image_name[abi::kMaxNameLength + 1];
    if (!copy_name(image_name, word, length))
        return 1;
    const int64_t image = open(root(), image_name);
    if (image < 0) {
        print("init: no program '%s' (error %ld)\n", image_name, -image);
        return 1;
    }
    Handle child_root;
    if (sys::object_new(abi::Kind::kRoot, 0, &child_root) < 0)
        return 1;
    // The console to write to only: a test program has no input.
    const int64_t readable = open(root(), "console");
    const int64_t console_handle =
        readable < 0 ? readable
                     : sys::do_io(static_cast<uint64_t>(readable), Op::kShare, nullptr, 0,
                                  uint64_t{abi::kRightWrite | abi::kRightShare} << 32);
    if (readable >= 0)
        (void)sys::do_io(static_cast<uint64_t>(readable), Op::kClose);
    if (console_handle < 0 ||
        sys::do_io(child_root, Op::kCreate, "console", 7, static_cast<uint64_t>(console_handle)) <
            0 ||
        sys::do_io(child_root, Op::kCreate, "self", 4, static_cast<uint64_t>(image)) < 0) {
        print("init: cannot prepare the root of '%s'\n", image_name);
        return 1;
    }
    for (uint64_t at = length; at < word_length;) {
        const uint64_t start = ++at;  // past the '+'
        while (at < word_length && word[at] != '+')
            ++at;
        if (!grant(child_root, word + start, at - start)) {
            print("init: cannot give '%s' what it asks for\n", image_name);
            return 1;
        }
    }
    const Handle given[] = {child_root};
    // Named after its image, for the kernel's fault reports.
    const abi::SpawnArgs args{reinterpret_cast<uint64_t>(given),      1,      0, 0,
                              reinterpret_cast<uint64_t>(image_name), length, 0};
    const int64_t process = sys::spawn(static_cast<Handle>(image), &args);
    (void)sys::do_io(child_root, Op::kClose);
    (void)sys::do_io(static_cast<uint64_t>(console_handle), Op::kClose);
    (void)sys::do_io(static_cast<uint64_t>(image), Op::kClose);
    if (process < 0) {
        print("init: cannot start '%s' (error %ld)\n", image_name, -process);
        return 1;
    }
    abi::ExitInfo info{};
    const int64_t r = sys::do_io(process, Op::kRead, &info, sizeof info);
    (void)sys::do_io(process, Op::kClose);
    if (r < 0)
        return 1;
    if (info.reason == static_cast<uint32_t>(abi::ExitReason::kFault)) {
        print("init: '%s' ended by fault (vector %u at 0x%lx)\n", image_name, info.vector,
              info.address);
        return 1;
    }
    print("init: '%s' exited with status %ld\n", image_name, info.status);
    return info.status == 0 ? 0 : 1;
}

}  // namespace

int run_programs(const char* args, uint64_t length) {
    int failures = 0;
    const char* p = args;
    const char* end = args + length;
    while (p < end) {
        while (p < end && *p == ' ')
            ++p;
        const char* word = p;
        while (p < end && *p != ' ')
            ++p;
        if (p > word)
            failures += run(word, static_cast<uint64_t>(p - word));
    }
    print("init: done, %d program(s) failed\n", failures);
    return failures == 0 ? 0 : 1;
}

}  // namespace keel::init
