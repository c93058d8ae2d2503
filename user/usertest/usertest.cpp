// The user-mode test program: every system call and object type, with bad input for each
// (bad and stale handles, missing rights, each kind of bad pointer, oversized lengths) and
// child processes that fault while the parent watches. Started by init as a boot module; it
// prints "N passed, N failed" and exits with 0 only when nothing failed (init then stops the
// machine with that result). Run with arguments "child MODE" it is one of its own children.
#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>
#include "check.hpp"

using namespace keel;
using namespace keel::user;
using keel::abi::Error;
using keel::abi::Kind;
using keel::abi::Meta;

namespace {

constexpr uint64_t kNull = 0;
constexpr uint64_t kKernel = 0xffff800000000000ull;
constexpr uint64_t kKernelText = 0xffffffff80001000ull;
constexpr uint64_t kUnmapped = 0x200000000000ull;
constexpr uint64_t kNearTop = 0x7ffffffff000ull;  // + 0x2000 runs past the user half
constexpr uint64_t kHuge = 1ull << 63;
const char kReadOnly[16] = "read-only data";

uint64_t addr(const void* p) {
    return reinterpret_cast<uint64_t>(p);
}

int64_t get_u64(uint64_t h, Meta key, uint64_t* out) {
    return sys::do_io(h, Op::kGetMeta, out, sizeof *out, static_cast<uint64_t>(key));
}
uint64_t kind_of(uint64_t h) {
    uint64_t k = 0;
    return get_u64(h, Meta::kKind, &k) == 8 ? k : 0;
}
uint64_t rights_of(uint64_t h) {
    uint64_t r = 0;
    return get_u64(h, Meta::kRights, &r) == 8 ? r : ~0ull;
}
int64_t share(uint64_t h, uint64_t target, uint64_t rights) {
    return sys::do_io(h, Op::kShare, nullptr, 0, (rights << 32) | target);
}
int64_t close(uint64_t h) {
    return sys::do_io(h, Op::kClose);
}

Handle g_self = 0;  // our own image ("self" in the root init gave us)

// Starts a copy of this program as "child MODE" with our root and any extra handles.
int64_t spawn_child(const char* mode, const Handle* extra = nullptr, uint64_t extra_count = 0) {
    char args[64] = "child ";
    const uint64_t n = strlen(mode);
    memcpy(args + 6, mode, n);
    Handle handles[4] = {root()};
    for (uint64_t i = 0; i < extra_count; ++i)
        handles[1 + i] = extra[i];
    char name[abi::kMaxNameLength];  // named after its mode in the kernel's fault reports
    const uint64_t name_length = n < sizeof name ? n : sizeof name;
    for (uint64_t i = 0; i < name_length; ++i)
        name[i] = mode[i] == ' ' ? '-' : mode[i];
    const abi::SpawnArgs sa{addr(handles), 1 + extra_count, addr(args),
                            6 + n,         addr(name),      name_length};
    return sys::spawn(g_self, &sa);
}

abi::ExitInfo wait_child(int64_t process) {
    abi::ExitInfo info{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(process), Op::kRead, &info, sizeof info),
             static_cast<int64_t>(sizeof info));
    CHECK_EQ(close(static_cast<uint64_t>(process)), 0);
    return info;
}

// ---- the tests ---------------------------------------------------------------------------

void test_syscall_numbers_and_ops() {
    usertest::begin("syscall_numbers_and_ops");
    BAD_INPUT(syscall(static_cast<abi::Syscall>(99)), kInvalidArgument);
    BAD_INPUT(syscall(static_cast<abi::Syscall>(~0ull)), kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(console(), 12, 0, 0, 0), kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(console(), ~0ull, 0, 0, 0), kInvalidArgument);
    CHECK_EQ(sys::yield(), 0);
}

void test_bad_handles() {
    usertest::begin("bad_and_stale_handles");
    char buf[8];
    BAD_INPUT(sys::do_io(0, Op::kRead, buf, 8), kBadHandle);
    BAD_INPUT(sys::do_io(0xffff, Op::kRead, buf, 8), kBadHandle);
    BAD_INPUT(sys::do_io(300 | (1u << 16), Op::kRead, buf, 8), kBadHandle);
    BAD_INPUT(sys::do_io(1ull << 40, Op::kRead, buf, 8), kBadHandle);
    BAD_INPUT(sys::do_io(console() + (5u << 16), Op::kWrite, "x", 1), kBadHandle);
    BAD_INPUT(sys::do_io(0x7fff0000 | 200, Op::kClose), kBadHandle);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    CHECK_EQ(close(p[0]), 0);
    BAD_INPUT(sys::do_io(p[0], Op::kRead, buf, 8), kStaleHandle);
    BAD_INPUT(close(p[0]), kStaleHandle);
    Handle q[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, q), 2);  // reuses the slot, new generation
    CHECK((q[0] & 0xffff) == (p[0] & 0xffff) && q[0] != p[0]);
    BAD_INPUT(sys::do_io(p[0], Op::kRead, buf, 8), kStaleHandle);
    BAD_INPUT(sys::do_io(p[0], Op::kGetMeta, buf, 8, 1), kStaleHandle);
    CHECK_EQ(kind_of(q[0]), static_cast<uint64_t>(Kind::kPipe));
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

void test_bad_pointers_console() {
    usertest::begin("console_and_bad_pointers");
    CHECK_EQ(sys::do_io(console(), Op::kWrite, "console write ok\n", 17), 17);
    CHECK_EQ(kind_of(console()), static_cast<uint64_t>(Kind::kConsole));
    BAD_INPUT(sys::do_io_raw(console(), 2, kNull, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, 8, 8, 0), kBadAddress);  // the null page
    BAD_INPUT(sys::do_io_raw(console(), 2, kKernel, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, kKernelText, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, kUnmapped, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, kNearTop, 0x2000, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, 0x1000, ~0ull - 0x800, 0), kTooLarge);
    BAD_INPUT(sys::do_io_raw(console(), 2, 0x10000, kHuge, 0), kTooLarge);
    BAD_INPUT(sys::do_io_raw(console(), 2, 0x10000, abi::kMaxIoLength + 1, 0), kTooLarge);
    // Straddling the end of a mapping: the last 4 bytes of a page, then the guard page.
    const uint64_t page = map_new(4096);
    CHECK(page != 0);
    BAD_INPUT(sys::do_io_raw(console(), 2, page + 4092, 8, 0), kBadAddress);
    // Missing rights: the console is write-only.
    char buf[8];
    BAD_INPUT(sys::do_io(console(), Op::kRead, buf, 8), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kOpen, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kMap, nullptr, 0, 0), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kCreate, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kSetMeta, buf, 8, 1), kNotSupported);
    // Meta answers into bad memory.
    BAD_INPUT(sys::do_io_raw(console(), 3, kKernel, 8, 1), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 3, addr(kReadOnly), 8, 1), kBadAddress);
    BAD_INPUT(sys::do_io(console(), Op::kGetMeta, buf, 4, 1), kBufferTooSmall);
    CHECK_EQ(sys::unmap(page), 0);
    BAD_INPUT(sys::unmap(page), kInvalidArgument);
    BAD_INPUT(sys::unmap(kKernel), kInvalidArgument);
}

