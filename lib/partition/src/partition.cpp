#include <keel/partition/partition.hpp>

namespace keel::partition {

namespace {

uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint64_t le64(const uint8_t* p) {
    return static_cast<uint64_t>(le32(p)) | static_cast<uint64_t>(le32(p + 4)) << 32;
}

struct CrcTable {
    uint32_t v[256];
};

constexpr CrcTable make_crc_table() {
    CrcTable t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t.v[i] = c;
    }
    return t;
}

constexpr CrcTable kCrc = make_crc_table();

void copy_guid(const uint8_t* p, Guid* g) {
    for (int i = 0; i < 16; ++i)
        g->bytes[i] = p[i];
}

void clear(Partition* p) {
    p->index = 0;
    p->first_lba = 0;
    p->sector_count = 0;
    p->mbr_type = 0;
    for (int i = 0; i < 16; ++i) {
        p->type_guid.bytes[i] = 0;
        p->unique_guid.bytes[i] = 0;
    }
    p->attributes = 0;
    p->name[0] = '\0';
}

bool zero(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

// The MBR: four 16-byte entries at 446, the signature 0x55 0xAA at 510.
constexpr uint32_t kMbrEntries = 446, kMbrEntrySize = 16;
constexpr uint8_t kProtective = 0xEE;

// The GPT header (UEFI 2.10, 5.3.2): offsets.
constexpr uint32_t kGptRevision = 8, kGptHeaderSize = 12, kGptHeaderCrc = 16, kGptReserved = 20,
                   kGptMyLba = 24, kGptAlternateLba = 32, kGptFirstUsable = 40, kGptLastUsable = 48,
                   kGptDiskGuid = 56, kGptEntryLba = 72, kGptEntryCount = 80, kGptEntrySize = 84,
                   kGptEntriesCrc = 88, kGptMinHeader = 92;

const char* parse_gpt(const uint8_t* disk, size_t size, uint32_t ss, uint64_t sectors,
                      Partition* out, uint32_t capacity, Table* table) {
    if (sectors < 3)
        return "GPT: disk too small for a GPT header";
    if (size / ss < 2)
        return "GPT: input ends before the GPT header (LBA 1)";
    const uint8_t* h = disk + ss;
    const uint8_t sig[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
    for (int i = 0; i < 8; ++i) {
        if (h[i] != sig[i])
            return "GPT: header signature is not \"EFI PART\"";
    }
    if ((le32(h + kGptRevision) >> 16) != 1)
        return "GPT: header revision is not 1.x";
    const uint32_t header_size = le32(h + kGptHeaderSize);
    if (header_size < kGptMinHeader || header_size > ss)
        return "GPT: header size below 92 or larger than a sector";
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < header_size; ++i) {
        const uint8_t b = (i >= kGptHeaderCrc && i < kGptHeaderCrc + 4) ? 0 : h[i];
        crc = kCrc.v[(crc ^ b) & 0xFF] ^ (crc >> 8);
    }
    if ((crc ^ 0xFFFFFFFFu) != le32(h + kGptHeaderCrc))
        return "GPT: header CRC32 mismatch";
    if (le32(h + kGptReserved) != 0)
        return "GPT: header reserved field not zero";
    if (le64(h + kGptMyLba) != 1)
        return "GPT: header's own LBA is not 1";
    const uint64_t alternate = le64(h + kGptAlternateLba);
    if (alternate <= 1 || alternate >= sectors)
        return "GPT: backup header LBA outside the disk";
    const uint64_t first = le64(h + kGptFirstUsable), last = le64(h + kGptLastUsable);
    if (first > last || last >= sectors)
        return "GPT: usable LBA range empty or past the disk";
    if (alternate >= first && alternate <= last)
        return "GPT: backup header inside the usable range";
    const uint32_t count = le32(h + kGptEntryCount), esize = le32(h + kGptEntrySize);
    if (esize < 128 || esize > kMaxGptEntrySize || (esize & (esize - 1)) != 0)
        return "GPT: entry size is not 128 * 2^n (at most 4096)";
    if (count == 0 || count > kMaxGptEntries)
        return "GPT: entry count zero or above 1024";
    const uint64_t entry_lba = le64(h + kGptEntryLba);
    const uint64_t bytes = static_cast<uint64_t>(count) * esize;  // <= 4 MiB
    const uint64_t entry_sectors = (bytes + ss - 1) / ss;
    if (entry_lba < 2 || entry_lba >= sectors || entry_sectors > sectors - entry_lba)
        return "GPT: entry array outside the disk";
    if (entry_lba + entry_sectors > first)
        return "GPT: entry array overlaps the usable range";
    if (entry_lba > size / ss || bytes > size - entry_lba * ss)
        return "GPT: input ends before the end of the entry array";
    const uint8_t* entries = disk + entry_lba * ss;
    if (crc32(entries, bytes) != le32(h + kGptEntriesCrc))
        return "GPT: entry array CRC32 mismatch";

    uint32_t used = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const uint8_t* e = entries + static_cast<uint64_t>(i) * esize;
        if (zero(e, 16))
            continue;
        const uint64_t start = le64(e + 32), end = le64(e + 40);
        if (start > end)
            return "GPT: entry ends before it starts";
        if (start < first || end > last)
            return "GPT: entry outside the usable LBA range";
        // Earlier used entries: none may share a sector with this one.
        for (uint32_t j = 0; j < i; ++j) {
            const uint8_t* o = entries + static_cast<uint64_t>(j) * esize;
            if (zero(o, 16))
                continue;
            if (start <= le64(o + 40) && le64(o + 32) <= end)
                return "GPT: entries overlap";
        }
        if (used < capacity) {
            Partition* p = &out[used];
            clear(p);
            p->index = i + 1;
            p->first_lba = start;
            p->sector_count = end - start + 1;
            copy_guid(e, &p->type_guid);
            copy_guid(e + 16, &p->unique_guid);
            p->attributes = le64(e + 48);
            uint32_t n = 0;
            for (; n < kNameLength; ++n) {
                const uint32_t unit = static_cast<uint32_t>(e[56 + 2 * n]) |
                                      static_cast<uint32_t>(e[57 + 2 * n]) << 8;
                if (unit == 0)
                    break;
                p->name[n] = unit >= 0x20 && unit < 0x7F ? static_cast<char>(unit) : '?';
            }
            p->name[n] = '\0';
        }
        ++used;
    }
    table->scheme = Scheme::kGpt;
    table->count = used;
    table->stored = used < capacity ? used : capacity;
    copy_guid(h + kGptDiskGuid, &table->disk_guid);
    table->first_usable_lba = first;
    table->last_usable_lba = last;
    return nullptr;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i)
        c = kCrc.v[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

const char* parse(const uint8_t* disk, size_t size, uint32_t sector_size, uint64_t sector_count,
                  Partition* out, uint32_t capacity, Table* table) {
    if (sector_size != 512 && sector_size != 4096)
        return "sector size is not 512 or 4096";
    if (sector_count == 0)
        return "disk has no sectors";
    if (size < sector_size)
        return "input ends before the end of LBA 0";
    if (disk[510] != 0x55 || disk[511] != 0xAA)
        return "MBR signature 0x55AA missing";
    for (uint32_t i = 0; i < 4; ++i) {
        const uint8_t* e = disk + kMbrEntries + i * kMbrEntrySize;
        if (e[4] == kProtective) {
            if (le32(e + 8) != 1)
                return "protective MBR entry does not start at LBA 1";
            return parse_gpt(disk, size, sector_size, sector_count, out, capacity, table);
        }
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i < 4; ++i) {
        const uint8_t* e = disk + kMbrEntries + i * kMbrEntrySize;
        if (e[0] != 0 && e[0] != 0x80)
            return "MBR: boot indicator neither 0x00 nor 0x80";
        if (e[4] == 0)
            continue;
        const uint64_t start = le32(e + 8), n = le32(e + 12);
        if (start == 0 || n == 0)
            return "MBR: entry starts at LBA 0 or has no sectors";
        if (start >= sector_count || n > sector_count - start)
            return "MBR: entry past the end of the disk";
        for (uint32_t j = 0; j < i; ++j) {
            const uint8_t* o = disk + kMbrEntries + j * kMbrEntrySize;
            if (o[4] == 0)
                continue;
            const uint64_t os = le32(o + 8), on = le32(o + 12);
            if (start < os + on && os < start + n)
                return "MBR: entries overlap";
        }
        if (used < capacity) {
            Partition* p = &out[used];
            clear(p);
            p->index = i + 1;
            p->first_lba = start;
            p->sector_count = n;
            p->mbr_type = e[4];
            p->attributes = e[0];
        }
        ++used;
    }
    table->scheme = Scheme::kMbr;
    table->count = used;
    table->stored = used < capacity ? used : capacity;
    for (int i = 0; i < 16; ++i)
        table->disk_guid.bytes[i] = 0;
    table->first_usable_lba = 1;
    table->last_usable_lba = sector_count - 1;
    return nullptr;
}

const char* confine(const Partition& p, uint64_t lba, uint64_t count, uint64_t* absolute) {
    if (lba > p.sector_count || count > p.sector_count - lba)
        return "access outside the partition";
    if (p.first_lba > UINT64_MAX - lba)
        return "access LBA overflows";
    *absolute = p.first_lba + lba;
    return nullptr;
}

}  // namespace keel::partition
