// Crash points: the volume a killed FAT server leaves behind, at every point of a run, and
// what its restarted successor does with it. A server that crashes has issued some prefix of
// its device writes (in order, a sector at a time: a multi-sector write may be torn); a power
// cut keeps everything before the last flush and any part of the epoch after it, in any order.
// For each such state the volume is mounted afresh (a new cache, as a restarted server) and
// does what fatcrash's writers do next: read every file, truncate it, write it again, flush,
// read it back. None of that may answer kCorrupt, and a file complete before the run keeps its
// bytes. (lib/fat/README.md, "Write ordering": the case this was written for is a growing
// write that links a file's durable tail to new clusters in another FAT sector.)
#include <gtest/gtest.h>
#include <keel/fat/volume.hpp>

#include <map>
#include <string>
#include <vector>

#include "fat_image.hpp"

namespace keel::fat {
namespace {

namespace fs = std::filesystem;
using testing::MemoryDevice;

const DateTime kNow = make_time(2026, 12, 6, 6, 30, 0);

std::vector<uint8_t> bytes_of(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>((i * 7 + seed * 31) % 251);
    return v;
}

// A device over a shared base image and the sectors written over it: a crash state costs the
// writes applied, not a copy of the (up to 40 MB) image.
class OverlayDevice final : public BlockDevice {
  public:
    explicit OverlayDevice(const std::vector<uint8_t>& base) : base_(base) {
        sector_size = 512;
        sector_count = base.size() / 512;
    }
    void put(uint64_t sector, const std::vector<uint8_t>& bytes) { over_[sector] = bytes; }
    Error read(uint64_t sector, uint32_t count, uint8_t* out) override {
        if (sector >= sector_count || count > sector_count - sector)
            return Error::kIo;
        for (uint32_t i = 0; i < count; ++i) {
            const auto it = over_.find(sector + i);
            const uint8_t* from =
                it != over_.end() ? it->second.data() : base_.data() + (sector + i) * sector_size;
            std::copy(from, from + sector_size, out + static_cast<size_t>(i) * sector_size);
        }
        return Error::kOk;
    }
    Error write(uint64_t sector, uint32_t count, const uint8_t* in) override {
        if (sector >= sector_count || count > sector_count - sector)
            return Error::kIo;
        for (uint32_t i = 0; i < count; ++i) {
            const uint8_t* p = in + static_cast<size_t>(i) * sector_size;
            over_[sector + i] = std::vector<uint8_t>(p, p + sector_size);
        }
        return Error::kOk;
    }
    Error flush() override { return Error::kOk; }