void test_object_new() {
    usertest::begin("object_new");
    Handle h[2];
    BAD_INPUT(sys::object_new(static_cast<Kind>(99), 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kConsole, 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kProcess, 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kMemory, 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kMemory, abi::kMaxMemorySize + 1, h), kTooLarge);
    BAD_INPUT(sys::object_new(Kind::kPipe, 0, nullptr), kBadAddress);
    BAD_INPUT(sys::object_new(Kind::kPipe, 0, reinterpret_cast<Handle*>(kKernel)), kBadAddress);
    BAD_INPUT(sys::object_new(Kind::kRoot, 0, reinterpret_cast<Handle*>(addr(kReadOnly))),
              kBadAddress);
    BAD_INPUT(sys::object_new(Kind::kMessagePipe, 0, reinterpret_cast<Handle*>(kUnmapped)),
              kBadAddress);
}

void test_memory() {
    usertest::begin("memory_objects");
    Handle m;
    CHECK_EQ(sys::object_new(Kind::kMemory, 8192, &m), 1);
    uint64_t size = 0;
    CHECK_EQ(get_u64(m, Meta::kSize, &size), 8);
    CHECK_EQ(size, 8192);
    const int64_t at = sys::do_io(m, Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    auto* bytes = reinterpret_cast<volatile uint8_t*>(at);
    for (int i = 0; i < 8192; ++i)
        bytes[i] = static_cast<uint8_t>(i * 7);
    char buf[16];
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 4096), 4096);
    CHECK_EQ(sys::do_io(m, Op::kPeek, buf, 16), 16);
    CHECK_EQ(static_cast<uint8_t>(buf[1]), static_cast<uint8_t>(4097 * 7));
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, 16), 16);
    CHECK_EQ(sys::do_io(m, Op::kWrite, "XY", 2), 2);  // at 4112
    CHECK_EQ(bytes[4112], 'X');
    BAD_INPUT(sys::do_io(m, Op::kSeek, nullptr, 0, 8193), kInvalidArgument);
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 8192), 8192);
    BAD_INPUT(sys::do_io(m, Op::kWrite, "XY", 2), kTooLarge);
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, 16), 0);  // end of object
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 0), 0);
    BAD_INPUT(sys::do_io_raw(m, 0, addr(kReadOnly), 16, 0), kBadAddress);  // read into rodata
    BAD_INPUT(sys::do_io_raw(m, 0, kUnmapped, 16, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(m, 2, kKernel, 16, 0), kBadAddress);
    uint64_t pos = 99;
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 0), 0);
    (void)pos;
    BAD_INPUT(sys::do_io(m, Op::kGetMeta, buf, 8, 999), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kMap, nullptr, 0, 5), kInvalidArgument);

    // Subranges share frames.
    const uint64_t range[2] = {4096, 4096};
    const int64_t sub = sys::do_io(m, Op::kCreate, range, sizeof range);
    CHECK(sub > 0);
    const int64_t sub_at = sys::do_io(static_cast<uint64_t>(sub), Op::kMap, nullptr, 0, 1);
    CHECK(sub_at > 0);
    CHECK_EQ(reinterpret_cast<volatile uint8_t*>(sub_at)[16], 'X');
    reinterpret_cast<volatile uint8_t*>(sub_at)[17] = 'Z';
    CHECK_EQ(bytes[4113], 'Z');
    const uint64_t bad_offset[2] = {100, 4096};
    const uint64_t bad_size[2] = {4096, 8192};
    const uint64_t zero_size[2] = {0, 0};
    BAD_INPUT(sys::do_io(m, Op::kCreate, bad_offset, 16), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kCreate, bad_size, 16), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kCreate, zero_size, 16), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kCreate, range, 8), kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(m, 6, kUnmapped, 16, 0), kBadAddress);

    // The permission mask: a read+map share cannot map writable, write, or share on.
    const int64_t ro = share(m, 0, abi::kRightRead | abi::kRightMap);
    CHECK(ro > 0);
    CHECK_EQ(rights_of(static_cast<uint64_t>(ro)), abi::kRightRead | abi::kRightMap);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kMap, nullptr, 0, 1), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kWrite, "x", 1), kNoRights);
    BAD_INPUT(share(static_cast<uint64_t>(ro), 0, abi::kRightRead), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kCreate, range, 16), kNoRights);
    const int64_t ro_at = sys::do_io(static_cast<uint64_t>(ro), Op::kMap, nullptr, 0, 0);
    CHECK(ro_at > 0);
    CHECK_EQ(reinterpret_cast<volatile uint8_t*>(ro_at)[4112], 'X');
    // Sharing never adds rights; unknown rights bits are refused.
    const int64_t again = share(m, 0, abi::kRightRead);
    CHECK_EQ(rights_of(static_cast<uint64_t>(again)), abi::kRightRead);
    BAD_INPUT(share(m, 0, 1u << 20), kInvalidArgument);
    BAD_INPUT(share(m, m, abi::kRightRead), kInvalidArgument);  // target is not a process
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(ro_at)), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(sub_at)), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(at)), 0);
    close(static_cast<uint64_t>(again));
    close(static_cast<uint64_t>(ro));
    close(static_cast<uint64_t>(sub));
    close(m);
}

