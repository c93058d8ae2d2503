#include "runtime.hpp"

#include <cstdarg>

#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>

extern "C" void (*const __init_array_start[])();
extern "C" void (*const __init_array_end[])();

namespace keel::user {

namespace {

Handle g_console = 0;
Handle g_root = 0;
Handle g_input = 0;

// Output is gathered per print() call and written with one do_io, so lines from different
// threads and processes do not interleave mid-line.
struct Line {
    char buf[256];
    size_t n;
};

void flush(Line& l) {
    if (l.n > 0 && g_console != 0)
        (void)sys::do_io(g_console, Op::kWrite, l.buf, l.n);
    l.n = 0;
}

void put(char c, void* ctx) {
    Line& l = *static_cast<Line*>(ctx);
    if (l.n == sizeof l.buf)
        flush(l);
    l.buf[l.n++] = c;
}

// ---- heap ------------------------------------------------------------------------------------

struct Block {
    uint64_t size;  // whole block, header included
    Block* next;    // free list (address order)
};
constexpr uint64_t kHeader = 16;
constexpr uint64_t kChunk = 256 * 1024;
Block* g_free = nullptr;
Mutex g_heap_lock;

void add_free(Block* b) {
    Block** p = &g_free;
    while (*p != nullptr && *p < b)
        p = &(*p)->next;
    b->next = *p;
    *p = b;
    // Merge with the following block, then with the previous one.
    if (b->next != nullptr &&
        reinterpret_cast<uint8_t*>(b) + b->size == reinterpret_cast<uint8_t*>(b->next)) {
        b->size += b->next->size;
        b->next = b->next->next;
    }
    if (p != &g_free) {
        Block* prev = reinterpret_cast<Block*>(reinterpret_cast<uint8_t*>(p) -
                                               __builtin_offsetof(Block, next));
        if (reinterpret_cast<uint8_t*>(prev) + prev->size == reinterpret_cast<uint8_t*>(b)) {
            prev->size += b->size;
            prev->next = b->next;
        }
    }
}

struct ThreadStart {
    void (*fn)(uint64_t);
    uint64_t arg;
};

// Stacks of threads not joined yet: join() unmaps a thread's stack once it has ended (a thread
// cannot unmap the stack it runs on).
constexpr uint64_t kThreadStack = 64 * 1024;
struct StackRecord {
    Handle thread;
    uint64_t stack;
};
StackRecord g_stacks[64];
Mutex g_stacks_lock;

void thread_trampoline(uint64_t start) {
    auto* s = reinterpret_cast<ThreadStart*>(start);
    void (*fn)(uint64_t) = s->fn;
    const uint64_t arg = s->arg;
    release(s);
    fn(arg);
    sys::thread_exit(0);
}

}  // namespace

Handle console() {
    return g_console;
}
Handle root() {
    return g_root;
}
Handle input() {
    return g_input;
}

void print(const char* fmt, ...) {
    Line l{{}, 0};
    va_list args;
    va_start(args, fmt);
    vformat(put, &l, fmt, args);
    va_end(args);
    flush(l);
}

int64_t open(Handle r, const char* name) {
    return sys::do_io(r, Op::kOpen, name, strlen(name));
}

int64_t open_path(Handle dir, const char* path, uint64_t length) {
    uint64_t at = 0;
    if (length > 0 && path[0] == '/') {
        dir = g_root;
        at = 1;
    }
    int64_t current = 0;  // the handle opened so far, 0 while still at `dir`
    while (at < length) {
        const uint64_t begin = at;
        while (at < length && path[at] != '/')
            ++at;
        const uint64_t n = at - begin;
        ++at;  // past the '/'
        if (n == 0)
            continue;
        const bool dots = path[begin] == '.' && (n == 1 || (n == 2 && path[begin + 1] == '.'));
        const int64_t next = dots ? -static_cast<int64_t>(abi::Error::kInvalidArgument)
                                  : sys::do_io(current != 0 ? static_cast<uint64_t>(current) : dir,
                                               Op::kOpen, path + begin, n);
        if (current != 0)
            (void)sys::do_io(static_cast<uint64_t>(current), Op::kClose);
        if (next < 0)
            return next;
        current = next;
    }
    if (current != 0)
        return current;
    // The start itself, as a handle of its own that the caller may close.
    return sys::do_io(dir, Op::kShare, nullptr, 0, uint64_t{abi::kRightsAll} << 32);
}

int64_t spawn_with(Handle table, Handle image, const abi::SpawnArgs& args) {
    if (table == 0)
        return sys::spawn(image, &args);
    const abi::TableSpawn s{image, 0, args};
    return sys::do_io(table, Op::kCreate, &s, sizeof s);
}

uint32_t node_type(Handle h, uint64_t* size) {
    abi::Stat st{};
    if (sys::do_io(h, Op::kGetMeta, &st, sizeof st, static_cast<uint64_t>(abi::Meta::kStat)) !=
        static_cast<int64_t>(sizeof st))
        return 0;
    if (size != nullptr)
        *size = st.size;
    return st.type;
}

const char* error_text(int64_t result) {
    static const char* const kText[] = {
        "error",          "bad handle",         "stale handle",     "no rights",
        "bad address",    "too large",          "invalid argument", "not supported",
        "would block",    "peer gone",          "out of memory",    "not found",
        "exists",         "not a program",      "timed out",        "buffer too small",
        "full",           "protocol error",     "I/O error",        "out of range",
        "not empty",      "no space",           "not a directory",  "is a directory",
        "corrupt volume", "connection refused", "connection reset", "unreachable",
        "address in use"};
    const int64_t e = -result;
    return e > 0 && e < static_cast<int64_t>(sizeof kText / sizeof kText[0]) ? kText[e] : kText[0];
}

uint64_t map_new(uint64_t size, Handle* handle) {
    Handle h;
    if (sys::object_new(abi::Kind::kMemory, size, &h) < 0)
        return 0;
    const int64_t at = sys::do_io(h, Op::kMap, nullptr, 0, 1);
    if (handle != nullptr)
        *handle = h;
    else
        (void)sys::do_io(h, Op::kClose);  // the mapping keeps the object
    return at < 0 ? 0 : static_cast<uint64_t>(at);
}

void* allocate(size_t size) {
    if (size == 0)
        return nullptr;
    const uint64_t need = (size + kHeader + 15) & ~15ull;
    g_heap_lock.lock();
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (Block** p = &g_free; *p != nullptr; p = &(*p)->next) {
            Block* b = *p;
            if (b->size < need)
                continue;
            if (b->size - need >= 64) {
                auto* rest = reinterpret_cast<Block*>(reinterpret_cast<uint8_t*>(b) + need);
                rest->size = b->size - need;
                rest->next = b->next;
                *p = rest;
                b->size = need;
            } else {
                *p = b->next;
            }
            g_heap_lock.unlock();
            return reinterpret_cast<uint8_t*>(b) + kHeader;
        }
        const uint64_t grow = need > kChunk ? (need + 4095) & ~4095ull : kChunk;
        const uint64_t at = map_new(grow);
        if (at == 0)
            break;
        auto* b = reinterpret_cast<Block*>(at);
        b->size = grow;
        add_free(b);
    }
    g_heap_lock.unlock();
    return nullptr;
}

