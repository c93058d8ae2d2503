// lib/fat on the host: images made at test time by the host's mkfs.fat (FAT12, FAT16, FAT32),
// filled by mtools and read through the library; files written by the library read back by
// mtools with equal contents and checked by fsck.fat -n; then hand-corrupted images, each
// refused or reported with its own reason, never read or written outside the device.
#include <gtest/gtest.h>
#include <keel/fat/volume.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fat_image.hpp"

namespace keel::fat {
namespace {

namespace fs = std::filesystem;
using testing::capture;
using testing::MemoryDevice;
using testing::q;
using testing::run;

const DateTime kNow = make_time(2026, 12, 5, 12, 30, 44);

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    std::mt19937 r(seed);
    for (auto& b : v)
        b = static_cast<uint8_t>(r());
    return v;
}

class Fat : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        if (!testing::have_tools())
            GTEST_SKIP() << "dosfstools (mkfs.fat, fsck.fat) or mtools not installed";
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = std::string(info->test_suite_name()) + "_" + info->name();
        std::replace(name.begin(), name.end(), '/', '_');
        dir_ = fs::temp_directory_path() /
               ("keel_fat_test_" + std::to_string(::getpid()) + "_" + name);
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        image_ = dir_ / "vol.img";
        ASSERT_TRUE(make(GetParam()));
    }
    void TearDown() override {
        if (dev_ != nullptr)
            EXPECT_EQ(dev_->outside, 0u) << "an access fell outside the device";
        fs::remove_all(dir_);
    }

    bool make(int bits) {
        // FAT32 needs at least 65525 clusters: 40 MB of one-sector clusters.
        if (bits == 12)
            return testing::make_image(image_, 12, 1024);
        if (bits == 16)
            return testing::make_image(image_, 16, 16384);
        return testing::make_image(image_, 32, 40000, "-s 1");
    }
    std::string m(const std::string& tool) {
        return testing::mtools_env() + tool + " -i " + q(image_.string()) + " ";
    }
    void put_host(const std::string& path, const std::vector<uint8_t>& bytes) {
        const fs::path src = dir_ / "src.bin";
        testing::save_file(src, bytes);
        ASSERT_EQ(run(m("mcopy") + "-o " + q(src.string()) + " " + q("::" + path)), 0) << path;
    }
    void mkdir_host(const std::string& path) {
        ASSERT_EQ(run(m("mmd") + q("::" + path)), 0) << path;
    }
    std::vector<uint8_t> get_host(const std::string& path) {
        const fs::path out = dir_ / "out.bin";
        fs::remove(out);
        if (run(m("mcopy") + "-n " + q("::" + path) + " " + q(out.string()) + " 2>/dev/null") != 0)
            return {};
        return testing::load_file(out);
    }
    Error mount(size_t cache_slots = 16) {
        dev_ = std::make_unique<MemoryDevice>(testing::load_file(image_));
        cache_.assign(BlockCache::bytes_for(static_cast<uint32_t>(cache_slots), 512), 0);
        return vol_.mount(*dev_, cache_.data(), cache_.size());
    }
    void save() {
        ASSERT_EQ(vol_.flush(), Error::kOk);
        testing::save_file(image_, dev_->bytes());
    }
    bool fsck_clean() {
        return run(testing::fsck_path() + " -n " + q(image_.string()) + " >/dev/null 2>&1") == 0;
    }
    std::string fsck_output() {
        return capture(testing::fsck_path() + " -n " + q(image_.string()) + " 2>&1");
    }
    // Walks a '/'-separated path from the root.
    Error resolve(const std::string& path, Node* out) {
        Node n = vol_.root();
        size_t i = 0;
        while (i < path.size()) {
            while (i < path.size() && path[i] == '/')
                ++i;
            const size_t j = path.find('/', i);
            const std::string part = path.substr(i, j == std::string::npos ? j : j - i);
            i = j == std::string::npos ? path.size() : j;
            if (part.empty())
                break;
            Node next;
            const Error e = vol_.lookup(n, part.data(), part.size(), &next);
            if (e != Error::kOk)
                return e;
            n = next;
        }
        *out = n;
        return Error::kOk;
    }
    std::vector<uint8_t> read_all(Node n, Error* err = nullptr) {
        std::vector<uint8_t> out(n.size + 100);
        size_t done = 0;
        const Error e = vol_.read(n, 0, out.data(), out.size(), &done);
        if (err != nullptr)
            *err = e;
        else
            EXPECT_EQ(e, Error::kOk) << vol_.reason();
        out.resize(done);
        return out;
    }
    std::set<std::string> names(const Node& dir) {
        std::set<std::string> out;
        uint32_t cursor = 0;
        Entry e;
        Error err;
        while ((err = vol_.list(dir, &cursor, &e)) == Error::kOk)
            out.insert(std::string(e.name, e.name_length));
        EXPECT_EQ(err, Error::kNotFound);
        return out;
    }
    Node create(const Node& dir, const std::string& name, bool directory = false) {
        Node n;
        EXPECT_EQ(vol_.create(dir, name.data(), name.size(), directory, kNow, &n), Error::kOk)
            << name << " " << vol_.reason();
        return n;
    }
    Node write_file(const Node& dir, const std::string& name, const std::vector<uint8_t>& data) {
        Node n = create(dir, name);
        EXPECT_EQ(vol_.write(n, 0, data.data(), data.size(), kNow), Error::kOk) << vol_.reason();
        return n;
    }

    fs::path dir_, image_;
    std::unique_ptr<MemoryDevice> dev_;
    std::vector<uint8_t> cache_;
    Volume vol_;
};

INSTANTIATE_TEST_SUITE_P(Types, Fat, ::testing::Values(12, 16, 32),
                         [](const auto& info) { return "FAT" + std::to_string(info.param); });

TEST_P(Fat, MountsMkfsImageAsItsType) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const FatType want = GetParam() == 12   ? FatType::kFat12
                         : GetParam() == 16 ? FatType::kFat16
                                            : FatType::kFat32;
    EXPECT_EQ(vol_.type(), want);
    Usage u;
    ASSERT_EQ(vol_.usage(&u), Error::kOk);
    EXPECT_EQ(u.cluster_count, vol_.cluster_count());
    EXPECT_GE(u.free_clusters + 1, u.cluster_count);  // FAT32's root takes one
    EXPECT_EQ(dev_->writes, 0u);                      // mounting writes nothing
    EXPECT_TRUE(names(vol_.root()).empty());
}

TEST_P(Fat, ReadsWhatMtoolsWrote) {
    const auto small = pattern(100, 1), big = pattern(150000, 2), edge = pattern(4096, 3);
    mkdir_host("/docs");
    mkdir_host("/docs/deeper");
    put_host("/README.TXT", small);
    put_host("/docs/A rather long file name.data", big);
    put_host("/docs/deeper/edge.bin", edge);
    put_host("/empty", {});
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    EXPECT_EQ(names(vol_.root()), (std::set<std::string>{"README.TXT", "docs", "empty"}));
    Node n;
    ASSERT_EQ(resolve("/readme.txt", &n), Error::kOk);  // case-insensitive
    EXPECT_EQ(read_all(n), small);
    ASSERT_EQ(resolve("/DOCS/a RATHER long FILE name.DATA", &n), Error::kOk);
    EXPECT_EQ(n.size, big.size());
    EXPECT_EQ(read_all(n), big);
    // A read in the middle, across cluster boundaries.
    std::vector<uint8_t> part(7000);
    size_t done = 0;
    ASSERT_EQ(vol_.read(n, 12345, part.data(), part.size(), &done), Error::kOk);
    ASSERT_EQ(done, part.size());
    EXPECT_TRUE(std::equal(part.begin(), part.end(), big.begin() + 12345));
    // Past the end: a short read.
    ASSERT_EQ(vol_.read(n, big.size() - 10, part.data(), part.size(), &done), Error::kOk);
    EXPECT_EQ(done, 10u);
    ASSERT_EQ(resolve("/docs/deeper/edge.bin", &n), Error::kOk);
    EXPECT_EQ(read_all(n), edge);
    ASSERT_EQ(resolve("/empty", &n), Error::kOk);
    EXPECT_TRUE(read_all(n).empty());
    EXPECT_EQ(resolve("/docs/missing", &n), Error::kNotFound);
    EXPECT_EQ(resolve("/README.TXT/x", &n), Error::kNotDirectory);
    ASSERT_EQ(resolve("/docs/deeper/..", &n), Error::kOk);
    EXPECT_EQ(names(n), (std::set<std::string>{"A rather long file name.data", "deeper"}));
    ASSERT_EQ(resolve("/docs/..", &n), Error::kOk);
    EXPECT_TRUE(n.is_root);
    ASSERT_EQ(resolve("/docs", &n), Error::kOk);
    size_t d = 0;
    EXPECT_EQ(vol_.read(n, 0, part.data(), 1, &d), Error::kIsDirectory);
}