void test_pipe() {
    usertest::begin("byte_pipes");
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const Handle r = p[0], w = p[1];
    char buf[64];
    CHECK_EQ(sys::do_io(w, Op::kWrite, "hello", 5), 5);
    CHECK_EQ(sys::do_io(r, Op::kPeek, buf, 64), 5);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 3), 3);
    CHECK(buf[0] == 'h' && buf[2] == 'l');
    uint64_t size = 0;
    CHECK_EQ(get_u64(r, Meta::kSize, &size), 8);
    CHECK_EQ(size, 2);
    // A failed copy consumes nothing.
    BAD_INPUT(sys::do_io_raw(r, 0, addr(kReadOnly), 2, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(r, 0, kUnmapped, 2, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(w, 2, kKernel, 2, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(w, 2, kNull, 2, 0), kBadAddress);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 64), 2);
    CHECK(buf[0] == 'l' && buf[1] == 'o');
    // Rights: each end does one thing.
    BAD_INPUT(sys::do_io(r, Op::kWrite, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(w, Op::kRead, buf, 1), kNoRights);
    BAD_INPUT(sys::do_io(w, Op::kSeek, nullptr, 0, 0), kNotSupported);
    // Capacity: a big write takes what fits.
    auto* big = static_cast<char*>(allocate(5000));
    CHECK(big != nullptr);
    memset(big, 'b', 5000);
    CHECK_EQ(sys::do_io(w, Op::kWrite, big, 5000), static_cast<int64_t>(abi::kPipeCapacity));
    CHECK_EQ(sys::do_io(r, Op::kRead, big, 5000), static_cast<int64_t>(abi::kPipeCapacity));
    release(big);
    // End of stream, then the other way round.
    CHECK_EQ(sys::do_io(w, Op::kWrite, "end", 3), 3);
    close(w);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 64), 3);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 64), 0);
    close(r);
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    close(p[0]);
    BAD_INPUT(sys::do_io(p[1], Op::kWrite, "x", 1), kPeerGone);
    close(p[1]);
}

void test_message_pipe() {
    usertest::begin("message_pipes");
    Handle e[2];
    CHECK_EQ(sys::object_new(Kind::kMessagePipe, 0, e), 2);
    char buf[64];
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "abc", 3), 3);
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "defgh", 5), 5);
    CHECK_EQ(sys::do_io(e[1], Op::kWrite, "back", 4), 4);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 3);  // boundaries kept
    CHECK_EQ(sys::do_io(e[1], Op::kPeek, buf, 64), 5);
    BAD_INPUT(sys::do_io(e[1], Op::kRead, buf, 2), kBufferTooSmall);
    BAD_INPUT(sys::do_io_raw(e[1], 0, addr(kReadOnly), 16, 0), kBadAddress);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 5);  // still there after both failures
    CHECK(buf[0] == 'd' && buf[4] == 'h');
    CHECK_EQ(sys::do_io(e[0], Op::kRead, buf, 64), 4);
    auto* big = static_cast<char*>(allocate(abi::kMaxMessageLength + 1));
    BAD_INPUT(sys::do_io(e[0], Op::kWrite, big, abi::kMaxMessageLength + 1), kTooLarge);
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, big, abi::kMaxMessageLength),
             static_cast<int64_t>(abi::kMaxMessageLength));
    CHECK_EQ(sys::do_io(e[1], Op::kRead, big, abi::kMaxMessageLength),
             static_cast<int64_t>(abi::kMaxMessageLength));
    release(big);
    BAD_INPUT(sys::do_io_raw(e[0], 2, kUnmapped, 16, 0), kBadAddress);
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "", 0), 0);  // an empty message is a message
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "last", 4), 4);
    close(e[0]);
    BAD_INPUT(sys::do_io(e[1], Op::kWrite, "x", 1), kPeerGone);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 0);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 4);
    BAD_INPUT(sys::do_io(e[1], Op::kRead, buf, 64), kPeerGone);
    close(e[1]);
}

void test_root() {
    usertest::begin("roots");
    char list[128];
    const int64_t n = sys::do_io(root(), Op::kRead, list, sizeof list);
    CHECK_EQ(n, 13);  // "console\nself\n": exactly what init bound for us
    BAD_INPUT(sys::do_io(root(), Op::kRead, list, 4), kBufferTooSmall);
    BAD_INPUT(open(root(), "init.elf"), kNotFound);  // init's own names are not ours
    BAD_INPUT(sys::do_io(root(), Op::kOpen, "", 0), kInvalidArgument);
    BAD_INPUT(sys::do_io(root(), Op::kOpen, "0123456789012345678901234567890123", 33), kTooLarge);
    BAD_INPUT(sys::do_io_raw(root(), 5, kKernel, 4, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(root(), 5, kUnmapped, 4, 0), kBadAddress);
    Handle r;
    CHECK_EQ(sys::object_new(Kind::kRoot, 0, &r), 1);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    CHECK_EQ(sys::do_io(r, Op::kCreate, "pipe", 4, p[1]), 0);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "pipe", 4, p[0]), kExists);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "self", 4, r), kInvalidArgument);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "bad", 3, 0), kBadHandle);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "bad", 3, 1ull << 40), kBadHandle);
    const int64_t no_share = share(p[0], 0, abi::kRightRead);
    BAD_INPUT(sys::do_io(r, Op::kCreate, "ns", 2, static_cast<uint64_t>(no_share)), kNoRights);
    uint64_t count = 0;
    CHECK_EQ(get_u64(r, Meta::kSize, &count), 8);
    CHECK_EQ(count, 1);
    const int64_t opened = open(r, "pipe");
    CHECK(opened > 0);
    CHECK_EQ(rights_of(static_cast<uint64_t>(opened)), abi::kRightWrite | abi::kRightShare);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(opened), Op::kWrite, "via root", 8), 8);
    char buf[16];
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 16), 8);
    // A read-only share of the root cannot bind or unbind.
    const int64_t r_ro = share(r, 0, abi::kRightRead);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(r_ro), Op::kCreate, "x", 1, p[1]), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(r_ro), Op::kDestroy, "pipe", 4), kNoRights);
    CHECK_EQ(sys::do_io(r, Op::kDestroy, "pipe", 4), 0);
    BAD_INPUT(sys::do_io(r, Op::kDestroy, "pipe", 4), kNotFound);
    BAD_INPUT(open(r, "pipe"), kNotFound);
    CHECK_EQ(kind_of(r), static_cast<uint64_t>(Kind::kRoot));
    close(static_cast<uint64_t>(r_ro));
    close(static_cast<uint64_t>(opened));
    close(static_cast<uint64_t>(no_share));
    close(p[0]);
    close(p[1]);
    close(r);
}

