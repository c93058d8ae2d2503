// Reading what the boot loader (QEMU's multiboot, GRUB's multiboot2) tells us into one neutral
// form. Everything is copied into the loader's own storage, so the loader may later reuse the
// memory that held the multiboot information.
#pragma once

#include <keel/boot_info.hpp>

#include "memory_map.hpp"

namespace keel::loader {

inline constexpr uint32_t kMultiboot1Magic = 0x2badb002;  // eax on entry, multiboot (v1)
inline constexpr uint32_t kMultiboot2Magic = 0x36d76289;  // eax on entry, multiboot2
inline constexpr uint32_t kMaxRawRegions = 128;
inline constexpr uint32_t kMaxStringSize = 256;

struct SourceModule {
    uint64_t start;  // physical
    uint64_t end;    // exclusive
    char string[kMaxStringSize];  // "name args..." as given to QEMU -initrd or GRUB module2
};

struct BootSources {
    uint32_t protocol;  // 1 or 2
    boot::RawRegion raw[kMaxRawRegions];
    uint32_t raw_count;
    SourceModule modules[boot::kMaxModules + 1];  // the kernel plus kMaxModules others
    uint32_t module_count;
    uint32_t modules_dropped;  // beyond capacity
    char cmdline[kMaxStringSize];  // the loader's own command line ("name args...")
    boot::Framebuffer framebuffer;
    uint8_t rsdp[boot::kRsdpMaxSize];
    uint32_t rsdp_size;
};

// Parses the information block at physical address mbi. Returns nullptr or a reason.
const char* read_multiboot1(uint32_t mbi, BootSources* out);
const char* read_multiboot2(uint32_t mbi, BootSources* out);
// Looks for the ACPI RSDP where BIOSes put it (EBDA, 0xe0000-0xfffff), when the boot loader
// did not hand over a copy.
void find_rsdp_in_bios(BootSources* out);

}  // namespace keel::loader
