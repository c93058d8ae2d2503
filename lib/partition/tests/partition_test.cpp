// lib/partition on the host: disk images partitioned by the host's real sfdisk (util-linux,
// Debian's `fdisk` package) at test time, MBR and GPT, parsed and compared with what
// `sfdisk --json` reports; then hand-corrupted variants of them, each refused with its own
// reason, and truncations of the input, never read out of bounds (ASan: exact-size vectors).
#include <gtest/gtest.h>
#include <keel/partition/partition.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "partition_writer.hpp"

namespace keel::partition {
namespace {

namespace fs = std::filesystem;
using testing::put32;
using testing::put64;

constexpr uint64_t kSectors = 131072;  // 64 MiB of 512-byte sectors

struct JsonPart {
    uint64_t start = 0, size = 0;
    std::string type, uuid, name;
};

// The value after "key": in a chunk of sfdisk's JSON (a number or a string).
std::string json_value(const std::string& chunk, const std::string& key) {
    const size_t at = chunk.find("\"" + key + "\":");
    if (at == std::string::npos)
        return "";
    size_t i = at + key.size() + 3;
    while (i < chunk.size() && chunk[i] == ' ')
        ++i;
    if (i < chunk.size() && chunk[i] == '"') {
        const size_t end = chunk.find('"', i + 1);
        return chunk.substr(i + 1, end - i - 1);
    }
    size_t end = i;
    while (end < chunk.size() && chunk[end] >= '0' && chunk[end] <= '9')
        ++end;
    return chunk.substr(i, end - i);
}

std::string guid_text(const Guid& g) {
    static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    std::string s;
    char hex[3];
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s += '-';
        std::snprintf(hex, sizeof hex, "%02X", g.bytes[order[i]]);
        s += hex;
    }
    return s;
}

class RealSfdisk : public ::testing::Test {
  protected:
    void SetUp() override {
        if (std::system("command -v sfdisk >/dev/null 2>&1") != 0)
            GTEST_SKIP() << "sfdisk not installed (Debian package fdisk)";
        dir_ = fs::temp_directory_path() /
               ("keel_partition_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        image_ = dir_ / "disk.img";
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A sparse image of kSectors sectors partitioned by sfdisk from `script`; returns its
    // first `bytes` bytes and fills json_ with what sfdisk --json reports.
    std::vector<uint8_t> make(const std::string& script, size_t bytes) {
        { std::ofstream(image_, std::ios::binary); }
        fs::resize_file(image_, kSectors * 512);
        const fs::path s = dir_ / "script";
        std::ofstream(s) << script;
        const std::string cmd = "sfdisk -q '" + image_.string() + "' < '" + s.string() + "' 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        const std::string json_cmd =
            "sfdisk --json '" + image_.string() + "' > '" + (dir_ / "json").string() + "'";
        EXPECT_EQ(std::system(json_cmd.c_str()), 0);
        std::ifstream j(dir_ / "json");
        const std::string text{std::istreambuf_iterator<char>(j), {}};
        json_.clear();
        const std::string first = json_value(text, "firstlba"), last = json_value(text, "lastlba");
        first_lba_ = first.empty() ? 0 : std::stoull(first);
        last_lba_ = last.empty() ? 0 : std::stoull(last);
        size_t at = 0;
        while ((at = text.find("\"node\":", at)) != std::string::npos) {
            const size_t end = text.find('}', at);
            const std::string chunk = text.substr(at, end - at);
            JsonPart p;
            p.start = std::stoull(json_value(chunk, "start"));
            p.size = std::stoull(json_value(chunk, "size"));
            p.type = json_value(chunk, "type");
            p.uuid = json_value(chunk, "uuid");
            p.name = json_value(chunk, "name");
            json_.push_back(p);
            at = end;
        }
        std::ifstream in(image_, std::ios::binary);
        std::vector<uint8_t> d(bytes);
        in.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(bytes));
        return d;
    }

    fs::path dir_, image_;
    std::vector<JsonPart> json_;
    uint64_t first_lba_ = 0, last_lba_ = 0;
};

const char* parse_all(const std::vector<uint8_t>& d, Partition* out, uint32_t cap, Table* t,
                      uint64_t sectors = kSectors) {
    return parse(d.data(), d.size(), 512, sectors, out, cap, t);
}

const std::string kGptScript =
    "label: gpt\n"
    "size=8M, type=L, name=\"boot\"\n"
    "size=16M, type=S, name=\"swap \xc3\xa9t\xc3\xa9\"\n"
    "size=4M, type=U\n"
    ",\n";

TEST_F(RealSfdisk, GptMatchesSfdiskJson) {
    const std::vector<uint8_t> d = make(kGptScript, 34 * 512);
    ASSERT_EQ(json_.size(), 4u);
    Partition p[8];
    Table t;
    ASSERT_EQ(parse_all(d, p, 8, &t), nullptr);
    EXPECT_EQ(t.scheme, Scheme::kGpt);
    ASSERT_EQ(t.count, 4u);
    EXPECT_EQ(t.stored, 4u);
    EXPECT_EQ(t.first_usable_lba, first_lba_);  // sfdisk aligns: 2048, not 34
    EXPECT_EQ(t.last_usable_lba, last_lba_);
    EXPECT_EQ(last_lba_, kSectors - 34);
    for (uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(p[i].index, i + 1);
        EXPECT_EQ(p[i].first_lba, json_[i].start);
        EXPECT_EQ(p[i].sector_count, json_[i].size);
        EXPECT_EQ(guid_text(p[i].type_guid), json_[i].type);
        EXPECT_EQ(guid_text(p[i].unique_guid), json_[i].uuid);
        EXPECT_EQ(p[i].mbr_type, 0);
    }
    EXPECT_STREQ(p[0].name, "boot");
    EXPECT_STREQ(p[1].name, "swap ?t?");  // é is one UTF-16 unit, not ASCII
    EXPECT_STREQ(p[2].name, "");
    EXPECT_EQ(json_[0].type, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");  // Linux filesystem
    EXPECT_EQ(json_[2].type, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");  // EFI System

    // A smaller array than the table: the count is still every partition.
    ASSERT_EQ(parse_all(d, p, 2, &t), nullptr);
    EXPECT_EQ(t.count, 4u);
    EXPECT_EQ(t.stored, 2u);
    ASSERT_EQ(parse_all(d, nullptr, 0, &t), nullptr);
    EXPECT_EQ(t.stored, 0u);
}

TEST_F(RealSfdisk, MbrMatchesSfdiskJson) {
    const std::vector<uint8_t> d =
        make("label: dos\nsize=8M, type=83, bootable\nsize=4M, type=c\n,,82\n", 512);
    ASSERT_EQ(json_.size(), 3u);
    Partition p[4];
    Table t;
    ASSERT_EQ(parse_all(d, p, 4, &t), nullptr);
    EXPECT_EQ(t.scheme, Scheme::kMbr);
    ASSERT_EQ(t.count, 3u);
    for (uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(p[i].index, i + 1);
        EXPECT_EQ(p[i].first_lba, json_[i].start);
        EXPECT_EQ(p[i].sector_count, json_[i].size);
        char hex[4];
        std::snprintf(hex, sizeof hex, "%x", p[i].mbr_type);
        EXPECT_EQ(hex, json_[i].type);
        EXPECT_STREQ(p[i].name, "");
    }
    EXPECT_EQ(p[0].attributes, 0x80u);
    EXPECT_EQ(p[1].attributes, 0u);
}

// The real GPT image, corrupted by hand: each corruption gives its own reason.
TEST_F(RealSfdisk, CorruptGptReasons) {
    const std::vector<uint8_t> good = make(kGptScript, 34 * 512);
    Partition p[8];
    Table t;
    ASSERT_EQ(parse_all(good, p, 8, &t), nullptr);
    auto reason = [&](const std::vector<uint8_t>& d, uint64_t sectors = kSectors) {
        const char* why = parse_all(d, p, 8, &t, sectors);
        return std::string(why == nullptr ? "(accepted)" : why);
    };
    uint8_t* h;
    std::vector<uint8_t> d;

    d = good;
    d[511] = 0;
    EXPECT_EQ(reason(d), "MBR signature 0x55AA missing");
    d = good;
    d[512 + 3] ^= 1;
    EXPECT_EQ(reason(d), "GPT: header signature is not \"EFI PART\"");
    d = good;
    d[512 + 60] ^= 1;  // the disk GUID
    EXPECT_EQ(reason(d), "GPT: header CRC32 mismatch");
    d = good;
    d[1024 + 128 + 40] ^= 1;  // the second entry's last LBA
    EXPECT_EQ(reason(d), "GPT: entry array CRC32 mismatch");
    d = good;
    put64(d.data() + 1024 + 3 * 128 + 40, kSectors);  // the last entry past the disk
    testing::gpt_fix_crcs(d, 512);
    EXPECT_EQ(reason(d), "GPT: entry outside the usable LBA range");
    d = good;
    put64(d.data() + 1024 + 128 + 32, 2048 + 100);  // entry 2 starts inside entry 1
    testing::gpt_fix_crcs(d, 512);
    EXPECT_EQ(reason(d), "GPT: entries overlap");
    d = good;
    put64(d.data() + 1024 + 40, 100);  // entry 1 ends before it starts
    testing::gpt_fix_crcs(d, 512);
    EXPECT_EQ(reason(d), "GPT: entry ends before it starts");
    d = good;
    h = d.data() + 512;
    put32(h + 80, 0x10000000);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: entry count zero or above 1024");
    d = good;
    h = d.data() + 512;
    put32(h + 80, 0);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: entry count zero or above 1024");
    for (uint32_t size : {0u, 64u, 129u, 192u, 8192u, 0x80000000u}) {
        d = good;
        put32(d.data() + 512 + 84, size);
        testing::gpt_fix_crcs(d, 512, false);
        EXPECT_EQ(reason(d), "GPT: entry size is not 128 * 2^n (at most 4096)") << size;
    }
    d = good;
    put32(d.data() + 512 + 12, 91);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: header size below 92 or larger than a sector");
    d = good;
    put32(d.data() + 512 + 12, 513);
    EXPECT_EQ(reason(d), "GPT: header size below 92 or larger than a sector");
    d = good;
    put32(d.data() + 512 + 8, 0x00020000);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: header revision is not 1.x");
    d = good;
    put64(d.data() + 512 + 24, 2);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: header's own LBA is not 1");
    d = good;
    put32(d.data() + 512 + 20, 1);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: header reserved field not zero");
    d = good;
    put64(d.data() + 512 + 72, 1);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: entry array outside the disk");
    d = good;
    put64(d.data() + 512 + 40, 20);  // first usable inside the entry array
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: entry array overlaps the usable range");
    d = good;
    put64(d.data() + 512 + 48, 10);  // last usable before first usable
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: usable LBA range empty or past the disk");
    d = good;
    put64(d.data() + 512 + 32, kSectors);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: backup header LBA outside the disk");
    d = good;
    put64(d.data() + 512 + 32, 5000);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: backup header inside the usable range");
    d = good;
    put32(d.data() + 446 + 8, 2);
    EXPECT_EQ(reason(d), "protective MBR entry does not start at LBA 1");
    // The disk is smaller than the table says.
    EXPECT_EQ(reason(good, kSectors / 2), "GPT: backup header LBA outside the disk");
    EXPECT_EQ(reason(good, 2), "GPT: disk too small for a GPT header");
    d = good;
    put64(d.data() + 512 + 48, kSectors);
    testing::gpt_fix_crcs(d, 512, false);
    EXPECT_EQ(reason(d), "GPT: usable LBA range empty or past the disk");

    // Truncated input: every length short of the array is refused, never read past.
    for (size_t n = 0; n < good.size(); n += (n < 1100 ? 1 : 37)) {
        const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
        const std::string why = reason(cut);
        if (n < 512)
            EXPECT_EQ(why, "input ends before the end of LBA 0") << n;
        else if (n < 1024)
            EXPECT_EQ(why, "GPT: input ends before the GPT header (LBA 1)") << n;
        else
            EXPECT_EQ(why, "GPT: input ends before the end of the entry array") << n;
    }
    // The sector size must be the one the table was written for.
    EXPECT_STREQ(parse(good.data(), good.size(), 1024, kSectors, p, 8, &t),
                 "sector size is not 512 or 4096");
    EXPECT_STREQ(parse(good.data(), good.size(), 4096, kSectors, p, 8, &t),
                 "GPT: header signature is not \"EFI PART\"");
    EXPECT_STREQ(parse(good.data(), good.size(), 512, 0, p, 8, &t), "disk has no sectors");
}

TEST_F(RealSfdisk, CorruptMbrReasons) {
    const std::vector<uint8_t> good = make("label: dos\nsize=8M\nsize=4M\n,,82\n", 512);
    Partition p[4];
    Table t;
    ASSERT_EQ(parse_all(good, p, 4, &t), nullptr);
    auto reason = [&](const std::vector<uint8_t>& d, uint64_t sectors = kSectors) {
        const char* why = parse_all(d, p, 4, &t, sectors);
        return std::string(why == nullptr ? "(accepted)" : why);
    };
    std::vector<uint8_t> d = good;
    d[510] = 0xAA;
    EXPECT_EQ(reason(d), "MBR signature 0x55AA missing");
    d = good;
    d[446 + 16] = 0x81;
    EXPECT_EQ(reason(d), "MBR: boot indicator neither 0x00 nor 0x80");
    d = good;
    put32(d.data() + 446 + 32 + 12, kSectors);  // the third runs past the disk
    EXPECT_EQ(reason(d), "MBR: entry past the end of the disk");
    EXPECT_EQ(reason(good, kSectors - 1), "MBR: entry past the end of the disk");
    d = good;
    put32(d.data() + 446 + 16 + 8, 2049);  // the second starts inside the first
    EXPECT_EQ(reason(d), "MBR: entries overlap");
    d = good;
    put32(d.data() + 446 + 12, 0);
    EXPECT_EQ(reason(d), "MBR: entry starts at LBA 0 or has no sectors");
    d = good;
    put32(d.data() + 446 + 8, 0);
    EXPECT_EQ(reason(d), "MBR: entry starts at LBA 0 or has no sectors");
    d = good;
    d[446 + 4] = 0xEE;  // claims GPT, but there is no header
    EXPECT_EQ(reason(d), "protective MBR entry does not start at LBA 1");
    d = good;
    d.resize(511);
    EXPECT_EQ(reason(d), "input ends before the end of LBA 0");
    // An MBR with no partitions is a valid, empty table.
    d = testing::write_mbr({}, 512);
    ASSERT_EQ(reason(d), "(accepted)");
    EXPECT_EQ(t.count, 0u);
}

TEST(Crc32, KnownVectors) {
    auto crc = [](const std::string& s) {
        return crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    EXPECT_EQ(crc(""), 0u);
    EXPECT_EQ(crc("a"), 0xE8B7BE43u);
    EXPECT_EQ(crc("123456789"), 0xCBF43926u);
    EXPECT_EQ(crc("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
    std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF);
    EXPECT_EQ(crc32(zeros.data(), 32), 0x190A55ADu);  // RFC 3720 B.4's 32 zero bytes (CRC32)
    EXPECT_EQ(crc32(ones.data(), 32), 0xFF6CAB0Bu);
    EXPECT_EQ(crc32(zeros.data(), 32), testing::bitwise_crc32(zeros.data(), 32));
}

TEST(Confine, InsideOutsideAndOverflow) {
    Partition p{};
    p.first_lba = 2048;
    p.sector_count = 100;
    uint64_t abs = 0;
    EXPECT_EQ(confine(p, 0, 1, &abs), nullptr);
    EXPECT_EQ(abs, 2048u);
    EXPECT_EQ(confine(p, 99, 1, &abs), nullptr);
    EXPECT_EQ(abs, 2147u);
    EXPECT_EQ(confine(p, 0, 100, &abs), nullptr);
    EXPECT_EQ(confine(p, 100, 0, &abs), nullptr);
    EXPECT_EQ(abs, 2148u);
    EXPECT_STREQ(confine(p, 100, 1, &abs), "access outside the partition");
    EXPECT_STREQ(confine(p, 99, 2, &abs), "access outside the partition");
    EXPECT_STREQ(confine(p, 0, 101, &abs), "access outside the partition");
    EXPECT_STREQ(confine(p, 1, UINT64_MAX, &abs), "access outside the partition");
    EXPECT_STREQ(confine(p, UINT64_MAX, 1, &abs), "access outside the partition");
    EXPECT_STREQ(confine(p, UINT64_MAX, 0, &abs), "access outside the partition");
    p.first_lba = UINT64_MAX - 10;
    p.sector_count = 100;  // not from parse(): a partition past the 64-bit LBA space
    EXPECT_STREQ(confine(p, 20, 1, &abs), "access LBA overflows");
    EXPECT_EQ(confine(p, 10, 1, &abs), nullptr);
    EXPECT_EQ(abs, UINT64_MAX);
}

}  // namespace
}  // namespace keel::partition