int64_t g_counter = 0;
Mutex g_lock;

void counting_thread(uint64_t rounds) {
    for (uint64_t i = 0; i < rounds; ++i) {
        g_lock.lock();
        const int64_t v = g_counter;
        if (i % 64 == 0)
            (void)sys::yield();  // invite contention while holding the lock
        g_counter = v + 1;
        g_lock.unlock();
    }
    sys::thread_exit(static_cast<int64_t>(rounds));
}

uint32_t g_futex_word = 0;
void futex_waiter(uint64_t) {
    while (__atomic_load_n(&g_futex_word, __ATOMIC_ACQUIRE) == 0)
        (void)sys::futex_wait(&g_futex_word, 0, 0);
    sys::thread_exit(55);
}

void pipe_reader_thread(uint64_t read_end) {
    char c = 0;
    const int64_t n = sys::do_io(read_end, Op::kRead, &c, 1);  // blocks until main writes
    sys::thread_exit(n == 1 ? c : -1);
}

void test_threads_and_futex() {
    usertest::begin("threads_futex_time");
    constexpr int kThreads = 4;
    int64_t t[kThreads];
    for (int i = 0; i < kThreads; ++i) {
        t[i] = spawn_thread(counting_thread, 500);
        CHECK(t[i] > 0);
    }
    for (int i = 0; i < kThreads; ++i)
        CHECK_EQ(join(static_cast<Handle>(t[i])), 500);
    CHECK_EQ(g_counter, 500 * kThreads);
    CHECK_EQ(kind_of(static_cast<uint64_t>(t[0])), static_cast<uint64_t>(Kind::kThread));
    uint64_t id = 0;
    CHECK_EQ(get_u64(static_cast<uint64_t>(t[0]), Meta::kId, &id), 8);
    CHECK(id > 0);
    for (int i = 0; i < kThreads; ++i)
        close(static_cast<uint64_t>(t[i]));
    BAD_INPUT(join(static_cast<Handle>(t[0])), kStaleHandle);

    BAD_INPUT(sys::thread_spawn(nullptr, 0x10000, 0), kBadAddress);
    BAD_INPUT(sys::thread_spawn(reinterpret_cast<void (*)(uint64_t)>(kKernelText), 0x10000, 0),
              kBadAddress);
    BAD_INPUT(sys::thread_spawn(counting_thread, kKernel, 0), kBadAddress);

    // Futex: mismatched value, bad addresses, timeout, then a real wake-up.
    BAD_INPUT(sys::futex_wait(&g_futex_word, 1, 0), kWouldBlock);
    BAD_INPUT(sys::futex_wait(reinterpret_cast<uint8_t*>(&g_futex_word) + 1, 0, 0),
              kInvalidArgument);
    BAD_INPUT(sys::futex_wait(nullptr, 0, 0), kBadAddress);
    BAD_INPUT(sys::futex_wait(reinterpret_cast<void*>(kKernel), 0, 0), kBadAddress);
    BAD_INPUT(sys::futex_wait(reinterpret_cast<void*>(kUnmapped), 0, 0), kBadAddress);
    BAD_INPUT(sys::futex_wake(reinterpret_cast<uint8_t*>(&g_futex_word) + 2, 1), kInvalidArgument);
    const uint64_t before = sys::clock_ns();
    BAD_INPUT(sys::futex_wait(&g_futex_word, 0, 5'000'000), kTimedOut);
    CHECK(sys::clock_ns() - before >= 5'000'000);
    CHECK_EQ(sys::futex_wake(&g_futex_word, 1), 0);  // nobody waits
    const int64_t waiter = spawn_thread(futex_waiter, 0);
    CHECK(waiter > 0);
    int64_t woken = 0;
    for (int i = 0; i < 100 && woken == 0; ++i) {
        (void)sys::sleep_ns(1'000'000);
        __atomic_store_n(&g_futex_word, 1, __ATOMIC_RELEASE);
        woken = sys::futex_wake(&g_futex_word, 1);
    }
    CHECK_EQ(woken, 1);
    CHECK_EQ(join(static_cast<Handle>(waiter)), 55);

    // A thread blocked in do_io is woken by another thread's write.
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const int64_t reader = spawn_thread(pipe_reader_thread, p[0]);
    (void)sys::sleep_ns(10'000'000);
    CHECK_EQ(sys::do_io(p[1], Op::kWrite, "k", 1), 1);
    CHECK_EQ(join(static_cast<Handle>(reader)), 'k');
    close(p[0]);
    close(p[1]);

    // Monotonic time and sleep.
    const uint64_t t1 = sys::clock_ns();
    CHECK_EQ(sys::sleep_ns(20'000'000), 0);
    const uint64_t t2 = sys::clock_ns();
    CHECK(t2 >= t1 + 20'000'000);
    CHECK_EQ(sys::sleep_ns(0), 0);
    CHECK(sys::clock_ns() >= t2);
}

bool g_spin_stop = false;
void spinner(uint64_t) {
    uint64_t spins = 0;
    while (!__atomic_load_n(&g_spin_stop, __ATOMIC_ACQUIRE))
        ++spins;  // no system call: only the timer can take the CPU away
    sys::thread_exit(spins > 0 ? 1 : 0);
}

void test_heap() {
    usertest::begin("runtime_heap");
    void* blocks[64];
    for (int i = 0; i < 64; ++i) {
        blocks[i] = allocate(static_cast<size_t>(16 + i * 97));
        CHECK(blocks[i] != nullptr);
        memset(blocks[i], i, static_cast<size_t>(16 + i * 97));
    }
    for (int i = 0; i < 64; i += 2)
        release(blocks[i]);
    for (int i = 1; i < 64; i += 2)
        CHECK_EQ(static_cast<uint8_t*>(blocks[i])[15], i);  // neighbours untouched
    for (int i = 1; i < 64; i += 2)
        release(blocks[i]);
    void* big = allocate(1 << 20);  // larger than one heap chunk
    CHECK(big != nullptr);
    release(big);
    CHECK(allocate(0) == nullptr);
}

