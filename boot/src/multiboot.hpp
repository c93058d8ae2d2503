// Reading what the boot loader (QEMU's multiboot, GRUB's multiboot2) tells us into one neutral
// form. Pure code, unit-tested on the host with hand-built information blocks. Everything is copied
// into the loader's own storage, so the loader may later reuse the memory that held the multiboot
// information.
#pragma once

#include <keel/boot_info.hpp>

#include "memory_map.hpp"

namespace keel::loader {

inline constexpr uint32_t kMultiboot1Magic = 0x2badb002;  // eax on entry, multiboot (v1)
inline constexpr uint32_t kMultiboot2Magic = 0x36d76289;  // eax on entry, multiboot2
inline constexpr uint32_t kMaxRawRegions = 128;
inline constexpr uint32_t kMaxStringSize = 256;

struct SourceModule {
    uint64_t start;               // physical
    uint64_t end;                 // exclusive
    char string[kMaxStringSize];  // "name args..." as given to QEMU -initrd or GRUB module2
};

struct BootSources {
    uint32_t protocol;  // 1 or 2
    boot::RawRegion raw[kMaxRawRegions];
    uint32_t raw_count;
    uint32_t raw_dropped;                         // beyond capacity
    SourceModule modules[boot::kMaxModules + 1];  // the kernel plus kMaxModules others
    uint32_t module_count;
    uint32_t modules_dropped;      // beyond capacity
    char cmdline[kMaxStringSize];  // the loader's own command line ("name args...")
    boot::Framebuffer framebuffer;
    uint8_t rsdp[boot::kRsdpMaxSize];
    uint32_t rsdp_size;
};

// Parses the information block at mbi (a physical address in the loader, a pointer in the
// host unit tests) into *out, which must start zeroed. Returns nullptr, or a reason when the
// block is malformed. Multiboot2 parsing stays inside the block's total_size and each tag's
// size; multiboot (v1) carries no sizes for its strings, which are cut at kMaxStringSize.
const char* read_multiboot1(uintptr_t mbi, BootSources* out);
const char* read_multiboot2(uintptr_t mbi, BootSources* out);

}  // namespace keel::loader
