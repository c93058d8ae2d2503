// lib/tar on the host: archives written by the host's real GNU tar at test time (ustar and the
// GNU format, from a temporary directory), then hand-corrupted archives, each refused with its
// own reason and never read out of bounds (ASan: every archive is an exact-size vector).
#include <gtest/gtest.h>
#include <keel/tar/tar.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tar_writer.hpp"

namespace keel::tar {
namespace {

namespace fs = std::filesystem;
using testing::WriteEntry;

std::vector<uint8_t> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

std::string binary_data(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>(i * 7 + 3);
    return s;
}

// A long directory name (120 bytes) so that tar must use the prefix field.
const std::string kLongDir = std::string(60, 'd') + "/" + std::string(59, 'e');
const std::string kName100 = std::string(96, 'n') + ".txt";  // fills the name field exactly

// A tree in a fresh temporary directory, archived by the real tar with `flags`.
class RealTar : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("keel_tar_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        root_ = dir_ / "root";
        write_file(root_ / "hello.txt", "hello, keel\n");
        write_file(root_ / "bin" / "sh", binary_data(1000));
        write_file(root_ / "empty", "");
        write_file(root_ / "block", binary_data(512));
        fs::create_directories(root_ / "etc");
        fs::create_symlink("hello.txt", root_ / "link");
        write_file(root_ / kName100, "exactly one hundred");
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<uint8_t> archive(const std::string& flags, const std::string& what = ".") {
        const fs::path out = dir_ / "out.tar";
        const std::string cmd = "tar " + flags + " -C '" + root_.string() + "' -cf '" +
                                out.string() + "' " + what + " 2>&1";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
        return read_file(out);
    }

    fs::path dir_, root_;
};

std::map<std::string, Entry> entries_of(const std::vector<uint8_t>& a) {
    std::map<std::string, Entry> m;
    Reader r(a.data(), a.size());
    Entry e;
    Step s;
    while ((s = r.next(&e)) == Step::kEntry) {
        EXPECT_EQ(m.count(e.path), 0u) << e.path;
        m[e.path] = e;
    }
    EXPECT_EQ(s, Step::kEnd) << (r.error() ? r.error() : "");
    EXPECT_EQ(r.next(&e), Step::kEnd);  // stays at the end
    return m;
}

std::string data_of(const Entry& e) {
    return e.size == 0 ? "" : std::string(reinterpret_cast<const char*>(e.data), e.size);
}

void check_tree(const std::map<std::string, Entry>& m, bool gnu = false) {
    ASSERT_EQ(m.count(""), 1u);
    EXPECT_EQ(m.at("").type, Type::kDirectory);
    EXPECT_EQ(m.at("hello.txt").type, Type::kFile);
    EXPECT_EQ(data_of(m.at("hello.txt")), "hello, keel\n");
    EXPECT_EQ(m.at("bin").type, Type::kDirectory);
    EXPECT_EQ(data_of(m.at("bin/sh")), binary_data(1000));
    EXPECT_EQ(m.at("empty").size, 0u);
    EXPECT_EQ(m.at("empty").data, nullptr);
    EXPECT_EQ(data_of(m.at("block")), binary_data(512));
    EXPECT_EQ(m.at("etc").type, Type::kDirectory);
    EXPECT_EQ(m.at("link").type, Type::kSymlink);
    EXPECT_STREQ(m.at("link").link, "hello.txt");
    EXPECT_EQ(m.at("link").size, 0u);
    if (m.count(kName100) != 0 || !gnu)
        EXPECT_EQ(data_of(m.at(kName100)), "exactly one hundred");
}

TEST_F(RealTar, UstarFormat) {
    const std::vector<uint8_t> a = archive("--format=ustar");
    uint32_t count = 0;
    ASSERT_EQ(validate(a.data(), a.size(), &count), nullptr);
    const auto m = entries_of(a);
    EXPECT_EQ(count, m.size());
    check_tree(m);
    EXPECT_EQ(m.at("hello.txt").mode & 0777,
              static_cast<uint32_t>(fs::status(root_ / "hello.txt").permissions()) & 0777);
}

TEST_F(RealTar, UstarLongPathUsesThePrefix) {
    write_file(root_ / kLongDir / "file", "deep");
    const std::vector<uint8_t> a = archive("--format=ustar");
    const auto m = entries_of(a);
    ASSERT_EQ(m.count(kLongDir + "/file"), 1u);
    EXPECT_EQ(data_of(m.at(kLongDir + "/file")), "deep");
    EXPECT_EQ(m.at(kLongDir).type, Type::kDirectory);
    // The header really used the prefix: its name field alone is short.
    const uint8_t* h = m.at(kLongDir + "/file").data - kBlockSize;
    EXPECT_NE(h[345], 0);
}

TEST_F(RealTar, GnuFormatAndTheDefault) {
    // "./" + a 100-byte name needs GNU's long-name entry in this format (next test).
    fs::remove(root_ / kName100);
    for (const char* flags : {"--format=gnu", ""}) {
        const std::vector<uint8_t> a = archive(flags);
        ASSERT_EQ(std::string(reinterpret_cast<const char*>(a.data()) + 257, 8),
                  std::string("ustar  \0", 8))
            << flags;
        uint32_t count = 0;
        ASSERT_EQ(validate(a.data(), a.size(), &count), nullptr) << flags;
        check_tree(entries_of(a), true);
    }
}

TEST_F(RealTar, GnuLongNameIsReportedUnsupported) {
    write_file(root_ / kLongDir / "file", "deep");
    const std::vector<uint8_t> a = archive("--format=gnu", "'" + kLongDir + "/file'");
    Reader r(a.data(), a.size());
    Entry e;
    ASSERT_EQ(r.next(&e), Step::kEntry);
    EXPECT_EQ(e.type, Type::kUnsupported);
    EXPECT_EQ(e.typeflag, 'L');  // GNU's long-name header; its data (the name) is skipped
    ASSERT_EQ(r.next(&e), Step::kEntry);
    EXPECT_EQ(e.type, Type::kFile);
    EXPECT_EQ(e.path_length, 100u);  // the name field holds the first 100 bytes
    EXPECT_EQ(r.next(&e), Step::kEnd);
}

TEST_F(RealTar, FindByPath) {
    const std::vector<uint8_t> a = archive("--format=ustar");
    Entry e;
    bool found = false;
    for (const char* p : {"bin/sh", "./bin/sh", "bin//sh", "bin/./sh"}) {
        const char* why = find(a.data(), a.size(), p, std::strlen(p), &e, &found);
        if (std::string(p) == "bin//sh") {
            EXPECT_STREQ(why, "empty path component ('//')");
            continue;
        }
        ASSERT_EQ(why, nullptr) << p;
        ASSERT_TRUE(found) << p;
        EXPECT_STREQ(e.path, "bin/sh");
        EXPECT_EQ(e.size, 1000u);
    }
    ASSERT_EQ(find(a.data(), a.size(), "etc/", 4, &e, &found), nullptr);
    EXPECT_TRUE(found);
    EXPECT_EQ(e.type, Type::kDirectory);
    ASSERT_EQ(find(a.data(), a.size(), "hello.txt/", 10, &e, &found), nullptr);
    EXPECT_FALSE(found);  // a trailing '/' asks for a directory
    ASSERT_EQ(find(a.data(), a.size(), ".", 1, &e, &found), nullptr);
    EXPECT_TRUE(found);
    EXPECT_EQ(e.path_length, 0u);
    ASSERT_EQ(find(a.data(), a.size(), "missing", 7, &e, &found), nullptr);
    EXPECT_FALSE(found);
    EXPECT_STREQ(find(a.data(), a.size(), "/bin/sh", 7, &e, &found),
                 "absolute path (a path must stay inside the archive)");
    EXPECT_STREQ(find(a.data(), a.size(), "bin/../etc", 10, &e, &found),
                 "'..' in a path (a path must stay inside the archive)");
    EXPECT_STREQ(find(a.data(), a.size(), "", 0, &e, &found), "empty name");
    EXPECT_FALSE(found);
}

TEST_F(RealTar, EveryTruncationIsRefusedAndNeverOverruns) {
    const std::vector<uint8_t> a = archive("--format=ustar");
    uint32_t count = 0;
    // The end marker is in the first 10240-byte record's tail or later; cut before it.
    size_t end = 0;
    {
        Reader r(a.data(), a.size());
        Entry e;
        while (r.next(&e) == Step::kEntry) {
        }
        end = r.offset();
    }
    for (size_t cut = 0; cut < end + 1024; cut += 97) {
        const std::vector<uint8_t> t(a.begin(), a.begin() + static_cast<long>(cut));
        EXPECT_NE(validate(t.data(), t.size(), &count), nullptr) << cut;
    }
    const std::vector<uint8_t> t(a.begin(), a.begin() + static_cast<long>(end + 1024));
    EXPECT_EQ(validate(t.data(), t.size(), &count), nullptr);
}

// Hand-made archives, then one field broken at a time.
class Corrupt : public ::testing::Test {
  protected:
    std::vector<uint8_t> base() {
        return testing::write_archive(
            {testing::directory("dir"), testing::file("dir/file", "contents")}, false, true);
    }
    // The second header (dir/file) is at 512.
    static constexpr size_t kFile = 512;
    const char* reason(const std::vector<uint8_t>& a) {
        uint32_t count = 0;
        return validate(a.data(), a.size(), &count);
    }
    void refuse(std::vector<uint8_t> a, const char* why, bool fix = true) {
        if (fix)
            testing::set_checksum(a.data() + kFile);
        EXPECT_STREQ(reason(a), why);
        // The reader stops at the bad header, and stays stopped.
        Reader r(a.data(), a.size());
        Entry e;
        ASSERT_EQ(r.next(&e), Step::kEntry);
        EXPECT_EQ(r.next(&e), Step::kError);
        EXPECT_EQ(r.offset(), kFile);
        EXPECT_EQ(r.next(&e), Step::kError);
        EXPECT_STREQ(r.error(), why);
    }
    void put(std::vector<uint8_t>* a, size_t at, const std::string& s) {
        std::memcpy(a->data() + kFile + at, s.data(), s.size());
    }
};

TEST_F(Corrupt, BaseIsValid) {
    const std::vector<uint8_t> a = base();
    EXPECT_EQ(a.size(), 5u * 512);  // two headers, one data block, the end marker
    EXPECT_EQ(reason(a), nullptr);
}

TEST_F(Corrupt, Checksum) {
    std::vector<uint8_t> a = base();
    a[kFile + 10] ^= 1;
    refuse(a, "header checksum mismatch", false);
    // The signed-char sum differs from the unsigned one once a byte is >= 0x80: refused.
    a = base();
    a[kFile + 300] = 0xe9;  // inside uname
    testing::set_checksum(a.data() + kFile);
    EXPECT_EQ(reason(a), nullptr);
    int32_t signed_sum = 0;
    for (int i = 0; i < 512; ++i)
        signed_sum += (i >= 148 && i < 156) ? ' ' : static_cast<int8_t>(a[kFile + i]);
    char text[8];
    std::snprintf(text, sizeof text, "%06o", signed_sum);
    std::memcpy(a.data() + kFile + 148, text, 6);
    refuse(a, "header checksum mismatch", false);
    a = base();
    put(&a, 148, "12x456");
    refuse(a, "checksum field: not an octal digit", false);
}

TEST_F(Corrupt, OctalFields) {
    std::vector<uint8_t> a = base();
    put(&a, 124, "0000000009");
    refuse(a, "size field: not an octal digit");
    a = base();
    put(&a, 124, "777777777777");  // twelve digits: no terminator
    refuse(a, "size field: no NUL or space after the digits");
    a = base();
    put(&a, 124, std::string(12, '\0'));
    refuse(a, "size field: no digits");
    a = base();
    put(&a, 124, "00000000010 ");  // 8, ended by a space instead of a NUL: accepted
    testing::set_checksum(a.data() + kFile);
    EXPECT_EQ(reason(a), nullptr);
    a = base();
    put(&a, 124,
        std::string("0000010\0"
                    "1234",
                    12));
    refuse(a, "size field: no NUL or space after the digits");  // a digit after the NUL
    a = base();
    a[kFile + 124] = 0x80;
    refuse(a, "size field: base-256 number (GNU extension) not supported");
    a = base();
    put(&a, 100, "0000x44");
    refuse(a, "mode field: not an octal digit");
    a = base();
    put(&a, 108, "7777777");
    a[kFile + 115] = '7';
    refuse(a, "uid field: no NUL or space after the digits");
    a = base();
    put(&a, 136, "0000000000x");
    refuse(a, "mtime field: not an octal digit");
    a = base();
    put(&a, 116, "   1750 ");  // leading spaces (pre-POSIX writers): accepted
    testing::set_checksum(a.data() + kFile);
    EXPECT_EQ(reason(a), nullptr);
}

TEST_F(Corrupt, SizePastTheEnd) {
    std::vector<uint8_t> a = base();
    put(&a, 124, "00000002000");  // 1024 bytes: swallows one block of the end marker
    testing::set_checksum(a.data() + kFile);
    EXPECT_STREQ(reason(a), "archive ends after one zero block (the end marker is two)");
    a = base();
    put(&a, 124, "00000003000");  // 1536: swallows the whole end marker
    testing::set_checksum(a.data() + kFile);
    EXPECT_STREQ(reason(a), "archive ends without the end-of-archive marker (two zero blocks)");
    a = base();
    put(&a, 124, "00000003001");  // 1537: four blocks, the archive has three after the header
    refuse(a, "entry data runs past the end of the archive");
    a = base();
    put(&a, 124, "77777777777");
    refuse(a, "entry data runs past the end of the archive");
}

TEST_F(Corrupt, Paths) {
    std::vector<uint8_t> a = base();
    put(&a, 0, std::string("/etc/passwd\0", 12));
    refuse(a, "absolute path (a path must stay inside the archive)");
    a = base();
    put(&a, 0, std::string("dir/../../x\0", 12));
    refuse(a, "'..' in a path (a path must stay inside the archive)");
    a = base();
    put(&a, 0, std::string("..\0", 3));
    refuse(a, "'..' in a path (a path must stay inside the archive)");
    a = base();
    put(&a, 0, std::string("dir//file\0", 10));
    refuse(a, "empty path component ('//')");
    a = base();
    put(&a, 0, std::string("dir/file/\0", 10));
    refuse(a, "a path ending in '/' names a non-directory");
    a = base();
    put(&a, 0, std::string("./\0", 3));
    refuse(a, "a path ending in '/' names a non-directory");
    a = base();
    put(&a, 0, std::string(".\0", 2));
    refuse(a, "a path naming the archive's root must be a directory");
    a = base();
    a[kFile] = 0;
    refuse(a, "empty name");
    a = base();
    a[kFile + 3] = '\n';
    refuse(a, "control character in a path");
    a = base();
    put(&a, 345, "..");  // the prefix is a path part too
    refuse(a, "'..' in a path (a path must stay inside the archive)");
    a = base();
    put(&a, 345, "/abs");
    refuse(a, "absolute path (a path must stay inside the archive)");
    // A name that fills its field with no NUL is POSIX (and GNU tar writes it): accepted.
    a = base();
    put(&a, 0, std::string(100, 'x'));
    testing::set_checksum(a.data() + kFile);
    ASSERT_EQ(reason(a), nullptr);
    Entry e;
    bool found = false;
    ASSERT_EQ(find(a.data(), a.size(), std::string(100, 'x').c_str(), 100, &e, &found), nullptr);
    EXPECT_TRUE(found);
    EXPECT_EQ(e.path_length, 100u);  // and it did not run into the mode field
}

TEST_F(Corrupt, MaximalPathWithPrefix) {
    const std::string path = std::string(155, 'p') + "/" + std::string(100, 'n');
    const auto a = testing::write_archive({testing::file(path, "x")}, false, true);
    Entry e;
    bool found = false;
    ASSERT_EQ(find(a.data(), a.size(), path.c_str(), path.size(), &e, &found), nullptr);
    ASSERT_TRUE(found);
    EXPECT_EQ(e.path_length, 256u);
    EXPECT_EQ(std::string(e.path), path);
    EXPECT_STREQ(find(a.data(), a.size(), (path + "x").c_str(), path.size() + 1, &e, &found),
                 "path longer than 256 bytes");
}

TEST_F(Corrupt, GnuMagicIgnoresThePrefix) {
    // In the GNU format bytes 345.. hold access and change times, not a prefix.
    auto a = testing::write_archive({testing::file("file", "x")}, true, true);
    std::memcpy(a.data() + 345, "00000000001", 11);
    testing::set_checksum(a.data());
    Entry e;
    Reader r(a.data(), a.size());
    ASSERT_EQ(r.next(&e), Step::kEntry);
    EXPECT_STREQ(e.path, "file");
}

TEST_F(Corrupt, MagicAndTypes) {
    std::vector<uint8_t> a = base();
    put(&a, 257,
        std::string("ustar\0"
                    "01",
                    8));
    refuse(a, "unknown ustar magic or version");
    a = base();
    put(&a, 257, std::string(8, '\0'));  // a V7 header
    refuse(a, "not a ustar header (no 'ustar' magic)");
    a = base();
    a[kFile + 156] = '5';
    refuse(a, "non-zero size for a link, device, directory or FIFO");
    a = base();
    a[kFile + 156] = '2';
    put(&a, 124, "00000000000");
    refuse(a, "symlink with an empty target");
    a = base();
    a[kFile + 156] = '2';
    put(&a, 124, "00000000000");
    put(&a, 157, "a\tb");
    refuse(a, "control character in a symlink target");
    // Unknown types are reported, their data skipped.
    a = base();
    a[kFile + 156] = 'x';
    testing::set_checksum(a.data() + kFile);
    Reader r(a.data(), a.size());
    Entry e;
    ASSERT_EQ(r.next(&e), Step::kEntry);
    ASSERT_EQ(r.next(&e), Step::kEntry);
    EXPECT_EQ(e.type, Type::kUnsupported);
    EXPECT_EQ(e.typeflag, 'x');
    EXPECT_EQ(e.size, 8u);
    EXPECT_EQ(r.next(&e), Step::kEnd);
}

TEST_F(Corrupt, EndMarker) {
    std::vector<uint8_t> a = base();
    a.resize(a.size() - 512);
    EXPECT_STREQ(reason(a), "archive ends after one zero block (the end marker is two)");
    a.resize(a.size() - 512);
    EXPECT_STREQ(reason(a), "archive ends without the end-of-archive marker (two zero blocks)");
    a.resize(a.size() - 100);
    EXPECT_STREQ(reason(a), "entry data runs past the end of the archive");
    a = base();
    a.resize(512 + 300);
    EXPECT_STREQ(reason(a), "archive truncated inside a header");
    // A zero block, then another header: refused (tar -i would skip it; an image never has it).
    a = base();
    std::vector<uint8_t> zero_then(a.begin(), a.begin() + 512);
    zero_then.resize(1024, 0);
    zero_then.insert(zero_then.end(), a.begin() + 512, a.end());
    EXPECT_STREQ(reason(zero_then), "a lone zero block inside the archive");
    // Anything after the end marker is not looked at.
    a = base();
    a.resize(a.size() + 512, 0xff);
    EXPECT_EQ(reason(a), nullptr);
    // Empty input, and an archive of only the end marker.
    uint32_t count = 7;
    EXPECT_STREQ(validate(nullptr, 0, &count),
                 "archive ends without the end-of-archive marker (two zero blocks)");
    std::vector<uint8_t> only(1024, 0);
    EXPECT_EQ(validate(only.data(), only.size(), &count), nullptr);
    EXPECT_EQ(count, 0u);
}

TEST(TarFind, DuplicatePathIsRefused) {
    const auto a = testing::write_archive(
        {testing::file("a", "1"), testing::file("b", "2"), testing::file("./a", "3")});
    Entry e;
    bool found = true;
    EXPECT_STREQ(find(a.data(), a.size(), "a", 1, &e, &found),
                 "path names more than one entry in the archive");
    EXPECT_FALSE(found);
    ASSERT_EQ(find(a.data(), a.size(), "b", 1, &e, &found), nullptr);
    EXPECT_TRUE(found);
    EXPECT_EQ(data_of(e), "2");
}

TEST(TarFind, CorruptionAfterTheMatchStillRefuses) {
    auto a =
        testing::write_archive({testing::file("a", "1"), testing::file("b", "2")}, false, true);
    a[1024 + 10] ^= 1;  // b's header
    Entry e;
    bool found = true;
    EXPECT_STREQ(find(a.data(), a.size(), "a", 1, &e, &found), "header checksum mismatch");
    EXPECT_FALSE(found);
}

// The property tests' writer is checked against the real tar too: what it writes, tar
// extracts to the same tree.
TEST_F(RealTar, TestWriterIsReadByRealTar) {
    const std::string deep = kLongDir + "/file";
    WriteEntry link;
    link.path = "link", link.typeflag = '2', link.link = "a/b";
    const auto a = testing::write_archive({testing::directory("a"), testing::file("a/b", "bee"),
                                           testing::file(deep, binary_data(600)), link});
    const fs::path out = dir_ / "written.tar";
    std::ofstream(out, std::ios::binary)
        .write(reinterpret_cast<const char*>(a.data()), static_cast<std::streamsize>(a.size()));
    const fs::path x = dir_ / "x";
    fs::create_directories(x);
    const std::string cmd = "tar -C '" + x.string() + "' -xf '" + out.string() + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_EQ(read_file(x / "a" / "b"), std::vector<uint8_t>({'b', 'e', 'e'}));
    const std::string data = binary_data(600);
    EXPECT_EQ(read_file(x / deep), std::vector<uint8_t>(data.begin(), data.end()));
    EXPECT_EQ(fs::read_symlink(x / "link"), "a/b");
}

TEST(TarNormalize, Rules) {
    char out[kMaxPath + 1];
    uint32_t n = 0;
    EXPECT_EQ(normalize_path("./a/./b/", 8, true, out, &n), nullptr);
    EXPECT_STREQ(out, "a/b");
    EXPECT_EQ(n, 3u);
    EXPECT_STREQ(normalize_path("a/b//", 5, true, out, &n), "empty path component ('//')");
    EXPECT_STREQ(normalize_path("a\0b", 3, false, out, &n), "control character in a path");
    EXPECT_EQ(normalize_path("a/..b/c..", 9, false, out, &n), nullptr);  // not ".." itself
    EXPECT_STREQ(out, "a/..b/c..");
    EXPECT_EQ(normalize_path("caf\xc3\xa9", 5, false, out, &n), nullptr);  // UTF-8 is fine
}

}  // namespace
}  // namespace keel::tar
