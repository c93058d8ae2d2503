// The firmware's ACPI tables, read once at boot through lib/acpi: what the kernel learns of the
// machine's interrupt controllers (MADT), PCI Express configuration windows (MCFG) and DMA
// remapping hardware (DMAR, Intel VT-d: dev/iommu.cpp). A table
// that fails validation is logged with its reason and ignored; the kernel carries on without
// it (and falls back to the legacy mechanisms where there are any).
#pragma once

#include <keel/acpi/acpi.hpp>
#include <keel/boot_info.hpp>

namespace keel::dev {

struct AcpiInfo {
    bool have_madt = false;
    bool have_mcfg = false;
    bool have_dmar = false;
    acpi::Madt madt;
    acpi::Mcfg mcfg;
    acpi::Dmar dmar;
};

// Reads the tables the BootInfo's RSDP copy leads to, through the direct map (only memory
// below BootInfo::direct_map_size is read), and logs a summary. Call once, single-threaded.
void init_acpi(const boot::BootInfo& info);
const AcpiInfo& acpi_info();

}  // namespace keel::dev