TEST_P(Fat, WritesWhatMtoolsAndFsckAccept) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const Node root = vol_.root();
    const auto a = pattern(10, 4), b = pattern(70000, 5), c = pattern(3 * 4096 + 17, 6);
    write_file(root, "SHORT.TXT", a);
    write_file(root, "a long name with spaces.bin", b);
    const Node sub = create(root, "Sub Directory", true);
    const Node deep = create(sub, "deeper", true);
    write_file(deep, "été 日本.txt", c);
    write_file(deep, "LOWER~1.TXT", b);  // an 8.3 name the generated one must avoid
    write_file(deep, "lower.txt", a);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/SHORT.TXT"), a);
    EXPECT_EQ(get_host("/a long name with spaces.bin"), b);
    EXPECT_EQ(get_host("/Sub Directory/deeper/été 日本.txt"), c);
    EXPECT_EQ(get_host("/Sub Directory/deeper/lower.txt"), a);
    EXPECT_EQ(get_host("/Sub Directory/deeper/LOWER~1.TXT"), b);
    const std::string listing = capture(m("mdir") + "-/ -b ::/");
    EXPECT_NE(listing.find("::/Sub Directory/deeper/été 日本.txt"), std::string::npos) << listing;
    EXPECT_NE(listing.find("::/a long name with spaces.bin"), std::string::npos) << listing;
    // The library reads its own names back, and the short names it generated.
    uint32_t cursor = 0;
    Entry e;
    std::set<std::string> shorts;
    while (vol_.list(deep, &cursor, &e) == Error::kOk)
        shorts.insert(e.short_name);
    EXPECT_TRUE(shorts.count("LOWER~2.TXT")) << *shorts.begin();
    EXPECT_EQ(names(deep), (std::set<std::string>{"été 日本.txt", "lower.txt", "LOWER~1.TXT"}));
    Node n;
    EXPECT_EQ(vol_.create(deep, "LOWER.txt", 9, false, kNow, &n), Error::kExists);
    for (const char* bad : {"", ".", "..", "a/b", "a:b", "trailing.", "tab\t", "q?"})
        EXPECT_EQ(vol_.create(root, bad, std::strlen(bad), false, kNow, &n), Error::kBadName)
            << bad;
    const char invalid_utf8[] = {'a', static_cast<char>(0xC3)};
    EXPECT_EQ(vol_.create(root, invalid_utf8, 2, false, kNow, &n), Error::kBadName);
    const std::string too_long(256, 'x');
    EXPECT_EQ(vol_.create(root, too_long.data(), too_long.size(), false, kNow, &n),
              Error::kBadName);
    const std::string longest(255, 'y');
    create(root, longest);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_NE(capture(m("mdir") + "-/ -b ::/").find(longest), std::string::npos);
}

TEST_P(Fat, OverwritesExtendsAndFillsGaps) {
    put_host("/data.bin", pattern(5000, 7));
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    Node n;
    ASSERT_EQ(resolve("/data.bin", &n), Error::kOk);
    auto model = pattern(5000, 7);
    const auto patch = pattern(3000, 8);
    ASSERT_EQ(vol_.write(n, 4000, patch.data(), patch.size(), kNow), Error::kOk);
    model.resize(7000);
    std::copy(patch.begin(), patch.end(), model.begin() + 4000);
    ASSERT_EQ(vol_.write(n, 20000, patch.data(), 10, kNow), Error::kOk);  // a gap: zeros
    model.resize(20010, 0);
    std::copy(patch.begin(), patch.begin() + 10, model.begin() + 20000);
    EXPECT_EQ(n.size, model.size());
    EXPECT_EQ(read_all(n), model);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/data.bin"), model);
    EXPECT_EQ(vol_.write(n, 0xFFFFFFFFull, patch.data(), 1, kNow), Error::kTooLarge);
}

TEST_P(Fat, TruncateRenameRemove) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const Node root = vol_.root();
    const auto data = pattern(20000, 9);
    Node f = write_file(root, "file.dat", data);
    const Node a = create(root, "dir a", true), b = create(root, "dir b", true);
    const Node inner = create(a, "inner", true);
    write_file(inner, "x.txt", pattern(3, 10));
    Usage before;
    ASSERT_EQ(vol_.usage(&before), Error::kOk);
    ASSERT_EQ(vol_.truncate(f, 3000, kNow), Error::kOk);
    EXPECT_EQ(f.size, 3000u);
    Usage after;
    ASSERT_EQ(vol_.usage(&after), Error::kOk);
    EXPECT_GT(after.free_clusters, before.free_clusters);
    ASSERT_EQ(vol_.truncate(f, 5000, kNow), Error::kOk);  // grows with zeros
    std::vector<uint8_t> model(data.begin(), data.begin() + 3000);
    model.resize(5000, 0);
    EXPECT_EQ(read_all(f), model);
    // Rename in place, a case-only change, and across directories (a directory, whose ".."
    // must follow).
    const char* n1 = "file.dat";
    const char* n2 = "Renamed File.dat";
    ASSERT_EQ(vol_.rename(root, n1, 8, root, n2, std::strlen(n2)), Error::kOk);
    ASSERT_EQ(vol_.rename(root, n2, std::strlen(n2), root, "RENAMED FILE.DAT", 16), Error::kOk);
    ASSERT_EQ(vol_.rename(root, "renamed file.dat", 16, b, "moved.dat", 9), Error::kOk);
    ASSERT_EQ(vol_.rename(a, "inner", 5, b, "Inner Moved", 11), Error::kOk);
    EXPECT_EQ(vol_.rename(root, "dir b", 5, b, "loop", 4), Error::kInvalid);
    Node im;
    ASSERT_EQ(resolve("/dir b/Inner Moved", &im), Error::kOk);
    EXPECT_EQ(vol_.rename(root, "dir b", 5, im, "loop", 4), Error::kInvalid);
    EXPECT_EQ(vol_.rename(root, "dir a", 5, root, "dir b", 5), Error::kExists);
    EXPECT_EQ(vol_.rename(root, "nothing", 7, root, "x", 1), Error::kNotFound);
    Node up;
    ASSERT_EQ(resolve("/dir b/Inner Moved/..", &up), Error::kOk);
    EXPECT_EQ(up.first_cluster, b.first_cluster);
    EXPECT_EQ(names(root), (std::set<std::string>{"dir a", "dir b"}));
    EXPECT_EQ(names(b), (std::set<std::string>{"moved.dat", "Inner Moved"}));
    // Remove: a non-empty directory is refused; files and empty directories go.
    EXPECT_EQ(vol_.remove(b, "Inner Moved", 11), Error::kNotEmpty);
    EXPECT_EQ(vol_.remove(root, ".", 1), Error::kInvalid);
    ASSERT_EQ(vol_.remove(im, "x.txt", 5), Error::kOk);
    ASSERT_EQ(vol_.remove(b, "Inner Moved", 11), Error::kOk);
    ASSERT_EQ(vol_.remove(root, "dir a", 5), Error::kOk);
    EXPECT_EQ(vol_.remove(root, "dir a", 5), Error::kNotFound);
    Node stale = im;
    EXPECT_EQ(vol_.stat(&stale), Error::kNotFound);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/dir b/moved.dat"), model);
    const std::string listing = capture(m("mdir") + "-/ -b ::/");
    EXPECT_EQ(listing.find("dir a"), std::string::npos) << listing;
    EXPECT_EQ(listing.find("Inner"), std::string::npos) << listing;
    // Everything freed: only what is still there holds clusters.
    Usage end;
    ASSERT_EQ(vol_.usage(&end), Error::kOk);
    const uint32_t per = vol_.cluster_bytes();
    const uint32_t held = (5000 + per - 1) / per + 1;  // moved.dat and "dir b"
    EXPECT_EQ(end.free_clusters + held + (GetParam() == 32 ? 1 : 0), end.cluster_count);
}

