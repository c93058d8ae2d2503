// Mount: the boot sector (BPB) validated whole before anything else is read. Field offsets and
// rules from Microsoft's FAT specification ("FAT: General Overview of On-Disk Format", 1.03):
// the FAT type is decided by the cluster count alone (< 4085 FAT12, < 65525 FAT16, else
// FAT32), and the BPB layout must agree with it.
#include <keel/fat/volume.hpp>

#include "endian.hpp"

namespace keel::fat {

using detail::le16;
using detail::le32;

namespace {

// BPB offsets.
constexpr uint32_t kBytsPerSec = 11, kSecPerClus = 13, kRsvdSecCnt = 14, kNumFATs = 16,
                   kRootEntCnt = 17, kTotSec16 = 19, kMedia = 21, kFATSz16 = 22, kTotSec32 = 32,
                   kFATSz32 = 36, kExtFlags = 40, kFSVer = 42, kRootClus = 44, kFSInfo = 48;
// FSInfo signatures and fields.
constexpr uint32_t kLeadSig = 0x41615252, kStrucSig = 0x61417272, kTrailSig = 0xAA550000;
constexpr uint32_t kFreeCount = 488, kNxtFree = 492;

}  // namespace

Error Volume::parse_boot(const uint8_t* b) {
    const uint32_t ss = sector_size_;
    if (b[510] != 0x55 || b[511] != 0xAA)
        return corrupt("boot sector: no 0x55 0xAA signature");
    if (b[0] != 0xEB && b[0] != 0xE9)
        return corrupt("boot sector: no jump instruction");
    const uint32_t bps = le16(b + kBytsPerSec);
    if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096)
        return corrupt("boot sector: bytes per sector not 512, 1024, 2048 or 4096");
    if (bps != ss)
        return corrupt("boot sector: bytes per sector differs from the device's sector size");
    const uint32_t spc = b[kSecPerClus];
    if (spc == 0 || (spc & (spc - 1)) != 0)
        return corrupt("boot sector: sectors per cluster not a power of two");
    if (spc * bps > 65536)
        return corrupt("boot sector: cluster larger than 64 KiB");
    const uint32_t reserved = le16(b + kRsvdSecCnt);
    if (reserved == 0)
        return corrupt("boot sector: no reserved sectors");
    const uint32_t fats = b[kNumFATs];
    if (fats < 1 || fats > 4)
        return corrupt("boot sector: FAT count not 1-4");
    const uint8_t media = b[kMedia];
    if (media != 0xF0 && media < 0xF8)
        return corrupt("boot sector: media byte not 0xF0 or 0xF8-0xFF");
    const uint32_t root_entries = le16(b + kRootEntCnt);
    const uint32_t tot16 = le16(b + kTotSec16), tot32 = le32(b + kTotSec32);
    if ((tot16 == 0) == (tot32 == 0) && !(tot16 != 0 && tot32 == tot16))
        return corrupt("boot sector: total sectors in both or neither of the 16/32-bit fields");
    const uint64_t total = tot16 != 0 ? tot16 : tot32;
    if (total > cache_.device()->sector_count)
        return corrupt("boot sector: volume larger than the device");
    const uint32_t fatsz16 = le16(b + kFATSz16);
    const uint32_t fatsz = fatsz16 != 0 ? fatsz16 : le32(b + kFATSz32);
    if (fatsz == 0)
        return corrupt("boot sector: FAT size is zero");
    const uint64_t root_sectors = (static_cast<uint64_t>(root_entries) * 32 + bps - 1) / bps;
    const uint64_t meta = reserved + static_cast<uint64_t>(fats) * fatsz + root_sectors;
    if (meta >= total)
        return corrupt("boot sector: reserved, FAT and root sectors fill the volume");
    const uint64_t clusters = (total - meta) / spc;
    if (clusters == 0)
        return corrupt("boot sector: no data clusters");
    if (clusters > 0x0FFFFFF5 - 2)
        return corrupt("boot sector: more clusters than FAT32 can number");
    const FatType type = clusters < 4085    ? FatType::kFat12
                         : clusters < 65525 ? FatType::kFat16
                                            : FatType::kFat32;
    // Entries 0 and 1 are reserved: the FAT holds clusters + 2 entries.
    const uint64_t need = type == FatType::kFat12   ? ((clusters + 2) * 3 + 1) / 2
                          : type == FatType::kFat16 ? (clusters + 2) * 2
                                                    : (clusters + 2) * 4;
    if (static_cast<uint64_t>(fatsz) * bps < need)
        return corrupt("boot sector: FAT too small for the cluster count");
    if (type == FatType::kFat32) {
        if (fatsz16 != 0 || root_entries != 0 || tot16 != 0)
            return corrupt("boot sector: FAT32 cluster count with a FAT12/16 layout");
        if (le16(b + kFSVer) != 0)
            return corrupt("boot sector: FAT32 version not 0.0");
        root_cluster_ = le32(b + kRootClus);
        if (root_cluster_ < 2 || root_cluster_ > clusters + 1)
            return corrupt("boot sector: FAT32 root cluster outside the volume");
        const uint32_t ext = le16(b + kExtFlags);
        mirror_ = (ext & 0x80) == 0;
        active_fat_ = mirror_ ? 0 : (ext & 0x0F);
        if (active_fat_ >= fats)
            return corrupt("boot sector: FAT32 active FAT beyond the FAT count");
        const uint32_t fsinfo = le16(b + kFSInfo);
        if (fsinfo != 0 && fsinfo != 0xFFFF && fsinfo >= reserved)
            return corrupt("boot sector: FAT32 FSInfo sector outside the reserved area");
        fsinfo_sector_ = fsinfo == 0xFFFF ? 0 : fsinfo;
    } else {
        if (fatsz16 == 0)
            return corrupt("boot sector: FAT12/16 cluster count with a FAT32 layout");
        if (root_entries == 0)
            return corrupt("boot sector: FAT12/16 without root directory entries");
        root_cluster_ = 0;
        mirror_ = true;
        active_fat_ = 0;
        fsinfo_sector_ = 0;
    }
    type_ = type;
    sectors_per_cluster_ = spc;
    cluster_bytes_ = spc * bps;
    fat_count_ = fats;
    fat_sectors_ = fatsz;
    fat_start_ = reserved;
    root_entries_ = root_entries;
    root_start_ = reserved + static_cast<uint64_t>(fats) * fatsz;
    root_sectors_ = static_cast<uint32_t>(root_sectors);
    data_start_ = meta;
    total_sectors_ = total;
    clusters_ = static_cast<uint32_t>(clusters);
    return Error::kOk;
}

