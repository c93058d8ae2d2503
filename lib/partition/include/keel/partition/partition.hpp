// A disk's partition table (MBR or GPT) read from the bytes of its first sectors. The bytes
// are untrusted (a disk, a file image): the MBR signature, the GPT header's signature,
// revision, size, CRC32 and LBAs, the entry array's size, count and CRC32, and every entry's
// bounds are checked before anything is reported; a corrupt table is refused with a static,
// readable reason, never trusted in part. Pure code over a byte range: no allocation, no
// globals, built-in headers only.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::partition {

inline constexpr uint32_t kMaxGptEntries = 1024;    // a larger entry count is refused
inline constexpr uint32_t kMaxGptEntrySize = 4096;  // 128 * 2^n up to this
inline constexpr uint32_t kNameLength = 36;         // UTF-16 code units in a GPT name

enum class Scheme : uint8_t { kMbr, kGpt };

struct Guid {
    uint8_t bytes[16];  // as stored on disk (the first three fields little-endian)
};

struct Partition {
    uint32_t index;              // 1-based slot in the table (MBR entry 1-4, GPT entry 1-n)
    uint64_t first_lba;          // absolute, in sectors of the disk
    uint64_t sector_count;       // at least 1
    uint8_t mbr_type;            // MBR: the type byte; GPT: 0
    Guid type_guid;              // GPT: the partition type GUID; MBR: zero
    Guid unique_guid;            // GPT: the unique partition GUID; MBR: zero
    uint64_t attributes;         // GPT: the attribute bits; MBR: 0x80 if the boot flag is set
    char name[kNameLength + 1];  // GPT: the UTF-16LE name as ASCII, '?' for any other code
                                 // unit, ending at the first NUL; MBR: empty
};

struct Table {
    Scheme scheme;
    uint32_t count;   // partitions in the table (every one validated)
    uint32_t stored;  // how many of them were written to the caller's array: min(count, cap)
    Guid disk_guid;   // GPT: the disk GUID; MBR: zero
    uint64_t first_usable_lba, last_usable_lba;  // GPT: the header's; MBR: 1 and disk end
};

// Parses the partition table at the start of a disk of `sector_count` sectors of
// `sector_size` bytes (512 or 4096). `disk`/`size` hold the disk's first bytes from LBA 0:
// for GPT at least through the end of the entry array the header names (LBA 33 on a 512-byte
// disk made by common tools, LBA 5 on a 4096-byte one); for MBR, one sector. nullptr on
// success with *table filled and the first min(count, capacity) partitions in out[] in table
// order; otherwise a reason (and *table, out[] unspecified). A protective MBR (an entry of
// type 0xEE) means GPT; the backup GPT header at the disk's end is not read, so not checked.
const char* parse(const uint8_t* disk, size_t size, uint32_t sector_size, uint64_t sector_count,
                  Partition* out, uint32_t capacity, Table* table);

// Confines an access of `count` sectors at `lba`, relative to the partition: nullptr with
// *absolute set to the disk LBA if [lba, lba + count) lies inside it (count 0 at its end is
// inside), a reason otherwise. Overflow-safe for any inputs.
const char* confine(const Partition& p, uint64_t lba, uint64_t count, uint64_t* absolute);

// CRC32 as GPT uses it (IEEE 802.3: reflected polynomial 0xEDB88320, initial and final
// value 0xFFFFFFFF). "123456789" gives 0xCBF43926.
uint32_t crc32(const uint8_t* data, size_t size);

}  // namespace keel::partition