TEST_P(Fat, DirectoriesGrowAndTheFixedRootFills) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const Node sub = create(vol_.root(), "many", true);
    std::set<std::string> want;
    for (int i = 0; i < 150; ++i) {
        const std::string name = "a long file name number " + std::to_string(i);
        create(sub, name);
        want.insert(name);
    }
    EXPECT_EQ(names(sub), want);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    if (GetParam() != 32) {
        // The FAT12/16 root has a fixed number of entries (mkfs.fat: 512 for these images;
        // each name here takes 3).
        Error e = Error::kOk;
        int made = 0;
        for (; made < 1000 && e == Error::kOk; ++made) {
            const std::string name = "root entry name n" + std::to_string(made);
            Node n;
            e = vol_.create(vol_.root(), name.data(), name.size(), false, kNow, &n);
        }
        EXPECT_EQ(e, Error::kNoSpace);
        EXPECT_GT(made, 100);
        save();
        EXPECT_TRUE(fsck_clean()) << fsck_output();
    }
}

TEST_P(Fat, FullVolumeIsNoSpaceAndNothingIsCorrupted) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const Node root = vol_.root();
    const auto keep = pattern(3000, 11);
    write_file(root, "keep.bin", keep);
    Usage u;
    ASSERT_EQ(vol_.usage(&u), Error::kOk);
    // One file that takes all but one cluster, then a write needing two.
    const std::vector<uint8_t> fill(static_cast<size_t>(u.free_clusters - 1) * u.cluster_bytes,
                                    0x5A);
    Node big = write_file(root, "big.bin", fill);
    Node last = create(root, "LAST");
    const std::vector<uint8_t> two(2 * u.cluster_bytes, 1);
    EXPECT_EQ(vol_.write(last, 0, two.data(), two.size(), kNow), Error::kNoSpace);
    EXPECT_EQ(last.size, 0u);
    ASSERT_EQ(vol_.write(last, 0, two.data(), u.cluster_bytes, kNow), Error::kOk);
    EXPECT_EQ(vol_.write(big, fill.size(), two.data(), 1, kNow), Error::kNoSpace);
    Node dir;
    if (GetParam() == 32)
        EXPECT_EQ(vol_.create(root, "newdir", 6, true, kNow, &dir), Error::kNoSpace);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/keep.bin"), keep);
    EXPECT_EQ(get_host("/big.bin").size(), fill.size());
    ASSERT_EQ(vol_.usage(&u), Error::kOk);
    EXPECT_EQ(u.free_clusters, 0u);
}

TEST_P(Fat, TimesAreTheCallers) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    Node n = create(vol_.root(), "timed.txt");
    EXPECT_EQ(n.created.date, kNow.date);
    EXPECT_EQ(n.created.time, kNow.time);
    const DateTime later = make_time(2030, 1, 2, 3, 4, 6);
    ASSERT_EQ(vol_.write(n, 0, reinterpret_cast<const uint8_t*>("x"), 1, later), Error::kOk);
    Node again;
    ASSERT_EQ(resolve("/timed.txt", &again), Error::kOk);
    EXPECT_EQ(again.modified.date, later.date);
    EXPECT_EQ(again.modified.time, later.time);
    EXPECT_EQ(again.created.date, kNow.date);
    EXPECT_EQ(later.date, (50 << 9) | (1 << 5) | 2);
    EXPECT_EQ(later.time, (3 << 11) | (4 << 5) | 3);
    save();
    EXPECT_NE(capture(m("mdir") + "::/timed.txt").find("2030-01-02"), std::string::npos)
        << capture(m("mdir") + "::/timed.txt");
}

TEST_P(Fat, MetadataReachesTheDeviceAfterTheData) {
    ASSERT_EQ(mount(4), Error::kOk) << vol_.reason();
    Node n = create(vol_.root(), "ordered.bin");
    ASSERT_EQ(vol_.flush(), Error::kOk);
    dev_->log_writes = true;
    dev_->write_log.clear();
    const auto data = pattern(5 * vol_.cluster_bytes(), 12);
    ASSERT_EQ(vol_.write(n, 0, data.data(), data.size(), kNow), Error::kOk);
    ASSERT_EQ(vol_.flush(), Error::kOk);
    // The directory entry's sector is written only after a barrier that follows every FAT and
    // data write.
    const auto& log = dev_->write_log;
    size_t barrier = 0;
    while (barrier < log.size() && log[barrier] != ~uint64_t{0})
        ++barrier;
    ASSERT_LT(barrier, log.size());
    std::set<uint64_t> before(log.begin(), log.begin() + static_cast<long>(barrier));
    EXPECT_GE(before.size(), 5u * vol_.cluster_bytes() / 512);
    size_t entry_writes = 0;
    for (size_t i = barrier + 1; i < log.size(); ++i)
        entry_writes += log[i] != ~uint64_t{0} ? 1 : 0;
    EXPECT_GE(entry_writes, 1u);
    // Remove: the entry first, then the FAT.
    dev_->write_log.clear();
    ASSERT_EQ(vol_.remove(vol_.root(), "ordered.bin", 11), Error::kOk);
    ASSERT_EQ(vol_.flush(), Error::kOk);
    ASSERT_FALSE(log.empty());
    EXPECT_GE(log[0], vol_.cluster_count() > 0 ? 1u : 0u);
    size_t first_barrier = 0;
    while (log[first_barrier] != ~uint64_t{0})
        ++first_barrier;
    EXPECT_EQ(first_barrier, 1u);  // one sector (the entry's) before the first barrier
}

// Hand-corrupted images. Each case changes the image's bytes and expects an error with its
// reason (README.md lists them).
class Corrupt : public Fat {
  protected:
    uint8_t* boot() { return image_bytes_.data(); }
    void load() { image_bytes_ = testing::load_file(image_); }
    Error mount_bytes() {
        dev_ = std::make_unique<MemoryDevice>(image_bytes_);
        cache_.assign(BlockCache::bytes_for(16, 512), 0);
        return vol_.mount(*dev_, cache_.data(), cache_.size());
    }
    std::vector<uint8_t> image_bytes_;
};

INSTANTIATE_TEST_SUITE_P(Types, Corrupt, ::testing::Values(12, 16, 32),
                         [](const auto& info) { return "FAT" + std::to_string(info.param); });

void put16(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, v);
    put16(p + 2, v >> 16);
}

