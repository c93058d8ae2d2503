// The sector cache alone: LRU eviction, write-back on eviction and on sync, whole-sector
// writes without a read, the memory it needs, no access outside the device, direct runs
// coherent with the slots, and late slots written one flushed epoch after the others.
#include <gtest/gtest.h>
#include <keel/fat/block_cache.hpp>

#include <vector>

#include "fat_image.hpp"

namespace keel::fat {
namespace {

using testing::MemoryDevice;

struct CacheFixture {
    MemoryDevice dev{std::vector<uint8_t>(16 * 512)};
    std::vector<uint8_t> memory;
    BlockCache cache;
    explicit CacheFixture(uint32_t slots) : memory(BlockCache::bytes_for(slots, 512)) {
        for (size_t i = 0; i < dev.bytes().size(); ++i)
            dev.bytes()[i] = static_cast<uint8_t>(i / 512);
        EXPECT_EQ(cache.init(dev, memory.data(), memory.size()), Error::kOk);
    }
};

TEST(BlockCache, SlotsFromMemory) {
    CacheFixture f(4);
    EXPECT_EQ(f.cache.slots(), 4u);
    MemoryDevice dev{std::vector<uint8_t>(4 * 512)};
    std::vector<uint8_t> small(BlockCache::bytes_for(1, 512));
    BlockCache c;
    EXPECT_EQ(c.init(dev, small.data(), small.size()), Error::kNoSpace);
    EXPECT_EQ(c.init(dev, nullptr, 100000), Error::kNoSpace);
    // Misaligned memory still works (the slot table is aligned inside it).
    std::vector<uint8_t> odd(BlockCache::bytes_for(3, 512) + 1);
    EXPECT_EQ(c.init(dev, odd.data() + 1, odd.size() - 1), Error::kOk);
    EXPECT_EQ(c.slots(), 3u);
}

TEST(BlockCache, LeastRecentlyUsedIsEvicted) {
    CacheFixture f(2);
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get(0, &p), Error::kOk);
    EXPECT_EQ(p[0], 0);
    ASSERT_EQ(f.cache.get(1, &p), Error::kOk);
    EXPECT_EQ(p[0], 1);
    ASSERT_EQ(f.cache.get(0, &p), Error::kOk);  // 1 is now least recent
    ASSERT_EQ(f.cache.get(2, &p), Error::kOk);
    EXPECT_EQ(f.cache.stats().evictions, 1u);
    const uint64_t reads = f.dev.reads;
    ASSERT_EQ(f.cache.get(0, &p), Error::kOk);  // still cached
    EXPECT_EQ(f.dev.reads, reads);
    ASSERT_EQ(f.cache.get(1, &p), Error::kOk);  // was evicted
    EXPECT_EQ(f.dev.reads, reads + 1);
    EXPECT_EQ(f.cache.stats().hits, 2u);
    EXPECT_EQ(f.cache.stats().misses, 4u);
}

TEST(BlockCache, DirtySectorsAreWrittenOnEvictionAndSync) {
    CacheFixture f(2);
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(3, false, &p), Error::kOk);
    p[1] = 0xAB;
    ASSERT_EQ(f.cache.get_for_write(5, true, &p), Error::kOk);  // whole: no read
    EXPECT_EQ(f.dev.reads, 1u);
    p[0] = 0xCD;
    EXPECT_EQ(f.cache.dirty(), 2u);
    EXPECT_EQ(f.dev.writes, 0u);
    ASSERT_EQ(f.cache.get(7, &p), Error::kOk);  // evicts sector 3, writing it
    EXPECT_EQ(f.dev.writes, 1u);
    EXPECT_EQ(f.dev.bytes()[3 * 512 + 1], 0xAB);
    EXPECT_EQ(f.dev.bytes()[3 * 512], 3);
    ASSERT_EQ(f.cache.sync(), Error::kOk);
    EXPECT_EQ(f.dev.bytes()[5 * 512], 0xCD);
    EXPECT_EQ(f.cache.dirty(), 0u);
    EXPECT_EQ(f.dev.flushes, 1u);
    ASSERT_EQ(f.cache.sync(), Error::kOk);  // nothing written since: no write, no flush
    EXPECT_EQ(f.dev.writes, 2u);
    EXPECT_EQ(f.dev.flushes, 1u);
}

TEST(BlockCache, WriteBackIsInSectorOrder) {
    CacheFixture f(6);
    f.dev.log_writes = true;
    uint8_t* p = nullptr;
    for (uint64_t s : {9u, 2u, 14u, 5u}) {
        ASSERT_EQ(f.cache.get_for_write(s, true, &p), Error::kOk);
    }
    ASSERT_EQ(f.cache.write_back(), Error::kOk);
    EXPECT_EQ(f.dev.write_log, (std::vector<uint64_t>{2, 5, 9, 14}));
}