void test_preemption() {
    usertest::begin("preemption");
    // Two threads that never enter the kernel; main still gets the CPU back to stop them.
    const int64_t a = spawn_thread(spinner, 0);
    const int64_t b = spawn_thread(spinner, 0);
    CHECK(a > 0 && b > 0);
    const uint64_t t0 = sys::clock_ns();
    (void)sys::sleep_ns(30'000'000);
    CHECK(sys::clock_ns() - t0 >= 30'000'000);
    __atomic_store_n(&g_spin_stop, true, __ATOMIC_RELEASE);
    CHECK_EQ(join(static_cast<Handle>(a)), 1);
    CHECK_EQ(join(static_cast<Handle>(b)), 1);
    close(static_cast<uint64_t>(a));
    close(static_cast<uint64_t>(b));
}

void test_spawn_bad_input() {
    usertest::begin("spawn_bad_input");
    Handle given[1] = {root()};
    const abi::SpawnArgs ok_args{addr(given), 1, addr("child exit 0"), 12, 0, 0};
    BAD_INPUT(sys::spawn(0, &ok_args), kBadHandle);
    BAD_INPUT(sys::spawn(console(), &ok_args), kInvalidArgument);  // not memory
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    close(p[0]);
    BAD_INPUT(sys::spawn(p[0], &ok_args), kStaleHandle);
    const int64_t no_spawn = share(g_self, 0, abi::kRightRead | abi::kRightShare);
    BAD_INPUT(sys::spawn(static_cast<Handle>(no_spawn), &ok_args), kNoRights);
    BAD_INPUT(sys::spawn(g_self, nullptr), kBadAddress);
    BAD_INPUT(sys::spawn(g_self, reinterpret_cast<const abi::SpawnArgs*>(kKernel)), kBadAddress);
    const abi::SpawnArgs too_many{addr(given), abi::kMaxSpawnHandles + 1, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(g_self, &too_many), kTooLarge);
    const abi::SpawnArgs long_args{addr(given), 1, addr(given), abi::kMaxArgsLength + 1, 0, 0};
    BAD_INPUT(sys::spawn(g_self, &long_args), kTooLarge);
    const abi::SpawnArgs bad_list{kUnmapped, 1, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(g_self, &bad_list), kBadAddress);
    const abi::SpawnArgs bad_text{addr(given), 1, kKernel, 4, 0, 0};
    BAD_INPUT(sys::spawn(g_self, &bad_text), kBadAddress);
    Handle stale_list[1] = {p[0]};
    const abi::SpawnArgs stale{addr(stale_list), 1, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(g_self, &stale), kStaleHandle);
    const abi::SpawnArgs long_name{addr(given), 1, 0, 0, addr(given), abi::kMaxNameLength + 1};
    BAD_INPUT(sys::spawn(g_self, &long_name), kTooLarge);
    const abi::SpawnArgs bad_name{addr(given), 1, 0, 0, kKernel, 4};
    BAD_INPUT(sys::spawn(g_self, &bad_name), kBadAddress);
    const abi::SpawnArgs unprintable{addr(given), 1, 0, 0, addr("a\nb"), 3};
    BAD_INPUT(sys::spawn(g_self, &unprintable), kInvalidArgument);
    Handle unshareable[1] = {static_cast<Handle>(no_spawn)};
    const int64_t no_share = share(p[1], 0, abi::kRightWrite);
    unshareable[0] = static_cast<Handle>(no_share);
    const abi::SpawnArgs cannot_give{addr(unshareable), 1, 0, 0, 0, 0};
    BAD_INPUT(sys::spawn(g_self, &cannot_give), kNoRights);

    // Hostile images: zeros, garbage, a truncated copy of ourselves, a bad entry point.
    Handle img;
    CHECK_EQ(sys::object_new(Kind::kMemory, 8192, &img), 1);
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    uint8_t head[256];
    CHECK_EQ(sys::do_io(g_self, Op::kPeek, head, sizeof head), 256);
    CHECK_EQ(sys::do_io(img, Op::kWrite, head, 120), 120);  // header, half the phdrs
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    CHECK_EQ(sys::do_io(img, Op::kSeek, nullptr, 0, 0), 0);
    head[18] = 3;  // e_machine: i386
    CHECK_EQ(sys::do_io(img, Op::kWrite, head, 256), 256);
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    // A full copy of our own image, made from a read-only mapping, then damaged one field
    // at a time; the undamaged copy must start (programs need not come from boot modules).
    uint64_t self_size = 0;
    CHECK_EQ(get_u64(g_self, Meta::kSize, &self_size), 8);
    const int64_t self_at = sys::do_io(g_self, Op::kMap, nullptr, 0, 0);
    CHECK(self_at > 0);
    BAD_INPUT(sys::do_io(g_self, Op::kMap, nullptr, 0, 1), kNoRights);  // boot modules: RO
    Handle copy;
    const uint64_t copy_at = map_new(self_size, &copy);
    CHECK(copy_at != 0);
    auto* image = reinterpret_cast<uint8_t*>(copy_at);
    memcpy(image, reinterpret_cast<const void*>(self_at), self_size);
    uint64_t phoff;
    memcpy(&phoff, image + 32, 8);
    struct Damage {
        uint64_t offset;
        uint64_t value;
        uint32_t bytes;
    };
    const Damage damages[] = {
        {24, 0x10, 8},                           // entry outside every segment
        {phoff + 16, 0xffff800000000000ull, 8},  // a segment in the kernel half
        {phoff + 16, 0x1000, 8},                 // a segment over the null page
        {phoff + 40, 1ull << 40, 8},             // a huge segment
        {phoff + 8, 0xfffffffffffff000ull, 8},   // file offset wraps
        {56, 0xffff, 2},                         // program headers past the end
        {54, 40, 2},                             // wrong program header size
        {16, 3, 2},                              // ET_DYN, not ET_EXEC
        {4, 1, 1},                               // 32-bit class
    };
    for (const Damage& d : damages) {
        uint8_t saved[8];
        memcpy(saved, image + d.offset, d.bytes);
        memcpy(image + d.offset, &d.value, d.bytes);
        BAD_INPUT(sys::spawn(copy, &ok_args), kBadImage);
        memcpy(image + d.offset, saved, d.bytes);
    }
    const int64_t from_copy = sys::spawn(copy, &ok_args);
    CHECK(from_copy > 0);
    if (from_copy > 0)
        CHECK_EQ(wait_child(from_copy).status, 0);
    CHECK_EQ(sys::unmap(copy_at), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(self_at)), 0);
    close(copy);
    uint64_t garbage[32];
    for (int i = 0; i < 32; ++i)
        garbage[i] = 0x9e3779b97f4a7c15ull * (i + 1);
    CHECK_EQ(sys::do_io(img, Op::kSeek, nullptr, 0, 0), 0);
    CHECK_EQ(sys::do_io(img, Op::kWrite, garbage, sizeof garbage), 256);
    BAD_INPUT(sys::spawn(img, &ok_args), kBadImage);
    close(img);
    close(static_cast<uint64_t>(no_share));
    close(static_cast<uint64_t>(no_spawn));
    close(p[1]);
}

