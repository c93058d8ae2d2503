// Unit tests for multiboot and multiboot2 parsing, with information blocks built by hand: the
// memory map, modules and their strings, the command line, framebuffer and RSDP tags, and
// malformed blocks (bad sizes, missing end tag) that must be refused without reading outside
// the block (ASan watches).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "multiboot.hpp"

namespace keel::loader {
namespace {

// A multiboot2 information block under construction.
class Mb2 {
  public:
    Mb2() { bytes_.resize(8); }
    Mb2& tag(uint32_t type, const std::vector<uint8_t>& payload) {
        put32(type);
        put32(static_cast<uint32_t>(8 + payload.size()));
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        while (bytes_.size() % 8 != 0)
            bytes_.push_back(0);
        return *this;
    }
    Mb2& end() { return tag(0, {}); }
    // Returns an exactly sized heap copy (so that ASan catches any read past total_size).
    std::unique_ptr<uint8_t[]> finish() {
        const uint32_t total = static_cast<uint32_t>(bytes_.size());
        std::memcpy(bytes_.data(), &total, 4);
        auto out = std::make_unique<uint8_t[]>(total);
        std::memcpy(out.get(), bytes_.data(), total);
        return out;
    }
    std::vector<uint8_t>& raw() { return bytes_; }

  private:
    void put32(uint32_t v) {
        for (int i = 0; i < 4; ++i)
            bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    std::vector<uint8_t> bytes_;
};

void le(std::vector<uint8_t>& v, uint64_t x, int bytes) {
    for (int i = 0; i < bytes; ++i)
        v.push_back(i < 8 ? static_cast<uint8_t>(x >> (8 * i)) : 0);
}
std::vector<uint8_t> str(const char* s) {
    return std::vector<uint8_t>(s, s + std::strlen(s) + 1);
}
std::vector<uint8_t> mmap_tag(std::vector<boot::RawRegion> regions, uint32_t entry_size = 24) {
    std::vector<uint8_t> p;
    le(p, entry_size, 4);
    le(p, 0, 4);
    for (const auto& r : regions) {
        le(p, r.base, 8);
        le(p, r.size, 8);
        le(p, r.type, 4);
        le(p, 0, entry_size - 20);
    }
    return p;
}
std::vector<uint8_t> module_tag(uint32_t start, uint32_t end, const char* s) {
    std::vector<uint8_t> p;
    le(p, start, 4);
    le(p, end, 4);
    auto t = str(s);
    p.insert(p.end(), t.begin(), t.end());
    return p;
}

std::unique_ptr<BootSources> parse2(Mb2& mb, const char** err) {
    auto out = std::make_unique<BootSources>();
    std::memset(out.get(), 0, sizeof(BootSources));
    auto block = mb.finish();
    *err = read_multiboot2(reinterpret_cast<uintptr_t>(block.get()), out.get());
    return out;
}

TEST(Multiboot2, ReadsEveryTagItUses) {
    Mb2 mb;
    mb.tag(1, str("keel-loader debug"))
        .tag(3, module_tag(0x200000, 0x240000, "/boot/keel-kernel.elf keel-kernel.elf test"))
        .tag(3, module_tag(0x240000, 0x241000, "init.elf init --verbose"))
        .tag(6, mmap_tag({{0, 0x9fc00, 1}, {0x100000, 0x7ee0000, 1}, {0xfffc0000, 0x40000, 2}}));
    std::vector<uint8_t> fb;
    le(fb, 0xfd000000, 8);
    le(fb, 4096, 4);
    le(fb, 1024, 4);
    le(fb, 768, 4);
    fb.push_back(32);
    fb.push_back(1);  // RGB
    le(fb, 0, 2);
    mb.tag(8, fb);
    std::vector<uint8_t> rsdp(36, 0xab);
    mb.tag(15, rsdp).end();
    const char* err = "unset";
    auto s = parse2(mb, &err);
    ASSERT_EQ(err, nullptr) << err;
    EXPECT_EQ(s->protocol, 2u);
    EXPECT_STREQ(s->cmdline, "keel-loader debug");
    ASSERT_EQ(s->module_count, 2u);
    EXPECT_EQ(s->modules[0].start, 0x200000u);
    EXPECT_EQ(s->modules[0].end, 0x240000u);
    EXPECT_STREQ(s->modules[1].string, "init.elf init --verbose");
    ASSERT_EQ(s->raw_count, 3u);
    EXPECT_EQ(s->raw[1].base, 0x100000u);
    EXPECT_EQ(s->raw[2].type, 2u);
    EXPECT_EQ(s->framebuffer.width, 1024u);
    EXPECT_EQ(s->framebuffer.bpp, 32u);
    EXPECT_EQ(s->framebuffer.type, boot::FramebufferType::kRgb);
    EXPECT_EQ(s->rsdp_size, 36u);
    EXPECT_EQ(s->rsdp[35], 0xab);
}

TEST(Multiboot2, LargerEntrySizesAndTooManyRegions) {
    std::vector<boot::RawRegion> many;
    for (uint64_t i = 0; i < kMaxRawRegions + 10; ++i)
        many.push_back({i << 20, 1 << 19, 1});
    Mb2 mb;
    mb.tag(6, mmap_tag(many, 32)).end();
    const char* err = "unset";
    auto s = parse2(mb, &err);
    ASSERT_EQ(err, nullptr);
    EXPECT_EQ(s->raw_count, kMaxRawRegions);
    EXPECT_EQ(s->raw_dropped, 10u);
    EXPECT_EQ(s->raw[5].base, 5u << 20);
}

TEST(Multiboot2, TooManyModulesAreCounted) {
    Mb2 mb;
    for (int i = 0; i < 20; ++i)
        mb.tag(3, module_tag(0x1000 * i, 0x1000 * i + 10, "m"));
    mb.tag(6, mmap_tag({{0, 1 << 20, 1}})).end();
    const char* err = "unset";
    auto s = parse2(mb, &err);
    ASSERT_EQ(err, nullptr);
    EXPECT_EQ(s->module_count, boot::kMaxModules + 1);
    EXPECT_EQ(s->modules_dropped, 20u - boot::kMaxModules - 1);
}

TEST(Multiboot2, RefusesMalformedBlocks) {
    const char* err = nullptr;
    {
        Mb2 mb;  // no memory map
        mb.tag(1, str("x")).end();
        parse2(mb, &err);
        EXPECT_STREQ(err, "the boot loader passed no memory map");
    }
    {
        Mb2 mb;  // no end tag: the parser must stop at total_size
        mb.tag(6, mmap_tag({{0, 1 << 20, 1}}));
        parse2(mb, &err);
        EXPECT_NE(std::string(err).find("no end tag"), std::string::npos);
    }
    {
        Mb2 mb;  // a tag claiming more bytes than the block has
        mb.tag(6, mmap_tag({{0, 1 << 20, 1}})).end();
        mb.raw()[12] = 0xff;  // first tag's size
        parse2(mb, &err);
        EXPECT_NE(std::string(err).find("bad tag size"), std::string::npos);
    }
    {
        Mb2 mb;  // an entry size smaller than an entry
        mb.tag(6, mmap_tag({{0, 1 << 20, 1}}, 24)).end();
        mb.raw()[16] = 8;
        parse2(mb, &err);
        EXPECT_NE(std::string(err).find("entry size"), std::string::npos);
    }
    {
        Mb2 mb;  // a command line without its terminator stays inside its tag
        mb.tag(1, {'a', 'b', 'c'}).tag(6, mmap_tag({{0, 1 << 20, 1}})).end();
        auto s = parse2(mb, &err);
        EXPECT_EQ(err, nullptr);
        EXPECT_EQ(std::string(s->cmdline).substr(0, 3), "abc");
        EXPECT_LE(std::strlen(s->cmdline), 8u);  // the tag's padding at most
    }
}

// Multiboot (v1) uses 32-bit physical pointers, so the block and everything it points to
// live in memory mapped below 4 GiB (MAP_32BIT).
class LowMemory {
  public:
    LowMemory() {
        void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    }
    ~LowMemory() {
        if (base_ != nullptr)
            munmap(base_, kSize);
    }
    uint8_t* at(size_t off) { return base_ + off; }
    uint32_t addr(size_t off) {
        return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(base_ + off));
    }
    bool ok() const { return base_ != nullptr; }
    void put32(size_t off, uint32_t v) { std::memcpy(base_ + off, &v, 4); }
    void put64(size_t off, uint64_t v) { std::memcpy(base_ + off, &v, 8); }

