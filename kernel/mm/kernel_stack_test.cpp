// Kernel tests for guarded kernel stacks: mapped where promised, guard page below faults,
// frames come back on free, and code really runs on such a stack.
#include "mm/kernel_stack.hpp"
#include "arch/exceptions.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "test/ktest.hpp"

namespace keel::mm {
namespace {

using exceptions::keel_probe_read_u64;

// Runs fn(arg) on the given stack and returns its result (switches rsp, calls, switches back).
uint64_t call_on_stack(uint64_t top, uint64_t (*fn)(uint64_t), uint64_t arg) {
    uint64_t result;
    asm volatile(
        "mov %%rsp, %%rbx\n"
        "mov %[top], %%rsp\n"
        "call *%[fn]\n"
        "mov %%rbx, %%rsp\n"
        : "=a"(result), "+D"(arg)
        : [top] "r"(top), [fn] "r"(fn)
        : "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");
    return result;
}

// Returns its own frame address: where the stack it runs on is.
uint64_t where_am_i(uint64_t) {
    return reinterpret_cast<uint64_t>(__builtin_frame_address(0));
}

KTEST(kernel_stack_has_a_guard_page_and_returns_its_frames) {
    const uint64_t free_before = frames().free_frames();
    auto stack = allocate_kernel_stack(4);
    KASSERT(stack.has_value());
    KEXPECT_EQ(stack->size, 4 * kPageSize);
    KEXPECT(stack->base.value >= kStackRegionBase);
    KEXPECT(kernel_space().translate(stack->base).has_value());
    KEXPECT(kernel_space().translate(VirtAddr{stack->top() - 8}).has_value());
    const uint64_t guard = stack->base.value - kPageSize;
    KEXPECT(!kernel_space().translate(VirtAddr{guard}).has_value());
    uint64_t v = 0;
    KEXPECT(!keel_probe_read_u64(reinterpret_cast<volatile uint64_t*>(guard + 4088), &v));

    const uint64_t local = call_on_stack(stack->top(), where_am_i, 5);
    KEXPECT(local >= stack->base.value && local < stack->top());

    auto second = allocate_kernel_stack(1);
    KASSERT(second.has_value());
    KEXPECT(second->base.value > stack->top());  // never adjacent: its own guard between
    free_kernel_stack(*second);
    free_kernel_stack(*stack);
    KEXPECT(!kernel_space().translate(stack->base).has_value());
    // Everything comes back except, the first time, the new PDPT, PD and PT of the region.
    KEXPECT(frames().free_frames() >= free_before - 3);
    KEXPECT(!allocate_kernel_stack(0).has_value());
}

}  // namespace
}  // namespace keel::mm