void test_children() {
    usertest::begin("child_processes_and_faults");
    // A normal exit with a status.
    int64_t c = spawn_child("exit 42");
    CHECK(c > 0);
    abi::ExitInfo info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 42);

    // Faults end only the child; the parent sees which one.
    struct Fault {
        const char* mode;
        uint32_t vector;
    };
    const Fault faults[] = {{"page-fault", 14},  {"gp-fault", 13},     {"invalid-opcode", 6},
                            {"divide-error", 0}, {"write-text", 14},   {"exec-stack", 14},
                            {"kernel-read", 14}, {"thread-fault", 14}, {"stack-overflow", 14},
                            {"privileged", 13},  {"breakpoint", 13},   {"kernel-gate", 13},
                            {"port-io", 13}};
    for (const Fault& f : faults) {
        c = spawn_child(f.mode);
        CHECK(c > 0);
        uint64_t id = 0;
        CHECK_EQ(get_u64(static_cast<uint64_t>(c), Meta::kId, &id), 8);
        info = wait_child(c);
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
        CHECK_EQ(info.vector, f.vector);
        CHECK(info.address != 0);
        BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kRead, &info, sizeof info),
                  kStaleHandle);
    }

    // A child dies holding the write end of our pipe: we read end of stream. Holding the
    // other end of a message pipe: we get kPeerGone.
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    c = spawn_child("hold-then-fault", &p[1], 1);
    close(p[1]);
    char buf[8];
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 8), 1);  // the child's one byte
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 8), 0);  // then its death closes the pipe
    info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    close(p[0]);
    Handle e[2];
    CHECK_EQ(sys::object_new(Kind::kMessagePipe, 0, e), 2);
    c = spawn_child("hold-then-fault", &e[1], 1);
    close(e[1]);
    CHECK_EQ(sys::do_io(e[0], Op::kRead, buf, 8), 1);
    BAD_INPUT(sys::do_io(e[0], Op::kRead, buf, 8), kPeerGone);
    info = wait_child(c);
    BAD_INPUT(sys::do_io(e[0], Op::kWrite, "x", 1), kPeerGone);
    close(e[0]);

    // Shared memory across processes: the child maps what we gave it and writes into it.
    Handle shared;
    const uint64_t shared_at = map_new(4096, &shared);
    CHECK(shared_at != 0);
    c = spawn_child("write-shared", &shared, 1);
    CHECK_EQ(wait_child(c).status, 0);
    CHECK(memcmp(reinterpret_cast<const void*>(shared_at), "written by the child", 20) == 0);
    CHECK_EQ(sys::unmap(shared_at), 0);
    close(shared);

    // A child that takes every frame it can gets NoMemory (the kernel survives); its end
    // gives them all back, so we can then allocate a large object ourselves.
    c = spawn_child("exhaust-memory");
    info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, static_cast<int64_t>(Error::kNoMemory));
    Handle big;
    CHECK_EQ(sys::object_new(Kind::kMemory, 32ull << 20, &big), 1);
    close(big);

    // Naming a process (set_meta), with bad input.
    c = spawn_child("exit 0");
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, "named-child", 11,
                        static_cast<uint64_t>(Meta::kName)),
             11);
    char name[40] = {};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c), Op::kGetMeta, name, sizeof name,
                        static_cast<uint64_t>(Meta::kName)),
             11);
    CHECK(memcmp(name, "named-child", 11) == 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, name, 33,
                         static_cast<uint64_t>(Meta::kName)),
              kTooLarge);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, "bad\n", 4,
                         static_cast<uint64_t>(Meta::kName)),
              kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(static_cast<uint64_t>(c), 4, kUnmapped, 4,
                             static_cast<uint64_t>(Meta::kName)),
              kBadAddress);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c), Op::kSetMeta, name, 4, 999), kInvalidArgument);
    const int64_t c_read_only = share(static_cast<uint64_t>(c), 0, abi::kRightRead);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(c_read_only), Op::kSetMeta, "x", 1,
                         static_cast<uint64_t>(Meta::kName)),
              kNoRights);
    close(static_cast<uint64_t>(c_read_only));
    CHECK_EQ(wait_child(c).status, 0);

    // Share into a running child; sharing into a process needs write rights on it.
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    c = spawn_child("use-shared");
    CHECK(c > 0);
    CHECK(share(p[1], static_cast<uint64_t>(c), abi::kRightWrite) > 0);
    const int64_t c_ro = share(static_cast<uint64_t>(c), 0, abi::kRightRead);
    BAD_INPUT(share(p[1], static_cast<uint64_t>(c_ro), abi::kRightWrite), kNoRights);
    close(p[1]);
    CHECK_EQ(sys::do_io(p[0], Op::kRead, buf, 8), 6);
    CHECK(memcmp(buf, "shared", 6) == 0);
    info = wait_child(c);
    CHECK_EQ(info.status, static_cast<int64_t>(Kind::kPipe));
    abi::ExitInfo again{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(c_ro), Op::kRead, &again, sizeof again),
             static_cast<int64_t>(sizeof again));
    CHECK_EQ(again.status, info.status);
    BAD_INPUT(share(p[0], static_cast<uint64_t>(c_ro), abi::kRightRead), kNoRights);
    close(static_cast<uint64_t>(c_ro));
    close(p[0]);
}

