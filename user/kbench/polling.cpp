// kbench "polling [OPS]" (issue 22): a polling queue (abi::kQueuePolling: a kernel thread on
// another CPU serves it) against the system-call queue (submit, queue_poll, reap), at batch 1
// and 32, in wall-clock operations per second. Not under -icount: QEMU's -icount runs every
// CPU on one host thread, so the poller would never run beside its client; run it under
// -smp 2 and compare the modes within one boot (bench/run.py b13). Each mode runs on a thread
// of its own so that the kernel counts its system calls (get_meta kSyscalls): the kernel
// entries per operation, which the polling mode is to bring to 0 in steady state.
//
// Output, per mode and batch: "kbench: polling row MODE_bB ops N ns T syscalls S" (S without
// the two clock reads and the thread's exit), then a ratio line per batch.
#include "polling.hpp"
#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>
#include "queue.hpp"
#include "runtime.hpp"

namespace keel::kbench {

using namespace keel::user;

namespace {

constexpr uint16_t kOk = static_cast<uint16_t>(ipc::abi::Status::Ok);
// A spinning client waits in the kernel after this many empty reaps (the host did not run the
// poller's CPU for a while); each such wait is a counted system call.
constexpr uint64_t kSpinLimit = 1'000'000;

struct Run {
    bool polling;
    uint32_t batch;
    uint64_t ops;
    uint64_t ns = 0;
    uint64_t bad = 0;
    uint32_t pinned = 0;  // set once the client runs on the boot CPU alone
};

void client(uint64_t arg) {
    Run& r = *reinterpret_cast<Run*>(arg);
    while (__atomic_load_n(&r.pinned, __ATOMIC_ACQUIRE) == 0)
        (void)sys::yield();
    Queue q;
    if (q.create(64, 0, 0, r.polling ? abi::kQueuePolling : 0) != 0) {
        r.bad = 1;
        return;
    }
    ipc::Request nops[32];
    ipc::Reaped out[32];
    const uint64_t rounds = r.ops / r.batch;
    const uint64_t t0 = sys::clock_ns();
    for (uint64_t i = 0; i < rounds; ++i) {
        const auto s = q.client().submit_batch({nops, r.batch});
        r.bad += !s || *s != r.batch;
        if (r.polling)
            r.bad += q.publish() != 0;
        else
            r.bad += q.poll() != static_cast<int64_t>(r.batch);
        uint32_t got = 0;
        uint64_t empty = 0;
        while (got < r.batch) {
            const auto n = q.client().reap_batch({out + got, r.batch - got});
            const uint32_t k = n ? *n : 0;
            for (uint32_t j = 0; j < k; ++j)
                r.bad += out[got + j].status != kOk;
            got += k;
            if (k != 0 || !r.polling) {
                r.bad += k == 0;  // the system-call mode has all of them after its poll
                if (k == 0)
                    break;
                continue;
            }
            if (++empty < kSpinLimit) {
                // pause, but not at every turn: under QEMU's TCG each one leaves the translated
                // code and takes QEMU's global lock, which the other virtual CPUs' interrupts and
                // wake-ups need too (a pause at every turn: rounds stalled by tens of ms).
                if (empty % 64 == 0)
                    asm volatile("pause");
                continue;
            }
            empty = 0;
            (void)q.wait(1, 100'000'000);
        }
    }
    r.ns = sys::clock_ns() - t0;
    (void)q.destroy();
}

// Runs one mode on a thread of its own; its system calls (the clock reads and the exit
// taken off), or ~0 when the thread could not run.
uint64_t measure(Run& r) {
    const int64_t t = spawn_thread(client, reinterpret_cast<uint64_t>(&r));
    if (t <= 0)
        return ~0ull;
    // The client on the boot CPU before it makes its queue, so that the poller starts on the
    // other CPU (a new thread goes to an idle one) and stays there, beside its client rather
    // than queued behind it.
    if (set_affinity(static_cast<Handle>(t), 1) != 0)
        r.bad = 1;
    __atomic_store_n(&r.pinned, 1, __ATOMIC_RELEASE);
    if (join(static_cast<Handle>(t)) != 0)
        return ~0ull;
    uint64_t calls = 0;
    const int64_t got = sys::do_io(static_cast<uint64_t>(t), Op::kGetMeta, &calls, sizeof calls,
                                   static_cast<uint64_t>(abi::Meta::kSyscalls));
    (void)sys::do_io(static_cast<uint64_t>(t), Op::kClose);
    return got == 8 && calls >= 3 ? calls - 3 : ~0ull;
}

void print_per_op(uint64_t x, uint64_t ops) {
    const uint64_t thousandths = (x * 1000 + ops / 2) / ops;
    print("%lu.%03lu", thousandths / 1000, thousandths % 1000);
}

}  // namespace

int polling_main(uint64_t ops) {
    int failures = 0;
    for (const uint32_t batch : {1u, 32u}) {
        Run modes[2] = {{false, batch, ops}, {true, batch, ops}};
        uint64_t calls[2];
        for (int m = 0; m < 2; ++m) {
            Run& r = modes[m];
            calls[m] = measure(r);
            if (r.bad != 0 || calls[m] == ~0ull || r.ns == 0) {
                print("kbench: FAILED polling %s batch %u (%lu bad)\n",
                      r.polling ? "polling" : "syscall", batch, r.bad);
                ++failures;
                continue;
            }
            const uint64_t done = ops / batch * batch;
            print(
                "kbench: polling row %s_b%u ops %lu ns %lu syscalls %lu ops_per_s %lu "
                "entries_per_op ",
                r.polling ? "polling" : "syscall", batch, done, r.ns, calls[m],
                done * uint64_t{1'000'000'000} / r.ns);
            print_per_op(calls[m], done);
            print("\n");
        }
        if (modes[0].ns != 0 && modes[1].ns != 0) {
            print("kbench: polling batch %u: polling mode ", batch);
            print_per_op(modes[0].ns, modes[1].ns);  // time ratio = throughput ratio
            print(" times the system-call mode's operations per second\n");
        }
    }
    print("kbench: polling done, %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}

}  // namespace keel::kbench
