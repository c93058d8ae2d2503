// parttest: the virtio-blk driver's partitions from a client's side (ns/srv/blk0/N, run from the
// shell). The disk (kernel/tests/qemu-parttest.sh makes it with sfdisk and checks it after):
// a GPT with partition 1 at sector 2048 (8192 sectors; its first sector holds byte i = i % 241,
// written by the host) and partition 2 at sector 12288 (8192 sectors), a gap of 2048 zero
// sectors between them. Each partition is an object of its own whose reads and writes stay
// inside it; this writes byte i = (i * 5 + 3) % 256 into partition 2's first sector and the
// last sector of partition 1, which the host checks afterwards.
#include <keel/c/mem.hpp>

#include "disk.hpp"
#include "testlib.hpp"

namespace keel::parttest {
namespace {

using namespace keel::user;
using abi::Meta;

constexpr uint64_t kSector = 512;
constexpr uint64_t kPartSectors = 8192;
constexpr uint64_t kPartBytes = kPartSectors * kSector;

Handle g_disk = 0, g_p1 = 0, g_p2 = 0;

int64_t open_in(Handle dir, const char* name) {
    return sys::do_io(dir, Op::kOpen, name, c::length(name));
}

TEST(partitions_are_objects) {
    g_disk = blktest::wait_for_disk();
    CHECK(g_disk != 0);
    // The driver reads the table after it publishes the disk: wait for the first partition.
    int64_t p1 = -1;
    for (int i = 0; i < 100 && p1 < 0; ++i) {
        p1 = open_in(g_disk, "1");
        if (p1 < 0)
            (void)sys::sleep_ns(20'000'000);
    }
    CHECK(p1 > 0);
    const int64_t p2 = open_in(g_disk, "2");
    CHECK(p2 > 0);
    g_p1 = static_cast<Handle>(p1);
    g_p2 = static_cast<Handle>(p2);
    uint64_t kind = 0;
    CHECK_EQ(sys::do_io(g_p1, Op::kGetMeta, &kind, 8, uint64_t(Meta::kKind)), 8);
    CHECK_EQ(kind, uint64_t(abi::Kind::kServed));
    for (const char* bad : {"3", "0", "01", "x", "1x", "999"})
        BAD_INPUT(open_in(g_disk, bad), kNotFound);
    BAD_INPUT(open_in(g_p1, "1"), kNotDirectory);
}

TEST(partition_geometry) {
    uint64_t size = 0;
    CHECK_EQ(sys::do_io(g_p1, Op::kGetMeta, &size, 8, uint64_t(Meta::kSize)), 8);
    CHECK_EQ(size, kPartBytes);
    abi::BlockInfo info{};
    CHECK_EQ(sys::do_io(g_p2, Op::kGetMeta, &info, sizeof info, uint64_t(Meta::kBlockInfo)),
             static_cast<int64_t>(sizeof info));
    CHECK_EQ(info.block_count, kPartSectors);
    CHECK_EQ(info.block_size, 512u);
}

TEST(reads_are_relative_to_the_partition) {
    static uint8_t buf[kSector];
    CHECK_EQ(sys::do_io(g_p1, Op::kRead, buf, kSector, 0), static_cast<int64_t>(kSector));
    bool same = true;
    for (uint64_t i = 0; i < kSector; ++i)
        same = same && buf[i] == i % 241;
    CHECK(same);
}

TEST(accesses_stay_inside) {
    static uint8_t buf[2 * kSector];
    for (uint64_t i = 0; i < sizeof buf; ++i)
        buf[i] = static_cast<uint8_t>((i * 5 + 3) % 256);
    // The last sector of partition 1: fine. One sector further, or across its end: refused.
    CHECK_EQ(sys::do_io(g_p1, Op::kWrite, buf, kSector, kPartBytes - kSector),
             static_cast<int64_t>(kSector));
    BAD_INPUT(sys::do_io(g_p1, Op::kWrite, buf, kSector, kPartBytes), kOutOfRange);
    BAD_INPUT(sys::do_io(g_p1, Op::kWrite, buf, 2 * kSector, kPartBytes - kSector), kOutOfRange);
    BAD_INPUT(sys::do_io(g_p1, Op::kRead, buf, kSector, ~0ull - 511), kOutOfRange);
    BAD_INPUT(sys::do_io(g_p1, Op::kRead, buf, kSector, 100), kInvalidArgument);
    CHECK_EQ(sys::do_io(g_p2, Op::kWrite, buf, kSector, 0), static_cast<int64_t>(kSector));
    CHECK_EQ(sys::do_io(g_p2, Op::kSync), 0);
    // The same bytes through the whole disk at partition 2's start (sector 12288).
    static uint8_t back[kSector];
    CHECK_EQ(sys::do_io(g_disk, Op::kRead, back, kSector, 12288 * kSector),
             static_cast<int64_t>(kSector));
    CHECK(c::compare(back, buf, kSector) == 0);
}

}  // namespace
}  // namespace keel::parttest

int keel_main(const keel::user::StartInfo& start) {
    return keel::testlib::run(start, "parttest");
}