void release(void* p) {
    if (p == nullptr)
        return;
    g_heap_lock.lock();
    add_free(reinterpret_cast<Block*>(static_cast<uint8_t*>(p) - kHeader));
    g_heap_lock.unlock();
}

void Mutex::lock() {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(&state_, &expected, 1, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        return;
    }
    // Contended: mark "locked with waiters" and sleep until the holder wakes us.
    while (__atomic_exchange_n(&state_, 2, __ATOMIC_ACQUIRE) != 0)
        (void)sys::futex_wait(&state_, 2, 0);
}

void Mutex::unlock() {
    if (__atomic_exchange_n(&state_, 0, __ATOMIC_RELEASE) == 2)
        (void)sys::futex_wake(&state_, 1);
}

int64_t spawn_thread(void (*fn)(uint64_t), uint64_t arg) {
    const uint64_t stack = map_new(kThreadStack);  // the kernel leaves a guard page around it
    if (stack == 0)
        return err(Error::kNoMemory);
    auto* s = static_cast<ThreadStart*>(allocate(sizeof(ThreadStart)));
    if (s == nullptr) {
        (void)sys::unmap(stack);
        return err(Error::kNoMemory);
    }
    *s = {fn, arg};
    // rsp as after a call: top - 8.
    const int64_t h = sys::thread_spawn(thread_trampoline, stack + kThreadStack - 8,
                                        reinterpret_cast<uint64_t>(s));
    if (h < 0) {
        release(s);
        (void)sys::unmap(stack);
        return h;
    }
    g_stacks_lock.lock();
    for (StackRecord& r : g_stacks) {
        if (r.thread == 0) {
            r = {static_cast<Handle>(h), stack};
            break;
        }
    }  // (a full table only means that stack stays mapped)
    g_stacks_lock.unlock();
    return h;
}

int64_t join(Handle thread, abi::ExitInfo* info) {
    abi::ExitInfo local;
    const int64_t r = sys::do_io(thread, Op::kRead, &local, sizeof local);
    if (r < 0)
        return r;
    g_stacks_lock.lock();
    for (StackRecord& rec : g_stacks) {
        if (rec.thread == thread) {
            (void)sys::unmap(rec.stack);
            rec = {0, 0};
        }
    }
    g_stacks_lock.unlock();
    if (info != nullptr)
        *info = local;
    return local.status;
}

