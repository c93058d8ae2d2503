// blktest: the virtio-blk driver (drivers/virtio-blk) from a client's side, through the block
// device object it serves (ns/srv/blk0, run from the shell of a system whose init.conf starts
// the driver). Arguments: the disk's size in bytes, and "callers" to run the overlapping-callers
// test (see concurrent_callers). The disk's layout (ci: kernel/tests/
// blk-image.sh writes and checks it on the host):
//   [0, 64 KiB)          written by the host before boot: byte i is i % 251 (read here)
//   [1 MiB, 1 MiB + 8 KiB)  written here: byte i is (i * 7 + i / 512) % 256 (checked on the
//                        host after the run)
//   [2 MiB, end)         scratch for the concurrent tests (device data: [6 MiB, 10 MiB))
#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>

#include <utility>

#include "disk.hpp"
#include "queue.hpp"
#include "testlib.hpp"

namespace keel::blktest {

namespace {

using namespace keel::user;
using abi::Meta;

constexpr uint64_t kHostPattern = 64 * 1024;
constexpr uint64_t kKnownAt = 1 << 20;
constexpr uint64_t kKnownBytes = 8 * 1024;
constexpr uint64_t kScratch = 2 << 20;
constexpr uint32_t kMaxTransfer = 64 * 1024;

Handle g_disk = 0;
uint64_t g_size = 0;
bool g_callers = false;     // run concurrent_callers
bool g_copy = false;        // the driver copies (blk-copy.conf): no device data
bool g_read_error = false;  // run merged_request_error: the host fails reads of kBadSector
// merged_request_error's region (32 operations of 16 KiB) and the sector in its operation 5
// that the host's blkdebug rule fails on every read (kernel/tests/CMakeLists.txt gives
// qemu-blk.sh the same number).
constexpr uint64_t kErrorRegion = 14 << 20;
constexpr uint32_t kErrorLength = 16384, kErrorOps = 32, kBadOp = 5;
constexpr uint64_t kBadSector = (kErrorRegion + kBadOp * kErrorLength + 4096) / 512;
static_assert(kBadSector == 28840);

uint8_t pattern(uint64_t seed, uint64_t i) {
    return static_cast<uint8_t>((i * 131 + seed * 17 + (i >> 9) * 29) ^ (seed >> 3));
}

int64_t read_at(void* buf, uint64_t length, uint64_t offset) {
    return sys::do_io(g_disk, Op::kRead, buf, length, offset);
}
int64_t write_at(const void* buf, uint64_t length, uint64_t offset) {
    return sys::do_io(g_disk, Op::kWrite, buf, length, offset);
}

// The disk, published by the driver (which init starts alongside the shell): waited for.
TEST(disk_appears) {
    g_disk = wait_for_disk();
    CHECK(g_disk != 0);
}

TEST(geometry) {
    uint64_t size = 0;
    CHECK_EQ(sys::do_io(g_disk, Op::kGetMeta, &size, 8, static_cast<uint64_t>(Meta::kSize)), 8);
    CHECK_EQ(size, g_size);
    abi::BlockInfo info{};
    CHECK_EQ(sys::do_io(g_disk, Op::kGetMeta, &info, sizeof info,
                        static_cast<uint64_t>(Meta::kBlockInfo)),
             sizeof info);
    CHECK_EQ(info.block_size, 512u);
    CHECK_EQ(info.block_count, g_size / 512);
    CHECK_EQ(info.max_transfer, kMaxTransfer);
    CHECK_EQ(info.flags, 0u);
    uint64_t kind = 0;
    CHECK_EQ(sys::do_io(g_disk, Op::kGetMeta, &kind, 8, static_cast<uint64_t>(Meta::kKind)), 8);
    print("blktest: %lu blocks of %u bytes, %u bytes a transfer\n", info.block_count,
          info.block_size, info.max_transfer);
}

uint8_t g_buf[kMaxTransfer * 2];
uint8_t g_check[kMaxTransfer];

// What the host wrote before boot is what the device reads.
TEST(host_pattern) {
    uint64_t same = 0;
    for (uint64_t at = 0; at < kHostPattern; at += kMaxTransfer) {
        CHECK_EQ(read_at(g_buf, kMaxTransfer, at), kMaxTransfer);
        for (uint64_t i = 0; i < kMaxTransfer; ++i)
            same += g_buf[i] == (at + i) % 251 ? 1 : 0;
    }
    CHECK_EQ(same, kHostPattern);
    print("blktest: host pattern read back: %lu of %lu bytes\n", same, kHostPattern);
}

// Each refused with its error, and the device serves on afterwards.
TEST(bad_requests) {
    const uint64_t end = g_size;
    BAD_INPUT(read_at(g_buf, 512, 1), kInvalidArgument);  // misaligned offset
    BAD_INPUT(write_at(g_buf, 512, 100), kInvalidArgument);
    BAD_INPUT(read_at(g_buf, 513, 0), kInvalidArgument);  // misaligned length
    BAD_INPUT(write_at(g_buf, 1000, 4096), kInvalidArgument);
    BAD_INPUT(read_at(g_buf, 0, 0), kInvalidArgument);          // zero length
    BAD_INPUT(read_at(g_buf, 512, end), kOutOfRange);           // past the end
    BAD_INPUT(write_at(g_buf, 1024, end - 512), kOutOfRange);   // across the end
    BAD_INPUT(read_at(g_buf, 512, ~0ull - 511), kOutOfRange);   // wrapping
    BAD_INPUT(read_at(g_buf, 2 * kMaxTransfer, 0), kTooLarge);  // above max_transfer
    BAD_INPUT(sys::do_io(g_disk, Op::kSeek, nullptr, 0, 512), kNotSupported);
    uint64_t v = 0;
    BAD_INPUT(sys::do_io(g_disk, Op::kGetMeta, &v, 8, static_cast<uint64_t>(Meta::kTimes)),
              kInvalidArgument);
    BAD_INPUT(sys::do_io(g_disk, Op::kGetMeta, &v, 4, static_cast<uint64_t>(Meta::kBlockInfo)),
              kBufferTooSmall);
    // The last block is reachable, and everything still works.
    for (uint64_t i = 0; i < 512; ++i)
        g_buf[i] = pattern(99, i);
    CHECK_EQ(write_at(g_buf, 512, end - 512), 512);
    c::fill(g_check, 0, 512);
    CHECK_EQ(read_at(g_check, 512, end - 512), 512);
    CHECK_EQ(c::compare(g_buf, g_check, 512), 0);
    CHECK_EQ(sys::do_io(g_disk, Op::kSync), 0);
}

// The known pattern the host checks after the run, written at queue depth 1, then synced.
TEST(known_pattern_for_the_host) {
    for (uint64_t i = 0; i < kKnownBytes; ++i)
        g_buf[i] = static_cast<uint8_t>((i * 7 + i / 512) % 256);
    CHECK_EQ(write_at(g_buf, 4096, kKnownAt), 4096);
    CHECK_EQ(write_at(g_buf + 4096, 4096, kKnownAt + 4096), 4096);
    CHECK_EQ(sys::do_io(g_disk, Op::kSync), 0);
    CHECK_EQ(read_at(g_check, kKnownBytes, kKnownAt), static_cast<int64_t>(kKnownBytes));
    CHECK_EQ(c::compare(g_buf, g_check, kKnownBytes), 0);
}

// Threads with blocking do_io, each on a region of its own: writes of varied sizes, read
// back, compared.
struct Worker {
    uint64_t base;
    uint64_t seed;
    uint64_t bad;
    uint64_t bytes;
    uint8_t buf[kMaxTransfer];
};
constexpr int kWorkers = 4;
Worker g_workers[kWorkers];

void run_worker(uint64_t arg) {
    Worker& w = g_workers[arg];
    testlib::Random rng(w.seed);
    for (int round = 0; round < 24; ++round) {
        const uint64_t length = 512 * (1 + rng.next() % 128);  // 512 B .. 64 KiB
        const uint64_t at = w.base + 512 * (rng.next() % 1024);
        for (uint64_t i = 0; i < length; ++i)
            w.buf[i] = pattern(w.seed + round, i);
        const int64_t wr = write_at(w.buf, length, at);
        c::fill(w.buf, 0, length);
        const int64_t rd = read_at(w.buf, length, at);
        if (wr != static_cast<int64_t>(length) || rd != static_cast<int64_t>(length)) {
            print("blktest: worker %lu round %d: %lu bytes at %lu: write %ld read %ld\n", arg,
                  round, length, at, wr, rd);
            ++w.bad;
        }
        for (uint64_t i = 0; i < length; ++i)
            w.bad += w.buf[i] == pattern(w.seed + round, i) ? 0 : 1;
        w.bytes += 2 * length;
    }
}

void worker(uint64_t arg) {
    run_worker(arg);
    sys::thread_exit(0);
}

// A queue of `depth` buffers of `length` bytes: with device_data, one whose buffers the
// device reads and writes itself (abi::kQueueDeviceData); 0 or -Error.
int64_t make_queue(Queue& q, uint32_t depth, uint32_t length, bool device_data) {
    return device_data ? q.create(64, depth, length, abi::kQueueDeviceData, g_disk)
                       : q.create(64, depth, length);
}

// The asynchronous client: `depth` operations of `length` bytes in flight on one queue,
// writes then reads of a region, compared (only the writes with write_only). Failures counted.
uint64_t queue_round(uint64_t base, uint32_t depth, uint32_t length, uint64_t seed,
                     bool write_only = false, bool device_data = false) {
    Queue q;
    if (make_queue(q, depth, length, device_data) != 0)
        return 1;
    uint64_t bad = 0;
    for (int pass = 0; pass < (write_only ? 1 : 2); ++pass) {
        const bool writing = pass == 0;
        for (uint32_t i = 0; i < depth; ++i) {
            auto b = q.client().acquire();
            if (!b) {
                ++bad;
                continue;
            }
            auto bytes = q.client().bytes(*b);
            for (uint32_t k = 0; k < length; ++k)
                bytes[k] = static_cast<std::byte>(writing ? pattern(seed + i, k) : 0);
            if (!q.submit(writing ? Op::kWrite : Op::kRead, g_disk, base + uint64_t{i} * length, i,
                          std::move(*b), length))
                ++bad;
        }
        uint32_t done = 0;
        while (done < depth) {
            if (q.wait(1, 10'000'000'000) < 0) {
                ++bad;
                break;
            }
            while (auto r = q.reap()) {
                ++done;
                if (r->status != 0 || r->value != length) {
                    print("blktest: queue op %lu: status 0x%x value %lu\n", r->user_data, r->status,
                          r->value);
                    ++bad;
                }
                if (!writing) {
                    auto bytes = q.client().bytes(r->buffer);
                    for (uint32_t k = 0; k < length; ++k)
                        bad += bytes[k] == static_cast<std::byte>(pattern(seed + r->user_data, k))
                                   ? 0
                                   : 1;
                }
                r->buffer.reset();
            }
        }
    }
    return bad;
}

// Depth 1: blocking do_io from this thread, writes of varied sizes read back.
TEST(depth_1_do_io) {
    g_workers[0].base = kScratch;
    g_workers[0].seed = 1000;
    const uint64_t start = sys::clock_ns();
    run_worker(0);
    CHECK_EQ(g_workers[0].bad, 0u);
    print("blktest: depth 1: %lu KiB written, read back and verified in %lu ms\n",
          g_workers[0].bytes / 1024, (sys::clock_ns() - start) / 1'000'000);
}

// Depth 32: one asynchronous queue with 32 operations in flight (16 KiB: one virtio request
// each; 4 KiB: many small ones).
TEST(depth_32_queue) {
    const uint64_t start = sys::clock_ns();
    uint64_t bad = 0;
    for (int round = 0; round < 4; ++round)
        bad += queue_round(kScratch + (8ull << 20), 32, 16384, 7 + round);
    bad += queue_round(kScratch + (10ull << 20), 32, 4096, 3);
    CHECK_EQ(bad, 0u);
    print("blktest: depth 32: %lu KiB written, read back and verified in %lu ms\n",
          static_cast<uint64_t>(4 * 2 * 32 * 16384 + 2 * 32 * 4096) / 1024,
          (sys::clock_ns() - start) / 1'000'000);
}

// One operation of `length` bytes at `at` through queue q: a write of pattern(seed), or a read
// checked against it. The bytes that differ (a read's), or kRoundFailed when it did not
// complete Ok with all its bytes.
constexpr uint64_t kRoundFailed = ~0ull;
uint64_t device_data_round(Queue& q, Op op, uint64_t at, uint32_t length, uint64_t seed) {
    auto b = q.client().acquire();
    if (!b)
        return kRoundFailed;
    auto bytes = q.client().bytes(*b);
    for (uint32_t k = 0; k < length; ++k)
        bytes[k] = static_cast<std::byte>(op == Op::kWrite ? pattern(seed, k) : 0);
    if (!q.submit(op, g_disk, at, 0, std::move(*b), length) || q.wait(1, 10'000'000'000) < 0)
        return kRoundFailed;
    auto r = q.reap();
    if (!r || r->status != 0 || r->value != length)
        return kRoundFailed;
    uint64_t bad = 0;
    const auto got = q.client().bytes(r->buffer);
    for (uint32_t k = 0; k < length && op == Op::kRead; ++k)
        bad += got[k] == static_cast<std::byte>(pattern(seed, k)) ? 0 : 1;
    return bad;
}

// Device data (abi::kQueueDeviceData): the device reads and writes the queue's own buffers, no
// copy by the kernel. The same rounds as depth_32_queue, and each side's bytes read back
// through the other path (do_io, copied), so both paths agree on the disk. In copy mode the
// driver takes no device data: the queue is refused with NotSupported.
TEST(device_data_queue) {
    Queue probe;
    const int64_t made = make_queue(probe, 32, 65536, true);
    if (g_copy) {
        CHECK_EQ(made, -static_cast<int64_t>(abi::Error::kNotSupported));
        print("blktest: device data refused by the copying driver (NotSupported)\n");
        return;
    }
    CHECK_EQ(made, 0);
    // [6 MiB, 10 MiB): between the workers' regions and depth_32_queue's.
    const uint64_t base = kScratch + (4ull << 20);
    uint64_t bad = queue_round(base, 32, 65536, 500, false, true);
    bad += queue_round(base + (2ull << 20), 32, 4096, 600, false, true);
    bad += queue_round(base + (5ull << 19), 8, 512, 700, false, true);
    CHECK_EQ(bad, 0u);
    // Written by device data, read by do_io; written by do_io, read by device data.
    uint64_t mismatched = 0;
    for (uint32_t i = 0; i < 32; i += 7) {
        CHECK_EQ(read_at(g_check, 65536, base + uint64_t{i} * 65536), 65536);
        for (uint32_t k = 0; k < 65536; ++k)
            mismatched += g_check[k] == pattern(500 + i, k) ? 0 : 1;
    }
    for (uint32_t i = 0; i < 65536; ++i)
        g_buf[i] = pattern(800, i);
    CHECK_EQ(write_at(g_buf, 65536, base + (3ull << 20)), 65536);
    Queue q;
    CHECK_EQ(make_queue(q, 1, 65536, true), 0);
    CHECK_EQ(device_data_round(q, Op::kRead, base + (3ull << 20), 65536, 800), 0);
    CHECK_EQ(mismatched, 0u);
    print(
        "blktest: device data: 2336 KiB written and read back by the device, agreeing with "
        "do_io\n");
}

// One device-data operation: its completion status (0 or a queue error status), or -1.
int64_t device_data_op(Op op, uint64_t offset, uint32_t length) {
    Queue q;
    if (make_queue(q, 1, 65536, true) != 0)
        return -1;
    auto b = q.client().acquire();
    if (!b || !q.submit(op, g_disk, offset, 0, std::move(*b), length) || q.wait(1) < 0)
        return -1;
    auto r = q.reap();
    return r ? r->status : -1;
}

// Bad requests through device data get the do_io path's errors; bad queue_create arguments are
// refused with theirs.
TEST(device_data_refused) {
    if (g_copy)
        return;
    const auto status = [](abi::Error e) { return int64_t{abi::queue_error_status(e)}; };
    CHECK_EQ(device_data_op(Op::kRead, 1, 512), status(abi::Error::kInvalidArgument));
    CHECK_EQ(device_data_op(Op::kWrite, 4096, 1000), status(abi::Error::kInvalidArgument));
    CHECK_EQ(device_data_op(Op::kRead, g_size, 512), status(abi::Error::kOutOfRange));
    CHECK_EQ(device_data_op(Op::kWrite, g_size - 512, 1024), status(abi::Error::kOutOfRange));
    Queue q;
    BAD_INPUT(q.create(64, 4, 4096, abi::kQueueDeviceData, 0), kBadHandle);
    BAD_INPUT(q.create(64, 4, 4096, abi::kQueueDeviceData, user::root()), kInvalidArgument);
    BAD_INPUT(q.create(64, 4, 4096, abi::kQueueDeviceData, 4000), kBadHandle);
    // A handle to the disk without Read.
    const int64_t write_only =
        sys::do_io(g_disk, Op::kShare, nullptr, 0, uint64_t{abi::kRightWrite} << 32);
    CHECK(write_only > 0);
    if (write_only > 0) {
        BAD_INPUT(q.create(64, 4, 4096, abi::kQueueDeviceData, static_cast<Handle>(write_only)),
                  kNoRights);
        (void)sys::do_io(static_cast<uint64_t>(write_only), Op::kClose);
    }
    CHECK_EQ(device_data_op(Op::kRead, 0, 512), 0);  // and the disk still serves
}

// A device-data operation larger than a device request (the driver's 64 KiB): cut into pieces
// like any operation, and complete once.
TEST(device_data_large) {
    if (g_copy)
        return;
    constexpr uint32_t kLarge = 256 * 1024;
    const uint64_t at = kScratch + (4ull << 20) + (7ull << 19);  // 9.5 MiB
    Queue q;
    CHECK_EQ(make_queue(q, 2, kLarge, true), 0);
    CHECK_EQ(device_data_round(q, Op::kWrite, at, kLarge, 900), 0);
    CHECK_EQ(device_data_round(q, Op::kRead, at, kLarge, 900), 0);
}

// Device-data queues made and destroyed, half of them with 32 reads still at the device: the
// kernel's memory and objects come back (nothing kept in the device's quarantine).
TEST(device_data_queues_leave_nothing) {
    if (g_copy)
        return;
    const abi::MemoryInfo before = testlib::memory_info();
    for (int round = 0; round < 16; ++round) {
        Queue q;
        CHECK_EQ(make_queue(q, 32, 65536, true), 0);
        for (uint32_t i = 0; i < 32 && round % 2 == 1; ++i) {
            auto b = q.client().acquire();
            CHECK(b && q.submit(Op::kRead, g_disk, uint64_t{i} * 65536, i, std::move(*b), 65536));
        }
        if (round % 2 == 1)
            CHECK_EQ(q.poll() >= 0, true);  // handed to the driver; destroyed with them in flight
    }
    CHECK(testlib::kernel_memory_back_to(before));
    CHECK_EQ(device_data_op(Op::kRead, 0, 512), 0);
}

// Several callers at once: four threads with blocking do_io and a depth-32 queue, 36
// operations at the driver from five callers. Only with the argument "callers": the kernel's
// served object hands a completion to the wrong caller when callers overlap (its per-slot
// state is indexed by the ipc tag's slot, which the ipc client reuses as soon as the
// completion is reaped, before the waiting caller took its answer): see
// drivers/virtio-blk/README.md.
TEST(concurrent_callers) {
    if (!g_callers) {
        print("blktest: concurrent callers not run (argument \"callers\" runs them)\n");
        return;
    }
    int64_t threads[kWorkers];
    for (int i = 0; i < kWorkers; ++i) {
        g_workers[i] = Worker{kScratch + (uint64_t{static_cast<uint32_t>(i)} << 20),
                              2000u + static_cast<uint32_t>(i),
                              0,
                              0,
                              {}};
        threads[i] = spawn_thread(worker, static_cast<uint64_t>(i));
        CHECK(threads[i] > 0);
    }
    uint64_t bad = 0;
    for (int round = 0; round < 4; ++round)
        bad += queue_round(kScratch + (8ull << 20), 32, 16384, 70 + round);
    CHECK_EQ(bad, 0u);
    for (int i = 0; i < kWorkers; ++i) {
        if (threads[i] > 0)
            CHECK_EQ(join(static_cast<Handle>(threads[i])), 0);
        CHECK_EQ(g_workers[i].bad, 0u);
    }
}

// Only with the argument "read-error" (the disk then fails every read that covers
// kBadSector): 32 adjacent 16 KiB reads queued at once, which the driver may merge into few
// virtio requests. Each completes exactly once: operation kBadOp with Io, every other one with
// its own bytes (a merged request that fails is sent again operation by operation).
TEST(merged_request_error) {
    if (!g_read_error) {
        print("blktest: merged request error not run (argument \"read-error\" runs it)\n");
        return;
    }
    CHECK_EQ(queue_round(kErrorRegion, kErrorOps, kErrorLength, 40, true), 0u);
    Queue q;
    CHECK_EQ(q.create(64, kErrorOps, kErrorLength), 0);
    for (uint32_t i = 0; i < kErrorOps; ++i) {
        auto b = q.client().acquire();
        CHECK(static_cast<bool>(b));
        if (!b)
            return;
        CHECK(
            static_cast<bool>(q.submit(Op::kRead, g_disk, kErrorRegion + uint64_t{i} * kErrorLength,
                                       i, std::move(*b), kErrorLength)));
    }
    uint32_t seen[kErrorOps] = {};
    uint32_t done = 0, failed = 0, bad_bytes = 0;
    while (done < kErrorOps && q.wait(1, 10'000'000'000) >= 0) {
        while (auto r = q.reap()) {
            ++done;
            CHECK(r->user_data < kErrorOps);
            if (r->user_data >= kErrorOps)
                continue;
            ++seen[r->user_data];
            if (r->user_data == kBadOp) {
                CHECK_EQ(r->status, abi::queue_error_status(abi::Error::kIo));
                failed += r->status != 0 ? 1 : 0;
            } else {
                CHECK_EQ(r->status, 0);
                CHECK_EQ(r->value, kErrorLength);
                auto bytes = q.client().bytes(r->buffer);
                for (uint32_t k = 0; k < kErrorLength; ++k)
                    bad_bytes +=
                        bytes[k] == static_cast<std::byte>(pattern(40 + r->user_data, k)) ? 0 : 1;
            }
            r->buffer.reset();
        }
    }
    CHECK_EQ(done, kErrorOps);
    CHECK_EQ(failed, 1u);
    CHECK_EQ(bad_bytes, 0u);
    for (uint32_t i = 0; i < kErrorOps; ++i)
        CHECK_EQ(seen[i], 1u);
    CHECK(q.wait(1, 200'000'000) < 0 || !q.reap());  // nothing completes twice
    CHECK_EQ(read_at(g_buf, kErrorLength, kErrorRegion + (kBadOp + 1) * kErrorLength),
             kErrorLength);
    print("blktest: merged reads with a bad sector: operation %u failed alone, %u read\n", kBadOp,
          kErrorOps - 1);
}

}  // namespace

}  // namespace keel::blktest

int keel_main(const keel::user::StartInfo& start) {
    // The disk's size: the first number among the arguments.
    uint64_t i = 0;
    while (i < start.args_length && (start.args[i] < '0' || start.args[i] > '9'))
        ++i;
    keel::testlib::Args args(start.args + i, start.args_length - i);
    keel::blktest::g_size = args.number();
    for (uint64_t k = 0; k + 4 <= start.args_length; ++k) {
        if (k + 7 <= start.args_length && keel::c::compare(start.args + k, "callers", 7) == 0)
            keel::blktest::g_callers = true;
        if (k + 10 <= start.args_length && keel::c::compare(start.args + k, "read-error", 10) == 0)
            keel::blktest::g_read_error = true;
        if (k + 4 <= start.args_length && keel::c::compare(start.args + k, "copy", 4) == 0)
            keel::blktest::g_copy = true;
    }
    return keel::testlib::run(start, "blktest");
}
