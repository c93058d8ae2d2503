// Physical and virtual addresses are distinct types so that one cannot be passed for the other.
// The direct map (set up by the loader) turns any physical address into a usable pointer.
#pragma once

#include <keel/boot_info.hpp>

#include <compare>
#include <cstdint>

namespace keel::mm {

inline constexpr uint64_t kPageSize = boot::kPageSize;

struct PhysAddr {
    uint64_t value;
    constexpr auto operator<=>(const PhysAddr&) const = default;
};

struct VirtAddr {
    uint64_t value;
    constexpr auto operator<=>(const VirtAddr&) const = default;
    template <typename T>
    T* as() const {
        return reinterpret_cast<T*>(value);
    }
};

// Valid for physical addresses below BootInfo::direct_map_size.
template <typename T = void>
T* direct_map(PhysAddr p) {
    return reinterpret_cast<T*>(boot::kDirectMapBase + p.value);
}

// Kernel virtual regions (one PML4 slot each, 512 GiB), see kernel/README.md.
inline constexpr uint64_t kHeapBase = 0xffffc00000000000ull;
inline constexpr uint64_t kStackRegionBase = 0xffffd00000000000ull;
inline constexpr uint64_t kMmioBase = 0xffffe00000000000ull;
inline constexpr uint64_t kWindowBase = 0xffffa00000000000ull;  // kernel views of queue regions
inline constexpr uint64_t kRegionSize = 512ull << 30;

}  // namespace keel::mm