TEST_P(Corrupt, BootSectorFields) {
    load();
    const std::vector<uint8_t> good = image_bytes_;
    struct Case {
        const char* reason;
        void (*change)(uint8_t*);
        bool fat32_only, fat1216_only;
    };
    const Case cases[] = {
        {"boot sector: no 0x55 0xAA signature", [](uint8_t* b) { b[510] = 0; }, false, false},
        {"boot sector: no jump instruction", [](uint8_t* b) { b[0] = 0; }, false, false},
        {"boot sector: bytes per sector not 512, 1024, 2048 or 4096",
         [](uint8_t* b) { put16(b + 11, 513); }, false, false},
        {"boot sector: bytes per sector differs from the device's sector size",
         [](uint8_t* b) { put16(b + 11, 1024); }, false, false},
        {"boot sector: sectors per cluster not a power of two", [](uint8_t* b) { b[13] = 3; },
         false, false},
        {"boot sector: sectors per cluster not a power of two", [](uint8_t* b) { b[13] = 0; },
         false, false},
        {"boot sector: no reserved sectors", [](uint8_t* b) { put16(b + 14, 0); }, false, false},
        {"boot sector: FAT count not 1-4", [](uint8_t* b) { b[16] = 0; }, false, false},
        {"boot sector: FAT count not 1-4", [](uint8_t* b) { b[16] = 200; }, false, false},
        {"boot sector: media byte not 0xF0 or 0xF8-0xFF", [](uint8_t* b) { b[21] = 0x12; }, false,
         false},
        {"boot sector: volume larger than the device",
         [](uint8_t* b) { put32(b + 32, 0xFFFFFFF0u), put16(b + 19, 0); }, false, false},
        {"boot sector: total sectors in both or neither of the 16/32-bit fields",
         [](uint8_t* b) { put32(b + 32, 0), put16(b + 19, 0); }, false, false},
        {"boot sector: FAT too small for the cluster count", [](uint8_t* b) { put16(b + 22, 1); },
         false, true},
        {"boot sector: FAT12/16 without root directory entries",
         [](uint8_t* b) { put16(b + 17, 0); }, false, true},
        {"boot sector: FAT size is zero", [](uint8_t* b) { put16(b + 22, 0), put32(b + 36, 0); },
         false, true},
        {"boot sector: reserved, FAT and root sectors fill the volume",
         [](uint8_t* b) { put16(b + 14, 0xFFFF); }, false, true},
        {"boot sector: FAT32 root cluster outside the volume",
         [](uint8_t* b) { put32(b + 44, 0x0FFFFFF0); }, true, false},
        {"boot sector: FAT32 root cluster outside the volume", [](uint8_t* b) { put32(b + 44, 1); },
         true, false},
        {"boot sector: FAT32 FSInfo sector outside the reserved area",
         [](uint8_t* b) { put16(b + 48, 0x7000); }, true, false},
        {"boot sector: FAT32 version not 0.0", [](uint8_t* b) { put16(b + 42, 1); }, true, false},
        {"boot sector: FAT32 cluster count with a FAT12/16 layout",
         [](uint8_t* b) { put16(b + 17, 512); }, true, false},
        {"boot sector: FAT too small for the cluster count", [](uint8_t* b) { put32(b + 36, 3); },
         true, false},
        {"boot sector: FAT32 active FAT beyond the FAT count",
         [](uint8_t* b) { put16(b + 40, 0x83); }, true, false},
    };
    for (const Case& c : cases) {
        if ((c.fat32_only && GetParam() != 32) || (c.fat1216_only && GetParam() == 32))
            continue;
        image_bytes_ = good;
        c.change(boot());
        EXPECT_EQ(mount_bytes(), Error::kCorrupt) << c.reason;
        EXPECT_STREQ(vol_.reason(), c.reason);
        EXPECT_EQ(dev_->writes, 0u);
    }
    // A device with another sector size, an empty device, too little cache memory.
    image_bytes_ = good;
    MemoryDevice wide(good, 4096);
    std::vector<uint8_t> mem(BlockCache::bytes_for(4, 4096));
    EXPECT_EQ(vol_.mount(wide, mem.data(), mem.size()), Error::kCorrupt);
    EXPECT_STREQ(vol_.reason(),
                 "boot sector: bytes per sector differs from the device's sector size");
    MemoryDevice empty(std::vector<uint8_t>{});
    EXPECT_EQ(vol_.mount(empty, mem.data(), mem.size()), Error::kCorrupt);
    EXPECT_STREQ(vol_.reason(), "device: no sectors");
    EXPECT_EQ(vol_.mount(wide, mem.data(), 100), Error::kNoSpace);
    // A device shorter than the volume.
    image_bytes_.resize(good.size() / 2);
    EXPECT_EQ(mount_bytes(), Error::kCorrupt);
    EXPECT_STREQ(vol_.reason(), "boot sector: volume larger than the device");
}

// A volume with one file of `clusters` clusters; returns where its FAT entries and directory
// entry are, for corruption.
struct Layout {
    uint32_t fat_offset = 0, fat_bytes = 0, data_offset = 0, cluster_bytes = 0, root_offset = 0;
    int bits = 0;
    uint32_t get(const std::vector<uint8_t>& img, uint32_t c) const {
        const uint8_t* f = img.data() + fat_offset;
        if (bits == 12) {
            const uint32_t v = f[c + c / 2] | f[c + c / 2 + 1] << 8;
            return (c & 1) != 0 ? v >> 4 : v & 0xFFF;
        }
        if (bits == 16)
            return f[2 * c] | f[2 * c + 1] << 8;
        return (f[4 * c] | f[4 * c + 1] << 8 | f[4 * c + 2] << 16 | f[4 * c + 3] << 24) &
               0x0FFFFFFF;
    }
    void set(std::vector<uint8_t>& img, uint32_t c, uint32_t v) const {
        uint8_t* f = img.data() + fat_offset;
        if (bits == 12) {
            uint8_t* p = f + c + c / 2;
            if ((c & 1) != 0) {
                p[0] = static_cast<uint8_t>((p[0] & 0x0F) | (v << 4 & 0xF0));
                p[1] = static_cast<uint8_t>(v >> 4);
            } else {
                p[0] = static_cast<uint8_t>(v);
                p[1] = static_cast<uint8_t>((p[1] & 0xF0) | (v >> 8 & 0x0F));
            }
        } else if (bits == 16) {
            put16(f + 2 * c, v);
        } else {
            put32(f + 4 * c, v);
        }
    }
};

Layout layout_of(const std::vector<uint8_t>& b, int bits) {
    Layout l;
    l.bits = bits;
    const uint32_t bps = b[11] | b[12] << 8, spc = b[13], rsvd = b[14] | b[15] << 8, fats = b[16];
    const uint32_t root = b[17] | b[18] << 8;
    uint32_t fatsz = b[22] | b[23] << 8;
    if (fatsz == 0)
        fatsz = b[36] | b[37] << 8 | b[38] << 16 | b[39] << 24;
    l.fat_offset = rsvd * bps;
    l.fat_bytes = fatsz * bps;
    l.root_offset = (rsvd + fats * fatsz) * bps;
    l.data_offset = l.root_offset + (root * 32 + bps - 1) / bps * bps;
    l.cluster_bytes = spc * bps;
    if (bits == 32) {
        const uint32_t rc = b[44] | b[45] << 8 | b[46] << 16 | b[47] << 24;
        l.root_offset = l.data_offset + (rc - 2) * l.cluster_bytes;
    }
    return l;
}

