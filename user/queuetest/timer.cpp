// Timers through the queues and one queue_wait on several objects at once (issue 15): a
// queued timer read parks until the deadline; a pipe read parked before it is woken promptly
// by a write from another thread (queue_wait once slept on the last parked operation's object
// only and looked at the others every 10 ms); the timer alone wakes the same wait at its
// deadline; a timer closed or a queue destroyed while a read is parked, and a process ending
// with both, crash nothing.
//
// Timing under TCG on a shared host is noisy (a busy host stalls QEMU for milliseconds now
// and then): never early is checked on every sample, promptness on the median of kSamples.
#include "timer.hpp"
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

constexpr int kSamples = 10;
// Both wake-ups take about 0.1 ms under TCG, also at -smp 4 beside another -smp 4 suite on two
// host cores (median of 10: pipe 25-120 us, timer 90-180 us). A deadline that waits for some
// CPU's 10 ms slice tick instead of its own interrupt is late by 5 ms on average; one that
// woke every idle CPU at once, each spinning for the big kernel lock while the host had cores
// for few of them, was late by a median of 3.4 ms in CI (issue 22). 2 ms tells those apart
// from host noise, which moves single samples, not the median.
constexpr uint64_t kLateNs = 2'000'000;

uint64_t median_us(uint64_t* v, int n, const char* what) {
    for (int i = 1; i < n; ++i) {
        for (int j = i; j > 0 && v[j - 1] > v[j]; --j) {
            const uint64_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    }
    print("queuetest: %s: min %lu us, median %lu us, max %lu us (%d samples)\n", what, v[0] / 1000,
          v[n / 2] / 1000, v[n - 1] / 1000, n);
    return v[n / 2];
}

uint64_t g_written_at = 0;  // clock_ns() just before the writer thread's write

void late_writer(uint64_t write_end) {
    (void)sys::sleep_ns(2'000'000);
    __atomic_store_n(&g_written_at, sys::clock_ns(), __ATOMIC_RELEASE);
    (void)sys::do_io(write_end, Op::kWrite, "w", 1);
}

TEST(queue_wait_wakes_for_any_parked_operation) {
    Queue q;
    CHECK_EQ(q.create(8, 8, 4096), 0);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const auto t = static_cast<Handle>(timer::create());
    uint64_t pipe_wake[kSamples], timer_late[kSamples];
    ipc::Reaped r[8];
    // Parked order: the pipe read first, the timer read last.
    CHECK(submit_with(q, Op::kRead, p[0], 0, 1, nullptr, 0, 64) != ipc::abi::kNoTag);
    for (int i = 0; i < kSamples; ++i) {
        CHECK(submit_with(q, Op::kRead, t, 0, 2, nullptr, 0, 8) != ipc::abi::kNoTag);
        CHECK_EQ(q.poll(), 0);
        // A write from another thread ends the wait, though the timer's read is parked last.
        const int64_t w = spawn_thread(late_writer, p[1]);
        CHECK(w > 0);
        CHECK_EQ(q.wait(1, 5'000'000'000ull), 1);
        const uint64_t woke = sys::clock_ns();
        const uint64_t written = __atomic_load_n(&g_written_at, __ATOMIC_ACQUIRE);
        CHECK(written != 0 && woke >= written);
        pipe_wake[i] = woke >= written ? woke - written : 0;
        CHECK_EQ(reap_all(q, r, 8), 1u);
        CHECK_EQ(r[0].user_data, 1u);
        CHECK_EQ(r[0].status, kOk);
        CHECK_EQ(r[0].value, 1u);
        r[0].buffer.reset();
        CHECK_EQ(join(static_cast<Handle>(w)), 0);
        __atomic_store_n(&g_written_at, 0, __ATOMIC_RELEASE);
        // A new pipe read, now parked after the timer's: the timer alone ends the next wait,
        // never before its deadline.
        CHECK(submit_with(q, Op::kRead, p[0], 0, 1, nullptr, 0, 64) != ipc::abi::kNoTag);
        const uint64_t deadline = sys::clock_ns() + 1'000'000;
        CHECK_EQ(timer::arm(t, deadline), 16);
        CHECK_EQ(q.wait(1, 5'000'000'000ull), 1);
        const uint64_t now = sys::clock_ns();
        CHECK(now >= deadline);
        timer_late[i] = now >= deadline ? now - deadline : 0;
        CHECK_EQ(reap_all(q, r, 8), 1u);
        CHECK_EQ(r[0].user_data, 2u);
        CHECK_EQ(r[0].status, kOk);
        CHECK_EQ(r[0].value, 8u);
        uint64_t count = 0;
        memcpy(&count, q.client().bytes(r[0].buffer).data(), 8);
        CHECK_EQ(count, 1u);
        r[0].buffer.reset();
    }
    CHECK(median_us(pipe_wake, kSamples, "queue_wait woken by a pipe write") < kLateNs);
    CHECK(median_us(timer_late, kSamples, "queued 1 ms timer read, late by") < kLateNs);
    // A timeout with only a far timer and the pipe parked: nothing, after the timeout.
    CHECK_EQ(timer::arm(t, sys::clock_ns() + 10'000'000'000ull), 16);
    CHECK(submit_with(q, Op::kRead, t, 0, 3, nullptr, 0, 8) != ipc::abi::kNoTag);
    const uint64_t t0 = sys::clock_ns();
    CHECK_EQ(q.wait(1, 3'000'000), 0);
    CHECK(sys::clock_ns() - t0 >= 3'000'000);
    CHECK_EQ(q.destroy(), 0);  // both reads still parked: dropped
    close(t);
    close(p[0]);
    close(p[1]);
}

TEST(queue_timer_periodic_reads) {
    Queue q;
    CHECK_EQ(q.create(8, 8, 4096), 0);
    const auto t = static_cast<Handle>(timer::create());
    const uint64_t first = sys::clock_ns() + 1'000'000;
    CHECK_EQ(timer::arm(t, first, 1'000'000), 16);
    ipc::Reaped r[8];
    uint64_t total = 0;
    for (int i = 0; i < 5; ++i) {
        CHECK(submit_with(q, Op::kRead, t, 0, 10, nullptr, 0, 8) != ipc::abi::kNoTag);
        CHECK_EQ(q.wait(1, 5'000'000'000ull), 1);
        CHECK_EQ(reap_all(q, r, 8), 1u);
        CHECK_EQ(r[0].status, kOk);
        uint64_t count = 0;
        memcpy(&count, q.client().bytes(r[0].buffer).data(), 8);
        CHECK(count >= 1);
        total += count;
        r[0].buffer.reset();
    }
    const uint64_t now = sys::clock_ns();
    CHECK(now >= first + 4'000'000);  // five expirations take four periods after the first
    CHECK(total >= 5 && total <= (now - first) / 1'000'000 + 1);
    // A short buffer is refused at once, not parked.
    CHECK(submit_with(q, Op::kRead, t, 0, 11, nullptr, 0, 7) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 1);
    CHECK_EQ(reap_all(q, r, 8), 1u);
    CHECK_EQ(r[0].status, queue_error_status(Error::kBufferTooSmall));
    r[0].buffer.reset();
    CHECK_EQ(q.destroy(), 0);
    close(t);
}

void close_later(uint64_t h) {
    (void)sys::sleep_ns(2'000'000);
    (void)close(h);
}

// A queue with a pipe read and reads of armed timers (one periodic at the 100 us floor)
// parked, left to the end of the process.
CHILD_MODE("queue-armed-timers") {
    Queue* q = heap_queue(8, 8);
    Handle p[2];
    if (q == nullptr || sys::object_new(Kind::kPipe, 0, p) != 2)
        return 1;
    (void)submit_with(*q, Op::kRead, p[0], 0, 0, nullptr, 0, 64);
    for (int i = 0; i < 4; ++i) {
        const auto t = static_cast<Handle>(timer::create());
        (void)timer::arm(t, sys::clock_ns() + 1'000'000'000, i == 0 ? 100'000 : 0);
        (void)submit_with(*q, Op::kRead, t, 0, 0, nullptr, 0, 8);
    }
    (void)q->poll();
    (void)q->wait(8, 2'000'000);  // woken by the periodic one, parked again: all still there
    return 9;
}

TEST(queue_parked_timer_read_outlived) {
    Queue q;
    CHECK_EQ(q.create(8, 8, 4096), 0);
    ipc::Reaped r[8];
    // The timer is closed while its read is parked and the queue waits: its wait queue dies
    // with it, which wakes the wait at once; the retried read finds the handle gone.
    const auto t = static_cast<Handle>(timer::create());
    CHECK_EQ(timer::arm(t, sys::clock_ns() + 10'000'000'000ull), 16);
    CHECK(submit_with(q, Op::kRead, t, 0, 1, nullptr, 0, 8) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 0);
    const int64_t closer = spawn_thread(close_later, t);
    CHECK(closer > 0);
    const uint64_t t0 = sys::clock_ns();
    CHECK_EQ(q.wait(1, 5'000'000'000ull), 1);
    CHECK(sys::clock_ns() - t0 < 1'000'000'000);
    CHECK_EQ(reap_all(q, r, 8), 1u);
    CHECK_EQ(r[0].status, queue_error_status(Error::kStaleHandle));
    r[0].buffer.reset();
    CHECK_EQ(join(static_cast<Handle>(closer)), 0);
    // The queue is destroyed with a timer read parked; the timer then fires, with nothing left
    // watching it. 20 ms ahead: the read must still be parked at the poll, and a host that
    // stalls QEMU for a millisecond or more between two calls is common under load.
    const auto t2 = static_cast<Handle>(timer::create());
    CHECK_EQ(timer::arm(t2, sys::clock_ns() + 20'000'000), 16);
    CHECK(submit_with(q, Op::kRead, t2, 0, 2, nullptr, 0, 8) != ipc::abi::kNoTag);
    CHECK_EQ(q.poll(), 0);
    CHECK_EQ(q.destroy(), 0);
    (void)sys::sleep_ns(30'000'000);
    CHECK_EQ(timer::pending(t2), 1);
    close(t2);
    // Processes ending with all of that parked, again and again.
    for (int i = 0; i < 6; ++i) {
        const abi::ExitInfo info = wait_child(spawn_child("queue-armed-timers"));
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
        CHECK_EQ(info.status, 9);
    }
}

}  // namespace
}  // namespace keel::queuetest
