// Stopping threads without kill. Keel has no way to kill a thread, and never will: a thread
// killed at an arbitrary instruction may hold a lock or be half-way through updating shared
// state, which then stays locked or inconsistent forever. Instead the thread is *asked* to
// stop and stops itself at a point where its state is consistent. Two ways to ask:
//   1. a flag the worker polls between units of work (cheap, for compute loops);
//   2. a channel (message pipe) the worker blocks on, where "stop" is just another message
//      (for workers that sleep waiting for requests).
// Both workers finish their current unit, clean up, and return a status that join() reports.
#include "runtime.hpp"

using namespace keel;
using namespace keel::user;

namespace {

bool g_stop = false;  // written by main, read by the worker (atomically)
uint64_t g_units = 0;

void flag_worker(uint64_t) {
    while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&g_units, 1, __ATOMIC_RELAXED);  // one unit of work
        (void)sys::yield();
    }
    sys::thread_exit(7);  // a consistent state: nothing half-done
}

void channel_worker(uint64_t endpoint) {
    char msg[16];
    uint64_t handled = 0;
    for (;;) {
        const int64_t n = sys::do_io(endpoint, Op::kRead, msg, sizeof msg);
        if (n < 0)
            sys::thread_exit(-1);  // the channel broke: stop as well
        if (n == 4 && msg[0] == 's' && msg[1] == 't' && msg[2] == 'o' && msg[3] == 'p')
            break;
        ++handled;  // a request
    }
    sys::thread_exit(static_cast<int64_t>(100 + handled));
}

}  // namespace

int keel_main(const StartInfo&) {
    const int64_t a = spawn_thread(flag_worker, 0);
    Handle ends[2];
    if (a < 0 || sys::object_new(abi::Kind::kMessagePipe, 0, ends) != 2)
        return 1;
    const int64_t b = spawn_thread(channel_worker, ends[1]);
    if (b < 0)
        return 1;
    (void)sys::do_io(ends[0], Op::kWrite, "work", 4);
    (void)sys::do_io(ends[0], Op::kWrite, "work", 4);
    (void)sys::sleep_ns(20'000'000);
    __atomic_store_n(&g_stop, true, __ATOMIC_RELEASE);  // ask worker 1 to stop
    (void)sys::do_io(ends[0], Op::kWrite, "stop", 4);   // ask worker 2 to stop
    const int64_t status_a = join(static_cast<Handle>(a));
    const int64_t status_b = join(static_cast<Handle>(b));
    print("stop_example: flag worker stopped with %ld after %lu units, channel worker with %ld\n",
          status_a, __atomic_load_n(&g_units, __ATOMIC_RELAXED), status_b);
    return status_a == 7 && status_b == 102 ? 0 : 1;
}
