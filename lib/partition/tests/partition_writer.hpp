// A test-only writer of MBR and GPT partition tables (the first sectors of a disk), with
// correct CRCs, for the property tests and the hand-corrupted cases. Independent of the
// library: it computes CRC32 with its own bitwise loop, not the library's table.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace keel::partition::testing {

struct MbrPart {
    uint32_t slot;  // 0-3
    uint8_t type;
    bool boot;
    uint32_t start, count;
};

struct GptPart {
    uint32_t slot;  // entry index, 0-based
    uint8_t type_guid[16];
    uint8_t unique_guid[16];
    uint64_t first, last, attributes;
    std::u16string name;
};

inline uint32_t bitwise_crc32(const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

inline void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<uint8_t>(v >> (8 * i));
}

inline std::vector<uint8_t> write_mbr(const std::vector<MbrPart>& parts, uint32_t ss) {
    std::vector<uint8_t> d(ss, 0);
    for (const MbrPart& m : parts) {
        uint8_t* e = d.data() + 446 + 16 * m.slot;
        e[0] = m.boot ? 0x80 : 0;
        e[4] = m.type;
        put32(e + 8, m.start);
        put32(e + 12, m.count);
    }
    d[510] = 0x55;
    d[511] = 0xAA;
    return d;
}

struct GptLayout {
    uint32_t ss = 512;
    uint64_t sectors = 0;
    uint32_t entry_count = 128, entry_size = 128;
};

// The array's sectors right after the header (LBA 2); usable from the sector after it to the
// sector before the backup array at the disk's end.
inline uint64_t gpt_entry_sectors(const GptLayout& l) {
    return (uint64_t{l.entry_count} * l.entry_size + l.ss - 1) / l.ss;
}
inline uint64_t gpt_first_usable(const GptLayout& l) {
    return 2 + gpt_entry_sectors(l);
}
inline uint64_t gpt_last_usable(const GptLayout& l) {
    return l.sectors - 2 - gpt_entry_sectors(l);
}

// Recomputes the entries CRC (into the header), then the header CRC.
inline void gpt_fix_crcs(std::vector<uint8_t>& d, uint32_t ss, bool entries = true) {
    uint8_t* h = d.data() + ss;
    if (entries) {
        uint64_t lba = 0;
        for (int i = 7; i >= 0; --i)
            lba = lba << 8 | h[72 + i];
        uint32_t count = 0, size = 0;
        for (int i = 3; i >= 0; --i) {
            count = count << 8 | h[80 + i];
            size = size << 8 | h[84 + i];
        }
        put32(h + 88, bitwise_crc32(d.data() + lba * ss, uint64_t{count} * size));
    }
    uint32_t hs = 0;
    for (int i = 3; i >= 0; --i)
        hs = hs << 8 | h[12 + i];
    put32(h + 16, 0);
    put32(h + 16, bitwise_crc32(h, hs));
}

// Protective MBR, header at LBA 1, entry array from LBA 2: the disk's first
// gpt_first_usable() sectors.
inline std::vector<uint8_t> write_gpt(const std::vector<GptPart>& parts, const GptLayout& l,
                                      const uint8_t disk_guid[16]) {
    std::vector<uint8_t> d(gpt_first_usable(l) * l.ss, 0);
    const uint64_t protective = l.sectors - 1 > 0xFFFFFFFFu ? 0xFFFFFFFFu : l.sectors - 1;
    const auto mbr = write_mbr({{0, 0xEE, false, 1, static_cast<uint32_t>(protective)}}, l.ss);
    std::memcpy(d.data(), mbr.data(), l.ss);
    uint8_t* h = d.data() + l.ss;
    std::memcpy(h, "EFI PART", 8);
    put32(h + 8, 0x00010000);
    put32(h + 12, 92);
    put64(h + 24, 1);
    put64(h + 32, l.sectors - 1);
    put64(h + 40, gpt_first_usable(l));
    put64(h + 48, gpt_last_usable(l));
    std::memcpy(h + 56, disk_guid, 16);
    put64(h + 72, 2);
    put32(h + 80, l.entry_count);
    put32(h + 84, l.entry_size);
    for (const GptPart& p : parts) {
        uint8_t* e = d.data() + 2 * l.ss + uint64_t{p.slot} * l.entry_size;
        std::memcpy(e, p.type_guid, 16);
        std::memcpy(e + 16, p.unique_guid, 16);
        put64(e + 32, p.first);
        put64(e + 40, p.last);
        put64(e + 48, p.attributes);
        for (size_t i = 0; i < p.name.size() && i < 36; ++i) {
            e[56 + 2 * i] = static_cast<uint8_t>(p.name[i]);
            e[57 + 2 * i] = static_cast<uint8_t>(p.name[i] >> 8);
        }
    }
    gpt_fix_crcs(d, l.ss);
    return d;
}

}  // namespace keel::partition::testing