TEST(BlockCache, NothingOutsideTheDevice) {
    CacheFixture f(2);
    uint8_t* p = nullptr;
    EXPECT_EQ(f.cache.get(16, &p), Error::kCorrupt);
    EXPECT_EQ(f.cache.get_for_write(~uint64_t{0}, true, &p), Error::kCorrupt);
    EXPECT_EQ(f.dev.outside, 0u);
    EXPECT_EQ(f.dev.reads, 0u);
}

TEST(BlockCache, DeviceErrorsAreReported) {
    CacheFixture f(2);
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(1, true, &p), Error::kOk);
    f.dev.fail_writes = true;
    EXPECT_EQ(f.cache.sync(), Error::kIo);
    EXPECT_EQ(f.cache.dirty(), 1u);  // still dirty: nothing lost
    f.dev.fail_writes = false;
    EXPECT_EQ(f.cache.sync(), Error::kOk);
    f.dev.fail_reads = true;
    EXPECT_EQ(f.cache.get(4, &p), Error::kIo);
}

TEST(BlockCache, DirectReadSeesDirtySlots) {
    CacheFixture f(4);
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(5, false, &p), Error::kOk);
    p[7] = 0xEE;                                // dirty, not on the device
    ASSERT_EQ(f.cache.get(6, &p), Error::kOk);  // clean
    const uint64_t reads = f.dev.reads;
    std::vector<uint8_t> out(6 * 512);
    ASSERT_EQ(f.cache.read_through(3, 6, out.data()), Error::kOk);
    EXPECT_EQ(f.dev.reads, reads + 1);  // one device call for six sectors
    for (uint32_t i = 0; i < 6; ++i)
        EXPECT_EQ(out[i * 512], 3 + i);
    EXPECT_EQ(out[2 * 512 + 7], 0xEE);  // the cache's newer byte
    EXPECT_EQ(f.dev.bytes()[5 * 512 + 7], 5);
    EXPECT_EQ(f.cache.dirty(), 1u);  // nothing written back by the read
    EXPECT_EQ(f.cache.stats().direct_reads, 1u);
}

TEST(BlockCache, DirectWriteUpdatesSlotsAndWinsOverOlderDirtyBytes) {
    CacheFixture f(4);
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(5, false, &p), Error::kOk);
    p[0] = 0xEE;  // older than the direct write below
    ASSERT_EQ(f.cache.get(6, &p), Error::kOk);
    std::vector<uint8_t> in(3 * 512, 0x42);
    const uint64_t writes = f.dev.writes;
    ASSERT_EQ(f.cache.write_through(4, 3, in.data()), Error::kOk);
    EXPECT_EQ(f.dev.writes, writes + 1);
    EXPECT_EQ(f.cache.dirty(), 0u);  // the device holds the slots' bytes now
    ASSERT_EQ(f.cache.get(5, &p), Error::kOk);
    EXPECT_EQ(p[0], 0x42);
    ASSERT_EQ(f.cache.get(6, &p), Error::kOk);
    EXPECT_EQ(p[511], 0x42);
    ASSERT_EQ(f.cache.sync(), Error::kOk);
    EXPECT_EQ(f.dev.bytes()[5 * 512], 0x42);  // the stale dirty byte was not written over it
    EXPECT_EQ(f.dev.writes, writes + 1);
    EXPECT_EQ(f.dev.flushes, 1u);  // the direct write still needs the barrier's flush
}

TEST(BlockCache, DirectRunsStayInsideTheDevice) {
    CacheFixture f(2);
    std::vector<uint8_t> buf(17 * 512);
    EXPECT_EQ(f.cache.read_through(10, 7, buf.data()), Error::kCorrupt);
    EXPECT_EQ(f.cache.read_through(16, 1, buf.data()), Error::kCorrupt);
    EXPECT_EQ(f.cache.write_through(~uint64_t{0}, 2, buf.data()), Error::kCorrupt);
    EXPECT_EQ(f.cache.write_through(1, 0xFFFFFFFFu, buf.data()), Error::kCorrupt);
    EXPECT_EQ(f.cache.read_through(0, 0, buf.data()), Error::kOk);
    EXPECT_EQ(f.dev.outside, 0u);
    EXPECT_EQ(f.dev.reads + f.dev.writes, 0u);
    ASSERT_EQ(f.cache.read_through(0, 16, buf.data()), Error::kOk);
    EXPECT_EQ(buf[15 * 512], 15);
    f.dev.fail_writes = true;
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(2, false, &p), Error::kOk);
    p[0] = 0x99;
    EXPECT_EQ(f.cache.write_through(2, 1, buf.data()), Error::kIo);
    EXPECT_EQ(f.cache.dirty(), 1u);  // a failed direct write leaves the slot as it was
}

