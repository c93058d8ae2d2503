// Partition table fuzz target (lib/partition). Input: one byte choosing the sector size (bit
// 0: 4096, else 512), four bytes of the disk's sector count (little-endian; 0 means 2^40),
// then the disk's first bytes from LBA 0. Every accepted table is re-read by this file's own
// oracle at the formats' offsets: the MBR signature; for GPT the "EFI PART" header with its
// CRC32 (a bitwise CRC of its own) and the entry array's CRC32, each reported partition equal
// to its entry (start, end, GUIDs) and inside the usable range; for MBR each partition equal to
// its entry; none outside the disk, none overlapping, counts consistent, confine() exact at
// each partition's edges. A refusal has a reason; the same bytes give the same answer. Each
// input runs twice: as it is, and with the GPT CRCs fixed up (so mutations reach the fields
// behind them).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/partition/partition.hpp>

namespace {

namespace part = keel::partition;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "partition oracle: %s\n", what);
    std::abort();
}

uint64_t le(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

uint32_t crc(const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

void run(const std::vector<uint8_t>& d, uint32_t ss, uint64_t sectors) {
    part::Partition p[8];
    part::Table t;
    const char* why = part::parse(d.data(), d.size(), ss, sectors, p, 8, &t);
    part::Partition q[8];
    part::Table u;
    const char* again = part::parse(d.data(), d.size(), ss, sectors, q, 8, &u);
    if (why != again || (why == nullptr && (t.count != u.count || t.stored != u.stored)))
        fail("the same bytes gave another answer");
    if (why != nullptr) {
        if (why[0] == '\0')
            fail("refused without a reason");
        return;
    }
    if (d.size() < ss || d[510] != 0x55 || d[511] != 0xAA)
        fail("accepted without an MBR signature");
    if (t.stored != (t.count < 8 ? t.count : 8))
        fail("stored is not min(count, capacity)");
    const uint8_t* h = d.data() + ss;
    if (t.scheme == part::Scheme::kGpt) {
        if (d.size() < 2 * size_t{ss} || std::memcmp(h, "EFI PART", 8) != 0)
            fail("accepted GPT without its header");
        const uint32_t hs = static_cast<uint32_t>(le(h + 12, 4));
        if (hs < 92 || hs > ss)
            fail("accepted a header size out of bounds");
        std::vector<uint8_t> copy(h, h + hs);
        std::memset(copy.data() + 16, 0, 4);
        if (crc(copy.data(), hs) != le(h + 16, 4))
            fail("accepted a header whose CRC32 does not match");
        const uint64_t lba = le(h + 72, 8), count = le(h + 80, 4), size = le(h + 84, 4);
        if (size < 128 || (size & (size - 1)) != 0 || count == 0 || count > 1024)
            fail("accepted an absurd entry size or count");
        if (lba >= d.size() / ss || count * size > d.size() - lba * ss)
            fail("accepted an entry array outside the input");
        const uint8_t* e = d.data() + lba * ss;
        if (crc(e, count * size) != le(h + 88, 4))
            fail("accepted an entry array whose CRC32 does not match");
        if (t.first_usable_lba != le(h + 40, 8) || t.last_usable_lba != le(h + 48, 8))
            fail("usable range is not the header's");
        for (uint32_t i = 0; i < t.stored; ++i) {
            if (p[i].index < 1 || p[i].index > count)
                fail("index outside the entry array");
            const uint8_t* x = e + (p[i].index - 1) * size;
            if (std::memcmp(x, p[i].type_guid.bytes, 16) != 0 ||
                std::memcmp(x + 16, p[i].unique_guid.bytes, 16) != 0 ||
                p[i].first_lba != le(x + 32, 8) ||
                p[i].first_lba + p[i].sector_count - 1 != le(x + 40, 8))
                fail("a partition is not its entry");
            if (p[i].first_lba < t.first_usable_lba ||
                p[i].first_lba + p[i].sector_count - 1 > t.last_usable_lba)
                fail("a partition outside the usable range");
        }
    } else {
        for (uint32_t i = 0; i < t.stored; ++i) {
            if (p[i].index < 1 || p[i].index > 4)
                fail("MBR index outside 1-4");
            const uint8_t* x = d.data() + 446 + 16 * (p[i].index - 1);
            if (x[4] != p[i].mbr_type || x[4] == 0 || x[4] == 0xEE ||
                p[i].first_lba != le(x + 8, 4) || p[i].sector_count != le(x + 12, 4))
                fail("a partition is not its MBR entry");
        }
    }
    for (uint32_t i = 0; i < t.stored; ++i) {
        if (p[i].sector_count == 0 || p[i].first_lba == 0 || p[i].first_lba >= sectors ||
            p[i].sector_count > sectors - p[i].first_lba)
            fail("a partition outside the disk");
        if (i > 0 && p[i].index <= p[i - 1].index)
            fail("partitions out of table order");
        for (uint32_t j = 0; j < i; ++j) {
            if (p[i].first_lba < p[j].first_lba + p[j].sector_count &&
                p[j].first_lba < p[i].first_lba + p[i].sector_count)
                fail("partitions overlap");
        }
        uint64_t abs = 0;
        if (part::confine(p[i], p[i].sector_count - 1, 1, &abs) != nullptr ||
            abs != p[i].first_lba + p[i].sector_count - 1)
            fail("confine refused the last sector");
        if (part::confine(p[i], p[i].sector_count, 1, &abs) == nullptr ||
            part::confine(p[i], 1, UINT64_MAX, &abs) == nullptr)
            fail("confine allowed an access past the partition");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 5)
        return 0;
    const uint32_t ss = (data[0] & 1) != 0 ? 4096 : 512;
    uint64_t sectors = le(data + 1, 4);
    if (sectors == 0)
        sectors = uint64_t{1} << 40;
    std::vector<uint8_t> d(data + 5, data + size);  // exact: ASan sees overruns
    run(d, ss, sectors);
    if (d.size() >= 2 * size_t{ss} && std::memcmp(d.data() + ss, "EFI PART", 8) == 0) {
        uint8_t* h = d.data() + ss;
        const uint64_t lba = le(h + 72, 8), count = le(h + 80, 4), esize = le(h + 84, 4);
        if (lba < d.size() / ss && count * esize <= d.size() - lba * ss) {
            const uint32_t c = crc(d.data() + lba * ss, count * esize);
            std::memcpy(h + 88, &c, 4);
        }
        const uint32_t hs = static_cast<uint32_t>(le(h + 12, 4));
        if (hs >= 92 && hs <= ss) {
            std::memset(h + 16, 0, 4);
            const uint32_t c = crc(h, hs);
            std::memcpy(h + 16, &c, 4);
        }
        run(d, ss, sectors);
    }
    return 0;
}
