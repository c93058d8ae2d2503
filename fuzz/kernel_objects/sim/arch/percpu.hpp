// Host stand-in for kernel/arch/percpu.hpp (fuzz/kernel_objects): the simulation is one CPU
// with no GS, so current() is one static block holding what lib/lock_order.cpp (compiled
// unchanged) records and the per-CPU state of the scheduler's inline functions: the locks compiled
// in here (mm/paging.cpp's address-space and mmio locks; the object layer takes none) are checked
// in the fuzzer too.
#pragma once

#include <cstdint>

namespace keel {
class SpinLock;
}
namespace keel::sched {
class Thread;
}
namespace keel::mm {
class AddressSpace;
}

namespace keel::percpu {

inline constexpr uint32_t kMaxCpus = 1;
inline constexpr uint32_t kMaxHeldLocks = 8;

// The fields the compiled-in files use: the lock record, the running thread (sched::current),
// sched/preempt's stretch and mm::activate's loaded space.
struct PerCpu {
    uint32_t index;
    const SpinLock* held_locks[kMaxHeldLocks];
    uint32_t held_count;
    sched::Thread* thread;
    uint64_t segment_start;
    uint64_t in_syscall;
    uint32_t no_preempt;
    mm::AddressSpace* loaded_space;
    // Read only by the kernel's inline big-lock and TLB paths, which the simulation never calls
    // (one CPU, no lock: sim.cpp); here so that their headers compile.
    bool holds_big_lock;
    uint64_t big_lock_taken;
    uint64_t kernel_tlb_seen;
};

inline PerCpu& current() {
    static PerCpu cpu{};
    return cpu;
}

}  // namespace keel::percpu
