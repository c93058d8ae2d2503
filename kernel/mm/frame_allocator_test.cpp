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

KTEST(frame_allocator_contiguous_runs) {
    const uint64_t before = frames().free_frames();
    // Fragment low memory: take single frames, free every other one, so that short holes exist
    // that a run of 16 must skip.
    constexpr int kSingles = 64;
    PhysAddr singles[kSingles];
    for (int i = 0; i < kSingles; ++i) {
        auto f = frames().alloc();
        KASSERT(f.has_value());
        singles[i] = *f;
    }
    for (int i = 0; i < kSingles; i += 2)
        frames().free(singles[i]);
    constexpr uint64_t kRun = 16;
    auto run = frames().alloc_contiguous(kRun, 1ull << 32);
    KASSERT(run.has_value());
    KEXPECT_EQ(run->value % kPageSize, 0u);
    KEXPECT(run->value + kRun * kPageSize <= 1ull << 32);
    for (uint64_t i = 0; i < kRun; ++i) {
        const PhysAddr p{run->value + i * kPageSize};
        KEXPECT(in_usable_ram(p));
        KEXPECT(!frames().is_free(p));
    }
    KEXPECT_EQ(frames().free_frames(), before - kSingles / 2 - kRun);
    // Nothing fits below a limit too low, and nothing of zero length: no frame is taken.
    KEXPECT(!frames().alloc_contiguous(kRun, kPageSize * 8).has_value());
    KEXPECT(!frames().alloc_contiguous(0, 1ull << 32).has_value());
    KEXPECT(!frames().alloc_contiguous(frames().managed_frames() + 1, ~0ull).has_value());
    KEXPECT_EQ(frames().free_frames(), before - kSingles / 2 - kRun);
    for (uint64_t i = 0; i < kRun; ++i)
        frames().free(PhysAddr{run->value + i * kPageSize});
    for (int i = 1; i < kSingles; i += 2)
        frames().free(singles[i]);
    KEXPECT_EQ(frames().free_frames(), before);
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