  private:
    static constexpr size_t kSize = 1 << 16;
    uint8_t* base_;
};

TEST(Multiboot1, ReadsMapModulesAndCommandLine) {
    LowMemory m;
    ASSERT_TRUE(m.ok());
    // mmap at 0x1000: two entries of size 20.
    for (int i = 0; i < 2; ++i) {
        const size_t e = 0x1000 + 24 * i;
        m.put32(e, 20);
        m.put64(e + 4, i == 0 ? 0 : 0x100000);
        m.put64(e + 12, i == 0 ? 0x9fc00 : 0x7f00000);
        m.put32(e + 20, 1);
    }
    std::strcpy(reinterpret_cast<char*>(m.at(0x2000)), "/path/keel-loader.elf");
    std::strcpy(reinterpret_cast<char*>(m.at(0x2100)), "/path/keel-kernel.elf test");
    m.put32(0x3000, 0x200000);  // module 0
    m.put32(0x3004, 0x250000);
    m.put32(0x3008, m.addr(0x2100));
    m.put32(0, (1u << 6) | (1u << 2) | (1u << 3));
    m.put32(16, m.addr(0x2000));
    m.put32(20, 1);
    m.put32(24, m.addr(0x3000));
    m.put32(44, 48);
    m.put32(48, m.addr(0x1000));
    auto s = std::make_unique<BootSources>();
    std::memset(s.get(), 0, sizeof(BootSources));
    ASSERT_EQ(read_multiboot1(reinterpret_cast<uintptr_t>(m.at(0)), s.get()), nullptr);
    EXPECT_EQ(s->protocol, 1u);
    ASSERT_EQ(s->raw_count, 2u);
    EXPECT_EQ(s->raw[1].size, 0x7f00000u);
    EXPECT_STREQ(s->cmdline, "/path/keel-loader.elf");
    ASSERT_EQ(s->module_count, 1u);
    EXPECT_STREQ(s->modules[0].string, "/path/keel-kernel.elf test");
    EXPECT_EQ(s->modules[0].end, 0x250000u);
}

TEST(Multiboot1, FallsBackToMemLowerUpperAndRefusesBadEntries) {
    LowMemory m;
    ASSERT_TRUE(m.ok());
    m.put32(0, 1);  // mem_lower/mem_upper only
    m.put32(4, 639);
    m.put32(8, 130048);
    auto s = std::make_unique<BootSources>();
    std::memset(s.get(), 0, sizeof(BootSources));
    ASSERT_EQ(read_multiboot1(reinterpret_cast<uintptr_t>(m.at(0)), s.get()), nullptr);
    ASSERT_EQ(s->raw_count, 2u);
    EXPECT_EQ(s->raw[1].base, 0x100000u);
    EXPECT_EQ(s->raw[1].size, 130048u << 10);

    std::memset(s.get(), 0, sizeof(BootSources));
    m.put32(0, 1u << 6);
    m.put32(0x1000, 4);  // entry size below 20: would loop or misparse
    m.put32(44, 48);
    m.put32(48, m.addr(0x1000));
    EXPECT_NE(read_multiboot1(reinterpret_cast<uintptr_t>(m.at(0)), s.get()), nullptr);

    std::memset(s.get(), 0, sizeof(BootSources));
    m.put32(0, 0);
    EXPECT_STREQ(read_multiboot1(reinterpret_cast<uintptr_t>(m.at(0)), s.get()),
                 "the boot loader passed no memory map");
}

}  // namespace
}  // namespace keel::loader
