// BootInfo: the one structure the loader hands the kernel. Defined once, here, and included by
// the 32-bit loader, the 64-bit kernel and the host unit tests, so it uses only fixed-width
// types, explicit padding and physical addresses (never pointers, whose width differs between
// the loader and the kernel). Only compiler built-in headers are used: the loader has no C++
// standard library (there is no 32-bit multilib on the build machine).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::boot {

inline constexpr uint32_t kBootInfoMagic = 0x4c45454b;  // "KEEL" in little-endian memory order
// Bump on any layout change; the kernel refuses a version it was not built for.
inline constexpr uint32_t kBootInfoVersion = 1;

inline constexpr uint32_t kMaxMemoryRanges = 128;
inline constexpr uint32_t kMaxModules = 16;
inline constexpr uint32_t kModuleNameSize = 64;
inline constexpr uint32_t kModuleCmdlineSize = 192;
inline constexpr uint32_t kCmdlineSize = 256;
inline constexpr uint32_t kRsdpMaxSize = 64;

// Every struct is alignas(8): i386 aligns uint64_t to 4, and the loader must lay the structures
// out exactly as the kernel reads them.

// Virtual layout the loader sets up (see boot/README.md).
inline constexpr uint64_t kDirectMapBase = 0xffff800000000000ull;  // phys 0 is mapped here
inline constexpr uint64_t kKernelBase = 0xffffffff80000000ull;     // kernel segments live above
inline constexpr uint64_t kPageSize = 4096;

// A range of usable RAM: page-aligned, sorted by base, never overlapping or adjacent to another.
struct alignas(8) MemoryRange {
    uint64_t base;
    uint64_t size;
};
static_assert(sizeof(MemoryRange) == 16);

// A boot module other than the kernel (drivers, init, files). Its bytes stay where the boot
// loader put them; the range is excluded from the usable memory map.
struct alignas(8) Module {
    uint64_t base;  // physical
    uint64_t size;
    char name[kModuleNameSize];        // first word of the module string, NUL-terminated
    char cmdline[kModuleCmdlineSize];  // the rest of the module string, NUL-terminated
};
static_assert(sizeof(Module) == 272);
static_assert(offsetof(Module, name) == 16);
static_assert(offsetof(Module, cmdline) == 80);

enum class FramebufferType : uint8_t { kNone = 0, kIndexed = 1, kRgb = 2, kEgaText = 3 };

struct alignas(8) Framebuffer {
    uint64_t base;  // physical; 0 when there is no framebuffer
    uint32_t pitch;
    uint32_t width;
    uint32_t height;
    uint8_t bpp;
    FramebufferType type;
    uint8_t reserved[2];
};
static_assert(sizeof(Framebuffer) == 24);

struct alignas(8) BootInfo {
    uint32_t magic;    // kBootInfoMagic
    uint32_t version;  // kBootInfoVersion
    uint32_t size;     // sizeof(BootInfo) as the loader saw it
    uint32_t memory_range_count;
    uint32_t module_count;
    uint32_t rsdp_size;          // 0 when no ACPI RSDP was found
    uint64_t kernel_phys_base;   // lowest physical page of the loaded kernel segments
    uint64_t kernel_phys_size;   // bytes from kernel_phys_base covering every segment
    uint64_t kernel_image_base;  // physical address of the kernel ELF file (for its symbols)
    uint64_t kernel_image_size;
    uint64_t page_tables_phys;  // the PML4 the loader built and the kernel runs on
    uint64_t direct_map_size;   // bytes of physical memory mapped at kDirectMapBase
    uint64_t usable_bytes;      // sum of memory_ranges sizes
    Framebuffer framebuffer;
    char cmdline[kCmdlineSize];  // kernel command line, NUL-terminated
    uint8_t rsdp[kRsdpMaxSize];  // a copy of the ACPI RSDP (v1: 20 bytes, v2+: 36 bytes)
    MemoryRange memory_ranges[kMaxMemoryRanges];
    Module modules[kMaxModules];
};
static_assert(offsetof(BootInfo, kernel_phys_base) == 24);
static_assert(offsetof(BootInfo, framebuffer) == 80);
static_assert(offsetof(BootInfo, cmdline) == 104);
static_assert(offsetof(BootInfo, rsdp) == 360);
static_assert(offsetof(BootInfo, memory_ranges) == 424);
static_assert(offsetof(BootInfo, modules) == 424 + 16 * kMaxMemoryRanges);
static_assert(sizeof(BootInfo) == 424 + 16 * kMaxMemoryRanges + 272 * kMaxModules);
static_assert(alignof(BootInfo) == 8);

}  // namespace keel::boot
