// The lock-order checker: every spin lock has a name and a rank (the order below, documented
// in kernel/README.md "Locks"), and a CPU may take a lock only while every lock it holds has a
// lower rank. Taking one of lower or equal rank is reported with both names: the two orders
// could deadlock against each other on two CPUs (or one, through an interrupt handler) even if
// this run never did. Each CPU's held locks are in its percpu::PerCpu. A violation panics,
// except inside an ExpectViolations scope (the kernel tests plant one on purpose).
//
// On when KEEL_LOCK_ORDER_CHECKS is 1 (the kernel build, which is also the test build; a
// CMake option of kernel/CMakeLists.txt turns it off, for measuring without it).
#pragma once

#include <cstdint>

namespace keel {

class SpinLock;

// Outermost first. A lock may be taken while holding only locks above it in this list.
// kBigKernel is the big kernel lock's alone (and one test's): the checker does not record it,
// it checks that nothing is held when it is taken or released (lock_order.cpp).
enum class LockRank : uint16_t {
    kBigKernel = 0,      // sched/big_lock: all kernel code (held by a CPU, across switches)
    kTestOuter = 1,      // lib/lock_order_test.cpp
    kKernelStacks = 10,  // mm/kernel_stack: the stack region's next address (nothing inside)
    kIommu = 20,         // dev/iommu: domains and mappings; allocates frames for its tables
    kHeap = 30,          // mm/heap: the free list; grows by mapping pages
    kMmio = 40,          // mm/paging: the MMIO region's next address; maps
    kAddressSpace = 50,  // mm/paging: one address space's tables; allocates and frees frames
    kFrames = 60,        // mm/frame_allocator: the bitmap (innermost)
    kTestInner = 1000,   // lib/lock_order_test.cpp
};

namespace lock_order {

#ifndef KEEL_LOCK_ORDER_CHECKS
#define KEEL_LOCK_ORDER_CHECKS 1
#endif
inline constexpr bool kEnabled = KEEL_LOCK_ORDER_CHECKS != 0;

// Called by SpinLock with interrupts off, before it spins (a deadlock in the making is
// reported instead of hanging) and after it released. O(locks held).
void acquire(const SpinLock& lock);
void release(const SpinLock& lock);

// What the last violation named (for the tests): the lock being taken and the one held (or a
// description of the misuse in `held`), and how many there have been since boot.
struct Violation {
    const char* taking;
    const char* held;
    uint64_t count;
};
Violation last_violation();

// While one exists on this CPU, violations are logged and counted but do not panic.
class ExpectViolations {
  public:
    ExpectViolations();
    ~ExpectViolations();
    ExpectViolations(const ExpectViolations&) = delete;
    ExpectViolations& operator=(const ExpectViolations&) = delete;
};

}  // namespace lock_order
}  // namespace keel