// ---- a bounded random system-call storm ---------------------------------------------------
//
// Run in a child ("storm SEED"): random system calls with random and hostile arguments against
// a pool of live, closed and bogus handles. Whatever the child does to itself, the kernel must
// survive; the parent checks that it ends and that the system still works afterwards. A pump
// thread keeps the pipes moving so that blocking reads and writes finish, and a watchdog ends
// the child if it ever blocks for good (exit interrupts every blocked thread).

constexpr uint64_t kStormCalls = 5000;
uint64_t g_rng = 0;
uint64_t next_random() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

Handle g_storm_pipe[2];
Handle g_storm_channel[2];
Handle g_pump_pipe[2];  // the pump's own duplicates: the storm may close the originals
Handle g_pump_channel[2];

void pump(uint64_t) {
    char scratch[64];
    for (;;) {
        // Never blocks itself: reads only what is there, writes only where there is room.
        uint64_t n = 0;
        if (get_u64(g_pump_pipe[0], Meta::kSize, &n) == 8 && n > 2048)
            (void)sys::do_io(g_pump_pipe[0], Op::kRead, scratch, sizeof scratch);
        else
            (void)sys::do_io(g_pump_pipe[1], Op::kWrite, "pump", 4);
        for (int e = 0; e < 2; ++e) {
            if (get_u64(g_pump_channel[e], Meta::kSize, &n) != 8)
                continue;
            if (n > 8)
                (void)sys::do_io(g_pump_channel[e], Op::kRead, scratch, sizeof scratch);
            else
                (void)sys::do_io(g_pump_channel[1 - e], Op::kWrite, "pump", 4);
        }
        (void)sys::sleep_ns(1'000'000);
    }
}

void watchdog(uint64_t) {
    (void)sys::sleep_ns(20'000'000'000ull);
    print("storm: watchdog fired\n");
    sys::process_exit(2);
}

int storm(uint64_t seed, uint64_t calls) {
    g_rng = seed | 1;
    static uint8_t scratch[3 * 4096];
    (void)sys::object_new(Kind::kPipe, 0, g_storm_pipe);
    (void)sys::object_new(Kind::kMessagePipe, 0, g_storm_channel);
    Handle memory = 0, root_copy = 0, closed[2] = {0, 0};
    (void)sys::object_new(Kind::kMemory, 8192, &memory);
    (void)sys::object_new(Kind::kRoot, 0, &root_copy);
    (void)sys::object_new(Kind::kPipe, 0, closed);
    close(closed[0]);
    for (int i = 0; i < 2; ++i) {
        g_pump_pipe[i] = static_cast<Handle>(share(g_storm_pipe[i], 0, abi::kRightsAll));
        g_pump_channel[i] = static_cast<Handle>(share(g_storm_channel[i], 0, abi::kRightsAll));
    }
    (void)spawn_thread(pump, 0);
    (void)spawn_thread(watchdog, 0);
    // The console is left out (a bogus generation of it instead): the log must stay readable.
    const uint64_t pool[] = {0,
                             console() + (1u << 16),
                             root(),
                             0x10001,
                             memory,
                             root_copy,
                             closed[0],
                             closed[1],
                             g_storm_pipe[0],
                             g_storm_pipe[1],
                             g_storm_channel[0],
                             g_storm_channel[1],
                             0xffff,
                             1ull << 40,
                             0x7fff0001};
    const uint64_t base = reinterpret_cast<uint64_t>(scratch);
    uint64_t done = 0;
    for (; done < calls; ++done) {
        const uint64_t r = next_random();
        const uint64_t pointers[] = {0,
                                     8,
                                     kKernel,
                                     kKernelText,
                                     kUnmapped,
                                     kNearTop,
                                     base,
                                     base + r % 8192,
                                     base + 4095,
                                     ~0ull - 7,
                                     base + 3 * 4096 - 2};
        const uint64_t lengths[] = {0,     1,       8, 16, 64, 4096, 4097, 1 << 20, (1 << 20) + 1,
                                    ~0ull, r % 9000};
        const uint64_t h = pool[r % (sizeof pool / 8)];
        uint64_t p = pointers[(r >> 8) % (sizeof pointers / 8)];
        uint64_t len = lengths[(r >> 16) % (sizeof lengths / 8)];
        if (p >= base && p < base + sizeof scratch && len > base + sizeof scratch - p)
            len = base + sizeof scratch - p;  // stay inside our scratch: we must not eat ourselves
        if (p == kNull && len > 0 && (r & 1))
            p = base;
        const uint64_t arg_choices[] = {0, 1, 2, 5, 6, 999, h, (r >> 32), (0x7full << 32) | root()};
        const uint64_t arg = arg_choices[(r >> 24) % (sizeof arg_choices / 8)];
        switch ((r >> 40) % 8) {
            case 0:
            case 1:
            case 2:
            case 3: {
                uint64_t op = (r >> 44) % 13;  // includes one unknown operation
                if (op == static_cast<uint64_t>(Op::kClose) && h == root())
                    op = static_cast<uint64_t>(Op::kPeek);  // keep the pool interesting
                if (op == static_cast<uint64_t>(Op::kMap) && h != memory)
                    op = static_cast<uint64_t>(Op::kGetMeta);
                (void)sys::do_io_raw(h, op, p, len, arg);
                break;
            }
            case 4: {
                const uint64_t out = (r & 2) ? base + (r % 64) * 8 : p;
                if (out < base || out >= base + sizeof scratch - 8)
                    (void)syscall(abi::Syscall::kObjectNew, (r >> 48) % 10, r % 100000, out);
                else {
                    Handle made[2] = {0, 0};
                    if (sys::object_new(static_cast<Kind>((r >> 48) % 10), r % 100000, made) > 0) {
                        close(made[0]);
                        close(made[1]);
                    }
                }
                break;
            }
            case 5:
                (void)syscall(abi::Syscall::kFutexWait, p, r, 1 + r % 1'000'000);
                (void)syscall(abi::Syscall::kFutexWake, p, r % 4);
                break;
            case 6: {
                const abi::SpawnArgs args{(r & 4) ? base : p, r % 20, p, len % 2000, 0, 0};
                const int64_t c = syscall(abi::Syscall::kProcessSpawn, h,
                                          (r & 8) ? reinterpret_cast<uint64_t>(&args) : p);
                if (c > 0)
                    close(static_cast<uint64_t>(c));
                break;
            }
            default:
                (void)syscall(static_cast<abi::Syscall>(6 + (r >> 50) % 8), r % 100000, p, len);
                break;
        }
    }
    print("storm: %lu calls, seed %lu\n", done, seed);
    return 0;
}

void test_storm() {
    usertest::begin("random_syscall_storm");
    const uint64_t seed = sys::clock_ns();
    char mode[48];
    snformat(mode, sizeof mode, "storm %lu", seed);
    print("storm: seed %lu (replay: --module \"build/kernel/user/usertest.elf child %s\")\n", seed,
          mode);
    const int64_t c = spawn_child(mode);
    CHECK(c > 0);
    const abi::ExitInfo info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 0);  // 2: the watchdog ended a storm that blocked for good
    // The system still works: a new child starts and exits normally.
    const int64_t after = spawn_child("exit 42");
    CHECK_EQ(wait_child(after).status, 42);
}