Error Volume::mount(BlockDevice& device, uint8_t* cache_memory, size_t cache_bytes) {
    reason_ = "";
    clusters_ = 0;
    free_known_ = false;
    next_free_ = 2;
    unreachable_syncs_ = ~uint64_t{0};  // the new cache counts its syncs from 0 again
    ++generation_;  // chain positions remembered from a volume mounted before are not this one's
    sector_size_ = device.sector_size;
    if (sector_size_ != 512 && sector_size_ != 1024 && sector_size_ != 2048 && sector_size_ != 4096)
        return corrupt("device: sector size not 512, 1024, 2048 or 4096");
    if (device.sector_count == 0)
        return corrupt("device: no sectors");
    Error e = cache_.init(device, cache_memory, cache_bytes);
    if (e != Error::kOk)
        return e;
    uint8_t* b = nullptr;
    e = cache_.get(0, &b);
    if (e != Error::kOk)
        return e;
    e = parse_boot(b);
    if (e != Error::kOk) {
        clusters_ = 0;
        return e;
    }
    // FSInfo is only ever a hint: its next-free value seeds the allocator's search if it is
    // in range; its free count is never used (flush() writes a counted one).
    if (fsinfo_sector_ != 0) {
        e = cache_.get(fsinfo_sector_, &b);
        if (e != Error::kOk)
            return e;
        if (le32(b) != kLeadSig || le32(b + 484) != kStrucSig || le32(b + 508) != kTrailSig) {
            fsinfo_sector_ = 0;  // not an FSInfo sector: leave it alone
        } else {
            const uint32_t hint = le32(b + kNxtFree);
            if (cluster_ok(hint))
                next_free_ = hint;
        }
    }
    return Error::kOk;
}

Error Volume::drop_caches() {
    const Error e = flush();
    if (e != Error::kOk)
        return e;
    cache_.drop_clean();
    for (Checkpoint& c : checkpoints_)
        c = Checkpoint{};
    for (Run& r : runs_)
        r = Run{};
    return Error::kOk;
}

Error Volume::flush() {
    if (clusters_ == 0)
        return Error::kInvalid;
    if (fsinfo_sector_ != 0) {
        Usage u;
        Error e = usage(&u);
        if (e != Error::kOk)
            return e;
        uint8_t* b = nullptr;
        e = cache_.get(fsinfo_sector_, &b);
        if (e != Error::kOk)
            return e;
        if (le32(b + kFreeCount) != u.free_clusters || le32(b + kNxtFree) != next_free_) {
            e = cache_.get_for_write(fsinfo_sector_, false, &b);
            if (e != Error::kOk)
                return e;
            detail::put32(b + kFreeCount, u.free_clusters);
            detail::put32(b + kNxtFree, next_free_);
        }
    }
    return cache_.sync();
}

DateTime make_time(uint32_t year, uint32_t month, uint32_t day, uint32_t hour, uint32_t minute,
                   uint32_t second) {
    auto clamp = [](uint32_t v, uint32_t lo, uint32_t hi) { return v < lo ? lo : v > hi ? hi : v; };
    year = clamp(year, 1980, 2107);
    DateTime t;
    t.date =
        static_cast<uint16_t>((year - 1980) << 9 | clamp(month, 1, 12) << 5 | clamp(day, 1, 31));
    second = clamp(second, 0, 59);
    t.time =
        static_cast<uint16_t>(clamp(hour, 0, 23) << 11 | clamp(minute, 0, 59) << 5 | second / 2);
    t.tenths = static_cast<uint8_t>((second % 2) * 100);
    return t;
}

}  // namespace keel::fat
