// Unit tests for RangeSet and build_usable_map: firmware maps that are unsorted, overlapping,
// tiny, huge, or larger than the output storage.
#include <gtest/gtest.h>

#include <ostream>
#include <vector>

#include "memory_map.hpp"

namespace keel::boot {

// In keel::boot so that ADL finds them from inside std::vector's comparison and gtest.
bool operator==(const MemoryRange& a, const MemoryRange& b) {
    return a.base == b.base && a.size == b.size;
}
void PrintTo(const MemoryRange& r, std::ostream* os) {
    *os << std::hex << "{0x" << r.base << ", 0x" << r.size << "}";
}

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

struct Map {
    std::vector<MemoryRange> storage;
    RangeSet set;
    explicit Map(uint32_t capacity) : storage(capacity), set(storage.data(), capacity) {}
};

std::vector<MemoryRange> ranges(const RangeSet& s) {
    std::vector<MemoryRange> v;
    for (uint32_t i = 0; i < s.count(); ++i)
        v.push_back(s[i]);
    return v;
}

// Invariants every result must have: sorted, disjoint, non-adjacent, page-aligned, non-empty.
void expect_well_formed(const RangeSet& s) {
    for (uint32_t i = 0; i < s.count(); ++i) {
        EXPECT_EQ(s[i].base % kPageSize, 0u);
        EXPECT_EQ(s[i].size % kPageSize, 0u);
        EXPECT_GT(s[i].size, 0u);
        if (i > 0) {
            EXPECT_LT(s[i - 1].base + s[i - 1].size, s[i].base);
        }
    }
}

TEST(RangeSet, MergesOverlappingAndAdjacent) {
    Map m(8);
    m.set.add(0x3000, 0x5000);
    m.set.add(0x1000, 0x2000);
    m.set.add(0x2000, 0x3000);  // adjacent on both sides: one range
    m.set.add(0x4000, 0x9000);  // overlapping
    EXPECT_EQ(ranges(m.set), (std::vector<MemoryRange>{{0x1000, 0x8000}}));
    EXPECT_FALSE(m.set.truncated());
}

TEST(RangeSet, RemoveSplitsAndTrims) {
    Map m(8);
    m.set.add(0x1000, 0x10000);
    m.set.remove(0x4000, 0x6000);
    m.set.remove(0x0, 0x2000);
    m.set.remove(0xf000, 0x20000);
    EXPECT_EQ(ranges(m.set), (std::vector<MemoryRange>{{0x2000, 0x2000}, {0x6000, 0x9000}}));
}

TEST(RangeSet, FullStorageDropsSmallestNeverInvents) {
    Map m(2);
    m.set.add(0x10000, 0x20000);
    m.set.add(0x40000, 0x41000);
    m.set.add(0x80000, 0x90000);  // larger than the one-page range: that one goes
    EXPECT_TRUE(m.set.truncated());
    EXPECT_EQ(ranges(m.set), (std::vector<MemoryRange>{{0x10000, 0x10000}, {0x80000, 0x10000}}));
    m.set.remove(0x14000, 0x15000);  // split without room: keeps the larger piece
    EXPECT_EQ(ranges(m.set), (std::vector<MemoryRange>{{0x15000, 0xb000}, {0x80000, 0x10000}}));
    Map none(0);
    none.set.add(0, kPageSize);
    EXPECT_EQ(none.set.count(), 0u);
    EXPECT_TRUE(none.set.truncated());
}

TEST(BuildUsableMap, QemuLikeMapMinusExclusions) {
    const RawRegion raw[] = {
        {0x100000, 128 * kMiB - 0x100000 - 0x20000, kRawAvailable},
        {0, 0x9fc00, kRawAvailable},
        {0x9fc00, 0x400, 2},
        {0xf0000, 0x10000, 2},
        {128 * kMiB - 0x20000, 0x20000, 2},
        {0xfffc0000, 0x40000, 2},
    };
    MemoryRange ex_storage[4];
    RangeSet excluded(ex_storage, 4);
    excluded.add(0, kPageSize);
    excluded.add(0x100000, 0x180000);  // loader and kernel
    Map out(16);
    build_usable_map(raw, 6, excluded, out.set);
    expect_well_formed(out.set);
    EXPECT_EQ(
        ranges(out.set),
        (std::vector<MemoryRange>{{0x1000, 0x9e000}, {0x180000, 128 * kMiB - 0x20000 - 0x180000}}));
}

TEST(BuildUsableMap, UnsortedOverlappingReservedWins) {
    const RawRegion raw[] = {
        {8 * kMiB, 8 * kMiB, kRawAvailable},
        {1 * kMiB, 4 * kMiB, kRawAvailable},
        {4 * kMiB, 6 * kMiB, kRawAvailable},  // overlaps both neighbours
        {6 * kMiB + 100, 10, 3},              // ACPI inside RAM: its whole page goes
    };
    MemoryRange ex_storage[1];
    RangeSet excluded(ex_storage, 1);
    Map out(8);
    build_usable_map(raw, 4, excluded, out.set);
    expect_well_formed(out.set);
    EXPECT_EQ(ranges(out.set),
              (std::vector<MemoryRange>{{1 * kMiB, 5 * kMiB},
                                        {6 * kMiB + kPageSize, 10 * kMiB - kPageSize}}));
}

TEST(BuildUsableMap, TinyAndUnalignedRegionsShrinkInward) {
    const RawRegion raw[] = {
        {0x1001, 0xffe, kRawAvailable},    // inside one page: nothing usable
        {0x5800, 0x2000, kRawAvailable},   // covers only the page at 0x6000
        {0x10000, 0, kRawAvailable},       // empty
        {0x20000, 0x1000, kRawAvailable},  // exactly one page
    };
    MemoryRange ex_storage[1];
    RangeSet excluded(ex_storage, 1);
    Map out(8);
    build_usable_map(raw, 4, excluded, out.set);
    EXPECT_EQ(ranges(out.set), (std::vector<MemoryRange>{{0x6000, 0x1000}, {0x20000, 0x1000}}));
}

TEST(BuildUsableMap, HugeRegionsSaturateInsteadOfWrapping) {
    const RawRegion raw[] = {
        {4 * kGiB, ~0ull, kRawAvailable},  // base + size wraps
        {~0ull - 0x800, 0x1000, 2},        // reserved, reaching the top
    };
    MemoryRange ex_storage[1];
    RangeSet excluded(ex_storage, 1);
    Map out(8);
    build_usable_map(raw, 2, excluded, out.set);
    expect_well_formed(out.set);
    ASSERT_EQ(out.set.count(), 1u);
    EXPECT_EQ(out.set[0].base, 4 * kGiB);
    EXPECT_EQ(out.set[0].base + out.set[0].size, align_down(~0ull - 0x800, kPageSize));
}

TEST(BuildUsableMap, ManyRegionsTruncateSafely) {
    std::vector<RawRegion> raw;
    for (uint64_t i = 0; i < 300; ++i)
        raw.push_back({i * 4 * kMiB, kMiB + i * kPageSize, 1});
    MemoryRange ex_storage[1];
    RangeSet excluded(ex_storage, 1);
    Map out(kMaxMemoryRanges);
    build_usable_map(raw.data(), static_cast<uint32_t>(raw.size()), excluded, out.set);
    expect_well_formed(out.set);
    EXPECT_TRUE(out.set.truncated());
    EXPECT_EQ(out.set.count(), kMaxMemoryRanges);
    // Every range kept is one of the real ones (largest first survive).
    for (uint32_t i = 0; i < out.set.count(); ++i) {
        const uint64_t idx = out.set[i].base / (4 * kMiB);
        EXPECT_EQ(out.set[i].base, idx * 4 * kMiB);
        EXPECT_EQ(out.set[i].size, kMiB + idx * kPageSize);
        EXPECT_GE(idx, 300u - kMaxMemoryRanges);
    }
}

TEST(FindFree, RespectsMinimumLimitAndPageZero) {
    Map m(4);
    m.set.add(0, 0x9f000);
    m.set.add(0x100000, 0x200000);
    m.set.add(5 * kGiB, 6 * kGiB);
    EXPECT_EQ(find_free(m.set, 0x1000, 0, ~0ull), 0x1000u);  // never page 0
    EXPECT_EQ(find_free(m.set, 0x1000, 0x100000, ~0ull), 0x100000u);
    EXPECT_EQ(find_free(m.set, 0x100001, 0x100000, ~0ull), 5 * kGiB);
    EXPECT_EQ(find_free(m.set, 0x100001, 0x100000, 4 * kGiB), 0u);
    EXPECT_EQ(find_free(m.set, 0, 0, ~0ull), 0u);
    EXPECT_EQ(find_free(m.set, 0x1000, 0x1ff001, ~0ull), 5 * kGiB);
}

}  // namespace
}  // namespace keel::boot