// ---- child modes -----------------------------------------------------------------------------

// Recurses until the guard page under the stack stops it.
[[gnu::noinline]] uint64_t recurse(uint64_t depth) {
    volatile uint8_t frame[256];
    frame[0] = static_cast<uint8_t>(depth);
    if (depth == ~0ull)  // never: 64 KiB of stack ends long before
        return 0;
    return recurse(depth + 1) + frame[0];
}

int child(const char* mode, uint64_t length) {
    auto is = [&](const char* m) { return strlen(m) == length && memcmp(mode, m, length) == 0; };
    if (length > 6 && memcmp(mode, "storm ", 6) == 0) {
        uint64_t seed = 0;
        for (uint64_t i = 6; i < length && mode[i] >= '0' && mode[i] <= '9'; ++i)
            seed = seed * 10 + static_cast<uint64_t>(mode[i] - '0');
        return storm(seed, kStormCalls);
    }
    if (is("exit 42"))
        return 42;
    if (is("exit 0"))
        return 0;
    if (is("page-fault"))
        *reinterpret_cast<volatile uint64_t*>(0x10) = 1;
    if (is("gp-fault"))
        (void)*reinterpret_cast<volatile uint64_t*>(0x8000000000000000ull);
    if (is("invalid-opcode"))
        asm volatile("ud2");
    if (is("divide-error"))
        asm volatile("xor %%edx, %%edx; xor %%ecx, %%ecx; div %%ecx" ::: "rax", "rcx", "rdx");
    if (is("write-text"))
        *reinterpret_cast<volatile uint8_t*>(reinterpret_cast<uint64_t>(&child)) = 0xc3;
    if (is("exec-stack")) {
        uint8_t code[4] = {0xc3};
        reinterpret_cast<void (*)()>(reinterpret_cast<uint64_t>(code))();
    }
    if (is("write-shared")) {
        const int64_t at = sys::do_io(abi::initial_handle(1), Op::kMap, nullptr, 0, 1);
        if (at <= 0)
            return 1;
        memcpy(reinterpret_cast<void*>(at), "written by the child", 20);
        return 0;
    }
    if (is("privileged"))
        asm volatile("cli");  // ring 3 may not touch the interrupt flag
    if (is("breakpoint"))
        asm volatile("int3");  // every IDT gate is ring 0 only: #GP, not #BP
    if (is("kernel-gate"))
        asm volatile("int $0x20");  // the timer's vector: its gate is ring 0 only
    if (is("port-io"))
        asm volatile("outb %%al, $0xf4" ::"a"(0));  // the QEMU exit port: no I/O rights
    if (is("exhaust-memory")) {
        for (;;) {
            Handle h;
            const int64_t r = sys::object_new(Kind::kMemory, abi::kMaxMemorySize, &h);
            if (r < 0)
                return static_cast<int>(-r);  // the error that stopped us
        }
    }
    if (is("stack-overflow"))
        return static_cast<int>(recurse(0));
    if (is("kernel-read"))
        (void)*reinterpret_cast<volatile uint64_t*>(kKernelText);
    if (is("thread-fault")) {
        // A second thread blocks forever; the fault must still end the whole process.
        Handle p[2];
        (void)sys::object_new(Kind::kPipe, 0, p);
        (void)spawn_thread(pipe_reader_thread, p[0]);
        (void)sys::sleep_ns(5'000'000);
        *reinterpret_cast<volatile uint64_t*>(0x20) = 1;
    }
    if (is("hold-then-fault")) {
        (void)sys::do_io(abi::initial_handle(1), Op::kWrite, "!", 1);
        (void)sys::sleep_ns(10'000'000);
        *reinterpret_cast<volatile uint64_t*>(0x30) = 1;
    }
    if (is("use-shared")) {
        // The parent shares a pipe write end into us while we wait; it lands in the first free
        // slot, which depends on what start-up already opened: look for it.
        for (int i = 0; i < 200; ++i) {
            (void)sys::sleep_ns(1'000'000);
            for (uint32_t slot = 1; slot < 8; ++slot) {
                const Handle h = abi::initial_handle(slot);
                if (kind_of(h) == static_cast<uint64_t>(Kind::kPipe)) {
                    (void)sys::do_io(h, Op::kWrite, "shared", 6);
                    return static_cast<int>(Kind::kPipe);
                }
            }
        }
        return 0;
    }
    return 100;
}

}  // namespace

int keel_main(const StartInfo& start) {
    if (start.args_length > 6 && memcmp(start.args, "child ", 6) == 0)
        return child(start.args + 6, start.args_length - 6);
    const int64_t self = open(root(), "self");
    g_self = self > 0 ? static_cast<Handle>(self) : 0;
    print("usertest: %lu handle(s), console %u, self %u\n", start.handle_count, console(), g_self);
    test_syscall_numbers_and_ops();
    test_bad_handles();
    test_bad_pointers_console();
    test_object_new();
    test_memory();
    test_pipe();
    test_message_pipe();
    test_root();
    test_threads_and_futex();
    test_preemption();
    test_heap();
    test_storm();
    test_spawn_bad_input();
    test_children();
    print("usertest: %lu bad-input cases\n", usertest::bad_inputs());
    print("%lu passed, %lu failed\n", usertest::passed(), usertest::failed());
    return usertest::failed() == 0 ? 0 : 1;
}
