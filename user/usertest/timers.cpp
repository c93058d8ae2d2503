// Time below the old 10 ms tick and timer objects (issue 15): sleep and timer deadlines are
// never met early and usually within a fraction of a millisecond; periodic timers count every
// period; bad TimerSets and rights are refused; timers that die armed (closed, with a reader
// blocked, or with their process) crash nothing.
//
// Timing under TCG on a shared host is noisy: a busy host stalls QEMU for milliseconds now and
// then. So each timing is sampled kSamples times: "never early" is checked on every sample,
// "on time" on the median (late by less than kLateNs), and the spread is printed. With the
// old 10 ms tick a 1 ms sleep took 1 to 11 ms, a median of about 6.
#include "timer.hpp"
#include "usertest.hpp"

namespace keel::usertest {
namespace {

constexpr int kSamples = 20;
constexpr uint64_t kLateNs = 2'000'000;

// Sorts the samples and prints "what: late by min/median/max"; returns the median.
uint64_t report(const char* what, uint64_t* late, int n) {
    for (int i = 1; i < n; ++i) {
        for (int j = i; j > 0 && late[j - 1] > late[j]; --j) {
            const uint64_t x = late[j];
            late[j] = late[j - 1];
            late[j - 1] = x;
        }
    }
    print("usertest: %s: late by min %lu us, median %lu us, max %lu us (%d samples)\n", what,
          late[0] / 1000, late[n / 2] / 1000, late[n - 1] / 1000, n);
    return late[n / 2];
}

// The wall clock (clock 1) is the host's time under QEMU, and runs with the monotonic one.
TEST(wall_clock) {
    const uint64_t wall = sys::wall_clock_ns();
    CHECK(wall > 1'796'428'800ull * 1'000'000'000ull);  // after 2026-12-05, when this was written
    CHECK(wall < 4'354'819'198ull * 1'000'000'000ull);  // before FAT's last date (2107)
    const uint64_t t0 = sys::clock_ns();
    CHECK_EQ(sys::sleep_ns(2'000'000), 0);
    CHECK(sys::wall_clock_ns() - wall >= sys::clock_ns() - t0 - 1'000'000);
    BAD_INPUT(syscall(abi::Syscall::kClock, 2), kInvalidArgument);
}

TEST(sleep_below_the_tick) {
    for (const uint64_t ns : {1'000'000ull, 200'000ull}) {
        uint64_t late[kSamples];
        for (int i = 0; i < kSamples; ++i) {
            const uint64_t t0 = sys::clock_ns();
            CHECK_EQ(sys::sleep_ns(ns), 0);
            const uint64_t elapsed = sys::clock_ns() - t0;
            CHECK(elapsed >= ns);  // never early
            late[i] = elapsed >= ns ? elapsed - ns : 0;
        }
        CHECK(report(ns == 1'000'000 ? "sleep 1 ms" : "sleep 200 us", late, kSamples) < kLateNs);
    }
    // A futex timeout too.
    uint32_t word = 0;
    const uint64_t t0 = sys::clock_ns();
    BAD_INPUT(sys::futex_wait(&word, 0, 1'000'000), kTimedOut);
    CHECK(sys::clock_ns() - t0 >= 1'000'000);
}

TEST(timer_read_waits_for_its_deadline) {
    const int64_t t = timer::create();
    CHECK(t > 0);
    const auto h = static_cast<Handle>(t);
    CHECK_EQ(kind_of(h), static_cast<uint64_t>(Kind::kTimer));
    CHECK_EQ(rights_of(h), uint64_t{abi::kRightRead | abi::kRightWrite | abi::kRightShare});
    CHECK_EQ(timer::pending(h), 0);
    uint64_t late[kSamples];
    for (int i = 0; i < kSamples; ++i) {
        const uint64_t deadline = sys::clock_ns() + 1'000'000;
        CHECK_EQ(timer::arm(h, deadline), 16);
        CHECK_EQ(timer::wait(h), 1);
        const uint64_t now = sys::clock_ns();
        CHECK(now >= deadline);  // never early
        late[i] = now >= deadline ? now - deadline : 0;
    }
    CHECK(report("timer 1 ms (do_io read)", late, kSamples) < kLateNs);
    // A deadline already past expires at once; re-arming clears what was not read; 0 disarms.
    CHECK_EQ(timer::arm(h, 1), 16);
    CHECK_EQ(timer::pending(h), 1);
    uint64_t n = 0;
    CHECK_EQ(sys::do_io(h, Op::kPeek, &n, sizeof n), 8);
    CHECK_EQ(n, 1u);
    CHECK_EQ(timer::arm(h, sys::clock_ns() + 1'000'000'000), 16);
    CHECK_EQ(timer::pending(h), 0);
    CHECK_EQ(timer::arm(h, 0), 16);
    CHECK_EQ(timer::pending(h), 0);
    close(h);
}

TEST(timer_periodic_counts_every_period) {
    const auto h = static_cast<Handle>(timer::create());
    const uint64_t period = 1'000'000;
    const uint64_t first = sys::clock_ns() + period;
    CHECK_EQ(timer::arm(h, first, period), 16);
    (void)sys::sleep_ns(20 * period);
    const int64_t n = timer::wait(h);
    const uint64_t now = sys::clock_ns();
    // Never more than the periods that ended (strict); most of them (TCG noise: generous).
    CHECK(n >= 10);
    CHECK(static_cast<uint64_t>(n) <= (now - first) / period + 1);
    // The next wait blocks until the next period ends.
    const int64_t m = timer::wait(h);
    CHECK(m >= 1);
    print("usertest: periodic 1 ms timer: %ld expirations in the first %lu us, then %ld\n", n,
          (now - first) / 1000 + 1000, m);
    // A periodic timer armed in the past counts the missed periods at once, in phase.
    const uint64_t past = sys::clock_ns() - 10 * period;
    CHECK_EQ(timer::arm(h, past, period), 16);
    const int64_t missed = timer::pending(h);
    const uint64_t later = sys::clock_ns();  // a stalled host may have let more periods end
    CHECK(missed >= 11 && static_cast<uint64_t>(missed) <= (later - past) / period + 1);
    CHECK_EQ(timer::arm(h, 0), 16);
    close(h);
}

TEST(timer_bad_input) {
    Handle h = 0;
    BAD_INPUT(sys::object_new(Kind::kTimer, 1, &h), kInvalidArgument);
    const auto t = static_cast<Handle>(timer::create());
    const abi::TimerSet set{1, 0};
    BAD_INPUT(sys::do_io(t, Op::kWrite, &set, 15), kInvalidArgument);
    BAD_INPUT(sys::do_io(t, Op::kWrite, &set, 17), kInvalidArgument);
    BAD_INPUT(sys::do_io(t, Op::kWrite, nullptr, 0), kInvalidArgument);
    BAD_INPUT(timer::arm(t, sys::clock_ns() + 1'000'000, 99'999), kInvalidArgument);
    BAD_INPUT(timer::arm(t, 1, 1), kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(t, static_cast<uint64_t>(Op::kWrite), kUnmapped, 16, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(t, static_cast<uint64_t>(Op::kWrite), kKernel, 16, 0), kBadAddress);
    CHECK_EQ(timer::pending(t), 0);  // nothing was armed by any of those
    uint64_t n = 0;
    BAD_INPUT(sys::do_io(t, Op::kRead, &n, 7), kBufferTooSmall);  // refused before waiting
    CHECK_EQ(timer::arm(t, 1), 16);
    BAD_INPUT(sys::do_io_raw(t, static_cast<uint64_t>(Op::kRead), kKernel, 8, 0), kBadAddress);
    CHECK_EQ(timer::pending(t), 1);  // a failed copy consumed nothing
    BAD_INPUT(sys::do_io(t, Op::kGetMeta, &n, sizeof n, 99), kInvalidArgument);
    BAD_INPUT(sys::do_io(t, Op::kSeek, nullptr, 0, 0), kNotSupported);
    BAD_INPUT(sys::do_io(t, Op::kOpen, "x", 1, 0), kNotSupported);
    // Rights: a read-only share cannot arm, a write-only one cannot read.
    const int64_t ro = share(t, 0, abi::kRightRead);
    const int64_t wo = share(t, 0, abi::kRightWrite);
    CHECK(ro > 0 && wo > 0);
    BAD_INPUT(timer::arm(static_cast<Handle>(ro), 1), kNoRights);
    BAD_INPUT(timer::wait(static_cast<Handle>(wo)), kNoRights);
    CHECK_EQ(timer::wait(static_cast<Handle>(ro)), 1);
    close(static_cast<uint64_t>(ro));
    close(static_cast<uint64_t>(wo));
    close(t);
}

void blocked_timer_reader(uint64_t h) {
    sys::thread_exit(timer::wait(static_cast<Handle>(h)));
}

// Arms timers of every shape (one-shot soon and far, periodic at the 100 us floor), leaves a
// thread blocked reading one, and exits with them all armed.
CHILD_MODE("armed-timers") {
    const uint64_t now = sys::clock_ns();
    Handle far = 0;
    for (int i = 0; i < 24; ++i) {
        const auto h = static_cast<Handle>(timer::create());
        (void)timer::arm(h, now + 100'000 * static_cast<uint64_t>(i + 1), i % 3 == 0 ? 100'000 : 0);
        far = h;
    }
    (void)timer::arm(far, now + 10'000'000'000ull);
    (void)spawn_thread(blocked_timer_reader, far);
    (void)sys::sleep_ns(2'000'000);
    return 7;
}

// 200 periodic timers at the 100 us floor, staggered: the timer interrupt coalesces what is
// due (each timer counts its missed periods at once) and leaves user code at least 20 us
// between interrupts, so this process and everyone else still make progress.
CHILD_MODE("timer-flood") {
    Handle t[200];
    const uint64_t now = sys::clock_ns();
    for (int i = 0; i < 200; ++i) {
        t[i] = static_cast<Handle>(timer::create());
        (void)timer::arm(t[i], now + 500 * static_cast<uint64_t>(i), 100'000);
    }
    uint64_t spins = 0;
    const uint64_t t0 = sys::clock_ns();
    while (sys::clock_ns() - t0 < 50'000'000)
        ++spins;
    const uint64_t t1 = sys::clock_ns();
    (void)sys::sleep_ns(1'000'000);
    const uint64_t slept = sys::clock_ns() - t1;
    const int64_t counted = timer::pending(t[0]);
    for (const Handle h : t)
        close(h);
    print(
        "usertest: timer flood: 200 timers every 100 us, %lu clock calls in 50 ms, sleep 1 ms "
        "took %lu us, first timer counted %ld\n",
        spins, slept / 1000, counted);
    return counted >= 100 && slept >= 1'000'000 ? 0 : 1;
}

TEST(timer_flood_leaves_progress) {
    const uint64_t t0 = sys::clock_ns();
    const abi::ExitInfo info = wait_child(spawn_child("timer-flood"));
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 0);
    print("usertest: timer flood child took %lu ms\n", (sys::clock_ns() - t0) / 1'000'000);
}

TEST(timers_dying_armed) {
    // Closed while armed, periodic ones included: the kernel's deadline list lets go of them.
    Handle t[32];
    const uint64_t now = sys::clock_ns();
    for (int i = 0; i < 32; ++i) {
        t[i] = static_cast<Handle>(timer::create());
        CHECK_EQ(
            timer::arm(t[i], now + 50'000 * static_cast<uint64_t>(i), i % 2 == 0 ? 100'000 : 0),
            16);
    }
    for (const Handle h : t)
        close(h);
    // A reader blocked on a timer that another thread closes wakes and finds the handle gone.
    const auto h = static_cast<Handle>(timer::create());
    CHECK_EQ(timer::arm(h, sys::clock_ns() + 10'000'000'000ull), 16);
    const int64_t reader = spawn_thread(blocked_timer_reader, h);
    CHECK(reader > 0);
    (void)sys::sleep_ns(2'000'000);
    close(h);
    CHECK_EQ(join(static_cast<Handle>(reader)), err(Error::kStaleHandle));
    // Processes ending with armed timers and a blocked reader, again and again.
    for (int i = 0; i < 8; ++i) {
        const abi::ExitInfo info = wait_child(spawn_child("armed-timers"));
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
        CHECK_EQ(info.status, 7);
    }
    // Time still works.
    const uint64_t t0 = sys::clock_ns();
    CHECK_EQ(sys::sleep_ns(1'000'000), 0);
    CHECK(sys::clock_ns() - t0 >= 1'000'000);
}

}  // namespace
}  // namespace keel::usertest
