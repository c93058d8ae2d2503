#include "dev/pci.hpp"

#include "arch/cpu.hpp"
#include "dev/acpi.hpp"
#include "log/log.hpp"
#include "mm/paging.hpp"

namespace keel::dev {

namespace {

constexpr uint16_t kConfigAddressPort = 0xcf8;
constexpr uint16_t kConfigDataPort = 0xcfc;
constexpr uint32_t kBuses = 256;

PciFunction g_functions[kMaxPciFunctions];
uint32_t g_count = 0;
uint32_t g_dropped = 0;
uint64_t g_ecam_base = 0;                    // 0: legacy ports
volatile uint32_t* g_ecam_bus[kBuses] = {};  // each bus's 1 MiB, mapped when first scanned
uint8_t g_pending[kBuses / 8] = {};          // buses a bridge leads to, not yet scanned

struct Location {
    uint8_t bus, device, function;
};

volatile uint32_t* ecam(Location at, uint16_t offset) {
    volatile uint32_t*& bus = g_ecam_bus[at.bus];
    if (bus == nullptr) {
        bus = mm::map_mmio(mm::PhysAddr{g_ecam_base + (uint64_t{at.bus} << 20)}, 1u << 20)
                  .as<volatile uint32_t>();
    }
    return bus + ((uint32_t{at.device} << 15 | uint32_t{at.function} << 12 | offset) >> 2);
}

uint32_t port_address(Location at, uint16_t offset) {
    return 1u << 31 | uint32_t{at.bus} << 16 | uint32_t{at.device} << 11 |
           uint32_t{at.function} << 8 | (offset & 0xfc);
}

// Configuration dwords: `offset` is dword-aligned and below pci::kConfigSize.
uint32_t read32(Location at, uint16_t offset) {
    if (g_ecam_base != 0)
        return *ecam(at, offset);
    cpu::outl(kConfigAddressPort, port_address(at, offset));
    return cpu::inl(kConfigDataPort);
}

void write32(Location at, uint16_t offset, uint32_t v) {
    if (g_ecam_base != 0) {
        *ecam(at, offset) = v;
        return;
    }
    cpu::outl(kConfigAddressPort, port_address(at, offset));
    cpu::outl(kConfigDataPort, v);
}

// Sizes every BAR the standard way: decoding off while all ones are written and read back,
// then the original values and command restored.
void size_bars(Location at, const uint8_t* config, PciFunction& f) {
    const uint32_t command = read32(at, pci::kCommand);
    write32(at, pci::kCommand, command & ~uint32_t{pci::kCommandIo | pci::kCommandMemory});
    for (uint32_t i = 0; i < f.info.bar_count;) {
        const uint16_t off = pci::bar_offset(i);
        const uint32_t low = read32(at, off);
        write32(at, off, ~0u);
        const uint32_t probe_low = read32(at, off);
        write32(at, off, low);
        uint32_t probe_high = 0;
        if ((low & 7) == 4 && i + 1 < f.info.bar_count) {  // a 64-bit memory BAR
            const uint32_t high = read32(at, off + 4);
            write32(at, off + 4, ~0u);
            probe_high = read32(at, off + 4);
            write32(at, off + 4, high);
        }
        uint32_t slots = 1;
        if (const char* why =
                pci::decode_bar(f.info, config, i, probe_low, probe_high, &f.bars[i], &slots)) {
            log::warn("pci %02x:%02x.%u: BAR%u ignored: %s", at.bus, at.device, at.function, i,
                      why);
            f.bars[i] = pci::Bar{};
        }
        i += slots;
    }
    write32(at, pci::kCommand, command);
}

const char* kind_name(pci::BarKind k) {
    switch (k) {
        case pci::BarKind::kIo:
            return "io";
        case pci::BarKind::kMemory32:
            return "mem32";
        case pci::BarKind::kMemory64:
            return "mem64";
        case pci::BarKind::kNone:
            break;
    }
    return "none";
}

void log_function(const PciFunction& f) {
    log::print("  pci %02x:%02x.%u %04x:%04x class %02x.%02x.%02x", f.bus, f.device, f.function,
               f.info.vendor, f.info.device, f.info.class_code, f.info.subclass, f.info.prog_if);
    if (f.info.interrupt_pin != 0)
        log::print(" INT%c", 'A' + f.info.interrupt_pin - 1);
    for (uint32_t i = 0; i < 6; ++i) {
        const pci::Bar& b = f.bars[i];
        if (b.kind != pci::BarKind::kNone) {
            log::print(" BAR%u %s%s 0x%lx+0x%lx", i, kind_name(b.kind),
                       b.prefetchable ? " pref" : "", b.address, b.size);
        }
    }
    if (f.info.capability_count != 0) {
        log::print(" caps");
        for (uint32_t i = 0; i < f.info.capability_count; ++i)
            log::print(" %02x", f.info.capabilities[i].id);
    }
    log::print("\n");
}

void mark_pending(uint8_t bus) {
    g_pending[bus / 8] = static_cast<uint8_t>(g_pending[bus / 8] | (1u << (bus % 8)));
}

void scan_function(Location at) {
    uint32_t words[pci::kConfigSize / 4];
    for (uint16_t i = 0; i < pci::kConfigSize / 4; ++i)
        words[i] = read32(at, static_cast<uint16_t>(i * 4));
    const auto* config = reinterpret_cast<const uint8_t*>(words);
    PciFunction f{at.bus, at.device, at.function, {}, {}};
    if (const char* why = pci::parse_function(config, sizeof words, &f.info)) {
        log::warn("pci %02x:%02x.%u: refused: %s", at.bus, at.device, at.function, why);
        return;
    }
    size_bars(at, config, f);
    log_function(f);
    if (g_count == kMaxPciFunctions)
        ++g_dropped;
    else
        g_functions[g_count++] = f;
    // A bridge's secondary bus is scanned later in init_pci's loop; only a bus above this one
    // counts, so the scan ends whatever the bridges claim.
    if (f.info.header_type == 1 && f.info.secondary_bus > at.bus)
        mark_pending(f.info.secondary_bus);
}

void scan_bus(uint8_t bus) {
    for (uint8_t device = 0; device < 32; ++device) {
        const Location first{bus, device, 0};
        if ((read32(first, 0) & 0xffff) == pci::kNoVendor)
            continue;
        const bool multifunction = (read32(first, 0x0c) >> 16 & 0x80) != 0;
        for (uint8_t fn = 0; fn < (multifunction ? 8 : 1); ++fn) {
            const Location at{bus, device, fn};
            if (fn != 0 && (read32(at, 0) & 0xffff) == pci::kNoVendor)
                continue;
            scan_function(at);
        }
    }
}

}  // namespace

void init_pci() {
    const AcpiInfo& acpi = acpi_info();
    for (uint32_t i = 0; acpi.have_mcfg && i < acpi.mcfg.count; ++i) {
        const acpi::EcamWindow& w = acpi.mcfg.windows[i];
        if (w.segment == 0 && w.start_bus == 0)
            g_ecam_base = w.base;
    }
    log::print("  pci: configuration through %s\n",
               g_ecam_base != 0 ? "ECAM (MCFG)" : "the legacy ports 0xcf8/0xcfc");
    // Bus by bus upwards rather than recursing through bridges: a chain of 255 bridges must not
    // take 255 stack frames of the boot stack. Bridges only lead upwards, so one pass is enough.
    mark_pending(0);
    for (uint32_t bus = 0; bus < kBuses; ++bus) {
        if ((g_pending[bus / 8] & (1u << (bus % 8))) != 0)
            scan_bus(static_cast<uint8_t>(bus));
    }
    log::print("  pci: %u functions\n", g_count);
    if (g_dropped != 0)
        log::warn("pci: %u functions beyond the kernel's table were not kept", g_dropped);
}

uint32_t pci_function_count() {
    return g_count;
}

const PciFunction& pci_function(uint32_t i) {
    return g_functions[i];
}

const PciFunction* find_pci_function(uint16_t vendor, uint16_t device) {
    for (uint32_t i = 0; i < g_count; ++i) {
        if (g_functions[i].info.vendor == vendor && g_functions[i].info.device == device)
            return &g_functions[i];
    }
    return nullptr;
}

uint32_t pci_config_size() {
    return g_ecam_base != 0 ? 4096 : 256;
}

uint32_t pci_config_read(const PciFunction& f, uint16_t offset, uint32_t width) {
    const Location at{f.bus, f.device, f.function};
    const uint32_t shift = (offset & 3u) * 8;
    const uint32_t v = read32(at, static_cast<uint16_t>(offset & ~3u)) >> shift;
    return width == 4 ? v : v & ((1u << (width * 8)) - 1);
}

void pci_config_write(const PciFunction& f, uint16_t offset, uint32_t value, uint32_t width) {
    const Location at{f.bus, f.device, f.function};
    const auto aligned = static_cast<uint16_t>(offset & ~3u);
    if (width == 4) {
        write32(at, aligned, value);
        return;
    }
    // Read-modify-write of the dword: configuration space has no byte enables on the legacy
    // ports' data path as used here. Status bits are write-one-to-clear, so status bytes this
    // write does not cover are written as 0 (writing back what was read would clear them).
    const uint32_t shift = (offset & 3u) * 8;
    const uint32_t mask = ((1u << (width * 8)) - 1) << shift;
    uint32_t old = read32(at, aligned);
    if (aligned == pci::kCommand)
        old &= 0xffffu;
    write32(at, aligned, (old & ~mask) | ((value << shift) & mask));
}

}  // namespace keel::dev