TEST_P(Corrupt, ChainsEntriesAndNames) {
    // One file FILE.BIN of 3 clusters (short name only: the first root entry) and one long
    // name, written by mtools.
    ASSERT_EQ(mount(), Error::kOk);
    const uint32_t cb = vol_.cluster_bytes();
    const int bits = GetParam();
    put_host("/FILE.BIN", pattern(3 * cb, 13));
    put_host("/a long name.txt", pattern(10, 14));
    mkdir_host("/SUB");
    load();
    const std::vector<uint8_t> good = image_bytes_;
    const Layout l = layout_of(good, bits);
    // Find FILE.BIN's entry in the root (the first cluster of the root suffices here).
    uint32_t entry = 0;
    while (std::memcmp(good.data() + l.root_offset + entry * 32, "FILE    BIN", 11) != 0)
        ++entry;
    const uint32_t at = l.root_offset + entry * 32;
    const uint32_t first = good[at + 26] | good[at + 27] << 8 |
                           (bits == 32 ? good[at + 20] << 16 | good[at + 21] << 24 : 0);
    const uint32_t second = l.get(good, first), third = l.get(good, second);
    const uint32_t count = [&] {
        EXPECT_EQ(mount_bytes(), Error::kOk);
        return vol_.cluster_count();
    }();

    struct Outcome {
        Error mount, lookup, read;
        const char* reason;
    };
    auto attempt = [&](const std::vector<uint8_t>& img, const char* name) {
        image_bytes_ = img;
        Outcome o{mount_bytes(), Error::kOk, Error::kOk, ""};
        Node n;
        o.lookup = vol_.lookup(vol_.root(), name, std::strlen(name), &n);
        if (o.lookup == Error::kOk) {
            std::vector<uint8_t> buf(4 * cb + 100);
            size_t done = 0;
            o.read = vol_.read(n, 0, buf.data(), buf.size(), &done);
            o.reason = vol_.reason();
            // Every other operation on it is an error too, or works; never a crash or a hang.
            (void)vol_.write(n, 0, buf.data(), 100, kNow);
            (void)vol_.truncate(n, 1, kNow);
            Entry e;
            uint32_t cursor = 0;
            while (vol_.list(vol_.root(), &cursor, &e) == Error::kOk) {
            }
        }
        EXPECT_EQ(dev_->outside, 0u);
        return o;
    };
    auto expect_read = [&](const std::vector<uint8_t>& img, const char* reason) {
        const Outcome o = attempt(img, "FILE.BIN");
        EXPECT_EQ(o.mount, Error::kOk);
        EXPECT_EQ(o.read, Error::kCorrupt) << reason;
        EXPECT_STREQ(o.reason, reason);
    };
    {  // a loop: the third cluster points back at the first
        auto img = good;
        l.set(img, third, first);
        expect_read(img, "cluster chain: longer than the volume (a loop)");
    }
    {  // the chain points past the last cluster
        auto img = good;
        l.set(img, second, count + 2);
        expect_read(img, "cluster chain: points outside the volume");
    }
    {  // into a free cluster
        auto img = good;
        l.set(img, second, 0);
        expect_read(img, "cluster chain: runs into a free cluster");
    }
    {  // into a bad cluster
        auto img = good;
        l.set(img, first, bits == 12 ? 0xFF7 : bits == 16 ? 0xFFF7 : 0x0FFFFFF7);
        expect_read(img, "cluster chain: runs into a bad cluster");
    }
    {  // the entry's first cluster is outside the volume
        auto img = good;
        put16(img.data() + at + 26, bits == 12 ? 0xFF0 : 0xFFF0);
        if (bits == 32)
            put16(img.data() + at + 20, 0x0FFF);
        expect_read(img, "cluster chain: cluster number outside the volume");
    }
    {  // an absurd size: larger than the chain
        auto img = good;
        put32(img.data() + at + 28, 0xFFFFFFF0u);
        expect_read(img, "file: size larger than its cluster chain");
    }
    {  // a size but no cluster
        auto img = good;
        put16(img.data() + at + 26, 0);
        put16(img.data() + at + 20, 0);
        expect_read(img, "file: a size but no first cluster");
    }
    {  // a broken long name (checksum): the short name is what is left
        auto img = good;
        uint32_t i = 0;
        while (img[l.root_offset + i * 32 + 11] != 0x0F)
            ++i;
        img[l.root_offset + i * 32 + 13] ^= 0xFF;
        Outcome o = attempt(img, "a long name.txt");
        EXPECT_EQ(o.lookup, Error::kNotFound);
        o = attempt(img, "ALONGN~1.TXT");
        EXPECT_EQ(o.lookup, Error::kOk);
        EXPECT_EQ(o.read, Error::kOk);
        // Out of order: the last-entry flag cleared.
        img = good;
        img[l.root_offset + i * 32] &= 0x1F;
        EXPECT_EQ(attempt(img, "a long name.txt").lookup, Error::kNotFound);
        EXPECT_EQ(attempt(img, "ALONGN~1.TXT").lookup, Error::kOk);
    }
    {  // a directory whose entry points outside the volume, and one whose chain loops
        uint32_t s = 0;
        while (std::memcmp(good.data() + l.root_offset + s * 32, "SUB        ", 11) != 0)
            ++s;
        auto img = good;
        put16(img.data() + l.root_offset + s * 32 + 26, bits == 12 ? 0xFF0 : 0xFFF0);
        if (bits == 32)
            put16(img.data() + l.root_offset + s * 32 + 20, 0x0FFF);
        image_bytes_ = img;
        ASSERT_EQ(mount_bytes(), Error::kOk);
        Node sub, n;
        ASSERT_EQ(vol_.lookup(vol_.root(), "sub", 3, &sub), Error::kOk);
        EXPECT_EQ(vol_.lookup(sub, "x", 1, &n), Error::kCorrupt);
        EXPECT_STREQ(vol_.reason(), "directory entry: first cluster outside the volume");
        EXPECT_EQ(vol_.create(sub, "x", 1, false, kNow, &n), Error::kCorrupt);
        img = good;
        const uint32_t sc = good[l.root_offset + s * 32 + 26] | good[l.root_offset + s * 32 + 27]
                                                                    << 8;
        l.set(img, sc, sc);  // the directory's cluster is its own successor
        image_bytes_ = img;
        ASSERT_EQ(mount_bytes(), Error::kOk);
        ASSERT_EQ(vol_.lookup(vol_.root(), "sub", 3, &sub), Error::kOk);
        EXPECT_EQ(vol_.lookup(sub, "x", 1, &n), Error::kNotFound);  // ends: all free
        EXPECT_EQ(vol_.create(sub, "x", 1, false, kNow, &n), Error::kOk);
        EXPECT_EQ(vol_.remove(vol_.root(), "sub", 3), Error::kNotEmpty);
        EXPECT_EQ(dev_->outside, 0u);
    }
}

TEST(FatNames, DescribeEveryError) {
    for (int e = 0; e <= static_cast<int>(Error::kInvalid); ++e)
        EXPECT_STRNE(describe(static_cast<Error>(e)), "unknown error");
    EXPECT_STREQ(describe(Error::kNotEmpty), "directory not empty");
}

}  // namespace
}  // namespace keel::fat

