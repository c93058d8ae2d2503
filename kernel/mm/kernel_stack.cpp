#include "mm/kernel_stack.hpp"

#include "lib/spin_lock.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"

namespace keel::mm {

namespace {
SpinLock g_lock{"kernel stacks", LockRank::kKernelStacks};
uint64_t g_next = kStackRegionBase;  // bump pointer: stack region addresses are never reused
}  // namespace

std::optional<KernelStack> allocate_kernel_stack(uint64_t pages) {
    if (pages == 0)
        return std::nullopt;
    uint64_t guard;
    {
        LockGuard lock(g_lock);
        guard = g_next;
        g_next += (pages + 1) * kPageSize;
    }
    const KernelStack stack{VirtAddr{guard + kPageSize}, pages * kPageSize};
    for (uint64_t i = 0; i < pages; ++i) {
        auto frame = frames().alloc_zeroed();
        if (!frame || !kernel_space().map(VirtAddr{stack.base.value + i * kPageSize}, *frame,
                                          kPageWritable | kPageNoExecute)) {
            if (frame)
                frames().free(*frame);
            free_kernel_stack(KernelStack{stack.base, i * kPageSize});
            return std::nullopt;
        }
    }
    return stack;
}

void free_kernel_stack(const KernelStack& stack) {
    for (uint64_t off = 0; off < stack.size; off += kPageSize) {
        auto frame = kernel_space().unmap(VirtAddr{stack.base.value + off});
        if (!frame)
            panic("free_kernel_stack: page 0x%lx was not mapped", stack.base.value + off);
        frames().free(*frame);
    }
}

}  // namespace keel::mm
