// The 32-byte directory entry's fields (FAT specification, "Directory Structure") and the
// long-name entry's (private to lib/fat).
#pragma once

#include <stdint.h>

namespace keel::fat::detail {

inline constexpr uint32_t kEntrySize = 32;
inline constexpr uint32_t kMaxDirEntries = 65536;  // a directory is at most 2 MiB (spec)
inline constexpr uint8_t kDeleted = 0xE5, kEnd = 0x00, kAttrLongName = 0x0F;

// The short entry.
inline constexpr uint32_t kName = 0, kAttr = 11, kNtCase = 12, kCrtTenth = 13, kCrtTime = 14,
                          kCrtDate = 16, kAccDate = 18, kClusHi = 20, kWrtTime = 22, kWrtDate = 24,
                          kClusLo = 26, kFileSize = 28;
// The long-name entry: its order byte, checksum, and the byte offsets of its 13 UTF-16 units.
inline constexpr uint32_t kOrd = 0, kLongType = 12, kLongSum = 13, kLongCluster = 26;
inline constexpr uint8_t kLastLong = 0x40;
inline constexpr uint32_t kUnitsPerEntry = 13;
inline constexpr uint32_t kUnitOffset[kUnitsPerEntry] = {1,  3,  5,  7,  9,  14, 16,
                                                         18, 20, 22, 24, 28, 30};

}  // namespace keel::fat::detail
