// Unit tests for validate_kernel_elf: a well-formed image, then every way a truncated,
// wrong-architecture or malicious header must be refused with a reason.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <keel/elf/elf_check.hpp>

namespace keel::elf {
namespace {

constexpr uint64_t kText = 0xffffffff80100000ull;

void put(std::vector<uint8_t>& f, size_t off, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
        f[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz;
};

// A minimal valid kernel: text (R X) at kText, data (R W) one page above.
std::vector<uint8_t> make_elf(std::vector<Phdr> phdrs = {}, uint64_t entry = kText + 0x10) {
    if (phdrs.empty()) {
        phdrs = {{1, 5, 0x1000, kText, 0x100, 0x100}, {1, 6, 0x2000, kText + 0x1000, 0x80, 0x4000}};
    }
    std::vector<uint8_t> f(0x3000, 0);
    const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    std::memcpy(f.data(), ident, sizeof ident);
    put(f, 16, 2, 2);   // ET_EXEC
    put(f, 18, 62, 2);  // EM_X86_64
    put(f, 20, 1, 4);
    put(f, 24, entry, 8);
    put(f, 32, 64, 8);  // phoff
    put(f, 52, 64, 2);
    put(f, 54, 56, 2);
    put(f, 56, phdrs.size(), 2);
    for (size_t i = 0; i < phdrs.size(); ++i) {
        const size_t o = 64 + i * 56;
        put(f, o, phdrs[i].type, 4);
        put(f, o + 4, phdrs[i].flags, 4);
        put(f, o + 8, phdrs[i].offset, 8);
        put(f, o + 16, phdrs[i].vaddr, 8);
        put(f, o + 32, phdrs[i].filesz, 8);
        put(f, o + 40, phdrs[i].memsz, 8);
    }
    return f;
}

std::string check(const std::vector<uint8_t>& f, uint64_t size) {
    Image img{};
    const char* err = validate_kernel_elf(f.data(), size, &img);
    return err == nullptr ? "ok" : err;
}
std::string check(const std::vector<uint8_t>& f) {
    return check(f, f.size());
}

TEST(ElfCheck, AcceptsWellFormedKernel) {
    const auto f = make_elf();
    Image img{};
    ASSERT_EQ(validate_kernel_elf(f.data(), f.size(), &img), nullptr);
    EXPECT_EQ(img.entry, kText + 0x10);
    ASSERT_EQ(img.segment_count, 2u);
    EXPECT_EQ(img.segments[1].memsz, 0x4000u);
    EXPECT_EQ(img.segments[1].flags, kSegmentRead | kSegmentWrite);
}

TEST(ElfCheck, RejectsEveryTruncation) {
    const auto f = make_elf();
    // Every prefix that cuts into the header, the program headers or segment data fails;
    // none may read past the end (ASan checks the reads).
    for (uint64_t size = 0; size < 0x2080; ++size) {
        std::vector<uint8_t> prefix(f.begin(), f.begin() + static_cast<long>(size));
        EXPECT_NE(check(prefix), "ok") << size;
        EXPECT_NE(check(prefix).find("truncated"), std::string::npos) << size;
    }
    EXPECT_EQ(check(f, 0x2080), "ok");
    EXPECT_EQ(validate_kernel_elf(nullptr, 100, nullptr),
              std::string("truncated: smaller than an ELF header"));
}

TEST(ElfCheck, RejectsWrongIdentity) {
    auto f = make_elf();
    f[1] = 'X';
    EXPECT_EQ(check(f), "not an ELF file (bad magic)");
    f = make_elf();
    f[4] = 1;
    EXPECT_NE(check(f).find("64-bit"), std::string::npos);
    f = make_elf();
    f[5] = 2;
    EXPECT_NE(check(f).find("little-endian"), std::string::npos);
    f = make_elf();
    put(f, 18, 3, 2);  // EM_386
    EXPECT_NE(check(f).find("wrong architecture"), std::string::npos);
    f = make_elf();
    put(f, 16, 3, 2);  // ET_DYN
    EXPECT_NE(check(f).find("ET_EXEC"), std::string::npos);
    f = make_elf();
    put(f, 20, 7, 4);
    EXPECT_EQ(check(f), "unknown ELF version");
}

TEST(ElfCheck, RejectsMaliciousProgramHeaders) {
    auto f = make_elf();
    put(f, 32, ~0ull - 10, 8);  // phoff wraps
    EXPECT_NE(check(f).find("truncated"), std::string::npos);
    f = make_elf();
    put(f, 56, 0xffff, 2);  // phnum far past the file
    EXPECT_NE(check(f).find("truncated"), std::string::npos);
    f = make_elf();
    put(f, 54, 32, 2);
    EXPECT_EQ(check(f), "bad program header entry size");
    f = make_elf();
    put(f, 56, 0, 2);
    EXPECT_EQ(check(f), "no program headers");

    // Segment offset + filesz wraps around 2^64.
    EXPECT_NE(check(make_elf({{1, 5, ~0ull - 0x10, kText, 0x100, 0x100}})).find("truncated"),
              std::string::npos);
    EXPECT_NE(check(make_elf({{1, 5, 0x1000, kText, 0x200, 0x100}})).find("file size exceeds"),
              std::string::npos);
    EXPECT_NE(
        check(make_elf({{1, 5, 0x1000, 0x100000, 0x100, 0x100}}, 0x100010)).find("higher half"),
        std::string::npos);
    EXPECT_NE(check(make_elf({{1, 5, 0x1000, ~0ull - 0x1000, 0x100, 0x100000}}, ~0ull - 0x1000))
                  .find("wraps"),
              std::string::npos);
    EXPECT_EQ(check(make_elf({{1, 5, 0x1000, kText, 0x100, 1ull << 40}})), "segment too large");
    EXPECT_EQ(check(make_elf({{1, 5, 0x1000, kText, 0x100, 0x100},
                              {1, 6, 0x2000, kText + 0x800, 0x80, 0x100}})),
              "loadable segments share a page");
    EXPECT_EQ(check(make_elf({{1, 6, 0x1000, kText, 0x100, 0x100}})),
              "entry point is not inside an executable segment");
    EXPECT_EQ(check(make_elf({{1, 5, 0x1000, kText, 0x100, 0x100}}, kText + 0x100)),
              "entry point is not inside an executable segment");
    EXPECT_EQ(check(make_elf({{3, 4, 0x1000, kText, 0x10, 0x10}})),
              "dynamically linked executables are not supported");
    EXPECT_EQ(check(make_elf({{4, 4, 0x1000, kText, 0x10, 0x10}})), "no loadable segments");
    std::vector<Phdr> many;
    for (uint64_t i = 0; i < kMaxSegments + 1; ++i) {
        many.push_back({1, 5, 0x1000, kText + i * 0x1000, 0x10, 0x10});
    }
    EXPECT_EQ(check(make_elf(many)), "too many loadable segments");
}

TEST(ElfCheck, RandomCorruptionNeverReadsOutOfBounds) {
    const auto good = make_elf();
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; ++round) {
        auto f = good;
        for (int k = 0; k < 4; ++k) {
            seed = seed * 1103515245u + 12345u;
            f[(seed >> 8) % 0x200] = static_cast<uint8_t>(seed >> 24);
        }
        Image img{};
        const char* err = validate_kernel_elf(f.data(), f.size(), &img);
        if (err == nullptr) {
            // Whatever was accepted must really satisfy the contract.
            for (uint32_t i = 0; i < img.segment_count; ++i) {
                EXPECT_LE(img.segments[i].file_offset + img.segments[i].filesz, f.size());
                EXPECT_GE(img.segments[i].vaddr, boot::kKernelBase);
            }
        }
    }
}

}  // namespace
}  // namespace keel::elf

