// Unit tests for the loader's initial page tables, built in host memory: the identity and
// direct maps share their tables, the direct map alone is NX, kernel pages carry exactly
// their segment's permissions, and no NX bit appears when the CPU lacks NX.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/boot_info.hpp>

#include "page_tables.hpp"

namespace keel::loader {
namespace {

constexpr uint64_t kAddr = 0x000ffffffffff000ull;

std::vector<void*> g_pages;

uint64_t alloc_page() {
    void* p = std::aligned_alloc(4096, 4096);
    std::memset(p, 0, 4096);
    g_pages.push_back(p);
    return reinterpret_cast<uint64_t>(p);
}

const uint64_t* table(uint64_t entry) {
    return reinterpret_cast<const uint64_t*>(entry & kAddr);
}

class PageTables : public ::testing::Test {
  protected:
    ~PageTables() override {
        for (void* p : g_pages)
            std::free(p);
        g_pages.clear();
    }
    // Walks to the entry mapping virt at `level` (3 = PML4 entry ... 0 = PT entry).
    static uint64_t entry(const PageTableBuilder& b, uint64_t virt, int level) {
        const uint64_t* t = reinterpret_cast<const uint64_t*>(b.pml4());
        for (int l = 3;; --l) {
            const uint64_t e = t[(virt >> (12 + 9 * l)) & 511];
            if (l == level)
                return e;
            t = table(e);
        }
    }
};

TEST_F(PageTables, IdentityAndDirectMapShareTablesDirectMapIsNx) {
    PageTableBuilder b(alloc_page, true);
    b.map_physical(4ull << 30);
    const uint64_t low = entry(b, 0, 3);
    const uint64_t high = entry(b, boot::kDirectMapBase, 3);
    EXPECT_EQ(low & kAddr, high & kAddr);
    EXPECT_EQ(low & kPteNoExecute, 0u);
    EXPECT_NE(high & kPteNoExecute, 0u);
    // 2 MiB pages, each mapping its own address, writable, up to 4 GiB and not beyond.
    for (uint64_t a : {0ull, 0x200000ull, 0x40000000ull, 0xffe00000ull}) {
        const uint64_t pd = entry(b, boot::kDirectMapBase + a, 1);
        EXPECT_EQ(pd & kAddr, a);
        EXPECT_EQ(pd & (kPtePresent | kPteWritable | kPteLarge),
                  kPtePresent | kPteWritable | kPteLarge);
    }
    EXPECT_EQ(table(high)[4], 0u);  // the fifth GiB is not mapped
}

TEST_F(PageTables, KernelPagesCarrySegmentPermissions) {
    PageTableBuilder b(alloc_page, true);
    const uint64_t text = 0xffffffff80000000ull;
    b.map_page(text, 0x200000, false, true);
    b.map_page(text + 0x1000, 0x201000, false, false);
    b.map_page(text + 0x2000, 0x202000, true, false);
    const uint64_t t = entry(b, text, 0), r = entry(b, text + 0x1000, 0),
                   d = entry(b, text + 0x2000, 0);
    EXPECT_EQ(t, 0x200000u | kPtePresent);
    EXPECT_EQ(r, 0x201000u | kPtePresent | kPteNoExecute);
    EXPECT_EQ(d, 0x202000u | kPtePresent | kPteWritable | kPteNoExecute);
    // The three pages share one page table, and upper levels grant everything.
    EXPECT_EQ(g_pages.size(), 4u);  // PML4, PDPT, PD, PT
    for (int level = 3; level >= 1; --level) {
        EXPECT_EQ(entry(b, text, level) & (kPteWritable | kPteNoExecute), kPteWritable);
    }
}

TEST_F(PageTables, NoNxBitsWithoutNx) {
    PageTableBuilder b(alloc_page, false);
    b.map_physical(1ull << 30);
    b.map_page(0xffffffff80000000ull, 0x200000, true, false);
    EXPECT_EQ(entry(b, boot::kDirectMapBase, 3) & kPteNoExecute, 0u);
    EXPECT_EQ(entry(b, 0xffffffff80000000ull, 0) & kPteNoExecute, 0u);
}

}  // namespace
}  // namespace keel::loader
