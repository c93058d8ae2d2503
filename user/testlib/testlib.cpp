#include "testlib.hpp"

#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>

namespace keel::testlib {

namespace {

// Lists in registration order (appended at their tails). Written only by constructors, which
// the runtime runs on one thread before keel_main.
Test* g_tests = nullptr;
Test** g_tests_tail = &g_tests;
ChildMode* g_modes = nullptr;
ChildMode** g_modes_tail = &g_modes;

user::Handle g_self = 0;

bool starts_with(const char* text, uint64_t length, const char* prefix) {
    const uint64_t n = strlen(prefix);
    return n <= length && memcmp(text, prefix, n) == 0;
}

bool same(const char* a, const char* b) {
    const uint64_t n = strlen(a);
    return strlen(b) == n && memcmp(a, b, n) == 0;
}

// The mode whose name is the longest that `text` equals or continues with a space.
const ChildMode* find_mode(const char* text, uint64_t length) {
    const ChildMode* best = nullptr;
    for (const ChildMode* m = g_modes; m != nullptr; m = m->next) {
        const uint64_t n = strlen(m->mode);
        if (!starts_with(text, length, m->mode) || (n < length && text[n] != ' '))
            continue;
        if (best == nullptr || n > strlen(best->mode))
            best = m;
    }
    return best;
}

// Two tests or two child modes with one name (possible across files: each file's are
// static) would make reports and dispatch ambiguous: refused before anything runs.
bool names_unique(const char* program) {
    for (const Test* t = g_tests; t != nullptr; t = t->next) {
        for (const Test* u = t->next; u != nullptr; u = u->next) {
            if (same(t->name, u->name)) {
                user::print("%s: test %s registered twice (%s:%d, %s:%d)\n", program, t->name,
                            t->file, t->line, u->file, u->line);
                return false;
            }
        }
    }
    for (const ChildMode* m = g_modes; m != nullptr; m = m->next) {
        for (const ChildMode* n = m->next; n != nullptr; n = n->next) {
            if (same(m->mode, n->mode)) {
                user::print("%s: child mode \"%s\" registered twice\n", program, m->mode);
                return false;
            }
        }
    }
    return true;
}

}  // namespace

Test::Test(const char* test_name, void (*test_fn)(), const char* test_file, int test_line)
    : name(test_name), fn(test_fn), file(test_file), line(test_line) {
    *g_tests_tail = this;
    g_tests_tail = &next;
}

ChildMode::ChildMode(const char* mode_name, int (*mode_fn)(Args)) : mode(mode_name), fn(mode_fn) {
    *g_modes_tail = this;
    g_modes_tail = &next;
}

uint64_t Args::number() {
    while (length_ > 0 && *text_ == ' ') {
        ++text_;
        --length_;
    }
    uint64_t v = 0;
    while (length_ > 0 && *text_ >= '0' && *text_ <= '9') {
        v = v * 10 + static_cast<uint64_t>(*text_ - '0');
        ++text_;
        --length_;
    }
    return v;
}

user::Handle self() {
    if (g_self == 0) {
        const int64_t h = user::open(user::root(), "self");
        g_self = h > 0 ? static_cast<user::Handle>(h) : 0;
    }
    return g_self;
}

namespace {

// The process table ("processes" in the root), opened on first use; 0 when the root has none.
user::Handle process_table() {
    static user::Handle table = 0;
    if (table == 0) {
        const int64_t h = user::open(user::root(), "processes");
        table = h > 0 ? static_cast<user::Handle>(h) : 0;
    }
    return table;
}

// get_meta `key` of handle h (zero when h is 0 or does not answer).
template <class T>
T get_meta_of(user::Handle h, abi::Meta key) {
    T value{};
    if (h != 0)
        (void)user::sys::do_io(h, abi::Op::kGetMeta, &value, sizeof value,
                               static_cast<uint64_t>(key));
    return value;
}

}  // namespace

abi::MemoryInfo memory_info() {
    // Settled: the same three times in a row, 3 ms apart (at most 100 readings). A process
    // that just ended may still be tearing down (teardown reaches preemption points, where
    // this test runs on; with threads on several CPUs, on another CPU whose QEMU thread the
    // host may not run for a while), so a single reading taken then would count what is about
    // to go.
    const auto read = [] {
        return get_meta_of<abi::MemoryInfo>(process_table(), abi::Meta::kMemoryInfo);
    };
    abi::MemoryInfo m = read();
    for (int i = 0, same = 0; i < 100 && same < 2 && m.total_frames != 0; ++i) {
        (void)user::sys::sleep_ns(3'000'000);
        const abi::MemoryInfo next = read();
        same = memcmp(&next, &m, sizeof m) == 0 ? same + 1 : 0;
        m = next;
    }
    return m;
}

uint64_t cpus() {
    return get_meta_of<uint64_t>(process_table(), abi::Meta::kCpus);
}

abi::ResourceUsage my_usage() {
    return get_meta_of<abi::ResourceUsage>(process_table(), abi::Meta::kLimits);
}

abi::ResourceUsage usage_of(user::Handle process) {
    return get_meta_of<abi::ResourceUsage>(process, abi::Meta::kLimits);
}

bool kernel_memory_back_to(const abi::MemoryInfo& before) {
    const auto outside_heap = [](const abi::MemoryInfo& m) {
        return m.total_frames - m.free_frames - m.heap_frames;
    };
    abi::MemoryInfo now{};
    bool same = false;
    // A teardown that memory_info's settling missed (a CPU the host left unscheduled) still
    // ends: look again for up to about a second before calling it a leak.
    for (int i = 0; i < 20 && !same; ++i) {
        if (i > 0)
            (void)user::sys::sleep_ns(50'000'000);
        now = memory_info();
        same = now.objects == before.objects && now.heap_allocations == before.heap_allocations &&
               outside_heap(now) == outside_heap(before);
    }
    if (now.total_frames == 0)
        user::print("kernel memory: no MemoryInfo (\"processes\" is not in this root)\n");
    else if (!same)
        user::print(
            "kernel memory: objects %lu -> %lu, heap allocations %lu -> %lu, frames in use "
            "outside the heap %lu -> %lu\n",
            before.objects, now.objects, before.heap_allocations, now.heap_allocations,
            outside_heap(before), outside_heap(now));
    return same && now.total_frames != 0;
}

uint64_t take_memory_leaving(uint64_t leave) {
    const abi::ResourceUsage u = my_usage();
    const uint64_t left = u.limits.memory - u.used.memory;
    if (u.limits.memory == 0 || left <= leave)
        return 0;
    uint64_t take = (left - leave + 4095) & ~4095ull;
    if (take > abi::kMaxMemorySize)
        take = abi::kMaxMemorySize;
    user::Handle m = 0;
    return user::sys::object_new(abi::Kind::kMemory, take, &m) == 1 ? take : 0;
}

uint64_t fill_handle_table() {
    uint64_t n = 0;
    while (user::sys::do_io(user::root(), abi::Op::kShare, nullptr, 0,
                            static_cast<uint64_t>(abi::kRightRead) << 32) > 0)
        ++n;
    return n;
}

abi::Limits exhaust_limits(uint64_t flags) {
    if ((flags & kExhaustMemory) != 0)
        return {1ull << 20, 0, 3, 0, 0};
    return {};
}

namespace {

int64_t spawn_with_limits(const char* mode, user::Handle child_root, const abi::Limits* limits,
                          const user::Handle* extra, uint64_t extra_count) {
    constexpr char kPrefix[] = "child ";
    constexpr uint64_t kPrefixLength = sizeof kPrefix - 1;
    char args[128];
    const uint64_t n = strlen(mode);
    user::Handle handles[4] = {child_root};
    if (kPrefixLength + n > sizeof args || extra_count > 3)
        return user::err(abi::Error::kTooLarge);
    memcpy(args, kPrefix, kPrefixLength);
    memcpy(args + kPrefixLength, mode, n);
    for (uint64_t i = 0; i < extra_count; ++i)
        handles[1 + i] = extra[i];
    char name[abi::kMaxNameLength];
    const uint64_t name_length = n < sizeof name ? n : sizeof name;
    for (uint64_t i = 0; i < name_length; ++i)
        name[i] = mode[i] == ' ' ? '-' : mode[i];
    const abi::SpawnArgs sa{addr(handles), 1 + extra_count, addr(args),  kPrefixLength + n,
                            addr(name),    name_length,     addr(limits)};
    return user::sys::spawn(self(), &sa);
}

}  // namespace

int64_t spawn_child(const char* mode, const user::Handle* extra, uint64_t extra_count) {
    return spawn_child_rooted(mode, user::root(), extra, extra_count);
}

int64_t spawn_child_rooted(const char* mode, user::Handle child_root, const user::Handle* extra,
                           uint64_t extra_count) {
    return spawn_with_limits(mode, child_root, nullptr, extra, extra_count);
}

int64_t spawn_child_limited(const char* mode, const abi::Limits& limits, const user::Handle* extra,
                            uint64_t extra_count) {
    return spawn_with_limits(mode, user::root(), &limits, extra, extra_count);
}

abi::ExitInfo wait_child(int64_t process) {
    abi::ExitInfo info{};
    CHECK_EQ(user::sys::do_io(static_cast<uint64_t>(process), user::Op::kRead, &info, sizeof info),
             static_cast<int64_t>(sizeof info));
    CHECK_EQ(close(static_cast<uint64_t>(process)), 0);
    return info;
}

int run(const user::StartInfo& start, const char* program) {
    if (!names_unique(program))
        return 1;
    if (starts_with(start.args, start.args_length, "child ")) {
        const char* text = start.args + 6;
        const uint64_t length = start.args_length - 6;
        const ChildMode* m = find_mode(text, length);
        if (m == nullptr) {
            user::print("%s: unknown child mode\n", program);
            return 99;
        }
        const uint64_t n = strlen(m->mode);
        return m->fn(n < length ? Args(text + n + 1, length - n - 1) : Args(text + n, 0));
    }
    user::print("%s: %lu handle(s), console %u, self %u\n", program, start.handle_count,
                user::console(), self());
    if (g_tests == nullptr) {
        user::print("%s: no tests registered (were global constructors run?)\n", program);
        return 1;
    }
    for (const Test* t = g_tests; t != nullptr; t = t->next) {
        begin(t->name);
        t->fn();
    }
    user::print("%s: %lu bad-input cases\n", program, bad_inputs());
    user::print("%lu passed, %lu failed\n", passed(), failed());
    return failed() == 0 ? 0 : 1;
}

}  // namespace keel::testlib
