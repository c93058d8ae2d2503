// Kernel tests for the frame allocator: distinct frames inside usable RAM, accounting, reuse.
#include "mm/frame_allocator.hpp"
#include <keel/c/libc.hpp>
#include "boot_handoff.hpp"
#include "test/ktest.hpp"

namespace keel::mm {
namespace {

bool in_usable_ram(PhysAddr p) {
    const boot::BootInfo& info = boot_info();
    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        const boot::MemoryRange& r = info.memory_ranges[i];
        if (p.value >= r.base && p.value + kPageSize <= r.base + r.size)
            return true;
    }
    return false;
}

KTEST(frame_allocator_hands_out_distinct_usable_frames) {
    constexpr int kCount = 256;
    PhysAddr got[kCount];
    const uint64_t before = frames().free_frames();
    for (int i = 0; i < kCount; ++i) {
        auto f = frames().alloc();
        KASSERT(f.has_value());
        got[i] = *f;
        KEXPECT_EQ(got[i].value % kPageSize, 0u);
        KEXPECT(in_usable_ram(got[i]));
        KEXPECT(!frames().is_free(got[i]));
        // Tag each frame so that overlapping frames would show up below.
        *direct_map<uint64_t>(got[i]) = got[i].value ^ 0x5a5a5a5a5a5a5a5aull;
    }
    KEXPECT_EQ(frames().free_frames(), before - kCount);
    for (int i = 0; i < kCount; ++i) {
        KEXPECT_EQ(*direct_map<uint64_t>(got[i]), got[i].value ^ 0x5a5a5a5a5a5a5a5aull);
        for (int j = 0; j < i; ++j)
            KEXPECT(got[i].value != got[j].value);
    }
    for (int i = 0; i < kCount; ++i)
        frames().free(got[i]);
    KEXPECT_EQ(frames().free_frames(), before);
    for (int i = 0; i < kCount; ++i)
        KEXPECT(frames().is_free(got[i]));
}

KTEST(frame_allocator_zeroes_on_request) {
    auto f = frames().alloc();
    KASSERT(f.has_value());
    memset(direct_map(*f), 0xcc, kPageSize);
    frames().free(*f);
    auto z = frames().alloc_zeroed();
    KASSERT(z.has_value());
    const auto* bytes = direct_map<const uint8_t>(*z);
    bool all_zero = true;
    for (uint64_t i = 0; i < kPageSize; ++i)
        all_zero = all_zero && bytes[i] == 0;
    KEXPECT(all_zero);
    frames().free(*z);
}

KTEST(frame_allocator_never_hands_out_loader_kernel_or_page_zero) {
    const boot::BootInfo& info = boot_info();
    KEXPECT(!frames().is_free(PhysAddr{0}));
    KEXPECT(!frames().is_free(PhysAddr{info.kernel_phys_base}));
    KEXPECT(!frames().is_free(PhysAddr{info.page_tables_phys}));
    KEXPECT(!frames().is_free(PhysAddr{info.kernel_image_base & ~(kPageSize - 1)}));
    KEXPECT(!frames().is_free(PhysAddr{0x100000}));  // the loader itself
    KEXPECT(frames().managed_frames() * kPageSize == info.usable_bytes);
}

}  // namespace
}  // namespace keel::mm
