// Host stand-in for kernel/arch/percpu.hpp (fuzz/kernel_objects): the simulation is one CPU
// with no GS, so current() is one static block holding what lib/lock_order.cpp (compiled
// unchanged) records: the locks compiled in here (mm/paging.cpp's address-space and mmio
// locks; the object layer takes none) are checked in the fuzzer too.
#pragma once

#include <cstdint>

namespace keel {
class SpinLock;
}

namespace keel::percpu {

inline constexpr uint32_t kMaxCpus = 1;
inline constexpr uint32_t kMaxHeldLocks = 8;

struct PerCpu {
    uint32_t index;
    const SpinLock* held_locks[kMaxHeldLocks];
    uint32_t held_count;
};

inline PerCpu& current() {
    static PerCpu cpu{};
    return cpu;
}

}  // namespace keel::percpu