  private:
    const std::vector<uint8_t>& base_;
    std::map<uint64_t, std::vector<uint8_t>> over_;
};

// The FAT sectors (of the first copy) that hold cluster c's entry: a FAT12 entry may straddle.
std::pair<uint64_t, uint64_t> fat_sectors_of(FatType type, uint32_t c) {
    const uint64_t offset = type == FatType::kFat12   ? c + c / 2
                            : type == FatType::kFat16 ? uint64_t{c} * 2
                                                      : uint64_t{c} * 4;
    const uint64_t width = type == FatType::kFat32 ? 4 : 2;
    return {offset / 512, (offset + width - 1) / 512};
}

Error mount(Volume& vol, BlockDevice& dev, std::vector<uint8_t>& cache, uint32_t slots) {
    cache.assign(BlockCache::bytes_for(slots, 512), 0);
    return vol.mount(dev, cache.data(), cache.size());
}

class CrashPoints : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        if (!testing::have_tools())
            GTEST_SKIP() << "dosfstools (mkfs.fat, fsck.fat) or mtools not installed";
        dir_ = fs::temp_directory_path() /
               ("keel_fat_crash_" + std::to_string(::getpid()) + "_" + std::to_string(GetParam()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        image_ = dir_ / "vol.img";
        const int bits = GetParam();
        ASSERT_TRUE(bits == 12   ? testing::make_image(image_, 12, 1024, "-s 1")
                    : bits == 16 ? testing::make_image(image_, 16, 16384)
                                 : testing::make_image(image_, 32, 40000, "-s 1"));
        // Mounted, with a file complete before every run (it must keep its bytes).
        dev_ = std::make_unique<MemoryDevice>(testing::load_file(image_));
        ASSERT_EQ(mount(vol_, *dev_, cache_, 64), Error::kOk) << vol_.reason();
        keep_ = bytes_of(2 * vol_.cluster_bytes() + 300, 1);
        Node k;
        ASSERT_EQ(vol_.create(vol_.root(), "KEEP.BIN", 8, false, kNow, &k), Error::kOk);
        ASSERT_EQ(vol_.write(k, 0, keep_.data(), keep_.size(), kNow), Error::kOk);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_, image_;
    std::unique_ptr<MemoryDevice> dev_;
    std::vector<uint8_t> cache_;
    std::vector<uint8_t> keep_;
    Volume vol_;
};

Error lookup(Volume& vol, const std::string& name, Node* out) {
    return vol.lookup(vol.root(), name.data(), name.size(), out);
}

// What the restarted server does next with every file: all of it must work on any crash state.
void restart_and_rewrite(const std::vector<uint8_t>& base,
                         const std::vector<MemoryDevice::Write>& log, size_t applied,
                         const std::vector<size_t>& order, const std::vector<uint8_t>& keep,
                         const std::vector<std::string>& names, const std::string& where) {
    OverlayDevice dev(base);
    for (size_t i = 0; i < applied; ++i) {
        const auto& w = log[order[i]];
        if (w.sector != ~uint64_t{0})
            dev.put(w.sector, w.bytes);
    }
    Volume vol;
    std::vector<uint8_t> cache;
    ASSERT_EQ(mount(vol, dev, cache, 64), Error::kOk) << where << ": " << vol.reason();
    Node k;
    ASSERT_EQ(lookup(vol, "KEEP.BIN", &k), Error::kOk) << where;
    std::vector<uint8_t> got(keep.size() + 10);
    size_t done = 0;
    EXPECT_EQ(vol.read(k, 0, got.data(), got.size(), &done), Error::kOk) << where;
    got.resize(done);
    EXPECT_EQ(got, keep) << where << ": a file complete before the run changed";
    for (const std::string& name : names) {
        Node n;
        Error e = lookup(vol, name, &n);
        ASSERT_EQ(e, Error::kOk) << where << " " << name;
        std::vector<uint8_t> old(n.size + 10);
        e = vol.read(n, 0, old.data(), old.size(), &done);
        EXPECT_EQ(e, Error::kOk) << where << " " << name << ": read: " << vol.reason();
        e = vol.truncate(n, 0, kNow);
        EXPECT_EQ(e, Error::kOk) << where << " " << name << ": truncate: " << vol.reason();
        const auto fresh = bytes_of(3 * vol.cluster_bytes() + 100, 77);
        e = vol.write(n, 0, fresh.data(), fresh.size(), kNow);
        EXPECT_EQ(e, Error::kOk) << where << " " << name << ": write: " << vol.reason();
        EXPECT_EQ(vol.flush(), Error::kOk) << where << " " << name << ": " << vol.reason();
        std::vector<uint8_t> back(fresh.size() + 10);
        e = vol.read(n, 0, back.data(), back.size(), &done);
        EXPECT_EQ(e, Error::kOk) << where << " " << name << ": " << vol.reason();
        back.resize(done);
        EXPECT_EQ(back, fresh) << where << " " << name;
    }
}

// A crashed server: every prefix of its writes, in the order it issued them. A power cut:
// everything before a flush, then any part of the epoch after it: its writes taken last first
// (the cache writes an epoch in ascending order, a disk need not).
void check_every_crash_point(const std::vector<uint8_t>& before,
                             const std::vector<MemoryDevice::Write>& log,
                             const std::vector<uint8_t>& keep,
                             const std::vector<std::string>& names) {
    ASSERT_GT(log.size(), 4u);
    std::vector<size_t> in_order(log.size());
    for (size_t i = 0; i < log.size(); ++i)
        in_order[i] = i;
    for (size_t n = 0; n <= log.size(); ++n)
        restart_and_rewrite(before, log, n, in_order, keep, names,
                            "crash after " + std::to_string(n));
    std::vector<size_t> barriers{0};
    for (size_t i = 0; i < log.size(); ++i) {
        if (log[i].sector == ~uint64_t{0})
            barriers.push_back(i + 1);
    }
    barriers.push_back(log.size());
    for (size_t ep = 0; ep + 1 < barriers.size(); ++ep) {
        std::vector<size_t> order(in_order.begin(), in_order.begin() + barriers[ep]);
        for (size_t i = barriers[ep + 1]; i > barriers[ep]; --i)
            order.push_back(i - 1);
        for (size_t n = barriers[ep] + 1; n < barriers[ep + 1]; ++n)
            restart_and_rewrite(before, log, n, order, keep, names,
                                "power cut in epoch " + std::to_string(ep) + " after " +
                                    std::to_string(n - barriers[ep]) + " reversed");
    }
}

// fatcrash's pattern, one cluster a write: a file truncated and written again while another
// writer's sync (or the server's write-back) makes its first cluster durable between two of its
// writes, and the second write's cluster lies in the next FAT sector; then another file written
// in pieces with and without a sync between, and the first appended to.
TEST_P(CrashPoints, EveryPrefixAndEveryEpochRestartsCleanly) {
    auto& vol = vol_;
    auto& dev = dev_;
    const uint32_t cb = vol.cluster_bytes();
    const Node root = vol.root();
    Node a, b, fill;
    for (auto [name, node] : {std::pair{"a.txt", &a}, std::pair{"b.txt", &b}}) {
        ASSERT_EQ(vol.create(root, name, 5, false, kNow, node), Error::kOk);
        const auto old = bytes_of(2 * cb + 10, 2);
        ASSERT_EQ(vol.write(*node, 0, old.data(), old.size(), kNow), Error::kOk);
    }
    // A filler that ends where the next free cluster is the last one whose FAT entry is in its
    // sector: a's next two clusters then lie in two FAT sectors. (Not one whose FAT12 entry
    // straddles two sectors: a torn entry is not handled, lib/fat/README.md.)
    ASSERT_EQ(vol.create(root, "fill.bin", 8, false, kNow, &fill), Error::kOk);
    ASSERT_EQ(vol.write(fill, 0, keep_.data(), 1, kNow), Error::kOk);
    const uint32_t first = fill.first_cluster;
    uint32_t next = first + 1;
    while (fat_sectors_of(vol.type(), next).second == fat_sectors_of(vol.type(), next + 1).first)
        ++next;
    ASSERT_EQ(vol.truncate(fill, uint64_t{next - first} * cb, kNow), Error::kOk);
    ASSERT_EQ(vol.flush(), Error::kOk);
    const std::vector<uint8_t> before = dev->bytes();
    dev->record = true;

    const auto piece = bytes_of(cb, 3);
    ASSERT_EQ(vol.truncate(a, 0, kNow), Error::kOk);
    ASSERT_EQ(vol.write(a, 0, piece.data(), cb, kNow), Error::kOk);
    ASSERT_EQ(a.first_cluster, next) << "the allocator did not go on after the filler";
    ASSERT_EQ(vol.flush(), Error::kOk);  // another writer's sync: a's first cluster durable
    ASSERT_EQ(vol.write(a, cb, piece.data(), cb, kNow), Error::kOk);
    ASSERT_EQ(vol.truncate(b, 0, kNow), Error::kOk);
    ASSERT_EQ(vol.write(b, 0, piece.data(), cb, kNow), Error::kOk);
    ASSERT_EQ(vol.write(b, cb, piece.data(), cb, kNow), Error::kOk);  // no sync between
    ASSERT_EQ(vol.flush(), Error::kOk);
    ASSERT_EQ(vol.write(b, 2 * cb, piece.data(), cb, kNow), Error::kOk);
    ASSERT_EQ(vol.write(a, 2 * cb, piece.data(), 100, kNow), Error::kOk);
    ASSERT_EQ(vol.write(b, 3 * cb, piece.data(), cb, kNow), Error::kOk);
    ASSERT_EQ(vol.flush(), Error::kOk);
    check_every_crash_point(before, dev->recorded, keep_, {"a.txt", "b.txt"});
}

// A shrinking truncate of a file whose chain runs from a high cluster back to low ones (the
// allocator wrapped into a hole): the new end is in a later FAT sector than the clusters freed
// after it.
TEST_P(CrashPoints, ShrinkingAFragmentedFileRestartsCleanly) {
    auto& vol = vol_;
    auto& dev = dev_;
    const uint32_t cb = vol.cluster_bytes();
    const Node root = vol.root();
    Node hole, fill, c, big;
    ASSERT_EQ(vol.create(root, "hole.bin", 8, false, kNow, &hole), Error::kOk);
    ASSERT_EQ(vol.truncate(hole, 2 * cb, kNow), Error::kOk);
    // c's first cluster a FAT sector or more past the hole's.
    ASSERT_EQ(vol.create(root, "fill.bin", 8, false, kNow, &fill), Error::kOk);
    ASSERT_EQ(vol.truncate(fill, 700 * uint64_t{cb}, kNow), Error::kOk);
    ASSERT_EQ(vol.create(root, "c.txt", 5, false, kNow, &c), Error::kOk);
    const auto old = bytes_of(3 * cb, 4);
    ASSERT_EQ(vol.write(c, 0, old.data(), cb, kNow), Error::kOk);
    // The rest of the volume taken, the hole freed: c's next clusters are the hole's.
    Usage u;
    ASSERT_EQ(vol.usage(&u), Error::kOk);
    ASSERT_EQ(vol.create(root, "big.bin", 7, false, kNow, &big), Error::kOk);
    ASSERT_EQ(vol.truncate(big, uint64_t{u.free_clusters} * cb, kNow), Error::kOk);
    const uint32_t low = hole.first_cluster;
    Volume::Extent hole_run{}, c_run{};
    uint32_t count = 0;
    ASSERT_EQ(vol.map(hole, 0, cb, &hole_run, 1, &count), Error::kOk);
    ASSERT_EQ(vol.remove(root, "hole.bin", 8), Error::kOk);
    ASSERT_EQ(vol.write(c, cb, old.data() + cb, 2 * cb, kNow), Error::kOk);
    ASSERT_EQ(vol.remove(root, "big.bin", 7), Error::kOk);
    ASSERT_EQ(vol.flush(), Error::kOk);
    ASSERT_EQ(vol.map(c, cb, cb, &c_run, 1, &count), Error::kOk);
    ASSERT_EQ(c_run.sector, hole_run.sector) << "c did not run on into the hole";
    ASSERT_NE(fat_sectors_of(vol.type(), c.first_cluster).first,
              fat_sectors_of(vol.type(), low).second);
    const std::vector<uint8_t> before = dev->bytes();
    dev->record = true;
    ASSERT_EQ(vol.truncate(c, 10, kNow), Error::kOk);
    ASSERT_EQ(vol.flush(), Error::kOk);
    check_every_crash_point(before, dev->recorded, keep_, {"c.txt"});
}

INSTANTIATE_TEST_SUITE_P(Types, CrashPoints, ::testing::Values(12, 16, 32),
                         [](const auto& info) { return "FAT" + std::to_string(info.param); });

}  // namespace
}  // namespace keel::fat
