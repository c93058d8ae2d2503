// A bounded random system-call storm. Run in a child ("storm SEED"): random system calls with
// random and hostile arguments against a pool of live, closed and bogus handles. Whatever the child
// does to itself, the kernel must survive; the parent checks that it ends and that the system still
// works afterwards. A pump thread keeps the pipes moving and re-arms a timer so that blocking
// reads and writes finish, and a watchdog ends the child if it ever blocks for good (exit
// interrupts every blocked thread). The storm's writes of 16 random bytes to the timer arm it
// with random TimerSets.
#include "timer.hpp"
#include "usertest.hpp"

namespace keel::usertest {
namespace {

constexpr uint64_t kStormCalls = 5000;

Handle g_storm_pipe[2];
Handle g_storm_channel[2];
Handle g_pump_pipe[2];  // the pump's own duplicates: the storm may close the originals
Handle g_pump_channel[2];
Handle g_storm_timer;
Handle g_pump_timer;  // the pump's duplicate

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
        (void)timer::arm(g_pump_timer, sys::clock_ns() + 500'000);  // ends blocked timer reads
        (void)sys::sleep_ns(1'000'000);
    }
}

void watchdog(uint64_t) {
    (void)sys::sleep_ns(20'000'000'000ull);
    print("storm: watchdog fired\n");
    sys::process_exit(2);
}

// How many calls were refused for want of memory or room (the exhaustion runs expect some).
uint64_t g_no_memory = 0;
uint64_t g_full = 0;

int64_t note(int64_t r) {
    g_no_memory += r == err(abi::Error::kNoMemory) ? 1 : 0;
    g_full += r == err(abi::Error::kFull) ? 1 : 0;
    return r;
}

// `flags`: testlib::Exhaust, applied once the storm is set up (its pump and watchdog run).
int storm(uint64_t seed, uint64_t calls, uint64_t flags) {
    Random random(seed);
    static uint8_t scratch[3 * 4096];
    (void)sys::object_new(Kind::kPipe, 0, g_storm_pipe);
    (void)sys::object_new(Kind::kMessagePipe, 0, g_storm_channel);
    Handle memory = 0, root_copy = 0, closed[2] = {0, 0};
    (void)sys::object_new(Kind::kMemory, 8192, &memory);
    (void)sys::object_new(Kind::kRoot, 0, &root_copy);
    (void)sys::object_new(Kind::kPipe, 0, closed);
    close(closed[0]);
    g_storm_timer = static_cast<Handle>(timer::create());
    g_pump_timer = static_cast<Handle>(share(g_storm_timer, 0, abi::kRightsAll));
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
                             g_storm_timer,
                             0xffff,
                             1ull << 40,
                             0x7fff0001};
    const uint64_t base = reinterpret_cast<uint64_t>(scratch);
    if ((flags & kExhaustMemory) != 0 && take_memory_leaving(kExhaustLeft) == 0)
        return 3;
    if ((flags & kExhaustHandles) != 0 && fill_handle_table() == 0)
        return 4;
    uint64_t done = 0;
    for (; done < calls; ++done) {
        const uint64_t r = random.next();
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
                if (h == g_storm_timer && op == static_cast<uint64_t>(Op::kWrite) && (r & 16) &&
                    p >= base && p + 16 <= base + sizeof scratch)
                    len = 16;  // a TimerSet of whatever the scratch holds

                (void)note(sys::do_io_raw(h, op, p, len, arg));
                break;
            }
            case 4: {
                const uint64_t out = (r & 2) ? base + (r % 64) * 8 : p;
                if (out < base || out >= base + sizeof scratch - 8)
                    (void)note(syscall(abi::Syscall::kObjectNew, (r >> 48) % 10, r % 100000, out));
                else {
                    Handle made[2] = {0, 0};
                    if (note(sys::object_new(static_cast<Kind>((r >> 48) % 10), r % 100000, made)) >
                        0) {
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
                const abi::SpawnArgs args{(r & 4) ? base : p, r % 20, p, len % 2000, 0, 0,
                                          (r & 32) ? p : 0};
                const int64_t c = note(syscall(abi::Syscall::kProcessSpawn, h,
                                               (r & 8) ? reinterpret_cast<uint64_t>(&args) : p));
                if (c > 0)
                    close(static_cast<uint64_t>(c));
                break;
            }
            default:
                (void)note(
                    syscall(static_cast<abi::Syscall>(6 + (r >> 50) % 8), r % 100000, p, len));
                break;
        }
    }
    print("storm: %lu calls, seed %lu, flags %lu: %lu refused NoMemory, %lu Full\n", done, seed,
          flags, g_no_memory, g_full);
    // Running out must have been met, not just set up.
    if (((flags & kExhaustMemory) != 0 && g_no_memory == 0) ||
        ((flags & kExhaustHandles) != 0 && g_full == 0))
        return 5;
    return 0;
}

// "storm SEED [FLAGS]"
CHILD_MODE("storm") {
    const uint64_t seed = args.number();
    return storm(seed, kStormCalls, args.number());
}

// The storm in a child with `flags` (testlib::Exhaust): it must end normally, and everything it
// made must go with it.
void run_storm(uint64_t flags) {
    const uint64_t seed = sys::clock_ns();
    char mode[64];
    snformat(mode, sizeof mode, "storm %lu %lu", seed, flags);
    print("storm: seed %lu (replay: --module \"build/kernel/user/usertest.elf child %s\")\n", seed,
          mode);
    // A child first, so that the kernel heap has grown for one before the count is taken.
    CHECK_EQ(wait_child(spawn_child("exit 0")).status, 0);
    const abi::MemoryInfo before = memory_info();
    const int64_t c = spawn_child_limited(mode, exhaust_limits(flags));
    CHECK(c > 0);
    const abi::ExitInfo info = wait_child(c);
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status,
             0);  // 2: the watchdog ended a storm that blocked for good; 3-5: see storm()
    // Everything the storm made went with it: the kernel's own count is back (issue 25).
    CHECK(kernel_memory_back_to(before));
    // The system still works: a new child starts and exits normally.
    const int64_t after = spawn_child("exit 42");
    CHECK_EQ(wait_child(after).status, 42);
}

TEST(random_syscall_storm) {
    run_storm(0);
}

// The exhaustion suite (issue 25): the same storm with its memory limit nearly reached (calls
// that allocate fail mid-way), then with its handle table full.
TEST(random_syscall_storm_low_memory) {
    run_storm(kExhaustMemory);
}

TEST(random_syscall_storm_full_handle_table) {
    run_storm(kExhaustHandles);
}

}  // namespace
}  // namespace keel::usertest
