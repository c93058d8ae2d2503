// Finding the ACPI RSDP where BIOSes put it, for boot loaders that hand over no copy (QEMU's
// multiboot). Reads fixed low physical addresses, so it is loader-only code.
#pragma once

#include "multiboot.hpp"

namespace keel::loader {

// Scans the first KiB of the EBDA and 0xe0000-0xfffff for a checksummed "RSD PTR " and copies
// it (20 bytes for ACPI 1.0, its length field for 2.0+, at most kRsdpMaxSize) into *out.
void find_rsdp_in_bios(BootSources* out);

}  // namespace keel::loader
