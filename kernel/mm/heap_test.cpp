// Kernel tests for the heap: alignment, no overlap, reuse and coalescing, growth, new/delete.
#include "mm/heap.hpp"
#include <keel/c/libc.hpp>
#include "test/ktest.hpp"

namespace keel::heap {
namespace {

KTEST(heap_allocations_are_aligned_disjoint_and_reusable) {
    const Stats before = stats();
    constexpr int kCount = 64;
    uint8_t* ptrs[kCount];
    size_t sizes[kCount];
    for (int i = 0; i < kCount; ++i) {
        sizes[i] = static_cast<size_t>(1 + (i * 37) % 700);
        ptrs[i] = static_cast<uint8_t*>(alloc(sizes[i]));
        KASSERT(ptrs[i] != nullptr);
        KEXPECT_EQ(reinterpret_cast<uint64_t>(ptrs[i]) % 16, 0u);
        memset(ptrs[i], i, sizes[i]);
    }
    for (int i = 0; i < kCount; ++i) {
        bool intact = true;
        for (size_t k = 0; k < sizes[i]; ++k)
            intact = intact && ptrs[i][k] == static_cast<uint8_t>(i);
        KEXPECT(intact);
    }
    KEXPECT_EQ(stats().live_allocations, before.live_allocations + kCount);
    // Free in an interleaved order so that merging has to look both ways.
    for (int i = 0; i < kCount; i += 2)
        free(ptrs[i]);
    for (int i = kCount - 1; i > 0; i -= 2)
        free(ptrs[i]);
    const Stats after = stats();
    KEXPECT_EQ(after.live_allocations, before.live_allocations);
    KEXPECT_EQ(after.free_bytes, before.free_bytes + (after.mapped_bytes - before.mapped_bytes));
    KEXPECT_EQ(after.free_blocks, before.free_blocks);
    KEXPECT(alloc(0) == nullptr);
    free(nullptr);
}

KTEST(heap_grows_for_large_allocations) {
    const Stats before = stats();
    auto* big = static_cast<uint8_t*>(alloc(1 << 20));
    KASSERT(big != nullptr);
    big[0] = 1;
    big[(1 << 20) - 1] = 2;
    KEXPECT(stats().mapped_bytes >= before.mapped_bytes + (1 << 20) - before.free_bytes);
    free(big);
    KEXPECT_EQ(stats().live_allocations, before.live_allocations);
    KEXPECT_EQ(stats().free_blocks, before.free_blocks);  // the new region merged back
}

struct Counted {
    static inline int live = 0;
    uint64_t payload[5] = {1, 2, 3, 4, 5};
    Counted() { ++live; }
    ~Counted() { --live; }
};

KTEST(heap_backs_new_and_delete) {
    auto* one = new Counted;
    auto* many = new Counted[10];
    KEXPECT_EQ(Counted::live, 11);
    KEXPECT_EQ(many[9].payload[4], 5u);
    delete one;
    delete[] many;
    KEXPECT_EQ(Counted::live, 0);
}

}  // namespace
}  // namespace keel::heap
