#include "dev/acpi.hpp"

#include <keel/c/libc.hpp>

#include "log/log.hpp"
#include "mm/address.hpp"

namespace keel::dev {

namespace {

AcpiInfo g_acpi;
uint8_t g_scratch[acpi::kMaxTableSize];  // one table at a time; boot is single-threaded
acpi::RootTable g_root;

// Physical memory through the direct map: anything the loader mapped, nothing beyond it.
bool read_phys(void* ctx, uint64_t phys, void* out, uint64_t size) {
    const uint64_t limit = static_cast<const boot::BootInfo*>(ctx)->direct_map_size;
    if (phys > limit || size > limit - phys)
        return false;
    memcpy(out, mm::direct_map<const uint8_t>(mm::PhysAddr{phys}), size);
    return true;
}

void log_madt(const acpi::Madt& m) {
    log::print("  ACPI MADT: %u CPUs, local APIC at 0x%lx%s\n", m.cpu_count, m.local_apic_address,
               m.pc_at_compatible ? ", 8259 PICs present" : "");
    for (uint32_t i = 0; i < m.io_apic_count; ++i) {
        const acpi::IoApic& a = m.io_apics[i];
        log::print("    I/O APIC %u at 0x%x, GSI %u and up\n", a.id, a.address, a.gsi_base);
    }
    for (uint32_t i = 0; i < m.override_count; ++i) {
        const acpi::Override& o = m.overrides[i];
        log::print("    IRQ %u -> GSI %u (flags 0x%x)\n", o.source, o.gsi, o.flags);
    }
    if (m.dropped != 0)
        log::warn("ACPI MADT: %u entries beyond what the kernel keeps were ignored", m.dropped);
}

void log_mcfg(const acpi::Mcfg& m) {
    for (uint32_t i = 0; i < m.count; ++i) {
        const acpi::EcamWindow& w = m.windows[i];
        log::print("  ACPI MCFG: PCI Express segment %u, buses %u-%u, ECAM at 0x%lx\n", w.segment,
                   w.start_bus, w.end_bus, w.base);
    }
    if (m.dropped != 0)
        log::warn("ACPI MCFG: %u windows beyond what the kernel keeps were ignored", m.dropped);
}

void log_dmar(const acpi::Dmar& d) {
    log::print("  ACPI DMAR: %u remapping unit%s", d.unit_count, d.unit_count == 1 ? "" : "s");
    for (uint32_t i = 0; i < d.unit_count; ++i) {
        const acpi::DmarUnit& u = d.units[i];
        uint32_t pci = 0;  // endpoints and bridges named (QEMU lists the root bus's devices)
        for (uint32_t k = 0; k < u.scopes.count; ++k) {
            const acpi::ScopeType t = u.scopes.entries[k].type;
            pci += t == acpi::ScopeType::kPciEndpoint || t == acpi::ScopeType::kPciSubHierarchy;
        }
        if (u.include_pci_all) {
            log::print("%s 0x%lx (segment %u, every PCI device)", i == 0 ? " at" : ",",
                       u.register_base, u.segment);
        } else {
            log::print("%s 0x%lx (segment %u, %u PCI scopes)", i == 0 ? " at" : ",",
                       u.register_base, u.segment, pci);
        }
        if (u.scopes.dropped != 0) {
            log::warn("ACPI DMAR: unit at 0x%lx: %u device scopes beyond what the kernel keeps",
                      u.register_base, u.scopes.dropped);
        }
    }
    log::print(", host address width %u, %u reserved region%s%s\n", d.host_address_width,
               d.reserved_count, d.reserved_count == 1 ? "" : "s",
               (d.flags & acpi::kDmarIntrRemap) != 0 ? ", interrupt remapping offered" : "");
    for (uint32_t i = 0; i < d.reserved_count; ++i) {
        const acpi::DmarReserved& r = d.reserved[i];
        log::print("    reserved 0x%lx-0x%lx for %u device%s\n", r.base, r.limit, r.scopes.count,
                   r.scopes.count == 1 ? "" : "s");
    }
    if (d.dropped != 0)
        log::warn("ACPI DMAR: %u units or regions beyond what the kernel keeps were ignored",
                  d.dropped);
}

// Reads the table with `signature` (if listed) and parses it into *out; logs why not.
template <typename T>
bool load(const acpi::PhysReader& mem, const char* signature, const char* name,
          const char* (*parse)(const uint8_t*, uint32_t, T*), T* out) {
    const acpi::TableRef* t = acpi::find(g_root, signature);
    if (t == nullptr)
        return false;
    uint32_t length = 0;
    const char* why = acpi::read_table(mem, *t, g_scratch, &length);
    if (why == nullptr)
        why = parse(g_scratch, length, out);
    if (why != nullptr)
        log::error("ACPI: %s refused: %s", name, why);
    return why == nullptr;
}

}  // namespace

void init_acpi(const boot::BootInfo& info) {
    acpi::Rsdp rsdp;
    if (info.rsdp_size == 0) {
        log::print("  ACPI: no RSDP\n");
        return;
    }
    if (const char* why = acpi::parse_rsdp(info.rsdp, info.rsdp_size, &rsdp)) {
        log::error("ACPI: RSDP refused: %s", why);
        return;
    }
    const acpi::PhysReader mem{&read_phys, const_cast<boot::BootInfo*>(&info)};
    if (const char* why = acpi::read_root(mem, rsdp, g_scratch, &g_root)) {
        log::error("ACPI: %s at 0x%lx refused: %s", rsdp.root_is_xsdt ? "XSDT" : "RSDT",
                   rsdp.root_address, why);
        return;
    }
    log::print("  ACPI: revision %u, OEM \"%s\", %s with %u tables:", rsdp.revision, rsdp.oem,
               rsdp.root_is_xsdt ? "XSDT" : "RSDT", g_root.count);
    for (uint32_t i = 0; i < g_root.count; ++i)
        log::print(" %s", g_root.tables[i].signature);
    log::print("\n");
    if (g_root.skipped != 0)
        log::warn("ACPI: %u root table entries unreadable or impossible, skipped", g_root.skipped);

    g_acpi.have_madt = load(mem, "APIC", "MADT", &acpi::parse_madt, &g_acpi.madt);
    if (g_acpi.have_madt)
        log_madt(g_acpi.madt);
    g_acpi.have_mcfg = load(mem, "MCFG", "MCFG", &acpi::parse_mcfg, &g_acpi.mcfg);
    if (g_acpi.have_mcfg)
        log_mcfg(g_acpi.mcfg);
    else if (acpi::find(g_root, "MCFG") == nullptr)
        log::print("  ACPI: no MCFG (PCI through the legacy configuration ports)\n");
    g_acpi.have_dmar = load(mem, "DMAR", "DMAR", &acpi::parse_dmar, &g_acpi.dmar);
    if (g_acpi.have_dmar)
        log_dmar(g_acpi.dmar);
}

const AcpiInfo& acpi_info() {
    return g_acpi;
}

}  // namespace keel::dev
