// blkbench: throughput of the virtio-blk driver's block device object (ns/srv/blk0, run from
// the shell like blktest; bench/blk.sh boots it). Sequential writes and reads in 64 KiB
// operations and 4 KiB random reads, each at queue depth 1 (blocking do_io) and 32 (one
// asynchronous queue kept 32 deep, its buffers device data; the sequential read also through an
// ordinary queue, "copied", the kernel copying each 64 KiB). Argument: the disk's size in bytes (at
// least 32 MiB). An optional second argument, ROUNDS (default 1), reads the sequential region that
// many times at depth 32 only (the write and other rows are skipped): a row long enough to sample
// (bench/guestprof.py) or to time on a noisy host.
// Wall-clock time in the guest: under QEMU's TCG this measures the whole emulated path
// (guest, kernel forwarding, the driver, QEMU's virtio-blk and its file backend).
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

#include <utility>

#include "disk.hpp"
#include "queue.hpp"
#include "runtime.hpp"

using namespace keel;
using namespace keel::user;

namespace {

constexpr uint64_t kRegion = 32ull << 20;  // the sequential runs cover this much
constexpr uint32_t kBig = 64 * 1024;
constexpr uint32_t kSmall = 4096;
constexpr uint32_t kRandomOps = 4096;

Handle g_disk = 0;
uint64_t g_size = 0;
uint8_t g_buf[kBig];
uint64_t g_rng = 0x9e3779b97f4a7c15ull;

uint64_t next_offset(bool random, uint64_t i, uint32_t length) {
    if (!random)
        return (i * length) % kRegion;
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (g_rng % (g_size / length)) * length;
}

// `count` operations of `length` bytes at depth `depth`; nanoseconds, or 0 on an error. At
// depth 32 the queue's buffers are device data (abi::kQueueDeviceData: the device reads and
// writes them, no copy by the kernel) unless `copied` asks for an ordinary queue, whose bytes
// the kernel copies to and from the driver's owned buffers.
uint64_t run(Op op, uint32_t depth, uint32_t length, uint64_t count, bool random,
             bool copied = false) {
    if (depth == 1) {
        const uint64_t start = sys::clock_ns();
        for (uint64_t i = 0; i < count; ++i) {
            if (sys::do_io(g_disk, op, g_buf, length, next_offset(random, i, length)) != length)
                return 0;
        }
        return sys::clock_ns() - start;
    }
    // The queue is made before the clock starts, as the Linux guest's rows set up their
    // io_uring before theirs (bench/linux/guestbench.cpp): both time the transfers. Making it
    // (its region's 2 MiB allocated, zeroed and mapped) had been about a third of the 512
    // reads' 28 ms here (bench/README.md, B9, 7 Dec).
    Queue q;
    const int64_t made = copied ? q.create(64, depth, length)
                                : q.create(64, depth, length, abi::kQueueDeviceData, g_disk);
    if (made != 0) {
        print("blkbench: cannot make the queue: %s\n", error_text(made));
        return 0;
    }
    const uint64_t start = sys::clock_ns();
    uint64_t submitted = 0, done = 0;
    auto submit = [&]() {
        auto b = q.client().acquire();
        if (!b)
            return false;
        const uint64_t at = next_offset(random, submitted, length);
        if (!q.submit(op, g_disk, at, submitted, std::move(*b), length))
            return false;
        ++submitted;
        return true;
    };
    while (submitted < count && submitted < depth) {
        if (!submit())
            return 0;
    }
    while (done < count) {
        if (q.wait(1, 10'000'000'000) < 0)
            return 0;
        while (auto r = q.reap()) {
            ++done;
            if (r->status != 0 || r->value != length)
                return 0;
            r->buffer.reset();
            if (submitted < count && !submit())
                return 0;
        }
    }
    return sys::clock_ns() - start;
}

void report(const char* what, uint32_t depth, uint32_t length, uint64_t count, uint64_t ns) {
    if (ns == 0) {
        print("blkbench: %s depth %u: failed\n", what, depth);
        return;
    }
    const uint64_t kib_s = uint64_t{length} * count * 1'000'000'000 / ns / 1024;
    const uint64_t iops = count * 1'000'000'000 / ns;
    print("blkbench: %s, depth %u: %lu KiB/s, %lu ops/s (%lu x %u bytes in %lu ms)\n", what, depth,
          kib_s, iops, count, length, ns / 1'000'000);
}

}  // namespace

int keel_main(const StartInfo& start) {
    // SIZE [ROUNDS], as the shell quoted them.
    char storage[64];
    const char* words[2] = {"", "0"};
    if (split_args(start.args, start.args_length, storage, sizeof storage, words, 2) < 1) {
        print("blkbench: usage: blkbench SIZE [ROUNDS]\n");
        return 1;
    }
    g_size = parse_u64(words[0]);
    const uint64_t rounds = parse_u64(words[1]);
    g_disk = blktest::wait_for_disk();
    if (g_disk == 0 || g_size < kRegion) {
        print("blkbench: no srv/blk0, or a disk under 32 MiB\n");
        return 1;
    }
    for (uint32_t i = 0; i < kBig; ++i)
        g_buf[i] = static_cast<uint8_t>(i * 31);
    const uint64_t seq = kRegion / kBig;
    if (rounds != 0) {
        report("sequential read 64K", 32, kBig, seq * rounds,
               run(Op::kRead, 32, kBig, seq * rounds, false));
        return 0;
    }
    for (uint32_t depth : {1u, 32u}) {
        report("sequential write 64K", depth, kBig, seq, run(Op::kWrite, depth, kBig, seq, false));
        report("sequential read 64K", depth, kBig, seq, run(Op::kRead, depth, kBig, seq, false));
        if (depth == 32) {
            report("sequential read 64K copied", depth, kBig, seq,
                   run(Op::kRead, depth, kBig, seq, false, true));
        }
        report("random read 4K", depth, kSmall, kRandomOps,
               run(Op::kRead, depth, kSmall, kRandomOps, true));
    }
    return 0;
}
