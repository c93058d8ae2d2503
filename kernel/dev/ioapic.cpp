#include "dev/ioapic.hpp"

#include "dev/acpi.hpp"
#include "log/log.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"

namespace keel::dev::ioapic {

namespace {

// Registers: an index (IOREGSEL) and a data window (IOWIN); the version register's bits 16-23
// are the highest redirection entry; entry n is registers 0x10 + 2n (low) and 0x11 + 2n (high).
constexpr uint32_t kRegSelect = 0x00;
constexpr uint32_t kRegWindow = 0x10;
constexpr uint32_t kRegVersion = 0x01;
constexpr uint32_t kRegRedirection = 0x10;

constexpr uint32_t kEntryActiveLow = 1u << 13;
constexpr uint32_t kEntryLevel = 1u << 15;
constexpr uint32_t kEntryMasked = 1u << 16;

// MPS INTI flags (ACPI MADT interrupt source override): polarity in bits 0-1, trigger mode in
// bits 2-3; 0 = "conforms to the bus", 1 = active high / edge, 3 = active low / level.
constexpr uint16_t kIntiPolarityMask = 0x3;
constexpr uint16_t kIntiTriggerShift = 2;

struct Chip {
    volatile uint32_t* regs;
    uint32_t gsi_base;
    uint32_t pins;  // redirection entries
    uint8_t id;
};

Chip g_chips[acpi::kMaxIoApics];
uint32_t g_chip_count = 0;

uint32_t read_reg(const Chip& c, uint32_t reg) {
    c.regs[kRegSelect / 4] = reg;
    return c.regs[kRegWindow / 4];
}

void write_reg(const Chip& c, uint32_t reg, uint32_t v) {
    c.regs[kRegSelect / 4] = reg;
    c.regs[kRegWindow / 4] = v;
}

struct Pin {
    const Chip* chip;
    uint32_t pin;
};

Pin find(uint32_t gsi) {
    for (uint32_t i = 0; i < g_chip_count; ++i) {
        const Chip& c = g_chips[i];
        if (gsi >= c.gsi_base && gsi - c.gsi_base < c.pins)
            return {&c, gsi - c.gsi_base};
    }
    return {nullptr, 0};
}

Pin must_find(uint32_t gsi) {
    const Pin p = find(gsi);
    KEEL_ASSERT(p.chip != nullptr);
    return p;
}

void set_low(uint32_t gsi, uint32_t set, uint32_t clear) {
    const Pin p = must_find(gsi);
    const uint32_t reg = kRegRedirection + 2 * p.pin;
    write_reg(*p.chip, reg, (read_reg(*p.chip, reg) & ~clear) | set);
}

}  // namespace

void init() {
    const AcpiInfo& acpi = acpi_info();
    if (!acpi.have_madt || acpi.madt.io_apic_count == 0) {
        log::warn("ioapic: no MADT I/O APIC: INTx and ISA interrupts are not available");
        return;
    }
    for (uint32_t i = 0; i < acpi.madt.io_apic_count && i < acpi::kMaxIoApics; ++i) {
        const acpi::IoApic& a = acpi.madt.io_apics[i];
        Chip c{mm::map_mmio(mm::PhysAddr{a.address}, 4096).as<volatile uint32_t>(), a.gsi_base, 0,
               a.id};
        c.pins = (read_reg(c, kRegVersion) >> 16 & 0xff) + 1;
        for (uint32_t pin = 0; pin < c.pins; ++pin) {
            write_reg(c, kRegRedirection + 2 * pin + 1, 0);
            write_reg(c, kRegRedirection + 2 * pin, kEntryMasked);
        }
        g_chips[g_chip_count++] = c;
        log::info("ioapic: id %u at 0x%x, GSI %u-%u, all masked", a.id, a.address, c.gsi_base,
                  c.gsi_base + c.pins - 1);
    }
}

bool available() {
    return g_chip_count != 0;
}

bool has_gsi(uint32_t gsi) {
    return find(gsi).chip != nullptr;
}

Route isa_route(uint8_t irq, Trigger bus_default) {
    const AcpiInfo& acpi = acpi_info();
    for (uint32_t i = 0; acpi.have_madt && i < acpi.madt.override_count; ++i) {
        const acpi::Override& o = acpi.madt.overrides[i];
        if (o.source != irq)
            continue;
        Trigger t = bus_default;
        const uint16_t polarity = o.flags & kIntiPolarityMask;
        const uint16_t trigger = o.flags >> kIntiTriggerShift & kIntiPolarityMask;
        if (polarity == 1 || polarity == 3)
            t.active_low = polarity == 3;
        if (trigger == 1 || trigger == 3)
            t.level = trigger == 3;
        return {o.gsi, t};
    }
    return {irq, bus_default};
}

void route(uint32_t gsi, uint8_t vector, Trigger trigger, uint8_t apic_id) {
    const Pin p = must_find(gsi);
    const uint32_t reg = kRegRedirection + 2 * p.pin;
    // Masked while the halves change; fixed delivery, physical destination mode.
    write_reg(*p.chip, reg, kEntryMasked);
    write_reg(*p.chip, reg + 1, uint32_t{apic_id} << 24);
    write_reg(*p.chip, reg,
              kEntryMasked | vector | (trigger.level ? kEntryLevel : 0) |
                  (trigger.active_low ? kEntryActiveLow : 0));
}

void mask(uint32_t gsi) {
    set_low(gsi, kEntryMasked, 0);
}

void unmask(uint32_t gsi) {
    set_low(gsi, 0, kEntryMasked);
}

bool masked(uint32_t gsi) {
    const Pin p = must_find(gsi);
    return (read_reg(*p.chip, kRegRedirection + 2 * p.pin) & kEntryMasked) != 0;
}

}  // namespace keel::dev::ioapic
