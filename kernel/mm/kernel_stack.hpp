// Kernel stacks for threads to come (and anything else that needs its own stack): each is
// mapped in the stack region (mm::kStackRegionBase) above an unmapped guard page, so an
// overflow faults (and the double-fault handler, on its IST stack, reports it) instead of
// overwriting whatever lies below.
#pragma once

#include <optional>

#include "mm/address.hpp"

namespace keel::mm {

struct KernelStack {
    VirtAddr base;  // lowest mapped byte; base - kPageSize is the guard page
    uint64_t size;  // bytes mapped
    uint64_t top() const { return base.value + size; }  // initial rsp
};

// Maps `pages` fresh frames (zeroed) below a guard page. nullopt when frames run out (nothing
// stays allocated then). Virtual space is never reused (its emptied page tables are freed), so a
// stale pointer into a freed stack faults. Any context that may take spin locks.
std::optional<KernelStack> allocate_kernel_stack(uint64_t pages);
// Unmaps the stack and returns its frames.
void free_kernel_stack(const KernelStack& stack);

}  // namespace keel::mm
