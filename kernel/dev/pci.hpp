// PCI enumeration at boot: every function reachable from bus 0 through PCI-to-PCI bridges,
// through ECAM when the MCFG gave a window for segment 0 (q35) and through the legacy
// configuration ports 0xcf8/0xcfc otherwise (pc). Each function's configuration space is parsed
// and its BARs sized by lib/pci; functions whose space is refused are logged and left out.
// The table is what device objects (issue 15) will be made from.
#pragma once

#include <keel/pci/pci.hpp>

#include <cstdint>

namespace keel::dev {

inline constexpr uint32_t kMaxPciFunctions = 64;

struct PciFunction {
    uint8_t bus, device, function;
    pci::Function info;
    pci::Bar bars[6];  // by BAR index; the upper slot of a 64-bit BAR stays kNone
};

// Enumerates and logs. Call once, after paging (ECAM windows are mapped uncached).
void init_pci();
uint32_t pci_function_count();
const PciFunction& pci_function(uint32_t i);
// The first function with this vendor and device id, or nullptr.
const PciFunction* find_pci_function(uint16_t vendor, uint16_t device);
// Configuration space of one function: `offset` naturally aligned for `width` (1, 2 or 4) and
// below config_size(). Interrupts off (the legacy ports are an address/data pair). No policy
// here: device objects (obj/device.cpp) decide what a driver may write.
uint32_t pci_config_read(const PciFunction& f, uint16_t offset, uint32_t width);
void pci_config_write(const PciFunction& f, uint16_t offset, uint32_t value, uint32_t width);
// 4096 through ECAM, 256 through the legacy ports.
uint32_t pci_config_size();

}  // namespace keel::dev
