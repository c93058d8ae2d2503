// Threads, the futex, blocking do_io woken by another thread, time, and preemption of
// threads that never enter the kernel.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

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

// The FPU registers are each thread's own (issue 25: they crossed from one process to the
// next). mm0 is the MMX alias of x87 register 0; the programs are built without MMX, so the
// compiler never touches it between these statements.
constexpr uint64_t kMainSecret = 0x5ec2e75ec2e7ull, kThreadValue = 0x7777123477771234ull;

uint64_t read_mm0() {
    uint64_t v;
    asm volatile("movq %%mm0, %0" : "=r"(v));
    return v;
}
void write_mm0(uint64_t v) {
    asm volatile("movq %0, %%mm0" ::"r"(v));
}

void fpu_thread(uint64_t) {
    const uint64_t first = read_mm0();  // a new thread's registers: empty, never main's
    write_mm0(kThreadValue);
    for (int i = 0; i < 3; ++i)
        (void)sys::sleep_ns(1'000'000);  // others run meanwhile
    const uint64_t kept = read_mm0();
    asm volatile("emms");
    sys::thread_exit((first == 0 ? 1 : 0) | (kept == kThreadValue ? 2 : 0));
}

TEST(threads_fpu_state_is_per_thread) {
    write_mm0(kMainSecret);
    const int64_t t = spawn_thread(fpu_thread, 0);
    CHECK(t > 0);
    const int64_t seen = join(static_cast<Handle>(t));  // blocks: the thread runs on this CPU
    const uint64_t mine = read_mm0();
    asm volatile("emms");
    CHECK_EQ(seen & 1, 1);  // it started with empty registers, not this thread's secret
    CHECK_EQ(seen & 2, 2);  // its value survived its sleeps
    CHECK_EQ(mine, kMainSecret);
    close(static_cast<uint64_t>(t));
}

TEST(threads_futex_time) {
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
    // Wake it while the word is still 0 (it waits again) until a wake finds it waiting: a
    // sleep alone does not prove the new thread got as far as futex_wait (with sub-tick sleeps
    // a host stall can preempt it first; had the word been set already, it would never wait).
    int64_t woken = 0;
    for (int i = 0; i < 100 && woken == 0; ++i) {
        (void)sys::sleep_ns(1'000'000);
        woken = sys::futex_wake(&g_futex_word, 1);
    }
    CHECK_EQ(woken, 1);
    __atomic_store_n(&g_futex_word, 1, __ATOMIC_RELEASE);
    (void)sys::futex_wake(&g_futex_word, 1);  // 0 or 1: it may not be waiting again yet
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

// A timeout of 2^64-1 ns means "as good as never": its deadline once wrapped round past 2^64
// and the wait timed out after a few milliseconds (issue 25).
uint32_t g_forever_word = 0;
void forever_waiter(uint64_t) {
    int64_t r = 0;
    while (__atomic_load_n(&g_forever_word, __ATOMIC_ACQUIRE) == 0 && r == 0)
        r = sys::futex_wait(&g_forever_word, 0, ~0ull);
    sys::thread_exit(r);
}

TEST(threads_huge_timeouts_do_not_wrap) {
    const int64_t t = spawn_thread(forever_waiter, 0);
    CHECK(t > 0);
    (void)sys::sleep_ns(30'000'000);
    abi::ExitInfo still{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(t), Op::kGetMeta, &still, sizeof still,
                        static_cast<uint64_t>(Meta::kExit)),
             static_cast<int64_t>(sizeof still));
    CHECK_EQ(still.reason, static_cast<uint32_t>(abi::ExitReason::kRunning));
    __atomic_store_n(&g_forever_word, 1, __ATOMIC_RELEASE);
    (void)sys::futex_wake(&g_forever_word, 1);
    CHECK_EQ(join(static_cast<Handle>(t)), 0);  // woken, not timed out
    close(static_cast<uint64_t>(t));
}

bool g_spin_stop = false;
void spinner(uint64_t) {
    uint64_t spins = 0;
    while (!__atomic_load_n(&g_spin_stop, __ATOMIC_ACQUIRE))
        ++spins;  // no system call: only the timer can take the CPU away
    sys::thread_exit(spins > 0 ? 1 : 0);
}

TEST(preemption) {
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

// A close made while another thread's close is still destroying (a 32 MiB memory object frees
// its frames page by page, with preemption points between them) takes effect before its own
// call returns. With one queue of dying objects for the CPU, such a close only queued the
// object until the other thread ran again: a server's close notice waited behind another
// process's teardown (qemu_net_sockets found the server's table still full).
uint32_t g_tearing = 0;  // the round main is closing the big object in (0: none)
uint32_t g_stop_closer = 0;
uint32_t g_overlapped = 0;  // the closer's rounds that saw main's round before and after
uint32_t g_deferred = 0;    // ... of which the closed read end was still there

void closer_thread(uint64_t) {
    uint32_t done = 0;  // the last round checked: one check per round
    while (__atomic_load_n(&g_stop_closer, __ATOMIC_ACQUIRE) == 0) {
        const uint32_t round = __atomic_load_n(&g_tearing, __ATOMIC_ACQUIRE);
        if (round == 0 || round == done) {
            // Woken as main starts its close: ready at its first preemption point.
            (void)sys::futex_wait(&g_tearing, round, 1'000'000);
            continue;
        }
        done = round;
        Handle p[2];
        if (sys::object_new(Kind::kPipe, 0, p) != 2)
            sys::thread_exit(-1);
        close(p[0]);
        // The read end is gone once close returned: a write finds no reader.
        const int64_t w = sys::do_io(p[1], Op::kWrite, "x", 1);
        const bool overlapped = __atomic_load_n(&g_tearing, __ATOMIC_ACQUIRE) == round;
        close(p[1]);
        if (overlapped) {
            __atomic_add_fetch(&g_overlapped, 1, __ATOMIC_RELEASE);
            g_deferred += w == -static_cast<int64_t>(abi::Error::kPeerGone) ? 0 : 1;
        }
    }
    sys::thread_exit(0);
}

TEST(threads_close_takes_effect_while_another_thread_destroys) {
    const int64_t t = spawn_thread(closer_thread, 0);
    CHECK(t > 0);
    for (uint32_t round = 1; round <= 100 && __atomic_load_n(&g_overlapped, __ATOMIC_ACQUIRE) < 5;
         ++round) {
        Handle big = 0;
        if (sys::object_new(Kind::kMemory, 32ull << 20, &big) != 1) {
            CHECK(false);
            break;
        }
        __atomic_store_n(&g_tearing, round, __ATOMIC_RELEASE);
        (void)sys::futex_wake(&g_tearing, 1);
        close(big);
        __atomic_store_n(&g_tearing, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&g_stop_closer, 1, __ATOMIC_RELEASE);
    (void)sys::futex_wake(&g_tearing, 1);
    CHECK_EQ(join(static_cast<Handle>(t)), 0);
    close(static_cast<uint64_t>(t));
    CHECK(g_overlapped > 0);  // the closer ran while main was closing, at least once
    CHECK_EQ(g_deferred, 0u);
}

}  // namespace
}  // namespace keel::usertest
