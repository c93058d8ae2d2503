// The page cache alone: repeated reads answered from memory, small misses widened to whole
// pages, writes seen by later reads (the device and the pages agree), a failed write dropping
// its pages, a failed read keeping nothing, eviction, and random reads and writes against a
// plain copy of the device.
#include <gtest/gtest.h>
#include <keel/fat/page_cache.hpp>

#include <random>
#include <vector>

#include "fat_image.hpp"

namespace keel::fat {
namespace {

using testing::MemoryDevice;

struct PageFixture {
    MemoryDevice dev;
    std::vector<uint8_t> memory;
    PageCache cache;
    PageFixture(uint32_t pages, uint32_t sectors, uint32_t ss = 512)
        : dev(std::vector<uint8_t>(static_cast<size_t>(sectors) * ss), ss),
          memory(PageCache::bytes_for(pages)) {
        for (size_t i = 0; i < dev.bytes().size(); ++i)
            dev.bytes()[i] = static_cast<uint8_t>(i * 7 + i / 512);
        EXPECT_EQ(cache.init(dev, memory.data(), memory.size()), Error::kOk);
    }
    std::vector<uint8_t> read(uint64_t sector, uint32_t count) {
        std::vector<uint8_t> out(static_cast<size_t>(count) * dev.sector_size, 0xEE);
        EXPECT_EQ(cache.read(sector, count, out.data()), Error::kOk);
        return out;
    }
    std::vector<uint8_t> expected(uint64_t sector, uint32_t count) {
        const auto at = dev.bytes().begin() + static_cast<ptrdiff_t>(sector * dev.sector_size);
        return {at, at + static_cast<ptrdiff_t>(count) * dev.sector_size};
    }
};

TEST(PageCache, PagesFromMemory) {
    PageFixture f(16, 256);
    EXPECT_EQ(f.cache.pages(), 16u);
    EXPECT_EQ(f.cache.sector_size, 512u);
    EXPECT_EQ(f.cache.sector_count, 256u);
    PageCache c;
    std::vector<uint8_t> small(PageCache::bytes_for(3));
    EXPECT_EQ(c.init(f.dev, small.data(), small.size()), Error::kNoSpace);
    EXPECT_EQ(c.init(f.dev, nullptr, 1 << 20), Error::kNoSpace);
    MemoryDevice big(std::vector<uint8_t>(8192 * 4), 8192);
    EXPECT_EQ(c.init(big, f.memory.data(), f.memory.size()), Error::kInvalid);
}

TEST(PageCache, RepeatedReadsComeFromMemory) {
    PageFixture f(16, 256);
    EXPECT_EQ(f.read(9, 8), f.expected(9, 8));  // 4 KiB across pages 1 and 2
    EXPECT_EQ(f.dev.reads, 1u);
    EXPECT_EQ(f.dev.read_sectors, 16u);  // widened to the two whole pages
    EXPECT_EQ(f.read(9, 8), f.expected(9, 8));
    EXPECT_EQ(f.read(8, 1), f.expected(8, 1));    // inside the widened pages
    EXPECT_EQ(f.read(20, 3), f.expected(20, 3));  // likewise
    EXPECT_EQ(f.dev.reads, 1u);
    EXPECT_EQ(f.cache.stats().hits, 3u);
    EXPECT_EQ(f.read(23, 2), f.expected(23, 2));  // runs into page 3: a miss
    EXPECT_EQ(f.dev.reads, 2u);
}

TEST(PageCache, LongReadsGoStraightAndKeepTheirPagesWithTheirEnds) {
    PageFixture f(64, 512);
    EXPECT_EQ(f.read(3, 128), f.expected(3, 128));  // 64 KiB from sector 3: pages 0..16
    EXPECT_EQ(f.dev.reads, 3u);  // the read itself, not widened, then its two partial pages
    EXPECT_EQ(f.dev.read_sectors, 128u + 16u);
    EXPECT_EQ(f.cache.stats().device_reads, 3u);
    EXPECT_EQ(f.read(8, 120), f.expected(8, 120));  // the whole pages inside it
    EXPECT_EQ(f.read(0, 8), f.expected(0, 8));      // page 0, partial in the long read
    EXPECT_EQ(f.read(128, 8), f.expected(128, 8));  // page 16, likewise
    EXPECT_EQ(f.read(3, 128), f.expected(3, 128));  // the same read again: from memory
    EXPECT_EQ(f.dev.reads, 3u);
    EXPECT_EQ(f.cache.stats().hits, 4u);
}

TEST(PageCache, RepeatedUnalignedPiecesOfAFileHitTheSecondTime) {
    // B10's pattern: a file read in 32 KiB pieces from a data area 2 sectors past a page
    // boundary, twice. The second pass must not reach the device at all.
    PageFixture f(128, 1024);
    for (uint64_t s = 2; s + 64 <= 1024; s += 64)
        EXPECT_EQ(f.read(s, 64), f.expected(s, 64)) << "sector " << s;
    const uint64_t after_first = f.dev.reads;
    for (uint64_t s = 2; s + 64 <= 1024; s += 64)
        EXPECT_EQ(f.read(s, 64), f.expected(s, 64)) << "sector " << s;
    EXPECT_EQ(f.dev.reads, after_first);
}

TEST(PageCache, AFailedEndPageLeavesTheReadGoodAndThePageOut) {
    PageFixture f(64, 512);
    f.dev.fail_reads_from = 1;  // the long read itself succeeds, the end pages' reads fail
    EXPECT_EQ(f.read(3, 128), f.expected(3, 128));
    f.dev.fail_reads_from = UINT64_MAX;
    const uint64_t reads = f.dev.reads;
    EXPECT_EQ(f.read(0, 8), f.expected(0, 8));  // page 0 was not kept: read now
    EXPECT_EQ(f.dev.reads, reads + 1);
}

TEST(PageCache, WritesReachDeviceAndPages) {
    PageFixture f(16, 256);
    (void)f.read(0, 16);
    std::vector<uint8_t> data(3 * 512);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(0x55 ^ i);
    ASSERT_EQ(f.cache.write(7, 3, data.data()), Error::kOk);  // across pages 0 and 1
    EXPECT_EQ(f.dev.writes, 1u);
    EXPECT_EQ(f.expected(7, 3), data);
    const uint64_t reads = f.dev.reads;
    EXPECT_EQ(f.read(0, 16), f.expected(0, 16));
    EXPECT_EQ(f.dev.reads, reads);  // still cached, with the new bytes
}

TEST(PageCache, FailedWriteDropsItsPages) {
    PageFixture f(16, 256);
    (void)f.read(0, 16);
    std::vector<uint8_t> data(512, 0xAA);
    f.dev.fail_writes = true;
    EXPECT_EQ(f.cache.write(9, 1, data.data()), Error::kIo);
    f.dev.fail_writes = false;
    // Page 1 is read again (the device's bytes, whatever a failed write left there);
    // page 0 was not touched by the write and stays.
    const uint64_t reads = f.dev.reads;
    EXPECT_EQ(f.read(0, 8), f.expected(0, 8));
    EXPECT_EQ(f.dev.reads, reads);
    f.dev.bytes()[9 * 512] = 0x42;  // stands for a half-done write
    EXPECT_EQ(f.read(8, 8), f.expected(8, 8));
    EXPECT_EQ(f.dev.reads, reads + 1);
}

TEST(PageCache, FailedReadKeepsNothing) {
    PageFixture f(16, 256);
    std::vector<uint8_t> out(4096);
    f.dev.fail_reads = true;
    EXPECT_EQ(f.cache.read(0, 8, out.data()), Error::kIo);
    EXPECT_EQ(f.cache.read(16, 128, std::vector<uint8_t>(65536).data()), Error::kIo);
    f.dev.fail_reads = false;
    f.dev.bytes()[0] = 0x99;
    EXPECT_EQ(f.read(0, 8), f.expected(0, 8));
    EXPECT_EQ(f.read(16, 128), f.expected(16, 128));
    EXPECT_EQ(f.dev.reads, 4u);
}

TEST(PageCache, OutsideTheDeviceIsRefused) {
    PageFixture f(16, 250);  // the last page is partial (250 = 31 pages + 2 sectors)
    std::vector<uint8_t> out(8 * 512);
    EXPECT_EQ(f.cache.read(249, 2, out.data()), Error::kCorrupt);
    EXPECT_EQ(f.cache.write(250, 1, out.data()), Error::kCorrupt);
    EXPECT_EQ(f.dev.reads + f.dev.writes, 0u);
    EXPECT_EQ(f.read(247, 3), f.expected(247, 3));  // widened only up to the device's end
    EXPECT_EQ(f.read(248, 2), f.expected(248, 2));  // the partial page is never kept
    EXPECT_EQ(f.dev.reads, 2u);
}

TEST(PageCache, LeastRecentlyUsedIsEvicted) {
    PageFixture f(4, 256);
    for (uint64_t p = 0; p < 4; ++p)
        (void)f.read(p * 8, 1);
    (void)f.read(0, 1);  // page 1 is now the oldest
    (void)f.read(32, 1);
    EXPECT_EQ(f.cache.stats().evictions, 1u);
    const uint64_t reads = f.dev.reads;
    (void)f.read(0, 1);
    EXPECT_EQ(f.dev.reads, reads);
    (void)f.read(8, 1);
    EXPECT_EQ(f.dev.reads, reads + 1);
}

TEST(PageCache, MissingAndFill) {
    PageFixture f(16, 250);
    uint64_t first = 0;
    uint32_t sectors = 0;
    ASSERT_TRUE(f.cache.missing(9, 8, &first, &sectors));  // pages 1 and 2
    EXPECT_EQ(first, 8u);
    EXPECT_EQ(sectors, 16u);
    f.cache.fill(first, sectors, f.expected(first, sectors).data(), f.cache.writes());
    EXPECT_FALSE(f.cache.missing(9, 8, &first, &sectors));
    EXPECT_EQ(f.read(9, 8), f.expected(9, 8));
    EXPECT_EQ(f.dev.reads, 0u);                              // filled: no device read
    ASSERT_TRUE(f.cache.missing(247, 3, &first, &sectors));  // clipped at the device's end
    EXPECT_EQ(first, 240u);
    EXPECT_EQ(sectors, 10u);
    EXPECT_FALSE(f.cache.missing(250, 1, &first, &sectors));  // outside: nothing to fetch
    f.cache.drop_all();
    EXPECT_TRUE(f.cache.missing(9, 8, &first, &sectors));
}

// A fetch sent before a write to the device and handed over after it carries bytes the device
// may no longer hold: fill() keeps nothing of it (a read then asks the device), even when the
// write did not touch its pages (the cache cannot know what the device did first).
TEST(PageCache, FillOvertakenByAWriteKeepsNothing) {
    PageFixture f(16, 250);
    const uint64_t sent_at = f.cache.writes();
    const std::vector<uint8_t> old = f.expected(8, 16);  // "read" by the fetch: pages 1, 2
    std::vector<uint8_t> fresh(512, 0xA5);
    ASSERT_EQ(f.cache.write(9, 1, fresh.data()), Error::kOk);  // inside page 1
    EXPECT_EQ(f.cache.writes(), sent_at + 1);
    f.cache.fill(8, 16, old.data(), sent_at);
    uint64_t first = 0;
    uint32_t sectors = 0;
    EXPECT_TRUE(f.cache.missing(8, 16, &first, &sectors));  // nothing kept
    std::vector<uint8_t> got = f.read(9, 1);
    EXPECT_EQ(got, fresh);  // from the device, not the fetch's old bytes
    // A fetch sent after the write is kept.
    f.cache.drop_all();
    f.cache.fill(8, 16, f.expected(8, 16).data(), f.cache.writes());
    EXPECT_FALSE(f.cache.missing(8, 16, &first, &sectors));
    EXPECT_EQ(f.read(9, 1), fresh);
    // One sent before drop_all() is refused too: the caller wanted the cache empty.
    const uint64_t before_drop = f.cache.writes();
    f.cache.drop_all();
    f.cache.fill(8, 16, f.expected(8, 16).data(), before_drop);
    EXPECT_TRUE(f.cache.missing(8, 16, &first, &sectors));
}

// Random reads and writes of random runs (1-130 sectors) on 512- and 4096-byte sectors
// through a small cache: every read equals a plain copy kept beside it.
TEST(PageCache, AgreesWithTheDevice) {
    for (uint32_t ss : {512u, 4096u}) {
        const uint32_t sectors = ss == 512 ? 1000 : 130;
        PageFixture f(8, sectors, ss);
        std::vector<uint8_t> model = f.dev.bytes();
        std::mt19937 rng(17 + ss);
        for (int step = 0; step < 800; ++step) {
            const uint32_t most = 130 * 512 / ss;
            const uint32_t count = 1 + rng() % most;
            const uint64_t sector = rng() % (sectors - count + 1);
            const size_t at = sector * ss, n = static_cast<size_t>(count) * ss;
            if (rng() % 3 == 0) {
                std::vector<uint8_t> data(n);
                for (auto& b : data)
                    b = static_cast<uint8_t>(rng());
                ASSERT_EQ(f.cache.write(sector, count, data.data()), Error::kOk);
                std::copy(data.begin(), data.end(), model.begin() + static_cast<ptrdiff_t>(at));
            } else {
                const auto got = f.read(sector, count);
                ASSERT_TRUE(
                    std::equal(got.begin(), got.end(), model.begin() + static_cast<ptrdiff_t>(at)))
                    << "step " << step;
            }
        }
        EXPECT_GT(f.cache.stats().hits, 0u);
    }
}

}  // namespace
}  // namespace keel::fat
