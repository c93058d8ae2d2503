// The BootInfo layout is an ABI between a 32-bit loader and a 64-bit kernel: these checks run
// on the host compiler too (the header's static_asserts run in all three builds).
#include <gtest/gtest.h>

#include <keel/boot_info.hpp>

#include <cstring>

namespace keel::boot {
namespace {

TEST(BootInfo, LayoutIsFixed) {
    EXPECT_EQ(sizeof(BootInfo), 424u + 16u * kMaxMemoryRanges + 272u * kMaxModules);
    EXPECT_EQ(alignof(BootInfo), 8u);
    EXPECT_EQ(kBootInfoMagic, 0x4c45454bu);
    // The magic reads "KEEL" in memory, which is what a hex dump of the page shows.
    const uint32_t m = kBootInfoMagic;
    EXPECT_EQ(std::memcmp(&m, "KEEL", 4), 0);
}

TEST(BootInfo, LayoutConstantsAreConsistent) {
    EXPECT_EQ(kDirectMapBase % (1ull << 39), 0u);   // a whole PML4 slot
    EXPECT_EQ(kKernelBase, 0xffffffff80000000ull);  // -mcmodel=kernel's top 2 GiB
}

}  // namespace
}  // namespace keel::boot
