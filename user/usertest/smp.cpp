// Threads on several CPUs (issue 22, stage 2; meaningful under `smp=threads` with -smp 2 or
// more, and run everywhere): a page unmapped by one thread while another keeps reading it
// (TLB shootdown), and threads of several processes migrating, blocking on futexes and dying
// while others wait on them.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

// ---- TLB shootdown ---------------------------------------------------------------------------

constexpr uint64_t kMarker = 0x7e57'5400'7e57'5400ull;
uint64_t g_reads = 0;        // the reader's loop count (the reader's own store)
uint64_t g_wrong = 0;        // a value other than the marker was read
uint64_t g_reader_page = 0;  // where the reader reads

void tlb_reader(uint64_t) {
    const auto* p = reinterpret_cast<volatile const uint64_t*>(g_reader_page);
    for (;;) {
        if (*p != kMarker)
            __atomic_store_n(&g_wrong, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&g_reads, g_reads + 1, __ATOMIC_RELEASE);
    }
}

// A reader thread spins on a page (never entering the kernel) while the main thread unmaps it
// and closes the only handle to its memory object, which frees the frame. The reader must
// fault on the page (the process ends with vector 14 at that address), never read on through a
// stale TLB entry into a frame the kernel may hand to someone else: with the reader on another
// CPU only the shootdown IPI can stop it. Returns 100 if the reader survived 200 ms, 101 if it
// never started, 102 if it read something else than the marker before the unmap. (Checked:
// with the shootdown taken out, under smp=threads on 2 CPUs, the reader reads on: 100.)
CHILD_MODE("tlb-shootdown") {
    Handle m;
    if (sys::object_new(Kind::kMemory, 4096, &m) < 0)
        return 1;
    const int64_t at = sys::do_io(m, Op::kMap, nullptr, 0, 1);
    if (at <= 0)
        return 2;
    *reinterpret_cast<volatile uint64_t*>(at) = kMarker;
    g_reader_page = static_cast<uint64_t>(at);
    if (spawn_thread(tlb_reader, 0) <= 0)
        return 3;
    const uint64_t start = sys::clock_ns();
    while (__atomic_load_n(&g_reads, __ATOMIC_ACQUIRE) < 1000) {
        if (sys::clock_ns() - start > 2'000'000'000)
            return 101;
    }
    if (__atomic_load_n(&g_wrong, __ATOMIC_RELAXED) != 0)
        return 102;
    if (sys::unmap(static_cast<uint64_t>(at)) != 0)
        return 4;
    (void)close(m);  // the frame goes back to the kernel
    // Someone else may get the frame now: take a few, as another process would.
    Handle others[4];
    for (Handle& o : others) {
        if (sys::object_new(Kind::kMemory, 4096, &o) >= 0)
            (void)sys::do_io(o, Op::kWrite, "reused", 6);
    }
    (void)sys::sleep_ns(200'000'000);
    return 100;
}

TEST(smp_unmap_stops_a_reader_on_another_cpu) {
    for (int round = 0; round < 3; ++round) {
        const int64_t c = spawn_child("tlb-shootdown");
        CHECK(c > 0);
        const abi::ExitInfo info = wait_child(c);
        if (info.reason != static_cast<uint32_t>(abi::ExitReason::kFault))
            print("usertest: tlb-shootdown child: exit status %ld (100: the reader read on)\n",
                  info.status);
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
        CHECK_EQ(info.vector, 14u);
        CHECK(info.cr2 >= abi::kUserMapBase && info.cr2 < abi::kUserTop);
    }
}

// ---- migrating, blocking and dying -------------------------------------------------------------

constexpr uint64_t kWorkers = 4;
constexpr uint64_t kRounds = 300;
Mutex g_stress_lock;
uint64_t g_stress_count = 0;
uint32_t g_never = 0;  // nobody ever wakes a futex_wait on it

void stress_worker(uint64_t seed) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (uint64_t i = 0; i < kRounds; ++i) {
        g_stress_lock.lock();
        const uint64_t v = g_stress_count;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x % 8 == 0)
            (void)sys::yield();  // another thread (here or on another CPU) meets the lock
        g_stress_count = v + 1;
        g_stress_lock.unlock();
        if (x % 16 == 1)
            (void)sys::futex_wait(&g_never, 0, 50'000);  // blocks, times out, wakes elsewhere
    }
    sys::thread_exit(static_cast<int64_t>(kRounds));
}

void stress_sleeper(uint64_t) {
    (void)sys::futex_wait(&g_never, 0, 0);  // until the process ends
    sys::thread_exit(1);
}

void stress_joiner(uint64_t thread) {
    (void)join(static_cast<Handle>(thread));  // waits on a thread that never ends by itself
    sys::thread_exit(2);
}

// "smp-stress SEED DIE": kWorkers threads count under a futex mutex, yielding and blocking
// briefly; with DIE = 1 a thread sleeps on a futex forever and another waits to join it while
// the main thread faults after the count: the process ends with both blocked. Exits with 0
// when the count is right.
CHILD_MODE("smp-stress") {
    const uint64_t seed = args.number();
    const uint64_t die = args.number();
    int64_t workers[kWorkers];
    for (uint64_t i = 0; i < kWorkers; ++i) {
        workers[i] = spawn_thread(stress_worker, seed * kWorkers + i);
        if (workers[i] <= 0)
            return 10;
    }
    if (die != 0) {
        const int64_t sleeper = spawn_thread(stress_sleeper, 0);
        if (sleeper <= 0 || spawn_thread(stress_joiner, static_cast<uint64_t>(sleeper)) <= 0)
            return 11;
    }
    for (uint64_t i = 0; i < kWorkers; ++i) {
        if (join(static_cast<Handle>(workers[i])) != static_cast<int64_t>(kRounds))
            return 12;
    }
    if (g_stress_count != kWorkers * kRounds)
        return 13;
    if (die != 0)
        *reinterpret_cast<volatile uint64_t*>(0x40) = 1;  // with two threads blocked
    return 0;
}

TEST(smp_stress_processes_migrate_block_and_die) {
    constexpr int kChildren = 6;
    int64_t c[kChildren];
    for (int i = 0; i < kChildren; ++i) {
        char mode[40];
        snformat(mode, sizeof mode, "smp-stress %d %d", 100 + i, i % 2);
        c[i] = spawn_child(mode);
        CHECK(c[i] > 0);
    }
    for (int i = 0; i < kChildren; ++i) {
        const abi::ExitInfo info = wait_child(c[i]);
        if (i % 2 == 0) {
            CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
            CHECK_EQ(info.status, 0);
        } else {
            CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
            CHECK_EQ(info.vector, 14u);
            CHECK_EQ(info.cr2, 0x40u);
        }
    }
}

}  // namespace
}  // namespace keel::usertest