namespace keel::fat {
namespace {

// 4096-byte sectors (mkfs.fat -S 4096): mtools writes, the library reads and writes, mtools and
// fsck.fat accept the result.
TEST(FatSectors, FourKiBSectors) {
    if (!testing::have_tools())
        GTEST_SKIP() << "dosfstools or mtools not installed";
    const fs::path dir = fs::temp_directory_path() / ("keel_fat_4k_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path image = dir / "vol.img", src = dir / "src.bin", out = dir / "out.bin";
    ASSERT_TRUE(testing::make_image(image, 16, 65536, "-S 4096"));
    const auto data = pattern(50000, 21);
    testing::save_file(src, data);
    const std::string m = testing::mtools_env() + "mcopy -i " + q(image.string()) + " ";
    ASSERT_EQ(run(m + q(src.string()) + " '::/from mtools.bin'"), 0);
    MemoryDevice dev(testing::load_file(image), 4096);
    std::vector<uint8_t> cache(BlockCache::bytes_for(8, 4096));
    Volume vol;
    ASSERT_EQ(vol.mount(dev, cache.data(), cache.size()), Error::kOk) << vol.reason();
    Node n;
    ASSERT_EQ(vol.lookup(vol.root(), "FROM MTOOLS.BIN", 15, &n), Error::kOk);
    std::vector<uint8_t> got(data.size());
    size_t done = 0;
    ASSERT_EQ(vol.read(n, 0, got.data(), got.size(), &done), Error::kOk);
    EXPECT_EQ(got, data);
    Node d, f;
    ASSERT_EQ(vol.create(vol.root(), "sub dir", 7, true, kNow, &d), Error::kOk);
    ASSERT_EQ(vol.create(d, "written.bin", 11, false, kNow, &f), Error::kOk);
    ASSERT_EQ(vol.write(f, 0, data.data(), data.size(), kNow), Error::kOk);
    ASSERT_EQ(vol.flush(), Error::kOk);
    testing::save_file(image, dev.bytes());
    EXPECT_EQ(run(testing::fsck_path() + " -n " + q(image.string()) + " >/dev/null 2>&1"), 0);
    ASSERT_EQ(run(m + "-n '::/sub dir/written.bin' " + q(out.string())), 0);
    EXPECT_EQ(testing::load_file(out), data);
    EXPECT_EQ(dev.outside, 0u);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace keel::fat

namespace keel::fat {
namespace {

// Power cuts: the device's writes during a run of operations are recorded; the image is cut
// after every barrier and at points between (with the cut epoch's writes in a random order
// and subset, as a device may reorder them), repaired by fsck.fat -a, and must then pass
// fsck.fat -n and still hold every file that was complete before, byte for byte (a renamed
// file under its old or its new name). A file written in several calls (sizes not a multiple
// of the sector, so its tail sectors go through the cache while the rest goes straight to the
// device) must hold, whatever its size after the repair, only its own bytes: a prefix of what
// was written (its entry reaches the device only after its data and FAT).
TEST_P(Fat, PowerCutsLoseNoCompleteFile) {
    const auto keep = pattern(9000, 31), other = pattern(700, 32), moved = pattern(2500, 33);
    mkdir_host("/dir");
    put_host("/keep.bin", keep);
    put_host("/dir/other.txt", other);
    put_host("/moved.bin", moved);
    put_host("/gone.bin", pattern(4000, 34));
    ASSERT_EQ(mount(4), Error::kOk) << vol_.reason();
    ASSERT_EQ(vol_.flush(), Error::kOk);
    const std::vector<uint8_t> before = dev_->bytes();
    dev_->record = true;
    const Node root = vol_.root();
    Node dir;
    ASSERT_EQ(resolve("/dir", &dir), Error::kOk);
    const Node sub = create(root, "new directory", true);
    Node f = write_file(sub, "a new file with a long name.bin", pattern(6000, 35));
    ASSERT_EQ(vol_.write(f, 6000, keep.data(), 3000, kNow), Error::kOk);
    ASSERT_EQ(vol_.rename(root, "moved.bin", 9, dir, "Moved Here.bin", 14), Error::kOk);
    ASSERT_EQ(vol_.remove(root, "gone.bin", 8), Error::kOk);
    ASSERT_EQ(vol_.truncate(f, 100, kNow), Error::kOk);
    const auto seq = pattern(4 * 2500, 36);
    Node s = create(root, "seq.bin");
    for (uint32_t i = 0; i < 4; ++i)
        ASSERT_EQ(vol_.write(s, i * 2500, seq.data() + i * 2500, 2500, kNow), Error::kOk);
    ASSERT_EQ(vol_.flush(), Error::kOk);
    const auto& log = dev_->recorded;
    ASSERT_FALSE(log.empty());

    std::vector<size_t> barriers;
    for (size_t i = 0; i < log.size(); ++i) {
        if (log[i].sector == ~uint64_t{0})
            barriers.push_back(i);
    }
    std::mt19937 rng(static_cast<uint32_t>(GetParam()));
    const size_t max_cuts = GetParam() == 32 ? 6 : 24;
    std::vector<size_t> cuts;  // cut k: barriers[k] applied in order, then a random part of the
                               // next epoch
    for (size_t k = 0; k < barriers.size() && cuts.size() < max_cuts;
         k += std::max<size_t>(1, barriers.size() / max_cuts))
        cuts.push_back(k);
    for (const size_t k : cuts) {
        std::vector<uint8_t> img = before;
        auto apply = [&](const MemoryDevice::Write& w) {
            if (w.sector != ~uint64_t{0})
                std::copy(w.bytes.begin(), w.bytes.end(),
                          img.begin() + static_cast<long>(w.sector * 512));
        };
        for (size_t i = 0; i < barriers[k]; ++i)
            apply(log[i]);
        const size_t end = k + 1 < barriers.size() ? barriers[k + 1] : log.size();
        std::vector<size_t> epoch;
        for (size_t i = barriers[k] + 1; i < end; ++i)
            epoch.push_back(i);
        std::shuffle(epoch.begin(), epoch.end(), rng);
        epoch.resize(epoch.size() / 2);
        for (const size_t i : epoch)
            apply(log[i]);
        testing::save_file(image_, img);
        const int repaired =
            run(testing::fsck_path() + " -a " + q(image_.string()) + " >/dev/null 2>&1");
        EXPECT_LE(repaired, 1) << "cut after barrier " << k;
        EXPECT_TRUE(fsck_clean()) << "cut after barrier " << k << "\n" << fsck_output();
        EXPECT_EQ(get_host("/keep.bin"), keep) << k;
        EXPECT_EQ(get_host("/dir/other.txt"), other) << k;
        const auto a = get_host("/moved.bin"), b = get_host("/dir/Moved Here.bin");
        EXPECT_TRUE(a == moved || b == moved) << k;
        const auto got = get_host("/seq.bin");
        EXPECT_TRUE(got.size() <= seq.size() && std::equal(got.begin(), got.end(), seq.begin()))
            << "cut after barrier " << k << ": seq.bin holds " << got.size()
            << " bytes not its own";
    }
    // Everything applied: the flush made the last file whole.
    std::vector<uint8_t> img = before;
    for (const auto& w : log) {
        if (w.sector != ~uint64_t{0})
            std::copy(w.bytes.begin(), w.bytes.end(),
                      img.begin() + static_cast<long>(w.sector * 512));
    }
    testing::save_file(image_, img);
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/seq.bin"), seq);
}

}  // namespace
}  // namespace keel::fat

namespace keel::fat {
namespace {

// xorshift64: the positions of the random-read tests below.
uint64_t next_random(uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

// Sector-cache lookups so far (hits and misses).
uint64_t cache_lookups(Volume& v) {
    return v.cache().stats().hits + v.cache().stats().misses;
}

// A sequential pass (write, then read, a cluster at a time) walks the chain once: the node
// remembers where it left off, so cache lookups grow linearly with the file, not with its
// square; a freed cluster anywhere (another file removed) makes the position untrusted, and
// the next call walks from the start and is still right.
TEST_P(Fat, SequentialPassesWalkTheChainOnce) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const uint32_t cb = vol_.cluster_bytes();
    const uint32_t clusters = 300;
    const auto data = pattern(static_cast<size_t>(clusters) * cb, 41);
    Node other = write_file(vol_.root(), "other", pattern(10, 42));
    Node f = create(vol_.root(), "sequential.bin");
    const uint64_t before = cache_lookups(vol_);
    for (uint32_t i = 0; i < clusters; ++i)
        ASSERT_EQ(vol_.write(f, static_cast<uint64_t>(i) * cb, data.data() + i * cb, cb, kNow),
                  Error::kOk);
    std::vector<uint8_t> got(data.size());
    for (uint32_t i = 0; i < clusters; ++i) {
        size_t done = 0;
        ASSERT_EQ(vol_.read(f, static_cast<uint64_t>(i) * cb, got.data() + i * cb, cb, &done),
                  Error::kOk);
        ASSERT_EQ(done, cb);
        if (i == clusters / 2)
            ASSERT_EQ(vol_.remove(vol_.root(), "other", 5), Error::kOk);
    }
    EXPECT_EQ(got, data);
    const uint64_t lookups = cache_lookups(vol_) - before;
    // Per cluster: its sectors twice (write, read), the entry read and written, the FAT entries
    // allocated in two copies, the search for a free one; a walk from the start on every call
    // would add clusters^2 / 2 = 45000 FAT lookups.
    EXPECT_LT(lookups, clusters * (2 * cb / 512 + 32)) << lookups;
    (void)other;
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/sequential.bin"), data);
}

}  // namespace
}  // namespace keel::fat

namespace keel::fat {
namespace {

// FAT sectors (one copy) that hold the entries of `clusters` clusters, plus one for a run that
// straddles a sector boundary.
uint64_t fat_sectors_for(int bits, uint64_t clusters) {
    const uint64_t bytes = bits == 12 ? clusters * 3 / 2 + 1 : clusters * (bits / 8);
    return (bytes + 511) / 512 + 1;
}

// Whole-sector runs over consecutive clusters are one device call each, and the entry that
// names new clusters waits for the next flush: a 1 MiB file (512 KiB on the 1 MiB FAT12
// volume) written and then read in 64 KiB calls costs one device call per call plus the FAT's
// sectors, not one per sector, and two device flushes in all, not one per call.
TEST_P(Fat, SequentialTransfersTakeFewDeviceCalls) {
    ASSERT_EQ(mount(64), Error::kOk) << vol_.reason();
    const size_t size = GetParam() == 12 ? 512 * 1024 : 1024 * 1024, chunk = 64 * 1024;
    const size_t calls = size / chunk;
    const auto data = pattern(size, 51);
    Node f = create(vol_.root(), "big.bin");
    Usage u;
    ASSERT_EQ(vol_.usage(&u), Error::kOk);  // the one-time free count (a FAT scan) is not counted
    ASSERT_EQ(vol_.flush(), Error::kOk);
    const uint64_t fat = fat_sectors_for(GetParam(), size / vol_.cluster_bytes());
    uint64_t r0 = dev_->reads, w0 = dev_->writes, f0 = dev_->flushes;
    for (size_t i = 0; i < calls; ++i)
        ASSERT_EQ(vol_.write(f, i * chunk, data.data() + i * chunk, chunk, kNow), Error::kOk);
    const uint64_t flushes_in_writes = dev_->flushes - f0;
    ASSERT_EQ(vol_.flush(), Error::kOk);
    const uint64_t writes = dev_->writes - w0, flushes = dev_->flushes - f0,
                   write_reads = dev_->reads - r0;
    std::printf(
        "FAT%d write %zu KiB in %zu calls: %llu device writes, %llu reads, %llu flushes "
        "(%llu before the final flush)\n",
        GetParam(), size / 1024, calls, static_cast<unsigned long long>(writes),
        static_cast<unsigned long long>(write_reads), static_cast<unsigned long long>(flushes),
        static_cast<unsigned long long>(flushes_in_writes));
    EXPECT_EQ(flushes_in_writes, 0u);
    EXPECT_LE(flushes, 2u);
    // The data (one call per 64 KiB), each FAT sector of each copy once, the entry, FSInfo;
    // reads only of FAT sectors the cache does not hold (both copies: the mirror's sector is
    // read before its entry is changed).
    EXPECT_LE(writes, calls + 2 * fat + 2);
    EXPECT_LE(write_reads, 2 * fat + 2);

    // Read back from a cold cache (mounted afresh).
    testing::save_file(image_, dev_->bytes());
    ASSERT_EQ(mount(64), Error::kOk) << vol_.reason();
    ASSERT_EQ(resolve("/big.bin", &f), Error::kOk);
    r0 = dev_->reads;
    w0 = dev_->writes;
    std::vector<uint8_t> got(size);
    for (size_t i = 0; i < calls; ++i) {
        size_t done = 0;
        ASSERT_EQ(vol_.read(f, i * chunk, got.data() + i * chunk, chunk, &done), Error::kOk);
        ASSERT_EQ(done, chunk);
    }
    const uint64_t reads = dev_->reads - r0;
    std::printf("FAT%d read %zu KiB in %zu calls: %llu device reads\n", GetParam(), size / 1024,
                calls, static_cast<unsigned long long>(reads));
    EXPECT_EQ(got, data);
    EXPECT_LE(reads, calls + fat + 1);
    EXPECT_EQ(dev_->writes, w0);
    EXPECT_EQ(vol_.cache().stats().direct_reads, calls);

    // Appended to, now that its chain is on the device: each call that adds clusters to a tail
    // an entry on the device may reach costs a barrier (the new clusters' FAT marks flushed
    // before the link to them: lib/fat/README.md, "Write ordering"), the final flush two.
    w0 = dev_->writes;
    f0 = dev_->flushes;
    const size_t appends = calls / 2;  // the FAT12 volume holds 1 MiB
    for (size_t i = 0; i < appends; ++i)
        ASSERT_EQ(vol_.write(f, size + i * chunk, data.data() + i * chunk, chunk, kNow),
                  Error::kOk);
    ASSERT_EQ(vol_.flush(), Error::kOk);
    std::printf("FAT%d append %zu KiB in %zu calls: %llu device writes, %llu flushes\n", GetParam(),
                appends * chunk / 1024, appends, static_cast<unsigned long long>(dev_->writes - w0),
                static_cast<unsigned long long>(dev_->flushes - f0));
    EXPECT_LE(dev_->flushes - f0, appends + 2);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    auto both = data;
    both.insert(both.end(), data.begin(), data.begin() + static_cast<long>(appends * chunk));
    EXPECT_EQ(get_host("/big.bin"), both);
}

// Direct runs and the cache agree: a sector dirty in the cache (a partial write) is seen by a
// read that takes it straight from the device, and a whole-sector write over a dirty cached
// sector wins over the cache's older bytes, for later cached reads and on the device.
TEST_P(Fat, DirectTransfersAgreeWithTheCache) {
    ASSERT_EQ(mount(8), Error::kOk) << vol_.reason();
    const uint32_t cb = vol_.cluster_bytes();
    auto data = pattern(8 * cb + 300, 61);  // not a whole number of sectors
    Node f = write_file(vol_.root(), "mixed.bin", data);
    ASSERT_EQ(vol_.flush(), Error::kOk);
    const uint8_t mark[3] = {0xA1, 0xA2, 0xA3};
    ASSERT_EQ(vol_.write(f, 700, mark, 3, kNow), Error::kOk);  // dirty in the cache
    std::copy(mark, mark + 3, data.begin() + 700);
    EXPECT_GE(vol_.cache().dirty(), 1u);
    const uint64_t direct = vol_.cache().stats().direct_reads;
    EXPECT_EQ(read_all(f), data);
    EXPECT_GT(vol_.cache().stats().direct_reads, direct);
    // A read starting mid-sector: a cached head, a direct middle, a cached tail.
    std::vector<uint8_t> part(3 * cb + 5);
    size_t done = 0;
    ASSERT_EQ(vol_.read(f, 100, part.data(), part.size(), &done), Error::kOk);
    ASSERT_EQ(done, part.size());
    EXPECT_TRUE(std::equal(part.begin(), part.end(), data.begin() + 100));
    // Dirty again, then overwritten whole by a direct write.
    const uint8_t old[2] = {0x55, 0x66};
    ASSERT_EQ(vol_.write(f, 1030, old, 2, kNow), Error::kOk);
    const auto block = pattern(4 * 512, 62);
    ASSERT_EQ(vol_.write(f, 1024, block.data(), block.size(), kNow), Error::kOk);
    std::copy(block.begin(), block.end(), data.begin() + 1024);
    uint8_t small[8];
    ASSERT_EQ(vol_.read(f, 1028, small, sizeof small, &done), Error::kOk);  // through the cache
    EXPECT_TRUE(std::equal(small, small + sizeof small, data.begin() + 1028));
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/mixed.bin"), data);
    ASSERT_EQ(mount(8), Error::kOk) << vol_.reason();
    ASSERT_EQ(resolve("/mixed.bin", &f), Error::kOk);
    EXPECT_EQ(read_all(f), data);
}

// Fragmented files: two files grown in turns two clusters at a time by the library, and one
// that mtools put into the hole a removed file left; each is read (and one rewritten whole)
// in one call, a device call per run of consecutive clusters.
TEST_P(Fat, FragmentedFilesMoveByRuns) {
    put_host("/x1.bin", pattern(3000, 70));
    put_host("/x2.bin", pattern(5000, 71));
    put_host("/x3.bin", pattern(700, 72));
    ASSERT_EQ(run(m("mdel") + q("::/x2.bin")), 0);
    const auto hole = pattern(9000, 73);
    put_host("/hole.bin", hole);
    ASSERT_EQ(mount(16), Error::kOk) << vol_.reason();
    const uint32_t cb = vol_.cluster_bytes();
    Node h;
    ASSERT_EQ(resolve("/hole.bin", &h), Error::kOk);
    uint64_t direct = vol_.cache().stats().direct_reads;
    EXPECT_EQ(read_all(h), hole);
    // mtools fills the hole on FAT12/16; on FAT32 it allocates after FSInfo's next-free hint,
    // so there the file is contiguous.
    if (GetParam() != 32 && 9000 / cb > (5000 + cb - 1) / cb)
        EXPECT_GE(vol_.cache().stats().direct_reads - direct, 2u) << "not fragmented?";

    Node a = create(vol_.root(), "a.bin"), b = create(vol_.root(), "b.bin");
    auto da = pattern(12 * cb + 100, 74), db = pattern(12 * cb + 7, 75);
    for (uint32_t i = 0; i < 6; ++i) {
        ASSERT_EQ(vol_.write(a, i * 2 * cb, da.data() + i * 2 * cb, 2 * cb, kNow), Error::kOk);
        ASSERT_EQ(vol_.write(b, i * 2 * cb, db.data() + i * 2 * cb, 2 * cb, kNow), Error::kOk);
    }
    ASSERT_EQ(vol_.write(a, 12 * cb, da.data() + 12 * cb, 100, kNow), Error::kOk);
    ASSERT_EQ(vol_.write(b, 12 * cb, db.data() + 12 * cb, 7, kNow), Error::kOk);
    direct = vol_.cache().stats().direct_reads;
    EXPECT_EQ(read_all(a), da);
    EXPECT_EQ(vol_.cache().stats().direct_reads - direct, 6u);  // six runs; the tail is cached
    EXPECT_EQ(read_all(b), db);
    // Rewritten whole in one call: one device write per run.
    const auto na = pattern(da.size(), 76);
    const uint64_t dw = vol_.cache().stats().direct_writes;
    ASSERT_EQ(vol_.write(a, 0, na.data(), na.size(), kNow), Error::kOk);
    EXPECT_EQ(vol_.cache().stats().direct_writes - dw, 6u);
    EXPECT_EQ(read_all(a), na);
    save();
    EXPECT_TRUE(fsck_clean()) << fsck_output();
    EXPECT_EQ(get_host("/a.bin"), na);
    EXPECT_EQ(get_host("/b.bin"), db);
    EXPECT_EQ(get_host("/hole.bin"), hole);
    EXPECT_EQ(get_host("/x3.bin"), pattern(700, 72));
}

// Reads at random positions of a long chain walk at most a checkpoint stride from a checkpoint
// (the volume's table of chain positions), not the chain from its start each time; still
// right after a free (another file removed) makes every checkpoint untrusted.
TEST_P(Fat, RandomReadsWalkFromCheckpoints) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const uint32_t cb = vol_.cluster_bytes();
    const uint32_t clusters = std::min<uint32_t>(1200, vol_.cluster_count() / 2);
    const auto data = pattern(static_cast<size_t>(clusters) * cb, 43);
    Node other = write_file(vol_.root(), "other", pattern(10, 44));
    Node f = write_file(vol_.root(), "random.bin", data);
    std::vector<uint8_t> got(512);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    // One pass in order fills the checkpoints; then 400 reads at random clusters.
    size_t done = 0;
    ASSERT_EQ(vol_.read(f, static_cast<uint64_t>(clusters - 1) * cb, got.data(), 1, &done),
              Error::kOk);
    const uint64_t before = cache_lookups(vol_);
    for (int i = 0; i < 400; ++i) {
        next_random(seed);
        const uint64_t at = (seed % clusters) * cb + (seed >> 32) % (cb - 512 + 1);
        ASSERT_EQ(vol_.read(f, at, got.data(), 512, &done), Error::kOk);
        ASSERT_EQ(done, 512u);
        ASSERT_TRUE(std::equal(got.begin(), got.end(), data.begin() + static_cast<long>(at)));
        if (i == 200)
            ASSERT_EQ(vol_.remove(vol_.root(), "other", 5), Error::kOk);
    }
    const uint64_t lookups = cache_lookups(vol_) - before;
    // Per read: the entry, at most a stride (16) of FAT entries, the data sectors; after the
    // free the first reads walk from the start again (each leaving checkpoints behind). A walk
    // from the start every time would be 400 * 600 = 240000 lookups.
    EXPECT_LT(lookups, 400u * 32 + 3u * clusters) << lookups;
    (void)other;
}

// A file written in one piece is one contiguous run of clusters: once a read has walked it,
// reads of several clusters at random positions take no FAT lookup at all (the volume's runs),
// only the entry's. The same reads right after a free (every run untrusted) walk again and
// leave the run behind. The bytes are right throughout.
TEST_P(Fat, ContiguousFilesMapWithoutTheFat) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const uint32_t cb = vol_.cluster_bytes();
    const uint32_t clusters = std::min<uint32_t>(1200, vol_.cluster_count() / 2);
    const auto data = pattern(static_cast<size_t>(clusters) * cb, 45);
    Node other = write_file(vol_.root(), "other", pattern(10, 46));
    Node f = write_file(vol_.root(), "whole.bin", data);
    std::vector<uint8_t> got(4 * cb);
    size_t done = 0;
    ASSERT_EQ(vol_.read(f, static_cast<uint64_t>(clusters - 1) * cb, got.data(), 1, &done),
              Error::kOk);
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    auto reads = [&](int n) {
        const uint64_t before = cache_lookups(vol_);
        for (int i = 0; i < n; ++i) {
            next_random(seed);
            const uint64_t at = (seed % (clusters - 4)) * cb + (seed >> 40) % cb;
            EXPECT_EQ(vol_.read(f, at, got.data(), got.size(), &done), Error::kOk);
            EXPECT_EQ(done, got.size());
            EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin() + static_cast<long>(at)))
                << at;
        }
        return cache_lookups(vol_) - before;
    };
    // Per read: the entry's sector, and for the two part sectors at the ends of a read that
    // does not start on a sector, their data sectors; no FAT sector.
    EXPECT_LE(reads(400), 400u * 3);
    ASSERT_EQ(vol_.remove(vol_.root(), "other", 5), Error::kOk);
    // The first read after the free walks the chain again (from a checkpoint or the start),
    // and leaves the run behind: the reads after it do not.
    const uint64_t before = cache_lookups(vol_);
    ASSERT_EQ(vol_.read(f, static_cast<uint64_t>(clusters - 1) * cb, got.data(), 1, &done),
              Error::kOk);
    EXPECT_GT(cache_lookups(vol_) - before, 3u);
    EXPECT_LE(reads(400), 400u * 3);
    (void)other;
}

// map() names the sectors read() takes: on a file grown in turns with another (so its chain
// jumps), reads at random offsets and lengths equal the device's bytes at the mapped runs,
// after the mapped write-back (the runs are the device's; read() overlays what is dirty).
TEST_P(Fat, MapNamesTheSectorsReadTakes) {
    ASSERT_EQ(mount(), Error::kOk) << vol_.reason();
    const uint32_t cb = vol_.cluster_bytes();
    Node a = create(vol_.root(), "a.bin"), b = create(vol_.root(), "b.bin");
    std::vector<uint8_t> data;
    for (int turn = 0; turn < 12; ++turn) {
        const auto piece = pattern(2 * cb + 77, 50 + turn);
        ASSERT_EQ(vol_.write(a, data.size(), piece.data(), piece.size(), {}), Error::kOk);
        data.insert(data.end(), piece.begin(), piece.end());
        ASSERT_EQ(vol_.write(b, static_cast<uint64_t>(turn) * cb, piece.data(), cb, {}),
                  Error::kOk);
    }
    ASSERT_EQ(vol_.flush(), Error::kOk);
    const uint32_t ss = dev_->sector_size;
    uint64_t seed = 77;
    for (int i = 0; i < 300; ++i) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const uint64_t at = (seed >> 20) % data.size();
        const size_t length = 1 + (seed >> 44) % (5 * cb);
        Node n = a;
        Volume::Extent runs[64];
        uint32_t count = 0;
        ASSERT_EQ(vol_.map(n, at, length, runs, 64, &count), Error::kOk);
        // The runs' bytes, less the part of the first sector before `at` and past the end.
        std::vector<uint8_t> mapped;
        for (uint32_t r = 0; r < count; ++r) {
            const auto* p = dev_->bytes().data() + runs[r].sector * ss;
            mapped.insert(mapped.end(), p, p + static_cast<size_t>(runs[r].count) * ss);
        }
        const size_t want = std::min<size_t>(length, data.size() - at);
        const size_t skip = at % ss;
        ASSERT_GE(mapped.size(), skip + want) << i;
        ASSERT_TRUE(std::equal(data.begin() + static_cast<long>(at),
                               data.begin() + static_cast<long>(at + want), mapped.begin() + skip))
            << i;
    }
    Volume::Extent one[1];
    uint32_t count = 0;
    ASSERT_EQ(vol_.map(a, 0, data.size(), one, 1, &count), Error::kOk);  // at most `max`
    EXPECT_EQ(count, 1u);
}

}  // namespace
}  // namespace keel::fat
