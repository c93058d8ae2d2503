// Kernel tests of the BootInfo the loader handed over: the usable map is well formed and
// excludes everything the loader placed (kernel, page tables, modules, BootInfo itself).
#include <keel/boot_info.hpp>

#include "boot_handoff.hpp"
#include "mm/address.hpp"
#include "test/ktest.hpp"

namespace keel {

namespace {

bool overlaps_usable(const boot::BootInfo& info, uint64_t base, uint64_t size) {
    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        const boot::MemoryRange& r = info.memory_ranges[i];
        if (base < r.base + r.size && r.base < base + size)
            return true;
    }
    return false;
}

KTEST(boot_info_usable_map_is_sorted_aligned_and_disjoint) {
    const boot::BootInfo& info = boot_info();
    KASSERT(info.memory_range_count > 0);
    uint64_t total = 0;
    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        const boot::MemoryRange& r = info.memory_ranges[i];
        KEXPECT_EQ(r.base % mm::kPageSize, 0u);
        KEXPECT_EQ(r.size % mm::kPageSize, 0u);
        KEXPECT(r.size > 0);
        if (i > 0) {
            const boot::MemoryRange& p = info.memory_ranges[i - 1];
            KEXPECT(p.base + p.size < r.base);  // sorted, and adjacent ranges were merged
        }
        total += r.size;
    }
    KEXPECT_EQ(total, info.usable_bytes);
}

KTEST(boot_info_excludes_what_the_loader_placed) {
    const boot::BootInfo& info = boot_info();
    KEXPECT(!overlaps_usable(info, 0, mm::kPageSize));
    KEXPECT(!overlaps_usable(info, info.kernel_phys_base, info.kernel_phys_size));
    KEXPECT(!overlaps_usable(info, info.kernel_image_base, info.kernel_image_size));
    KEXPECT(!overlaps_usable(info, info.page_tables_phys, mm::kPageSize));
    const uint64_t self = reinterpret_cast<uint64_t>(&info) - boot::kDirectMapBase;
    KEXPECT(!overlaps_usable(info, self, sizeof info));
    for (uint32_t i = 0; i < info.module_count; ++i) {
        const boot::Module& m = info.modules[i];
        KEXPECT(!overlaps_usable(info, m.base, m.size));
        KEXPECT(m.name[0] != '\0');
    }
}

}  // namespace
}  // namespace keel
