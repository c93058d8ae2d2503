// Bounded kernel work (issue 25): the hostile long system calls (a spawn with 256 MiB of bss, a
// 64 MiB memory object, a 1 MiB console write, 1 MiB copies, unmapping and freeing 64 MiB, the
// largest queue, a big process and a full handle table torn down) each keep the kernel's
// longest stretch without a chance to switch under its stated bound (get_meta kKernelTime on
// the process table, sched/preempt.hpp), and a sleeping thread keeps being woken on time
// meanwhile. Run under QEMU -icount (kernel/tests/CMakeLists.txt), the times are guest time:
// deterministic, whatever the host's load.
#include <keel/c/libc.hpp>
#include "check.hpp"
#include "queue.hpp"
#include "testlib.hpp"

namespace keel::boundtest {
namespace {

using abi::Kind;
using abi::Meta;
using testlib::addr;
using testlib::close;
using user::Handle;
using user::print;
namespace sys = user::sys;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kSleepNs = 1'000'000;
// A sleeper's 1 ms sleep may end this late while the other thread makes long calls.
constexpr uint64_t kLateNs = 2'000'000;

Handle table() {
    static Handle h = 0;
    if (h == 0) {
        const int64_t t = user::open(user::root(), "processes");
        h = t > 0 ? static_cast<Handle>(t) : 0;
    }
    return h;
}

abi::KernelTime kernel_time() {
    abi::KernelTime k{};
    k.longest_call = ~0ull;
    CHECK_EQ(sys::do_io(table(), abi::Op::kGetMeta, &k, sizeof k,
                        static_cast<uint64_t>(Meta::kKernelTime)),
             static_cast<int64_t>(sizeof k));
    return k;
}

// The sleeper: a second thread of this process sleeping 1 ms at a time, recording how late it
// woke, for the sleeps due after g_record_from (a measured call's start; not those due before,
// late across the idle time before it). Plain volatile globals: one writer each.
volatile bool g_stop = false;
volatile uint64_t g_wakeups = 0;
volatile uint64_t g_late_max = 0;
volatile uint64_t g_record_from = ~0ull;

void sleeper(uint64_t) {
    while (!g_stop) {
        const uint64_t t0 = sys::clock_ns();
        (void)sys::sleep_ns(kSleepNs);
        const uint64_t slept = sys::clock_ns() - t0;
        const uint64_t late = slept > kSleepNs ? slept - kSleepNs : 0;
        if (t0 + kSleepNs >= g_record_from && late > g_late_max)
            g_late_max = late;
        g_wakeups = g_wakeups + 1;
    }
    sys::thread_exit(0);
}

uint64_t g_worst_ns = 0;
uint64_t g_worst_call = ~0ull;
const char* g_worst_what = "";

// Runs one hostile call with the record started afresh and the sleeper running, then checks
// the longest stretch against the bound and the sleeper's lateness.
template <typename F>
void measure(const char* what, F&& call) {
    // Let the sleeper settle into its sleep, then start its record and the kernel's (a read
    // starts it again).
    (void)sys::sleep_ns(3 * kSleepNs);
    (void)kernel_time();
    g_late_max = 0;
    const uint64_t wakeups_before = g_wakeups;
    const uint64_t t0 = sys::clock_ns();
    g_record_from = t0;
    call();
    const uint64_t took = sys::clock_ns() - t0;
    g_record_from = ~0ull;
    const abi::KernelTime k = kernel_time();
    const uint64_t wakeups = g_wakeups - wakeups_before;
    print(
        "boundtest: %s: %lu us, longest stretch %lu us (call %lu), %lu preemption points "
        "(%lu switches); sleeper woke %lu times, late by at most %lu us\n",
        what, took / 1000, k.longest_ns / 1000, k.longest_call, k.preemption_points,
        k.preemption_switches, wakeups, g_late_max / 1000);
    CHECK(k.bound_ns > 0);
    CHECK(k.longest_ns < k.bound_ns);
    CHECK(g_late_max < kLateNs);
    // A call that lasted several sleeps must not have kept the sleeper from running.
    if (took > 5 * kSleepNs)
        CHECK(wakeups >= took / kSleepNs / 4);
    if (k.longest_ns > g_worst_ns) {
        g_worst_ns = k.longest_ns;
        g_worst_call = k.longest_call;
        g_worst_what = what;
    }
}

// A hand-made program: one page of code that reads one byte from its first handle (a pipe)
// and exits with status 0 (or faults, executing ud2, when the byte is 'f'), then kBssSegments
// segments of 64 MiB of zeros (bss: no file bytes), which the kernel allocates and zeroes at spawn
// and frees at the end.
constexpr uint32_t kBssSegments = 4;
constexpr uint64_t kCodeAt = 0x400000;
constexpr uint64_t kBssAt = 0x1000000;
constexpr uint64_t kBssSize = 64 * kMiB;

template <typename T>
void put(uint8_t* at, T v) {
    memcpy(at, &v, sizeof v);
}

void make_big_bss_image(uint8_t* f) {
    memset(f, 0, 4096);
    const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    memcpy(f, ident, sizeof ident);
    put<uint16_t>(f + 16, 2);                // ET_EXEC
    put<uint16_t>(f + 18, 62);               // x86-64
    put<uint32_t>(f + 20, 1);                // version
    put<uint64_t>(f + 24, kCodeAt + 0x800);  // entry
    put<uint64_t>(f + 32, 64);               // program headers
    put<uint16_t>(f + 52, 64);               // header size
    put<uint16_t>(f + 54, 56);               // program header size
    put<uint16_t>(f + 56, 1 + kBssSegments);
    uint8_t* ph = f + 64;
    put<uint32_t>(ph, 1);             // PT_LOAD
    put<uint32_t>(ph + 4, 5);         // R X
    put<uint64_t>(ph + 8, 0);         // offset
    put<uint64_t>(ph + 16, kCodeAt);  // vaddr
    put<uint64_t>(ph + 32, 4096);     // filesz
    put<uint64_t>(ph + 40, 4096);     // memsz
    for (uint32_t i = 0; i < kBssSegments; ++i) {
        ph += 56;
        put<uint32_t>(ph, 1);
        put<uint32_t>(ph + 4, 6);  // R W
        put<uint64_t>(ph + 16, kBssAt + i * (kBssSize + 4096));
        put<uint64_t>(ph + 40, kBssSize);
    }
    // do_io(handle 0, read, rsp, 1, 0); if byte == 'f': ud2; process_exit(0); jmp .
    const uint32_t h = abi::initial_handle(0);
    const auto b = [](uint32_t v, int shift) { return static_cast<uint8_t>(v >> shift); };
    // clang-format off
    const uint8_t code[] = {
        0xbf, b(h, 0), b(h, 8), b(h, 16), b(h, 24),  // mov edi, h
        0x31, 0xf6,                                  // xor esi, esi (Op::kRead)
        0x48, 0x89, 0xe2,                            // mov rdx, rsp
        0x41, 0xba, 1, 0, 0, 0,                      // mov r10d, 1
        0x45, 0x31, 0xc0,                            // xor r8d, r8d
        0x31, 0xc0,                                  // xor eax, eax (Syscall::kDoIo)
        0x0f, 0x05,                                  // syscall
        0x80, 0x3c, 0x24, 'f',                       // cmp byte [rsp], 'f'
        0x75, 0x02,                                  // jne over the ud2
        0x0f, 0x0b,                                  // ud2
        0x31, 0xff,                                  // xor edi, edi
        0xb8, b(static_cast<uint32_t>(abi::Syscall::kProcessExit), 0), 0, 0, 0,  // mov eax, exit
        0x0f, 0x05,                                  // syscall
        0xeb, 0xfe,                                  // jmp .
    };
    // clang-format on
    memcpy(f + 0x800, code, sizeof code);
}

TEST(start_sleeper) {
    CHECK(table() != 0);
    CHECK(user::spawn_thread(sleeper, 0) > 0);
    (void)sys::sleep_ns(5 * kSleepNs);
    CHECK(g_wakeups > 0);
}

TEST(memory_object_64mib) {
    Handle m = 0;
    measure("object_new 64 MiB memory",
            [&] { CHECK_EQ(sys::object_new(Kind::kMemory, 64 * kMiB, &m), 1); });
    const int64_t at = sys::do_io(m, abi::Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    measure("unmap 64 MiB", [&] { CHECK_EQ(sys::unmap(static_cast<uint64_t>(at)), 0); });
    measure("close the last handle of 64 MiB", [&] { CHECK_EQ(close(m), 0); });
}

TEST(copies_1mib) {
    Handle m = 0;
    CHECK_EQ(sys::object_new(Kind::kMemory, 2 * kMiB, &m), 1);
    Handle buffer_handle = 0;
    const uint64_t buffer = user::map_new(kMiB, &buffer_handle);
    CHECK(buffer != 0);
    memset(reinterpret_cast<void*>(buffer), 0x5a, kMiB);
    measure("do_io write 1 MiB into memory", [&] {
        CHECK_EQ(sys::do_io(m, abi::Op::kWrite, reinterpret_cast<void*>(buffer), kMiB),
                 static_cast<int64_t>(kMiB));
    });
    CHECK_EQ(sys::do_io(m, abi::Op::kSeek, nullptr, 0, 0), 0);
    memset(reinterpret_cast<void*>(buffer), 0, kMiB);
    measure("do_io read 1 MiB from memory", [&] {
        CHECK_EQ(sys::do_io(m, abi::Op::kRead, reinterpret_cast<void*>(buffer), kMiB),
                 static_cast<int64_t>(kMiB));
    });
    const auto* bytes = reinterpret_cast<const uint8_t*>(buffer);
    CHECK(bytes[0] == 0x5a && bytes[kMiB / 2] == 0x5a && bytes[kMiB - 1] == 0x5a);
    CHECK_EQ(sys::unmap(buffer), 0);
    close(buffer_handle);
    close(m);
}

// 1 MiB of blank lines of 1 KiB each: harmless in the log.
void blank_lines(char* text) {
    memset(text, ' ', kMiB);
    for (uint64_t i = 1023; i < kMiB; i += 1024)
        text[i] = '\n';
}

TEST(console_write_1mib) {
    Handle buffer_handle = 0;
    const uint64_t buffer = user::map_new(kMiB, &buffer_handle);
    CHECK(buffer != 0);
    auto* text = reinterpret_cast<char*>(buffer);
    blank_lines(text);
    measure("console write 1 MiB", [&] {
        CHECK_EQ(sys::do_io(user::console(), abi::Op::kWrite, text, kMiB),
                 static_cast<int64_t>(kMiB));
    });
    CHECK_EQ(sys::unmap(buffer), 0);
    close(buffer_handle);
}

TEST(queue_largest) {
    const abi::QueueGeometry g{abi::kMaxQueueCapacity, 60, 64 * 1024, 0};
    abi::QueueInfo info{};
    int64_t q = 0;
    measure("queue_create of 4 MiB", [&] {
        q = sys::queue_create(&g, &info);
        CHECK(q > 0);
    });
    measure("queue_destroy of 4 MiB", [&] { CHECK_EQ(sys::queue_destroy(q), 0); });
}

// The image of make_big_bss_image in a memory object, and the pipe its child reads (pipe[0]
// is given to it; a byte on pipe[1] ends it), given back at the end of the scope.
struct BigBssImage {
    Handle image = 0;
    uint64_t at = 0;
    Handle pipe[2] = {0, 0};
    BigBssImage() {
        at = user::map_new(4096, &image);
        CHECK(at != 0);
        make_big_bss_image(reinterpret_cast<uint8_t*>(at));
        CHECK_EQ(sys::object_new(Kind::kPipe, 0, pipe), 2);
    }
    ~BigBssImage() {
        CHECK_EQ(sys::unmap(at), 0);
        close(image);
        close(pipe[0]);
        close(pipe[1]);
    }
    BigBssImage(const BigBssImage&) = delete;
    BigBssImage& operator=(const BigBssImage&) = delete;
};

TEST(spawn_256mib_bss) {
    const BigBssImage big;
    const Handle image = big.image;
    const Handle* pipe = big.pipe;
    const abi::SpawnArgs args{addr(&pipe[0]), 1, 0, 0, 0, 0, 0};
    int64_t child = 0;
    measure("process_spawn with 256 MiB of bss", [&] {
        child = sys::spawn(image, &args);
        CHECK(child > 0);
    });
    // The child waits for a byte, then exits: its end frees 256 MiB (in its process_exit).
    measure("a 256 MiB process ending", [&] {
        CHECK_EQ(sys::do_io(pipe[1], abi::Op::kWrite, "!", 1), 1);
        if (child > 0)
            CHECK_EQ(testlib::wait_child(child).status, 0);
    });
    // Again, ending by a fault: the teardown runs from the exception, outside any call.
    child = sys::spawn(image, &args);
    CHECK(child > 0);
    measure("a 256 MiB process ending by a fault", [&] {
        CHECK_EQ(sys::do_io(pipe[1], abi::Op::kWrite, "f", 1), 1);
        if (child > 0)
            CHECK_EQ(testlib::wait_child(child).reason,
                     static_cast<uint32_t>(abi::ExitReason::kFault));
    });
}

// The same long work submitted through a queue: one round (queue_poll) performs a spawn with
// 256 MiB of bss through the process table and a 1 MiB console write. The round reaches the
// operations' preemption points like a system call of its own (obj/queue.cpp). Meanwhile a
// second thread polls the same queue again and again: while the round is at a preemption
// point, its rounds are turned away (0 completions), never run inside the first.
volatile uint64_t g_poll_queue = 0;
volatile bool g_polling = false;
volatile uint64_t g_polls = 0;
volatile uint64_t g_poll_errors = 0;
volatile uint64_t g_poll_completions = 0;

void poller(uint64_t) {
    while (g_polling) {
        const int64_t r = sys::queue_poll(g_poll_queue);
        g_polls = g_polls + 1;
        if (r < 0)
            g_poll_errors = g_poll_errors + 1;
        else
            g_poll_completions = g_poll_completions + static_cast<uint64_t>(r);
        (void)sys::sleep_ns(100'000);  // often, without taking every slice from the round
    }
}

TEST(queued_long_work) {
    const BigBssImage big;
    const Handle image = big.image;
    const Handle* pipe = big.pipe;
    user::Queue q;
    CHECK_EQ(q.create(4, 2, kMiB), 0);
    auto text = q.client().acquire();
    auto spawn = q.client().acquire();
    CHECK(text.ok() && spawn.ok());
    if (!text.ok() || !spawn.ok())
        return;
    auto* bytes = reinterpret_cast<char*>(q.client().bytes(*text).data());
    blank_lines(bytes);
    abi::TableSpawn ts{};
    ts.image = image;
    ts.args = abi::SpawnArgs{addr(&pipe[0]), 1, 0, 0, 0, 0, 0};
    memcpy(q.client().bytes(*spawn).data(), &ts, sizeof ts);
    CHECK(q.submit(abi::Op::kWrite, user::console(), 0, 1, std::move(*text), kMiB).ok());
    CHECK(q.submit(abi::Op::kCreate, table(), 0, 2, std::move(*spawn), sizeof ts).ok());
    g_poll_queue = q.handle();
    g_polling = true;
    CHECK(user::spawn_thread(poller, 0) > 0);
    int64_t posted = 0;
    measure("a queue round: a 256 MiB-bss spawn and a 1 MiB console write",
            [&] { posted = q.poll(); });
    g_polling = false;
    (void)sys::sleep_ns(5 * kSleepNs);  // the poller's last call ends
    print("boundtest: meanwhile %lu polls of the same queue: %lu errors, %lu completions\n",
          g_polls, g_poll_errors, g_poll_completions);
    CHECK_EQ(posted, 2);  // the round in progress posted both; the turned-away ones none
    CHECK(g_polls > 0);
    CHECK_EQ(g_poll_errors, 0u);
    CHECK_EQ(g_poll_completions, 0u);
    int64_t child = 0;
    while (auto r = q.reap()) {
        CHECK_EQ(r->status, static_cast<uint16_t>(ipc::abi::Status::Ok));
        if (r->user_data == 2)
            child = static_cast<int64_t>(r->value);
    }
    CHECK(child > 0);
    CHECK_EQ(sys::do_io(pipe[1], abi::Op::kWrite, "!", 1), 1);
    if (child > 0)
        CHECK_EQ(testlib::wait_child(child).status, 0);
    CHECK_EQ(q.destroy(), 0);
}

// Fills its handle table with 1 MiB memory objects, then exits: the kernel closes them all.
CHILD_MODE("full-table") {
    int64_t n = 0;
    for (;;) {
        Handle m;
        const int64_t r = sys::object_new(Kind::kMemory, kMiB, &m);
        if (r != 1)
            break;
        ++n;
    }
    return n > 100 ? 0 : 1;
}

TEST(full_handle_table_ending) {
    const int64_t child = testlib::spawn_child("full-table");
    CHECK(child > 0);
    measure("a process with a full handle table of memory ending", [&] {
        if (child > 0)
            CHECK_EQ(testlib::wait_child(child).status, 0);
    });
}

// A thread making 64 MiB memory objects one after another (each about 94 ms of kernel work)
// while the main thread faults: the process ends in the middle of a call, which gives up at its
// next preemption point.
CHILD_MODE("die-mid-call") {
    const auto maker = [](uint64_t) {
        for (;;) {
            Handle m;
            if (sys::object_new(Kind::kMemory, 64 * kMiB, &m) == 1)
                close(m);
        }
    };
    if (user::spawn_thread(maker, 0) <= 0)
        return 1;
    (void)sys::sleep_ns(20 * kSleepNs);  // the maker is inside an object_new now
    *reinterpret_cast<volatile uint64_t*>(0x10) = 1;
    return 100;  // only if the fault did not happen
}

TEST(process_ending_mid_call) {
    const abi::MemoryInfo before = testlib::memory_info();
    const uint64_t t0 = sys::clock_ns();
    const int64_t child = testlib::spawn_child("die-mid-call");
    CHECK(child > 0);
    measure("a process ending while its other thread makes 64 MiB objects", [&] {
        if (child > 0)
            CHECK_EQ(testlib::wait_child(child).reason,
                     static_cast<uint32_t>(abi::ExitReason::kFault));
    });
    // The maker gave up its object_new (about 94 ms whole) soon after the fault at 20 ms.
    CHECK(sys::clock_ns() - t0 < 60 * kSleepNs);
    CHECK(testlib::kernel_memory_back_to(before));  // the object given up on is freed
}

TEST(report) {
    g_stop = true;
    (void)sys::sleep_ns(3 * kSleepNs);
    print("boundtest: worst case %lu us in call %lu (%s), bound %lu us\n", g_worst_ns / 1000,
          g_worst_call, g_worst_what, kernel_time().bound_ns / 1000);
}

}  // namespace
}  // namespace keel::boundtest

int keel_main(const keel::user::StartInfo& start) {
    return keel::testlib::run(start, "boundtest");
}