namespace keel::elf {
namespace {

// The kernel validates user programs with the same code and a user range.
std::string check_user(const std::vector<uint8_t>& f) {
    Image img{};
    const char* err = validate_elf_in_range(f.data(), f.size(), 0x10000, 0x40000000,
                                            "outside the user area", &img);
    return err == nullptr ? "ok" : err;
}

TEST(ElfCheck, UserRangeBoundsEverySegment) {
    constexpr uint64_t kUser = 0x400000;
    EXPECT_EQ(check_user(make_elf({{1, 5, 0x1000, kUser, 0x100, 0x100}}, kUser)), "ok");
    // A kernel image is not a user program, and the other way round.
    EXPECT_EQ(check_user(make_elf()), "outside the user area");
    EXPECT_NE(check(make_elf({{1, 5, 0x1000, kUser, 0x100, 0x100}}, kUser)), "ok");
    EXPECT_EQ(check_user(make_elf({{1, 5, 0x1000, 0x1000, 0x100, 0x100}}, 0x1000)),
              "outside the user area");  // the null-page region
    EXPECT_EQ(check_user(make_elf({{1, 5, 0x1000, 0x3ffff000, 0x100, 0x2000}}, 0x3ffff000)),
              "outside the user area");  // ends past the top
    EXPECT_EQ(check_user(make_elf({{1, 5, 0x1000, 0x3ffff000, 0x100, 0x1000}}, 0x3ffff000)),
              "ok");  // ends exactly at the top
}

}  // namespace
}  // namespace keel::elf