// The slots are found by a hash of the sector: against a model (the bytes each sector should
// read as: the device's, or the newer bytes of a dirty slot), random gets, dirtying writes,
// drops of the clean slots, direct runs, write-backs and changes made to the device behind
// the cache's back while a sector is not held (a dropped slot must be read again, never found
// through a stale hash chain). 7 slots over 64 sectors, so most gets evict.
TEST(BlockCache, HashedSlotsMatchAModel) {
    MemoryDevice dev{std::vector<uint8_t>(64 * 512)};
    std::vector<uint8_t> memory(BlockCache::bytes_for(7, 512));
    BlockCache cache;
    ASSERT_EQ(cache.init(dev, memory.data(), memory.size()), Error::kOk);
    ASSERT_EQ(cache.slots(), 7u);
    std::vector<uint8_t> model(64, 0);  // the first byte of each sector
    for (uint32_t s = 0; s < 64; ++s)
        dev.bytes()[s * 512] = 0;
    std::vector<bool> dirty(64, false), held(64, false);
    uint64_t seed = 0x51ed;
    for (int step = 0; step < 20000; ++step) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const uint32_t sector = static_cast<uint32_t>(seed >> 33) % 64;
        const uint8_t value = static_cast<uint8_t>(seed >> 20);
        uint8_t* p = nullptr;
        switch ((seed >> 58) % 6) {
            case 0:
            case 1:
                ASSERT_EQ(cache.get(sector, &p), Error::kOk);
                ASSERT_EQ(p[0], model[sector]) << "step " << step << " sector " << sector;
                held[sector] = true;
                break;
            case 2:
                ASSERT_EQ(cache.get_for_write(sector, false, &p), Error::kOk);
                ASSERT_EQ(p[0], model[sector]) << "step " << step << " sector " << sector;
                p[0] = value;
                model[sector] = value;
                dirty[sector] = held[sector] = true;
                break;
            case 3: {
                std::vector<uint8_t> out(4 * 512);
                const uint32_t first = sector > 60 ? 60 : sector;
                ASSERT_EQ(cache.read_through(first, 4, out.data()), Error::kOk);
                for (uint32_t k = 0; k < 4; ++k)
                    ASSERT_EQ(out[k * 512], model[first + k]) << "step " << step;
                break;
            }
            case 4:
                ASSERT_EQ(cache.write_back(), Error::kOk);
                for (uint32_t s = 0; s < 64; ++s) {
                    ASSERT_EQ(dev.bytes()[s * 512], model[s]);
                    dirty[s] = false;
                }
                break;
            default:
                cache.drop_clean();
                for (uint32_t s = 0; s < 64; ++s) {
                    held[s] = held[s] && dirty[s];
                    if (!held[s]) {  // not in the cache: the device may change under it
                        dev.bytes()[s * 512] = static_cast<uint8_t>(value + s);
                        model[s] = dev.bytes()[s * 512];
                    }
                }
                break;
        }
        // A sector evicted is not held any more: only what the cache may still hold is kept
        // unchanged above, so the model stays exact whatever was evicted.
    }
    EXPECT_EQ(dev.outside, 0u);
}

TEST(BlockCache, LateSlotsFollowAFlushedEpoch) {
    CacheFixture f(4);
    f.dev.log_writes = true;
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(1, true, &p, /*late=*/true), Error::kOk);
    ASSERT_EQ(f.cache.get_for_write(9, true, &p), Error::kOk);
    ASSERT_EQ(f.cache.get_for_write(3, true, &p), Error::kOk);
    ASSERT_EQ(f.cache.get_for_write(1, false, &p), Error::kOk);  // still late
    ASSERT_EQ(f.cache.write_back(), Error::kOk);                 // only the others
    EXPECT_EQ(f.dev.write_log, (std::vector<uint64_t>{3, 9}));
    EXPECT_EQ(f.cache.dirty(), 1u);
    ASSERT_EQ(f.cache.get_for_write(4, true, &p), Error::kOk);
    ASSERT_EQ(f.cache.sync(), Error::kOk);
    const uint64_t kBarrier = ~uint64_t{0};
    EXPECT_EQ(f.dev.write_log, (std::vector<uint64_t>{3, 9, 4, kBarrier, 1, kBarrier}));
    EXPECT_EQ(f.dev.flushes, 2u);
    // Without late slots, one epoch and one flush.
    f.dev.write_log.clear();
    ASSERT_EQ(f.cache.get_for_write(2, true, &p), Error::kOk);
    ASSERT_EQ(f.cache.sync(), Error::kOk);
    EXPECT_EQ(f.dev.write_log, (std::vector<uint64_t>{2, kBarrier}));
}

TEST(BlockCache, EvictingALateSlotSyncsFirst) {
    CacheFixture f(2);
    f.dev.log_writes = true;
    uint8_t* p = nullptr;
    ASSERT_EQ(f.cache.get_for_write(7, true, &p, /*late=*/true), Error::kOk);
    ASSERT_EQ(f.cache.get_for_write(2, true, &p), Error::kOk);
    ASSERT_EQ(f.cache.get(11, &p), Error::kOk);  // evicts 7, the least recently used
    const uint64_t kBarrier = ~uint64_t{0};
    EXPECT_EQ(f.dev.write_log, (std::vector<uint64_t>{2, kBarrier, 7, kBarrier}));
    EXPECT_EQ(f.cache.dirty(), 0u);
}

}  // namespace
}  // namespace keel::fat
