// Message-signalled interrupts of PCI functions: the MSI and MSI-X capabilities read from the
// enumerated functions (dev/pci.hpp) and programmed by the kernel alone. A message is a
// memory write of `data` to `address` that the local APIC takes as an interrupt: here always
// address 0xfee00000 | apic_id << 12 (physical destination) and data = the vector (fixed
// delivery, edge). MSI-X is used when a function has both.
//
// Whoever holds the capability registers or the MSI-X table can aim the device's writes at any
// vector (or, with the address, at memory): drivers must reach neither. Device objects refuse
// configuration writes inside msi_config_ranges() and mappings of the pages that hold
// msix_ranges(). Interrupts off for every call (configuration space through the legacy ports is
// an address/data pair).
#pragma once

#include <cstdint>

#include "dev/pci.hpp"
#include "lib/result.hpp"

namespace keel::dev {

inline constexpr uint64_t kMsiAddressBase = 0xfee00000;

enum class MsiKind : uint8_t { kNone, kMsi, kMsix };

// Where in one of the function's BARs something lies: BAR index, byte offset from the BAR's
// base and size in bytes.
struct BarRange {
    uint32_t bar;
    uint64_t offset;
    uint64_t size;
};
// Bytes of configuration space, from `offset`.
struct ConfigRange {
    uint16_t offset;
    uint16_t size;
};

// Maps the MSI-X table of every enumerated function that has one (uncached, kernel-only), so
// that no mapping is made at run time. Once, after init_pci().
void init_msi();

// The mechanism create_msi uses for this function: MSI-X when it has the capability, else MSI,
// else kNone.
MsiKind msi_kind(const PciFunction& f);
// Vectors the function offers: the MSI-X table size, else the MSI capability's "multiple
// message capable" count (1, 2, 4, ... 32), else 0. (DeviceInfo::msi_vectors.)
uint32_t msi_vector_count(const PciFunction& f);
// The MSI-X table and pending-bit array inside the function's BARs: false (nothing written)
// when it has no MSI-X capability. The pages holding them must not be mapped by a driver.
bool msix_ranges(const PciFunction& f, BarRange* table, BarRange* pba);
// The configuration-space bytes of the MSI and MSI-X capabilities (each present one: 0, 1 or 2
// ranges written to out, the count returned). Writes there are the kernel's alone.
uint32_t msi_config_ranges(const PciFunction& f, ConfigRange out[2]);

// Aims message `index` (< msi_vector_count; plain MSI supports index 0 only: kNotSupported for
// the others, since a block of several MSI vectors must be one aligned, contiguous range)
// at `vector` on the local APIC `apic_id` and unmasks it; enables the capability (masking
// every other MSI-X entry the first time) and sets the command register's INTx disable bit (a
// function signals either way, not both). MSI-X also needs memory decoding of the table's BAR,
// which is set. kNotSupported: no capability, or the MSI-X table is not inside a memory BAR.
// Delivery needs bus mastering (command bit 2), which stays the driver's to enable.
Result<void> msi_enable(const PciFunction& f, uint32_t index, uint8_t vector, uint8_t apic_id);
// Masks message `index` (MSI-X: its entry's mask bit; MSI: the mask bit when the function has
// per-vector masking); with `last` (no other message of the function is in use) the
// capability is disabled as well. The INTx disable bit stays set (obj/interrupt.cpp clears it
// when INTx objects of the function exist): a driver dying cannot leave the function
// signalling through an INTx line nobody holds.
void msi_disable(const PciFunction& f, uint32_t index, bool last);
// Whether message `index` is masked or its capability disabled (tests).
bool msi_masked(const PciFunction& f, uint32_t index);

}  // namespace keel::dev
