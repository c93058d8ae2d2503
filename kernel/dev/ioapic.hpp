// The I/O APICs the MADT lists: each mapped uncached at boot with every redirection entry
// masked, global system interrupts (GSIs) found by (I/O APIC, pin), and ISA IRQs translated to
// GSIs with the MADT's interrupt source overrides. The interrupt objects (obj/interrupt.cpp)
// are the only users: they route a GSI to a vector of the boot CPU and mask and unmask it.
//
// Without a MADT (or with no I/O APIC in it) there is nothing to route through: available()
// is false, init logs it, and interrupt objects for INTx and ISA IRQs fail kNotSupported.
// Interrupts off for every call (single CPU, no locks; sched/scheduler.hpp).
#pragma once

#include <cstdint>

namespace keel::dev::ioapic {

// How a GSI's input behaves: the redirection entry's trigger mode and polarity.
struct Trigger {
    bool level;       // level-triggered (else edge)
    bool active_low;  // asserted low (else high)
};

// A GSI and how it triggers, as the firmware describes the source.
struct Route {
    uint32_t gsi;
    Trigger trigger;
};

// Maps every I/O APIC of acpi_info().madt (mm::map_mmio), masks all its entries and logs each
// one's GSI range. Once, after paging and the LAPIC.
void init();
// At least one I/O APIC was found.
bool available();
// Whether some I/O APIC has an input for this GSI.
bool has_gsi(uint32_t gsi);

// ISA IRQ `irq` (0-15): the GSI and trigger after the MADT's interrupt source overrides; an
// IRQ no override names is GSI `irq`, edge, active high (the ISA default). The override's
// flags are MPS INTI flags; a "conforms to the bus" field takes `bus_default` (ISA's for ISA
// devices; a PCI function whose interrupt line names an ISA IRQ passes level, active low).
Route isa_route(uint8_t irq, Trigger bus_default = {false, false});

// Programs the GSI's redirection entry: fixed delivery of `vector` to the local APIC
// `apic_id` (physical destination) with this trigger, and leaves it masked. has_gsi(gsi).
void route(uint32_t gsi, uint8_t vector, Trigger trigger, uint8_t apic_id);
void mask(uint32_t gsi);
void unmask(uint32_t gsi);
// The entry's mask bit as the I/O APIC reads it back (tests).
bool masked(uint32_t gsi);

}  // namespace keel::dev::ioapic