int64_t set_affinity(Handle thread, uint64_t mask) {
    const int64_t r = sys::do_io(thread, Op::kSetMeta, &mask, sizeof mask,
                                 static_cast<uint64_t>(abi::Meta::kAffinity));
    return r < 0 ? r : 0;
}

namespace {
int64_t thread_u64(Handle thread, abi::Meta key) {
    uint64_t v = 0;
    const int64_t r = sys::do_io(thread, Op::kGetMeta, &v, sizeof v, static_cast<uint64_t>(key));
    return r < 0 ? r : static_cast<int64_t>(v);
}
}  // namespace

int64_t affinity(Handle thread) {
    return thread_u64(thread, abi::Meta::kAffinity);
}

int64_t cpu_of(Handle thread) {
    return thread_u64(thread, abi::Meta::kCpu);
}

}  // namespace keel::user

namespace keel::user {

namespace {

// Fault injection (user/README.md): a program started with the first word
// `--crash-after-ms=LO-HI` (or `=MS`) faults LO..HI milliseconds (uniformly at random) after
// its start, whatever its threads are doing then: a thread of the runtime sleeps that long and
// writes to the never-mapped null page, which ends the process as any other fault does
// (docs/syscalls.md). The word is taken out of the arguments keel_main sees, so every program
// built on the runtime honours it, drivers and servers included.
constexpr char kCrashWord[] = "--crash-after-ms=";
constexpr uint64_t kCrashWordLength = sizeof kCrashWord - 1;
uint64_t g_crash_after_ns = 0;

void crash_thread(uint64_t) {
    (void)sys::sleep_ns(g_crash_after_ns);
    print("crash injected after %lu ms (--crash-after-ms)\n", g_crash_after_ns / 1'000'000);
    *reinterpret_cast<volatile uint64_t*>(8) = 0;  // page fault: the process ends here
    sys::process_exit(1);                          // not reached
}

// Reads a decimal number at args[*at]; false when there is none (or it overflows).
bool read_number(const char* args, uint64_t length, uint64_t* at, uint64_t* value) {
    uint64_t v = 0;
    const uint64_t begin = *at;
    while (*at < length && args[*at] >= '0' && args[*at] <= '9') {
        if (v > 1'000'000'000)
            return false;
        v = v * 10 + static_cast<uint64_t>(args[(*at)++] - '0');
    }
    *value = v;
    return *at > begin;
}

// Arms the injected crash when `args` starts with kCrashWord and moves args past that word
// (and the spaces after it). A malformed word is reported and ignored (the program runs
// without a crash, its arguments unchanged).
void arm_crash(const char** args, uint64_t* length) {
    const char* a = *args;
    const uint64_t n = *length;
    if (n < kCrashWordLength || memcmp(a, kCrashWord, kCrashWordLength) != 0)
        return;
    uint64_t at = kCrashWordLength, low = 0, high = 0;
    bool ok = read_number(a, n, &at, &low);
    high = low;
    if (ok && at < n && a[at] == '-') {
        ++at;
        ok = read_number(a, n, &at, &high) && high >= low;
    }
    if (!ok || (at < n && a[at] != ' ')) {
        print("--crash-after-ms: want MS or LO-HI (milliseconds, LO <= HI); no crash injected\n");
        return;
    }
    while (at < n && a[at] == ' ')
        ++at;
    *args = a + at;
    *length = n - at;
    // splitmix64 of the clock: a different point at every start.
    uint64_t z = sys::clock_ns() + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    g_crash_after_ns = (low + z % (high - low + 1)) * 1'000'000;
    if (spawn_thread(crash_thread, 0) < 0)
        print("--crash-after-ms: no thread; no crash injected\n");
}

}  // namespace

}  // namespace keel::user

extern "C" [[noreturn]] void keel_user_start(uint64_t handle_count, const char* args,
                                             uint64_t args_length) {
    using namespace keel::user;
    for (auto* ctor = __init_array_start; ctor < __init_array_end; ++ctor)
        (*ctor)();
    if (handle_count > 0) {
        g_root = keel::abi::initial_handle(0);
        const int64_t c = open(g_root, "console");
        g_console = c > 0 ? static_cast<Handle>(c) : 0;
        const int64_t in = open(g_root, "input");
        g_input = in > 0 ? static_cast<Handle>(in) : 0;
    }
    arm_crash(&args, &args_length);
    sys::process_exit(keel_main(StartInfo{handle_count, args, args_length}));
}
