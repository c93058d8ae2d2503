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

// Runs `children` children "MODE SEED DIE" at once (seeds first_seed on, DIE = i % 2): the
// DIE = 0 ones must exit with 0, the others fault at 0x40 with their threads still at work.
void run_stress_children(const char* mode, int children, int first_seed) {
    int64_t c[8];
    CHECK(children <= 8);
    for (int i = 0; i < children && i < 8; ++i) {
        char line[40];
        snformat(line, sizeof line, "%s %d %d", mode, first_seed + i, i % 2);
        c[i] = spawn_child(line);
        CHECK(c[i] > 0);
    }
    for (int i = 0; i < children && i < 8; ++i) {
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

TEST(smp_stress_processes_migrate_block_and_die) {
    run_stress_children("smp-stress", 6, 100);
}

// ---- affinity ---------------------------------------------------------------------------------

uint64_t all_cpus_mask(uint64_t n) {
    return n >= 64 ? ~0ull : (uint64_t{1} << n) - 1;
}

// Waits (yielding, so that one CPU runs everyone) until done() or 2 s; whether done() came true.
template <typename Done>
bool wait_until(Done done) {
    const uint64_t start = sys::clock_ns();
    while (!done()) {
        if (sys::clock_ns() - start > 2'000'000'000)
            return false;
        (void)sys::yield();
    }
    return true;
}

struct Pinned {
    Handle self = 0;        // the worker's own handle (written before `go`)
    uint32_t cpu = 0;       // the CPU it is pinned to
    uint32_t next = 0;      // the CPU it moves itself to at the end
    uint32_t go = 0;        // set by the main thread once the pin is in place
    uint64_t spins = 0;     // the worker's loop count while it waits for go
    uint64_t wrong = 0;     // times it found itself on another CPU
    int64_t moved_to = -1;  // its CPU right after its own set_affinity
};

void pinned_worker(uint64_t arg) {
    Pinned& p = *reinterpret_cast<Pinned*>(arg);
    // User code alone, no kernel entry: the reschedule IPI (or its next tick) moves it.
    while (__atomic_load_n(&p.go, __ATOMIC_ACQUIRE) == 0)
        __atomic_store_n(&p.spins, p.spins + 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 200; ++i) {
        switch (i % 4) {
            case 0:
                (void)sys::yield();
                break;
            case 1:
                (void)sys::sleep_ns(50'000);
                break;
            case 2:
                (void)sys::futex_wait(&g_never, 0, 20'000);
                break;
            default:
                for (volatile int k = 0; k < 2000; k = k + 1) {
                }
                break;
        }
        if (cpu_of(p.self) != static_cast<int64_t>(p.cpu))
            ++p.wrong;
    }
    // Its own affinity: the call returns on the new CPU.
    if (set_affinity(p.self, uint64_t{1} << p.next) == 0)
        p.moved_to = cpu_of(p.self);
    sys::thread_exit(0);
}

// One thread pinned to each CPU while it spins in user code, wherever it runs: it is there
// within 2 s without a system call of its own, and stays there through yields, sleeps, futex
// time-outs and preemption; then it moves itself and the call returns on the new CPU.
TEST(smp_affinity_pins_running_threads_and_moves_them) {
    const uint64_t n = cpus();
    CHECK(n >= 1 && n <= 16);
    if (n == 0 || n > 16)
        return;
    // Static: after a failed check the workers may still spin on them.
    static Pinned p[16];
    int64_t h[16];
    for (uint64_t i = 0; i < n; ++i) {
        p[i].cpu = static_cast<uint32_t>(i);
        p[i].next = static_cast<uint32_t>((i + 1) % n);
        h[i] = spawn_thread(pinned_worker, reinterpret_cast<uint64_t>(&p[i]));
        CHECK(h[i] > 0);
        if (h[i] <= 0)
            return;
        p[i].self = static_cast<Handle>(h[i]);
        CHECK_EQ(affinity(p[i].self), static_cast<int64_t>(all_cpus_mask(n)));  // a new thread
        CHECK(wait_until([&] { return __atomic_load_n(&p[i].spins, __ATOMIC_ACQUIRE) != 0; }));
        // Bits past the last CPU are kept but mean nothing: get_meta answers the usable ones.
        CHECK_EQ(set_affinity(p[i].self, (uint64_t{1} << i) | (uint64_t{1} << 63)), 0);
        CHECK_EQ(affinity(p[i].self), static_cast<int64_t>(uint64_t{1} << i));
        CHECK(wait_until([&] { return cpu_of(p[i].self) == static_cast<int64_t>(i); }));
    }
    for (uint64_t i = 0; i < n; ++i)
        __atomic_store_n(&p[i].go, 1, __ATOMIC_RELEASE);
    for (uint64_t i = 0; i < n; ++i) {
        CHECK_EQ(join(p[i].self), 0);
        CHECK_EQ(p[i].wrong, 0u);
        CHECK_EQ(p[i].moved_to, static_cast<int64_t>(p[i].next));
        CHECK_EQ(close(p[i].self), 0);
    }
}

struct Sleeper {
    Handle self = 0;
    uint32_t wake = 0;
};

void affinity_sleeper(uint64_t arg) {
    Sleeper& s = *reinterpret_cast<Sleeper*>(arg);
    while (__atomic_load_n(&s.wake, __ATOMIC_ACQUIRE) == 0)
        (void)sys::futex_wait(&s.wake, 0, 0);
    sys::thread_exit(cpu_of(s.self));
}

// Refusals change nothing; a thread pinned while blocked wakes on its CPU.
TEST(smp_affinity_bad_input_and_a_blocked_thread) {
    const uint64_t n = cpus();
    CHECK(n >= 1 && n < 64);
    if (n == 0 || n >= 64)
        return;
    const int64_t all = static_cast<int64_t>(all_cpus_mask(n));
    Sleeper s;
    const int64_t h = spawn_thread(affinity_sleeper, reinterpret_cast<uint64_t>(&s));
    CHECK(h > 0);
    if (h <= 0)
        return;
    s.self = static_cast<Handle>(h);
    BAD_INPUT(set_affinity(s.self, 0), kInvalidArgument);
    BAD_INPUT(set_affinity(s.self, uint64_t{1} << n), kInvalidArgument);  // no such CPU
    BAD_INPUT(set_affinity(s.self, uint64_t{1} << 63), kInvalidArgument);
    const uint32_t narrow = 1;
    BAD_INPUT(sys::do_io(s.self, Op::kSetMeta, &narrow, sizeof narrow,
                         static_cast<uint64_t>(Meta::kAffinity)),
              kInvalidArgument);
    BAD_INPUT(sys::do_io(s.self, Op::kSetMeta, nullptr, 8, static_cast<uint64_t>(Meta::kAffinity)),
              kBadAddress);
    const uint64_t one = 1;
    BAD_INPUT(
        sys::do_io(s.self, Op::kSetMeta, &one, sizeof one, static_cast<uint64_t>(Meta::kName)),
        kInvalidArgument);
    const int64_t read_only = share(s.self, 0, abi::kRightRead | abi::kRightShare);
    CHECK(read_only > 0);
    BAD_INPUT(set_affinity(static_cast<Handle>(read_only), 1), kNoRights);
    CHECK_EQ(affinity(static_cast<Handle>(read_only)), all);  // unchanged by every refusal
    CHECK_EQ(close(static_cast<Handle>(read_only)), 0);
    // Blocked (or about to be) when pinned: it wakes on the last CPU.
    CHECK_EQ(set_affinity(s.self, uint64_t{1} << (n - 1)), 0);
    __atomic_store_n(&s.wake, 1, __ATOMIC_RELEASE);
    (void)sys::futex_wake(&s.wake, 1);
    CHECK_EQ(join(s.self), static_cast<int64_t>(n - 1));
    // A thread that has ended keeps its affinity; setting it does nothing else.
    CHECK_EQ(set_affinity(s.self, 1), 0);
    CHECK_EQ(affinity(s.self), 1);
    CHECK_EQ(close(s.self), 0);
}

constexpr uint64_t kAffinityWorkers = 4;
Handle g_affinity_threads[kAffinityWorkers];
uint32_t g_affinity_start = 0;
uint64_t g_affinity_cpus = 1;
uint64_t g_affinity_wrong = 0;  // a thread found itself outside the mask it had just set
uint64_t g_affinity_die = 0;

void affinity_worker(uint64_t seed) {
    while (__atomic_load_n(&g_affinity_start, __ATOMIC_ACQUIRE) == 0)
        (void)sys::yield();
    const uint64_t all = all_cpus_mask(g_affinity_cpus);
    // Workers 0 and 1 check where their own set_affinity left them; only 2 and 3 have theirs
    // changed by others as well (which would make that check race).
    const uint64_t index = seed % kAffinityWorkers;
    const Handle self = g_affinity_threads[index];
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (uint64_t i = 0; g_affinity_die != 0 || i < kRounds; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const uint64_t mask = (x >> 8) & all;
        switch (x % 5) {
            case 0:  // itself: the call returns on a CPU of the mask
                if (mask != 0 && set_affinity(self, mask) == 0 && index < 2) {
                    const int64_t cpu = cpu_of(self);
                    if (cpu < 0 || ((mask >> cpu) & 1) == 0)
                        __atomic_add_fetch(&g_affinity_wrong, 1, __ATOMIC_RELAXED);
                }
                break;
            case 1:  // worker 2 or 3, which may be running, queued or blocked
                if (mask != 0)
                    (void)set_affinity(g_affinity_threads[2 + (x >> 32) % 2], mask);
                break;
            case 2:
                (void)sys::futex_wait(&g_never, 0, 30'000);
                break;
            default: {
                g_stress_lock.lock();
                const uint64_t v = g_stress_count;
                if (x % 8 == 3)
                    (void)sys::yield();
                g_stress_count = v + 1;
                g_stress_lock.unlock();
                break;
            }
        }
    }
    sys::thread_exit(static_cast<int64_t>(kRounds));
}

// "affinity-stress SEED DIE": kAffinityWorkers threads set their own and each other's
// affinities at random while they block, yield and count under a futex mutex. With DIE = 0
// they stop after kRounds each and the exit status is 0 when nothing went wrong; with DIE = 1
// the main thread faults after 50 ms with all of them still at it.
CHILD_MODE("affinity-stress") {
    const uint64_t seed = args.number();
    g_affinity_die = args.number();
    g_affinity_cpus = cpus();
    if (g_affinity_cpus == 0 || g_affinity_cpus >= 64)
        return 20;
    for (uint64_t i = 0; i < kAffinityWorkers; ++i) {
        const int64_t t = spawn_thread(affinity_worker, seed * kAffinityWorkers + i);
        if (t <= 0)
            return 21;
        g_affinity_threads[i] = static_cast<Handle>(t);
    }
    __atomic_store_n(&g_affinity_start, 1, __ATOMIC_RELEASE);
    if (g_affinity_die != 0) {
        (void)sys::sleep_ns(50'000'000);
        *reinterpret_cast<volatile uint64_t*>(0x40) = 1;
    }
    for (uint64_t i = 0; i < kAffinityWorkers; ++i) {
        if (join(g_affinity_threads[i]) != static_cast<int64_t>(kRounds))
            return 22;
    }
    if (g_affinity_wrong != 0)
        return 23;
    return 0;
}

TEST(smp_affinity_stress_changes_masks_of_running_blocked_and_dying_threads) {
    const abi::MemoryInfo before = memory_info();
    run_stress_children("affinity-stress", 4, 200);
    CHECK(kernel_memory_back_to(before));
}

}  // namespace
}  // namespace keel::usertest
