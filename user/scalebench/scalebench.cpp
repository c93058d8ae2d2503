// scalebench: issue 22's scaling benchmark (bench row B14, bench/run.py b14). N independent
// pairs at once, N = 1, 2 and 4, wall-clock operations per second, in a boot with as many CPUs
// as bench/run.py gives QEMU (-smp 1, 2, 4); the rows:
//   spin    N threads counting down a register loop, no system call: what the machine (QEMU's
//           multi-threaded TCG on the host's cores) gives N CPUs at best, the ceiling the
//           other row is read against
//   pipes   N client threads of this process, each with its own echo child process (this
//           program, started with "echo"): one byte there and back through two pipes per
//           operation, 4 do_io and 2 switches between address spaces, all of them in the kernel
//           (which the big kernel lock keeps to one CPU at a time)
// Output: "scalebench: cpus C row NAME pairs N ops K ns T" per measurement (C: the CPUs running
// threads, from the process table; T: from the first thread's start to the last one's end),
// then "scalebench: done, F failures". Argument "echo": the pipe child (handles 1 and 2 are the
// ends to read from and write to). Run by init (`--user scalebench+processes`), which gives it
// "self" (its image, for the children) and "processes". About a second per boot at -smp 1.
#include <atomic>

#include <keel/c/libc.hpp>
#include "echo_child.hpp"
#include "runtime.hpp"
#include "testlib.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint32_t kMaxPairs = 4;
int g_failures = 0;

void fail(const char* what, int64_t v) {
    ++g_failures;
    print("scalebench: FAILED %s (%ld)\n", what, v);
}

// 2 instructions per iteration (dec, jnz).
void spin_loop(uint64_t n) {
    asm volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

// One pair: the client thread's pipe ends and child, and what it measured.
struct Pair {
    bench::EchoChild echo;
    int64_t thread = 0;
    uint64_t ops = 0;
    uint64_t start = 0;
    uint64_t end = 0;
    int64_t bad = 0;
};
Pair g_pairs[kMaxPairs];

// The threads wait for this to turn 1 (futex), so that all start together.
std::atomic<uint32_t> g_go{0};
std::atomic<uint32_t> g_row{0};  // 0 spin, 1 pipes

void run_pair(uint64_t index) {
    while (g_go.load(std::memory_order_acquire) == 0)
        (void)sys::futex_wait(&g_go, 0, 0);
    Pair& p = g_pairs[index];
    p.start = sys::clock_ns();
    if (g_row.load(std::memory_order_relaxed) == 0) {
        spin_loop(p.ops);
    } else {
        uint8_t byte = static_cast<uint8_t>(index);
        for (uint64_t i = 0; i < p.ops; ++i)
            p.bad |= (sys::do_io(p.echo.to_child, Op::kWrite, &byte, 1) ^ 1) |
                     (sys::do_io(p.echo.from_child, Op::kRead, &byte, 1) ^ 1);
    }
    p.end = sys::clock_ns();
}

bool start_child(Pair& p) {
    const int64_t r = bench::start_echo_child("scalebench-echo", &p.echo);
    if (r < 0)
        fail("starting an echo child", r);
    return r == 0;
}

void stop_child(Pair& p) {
    const int64_t r = bench::stop_echo_child(&p.echo);
    if (r != 0)
        fail("the echo child's exit", r);
}

// One measurement: `pairs` threads of row `row`, `ops` operations each.
void measure(uint32_t cpus, uint32_t row, uint32_t pairs, uint64_t ops) {
    const char* name = row == 0 ? "spin" : "pipes";
    bool ready = true;
    for (uint32_t i = 0; i < pairs; ++i) {
        g_pairs[i] = Pair{};
        g_pairs[i].ops = ops;
        if (row == 1 && ready)
            ready = start_child(g_pairs[i]);
    }
    g_go.store(0, std::memory_order_relaxed);
    g_row.store(row, std::memory_order_relaxed);
    uint32_t started = 0;
    for (uint32_t i = 0; ready && i < pairs; ++i) {
        g_pairs[i].thread = spawn_thread(run_pair, i);
        if (g_pairs[i].thread <= 0) {
            fail("spawn_thread", g_pairs[i].thread);
            ready = false;
        } else {
            ++started;
        }
    }
    g_go.store(1, std::memory_order_release);
    (void)sys::futex_wake(&g_go, kMaxPairs);
    uint64_t first = UINT64_MAX, last = 0;
    for (uint32_t i = 0; i < started; ++i) {
        const int64_t joined = join(static_cast<Handle>(g_pairs[i].thread));
        (void)sys::do_io(static_cast<Handle>(g_pairs[i].thread), Op::kClose);
        if (joined != 0)
            fail("a pair's thread", joined);
        first = g_pairs[i].start < first ? g_pairs[i].start : first;
        last = g_pairs[i].end > last ? g_pairs[i].end : last;
        if (g_pairs[i].bad != 0)
            fail(name, g_pairs[i].bad);
    }
    for (uint32_t i = 0; i < pairs; ++i)
        stop_child(g_pairs[i]);
    if (ready && started == pairs)
        print("scalebench: cpus %u row %s pairs %u ops %lu ns %lu\n", cpus, name, pairs,
              pairs * ops, last - first);
}

}  // namespace

int keel_main(const StartInfo& start) {
    if (start.args_length == 4 && memcmp(start.args, "echo", 4) == 0)
        return bench::echo_main();
    const auto cpus = static_cast<uint32_t>(testlib::cpus());
    // Per pair: about 150 ms of spinning, and of round trips, at -smp 1.
    for (uint32_t pairs = 1; pairs <= kMaxPairs; pairs *= 2) {
        measure(cpus, 0, pairs, 50'000'000);
        measure(cpus, 1, pairs, 1'000);
    }
    print("scalebench: done, %d failures\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
