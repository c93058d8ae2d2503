#include "dev/msi.hpp"

#include "log/log.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"

namespace keel::dev {

namespace {

// MSI capability: control at +2 (bit 0 enable, bits 1-3 log2 of the vectors offered, bits 4-6
// log2 of those enabled, bit 7 64-bit address, bit 8 per-vector masking); address at +4, then
// (64-bit) the high address at +8; data, mask bits after the address.
constexpr uint16_t kMsiEnable = 1u << 0;
constexpr uint16_t kMsiEnabledVectorsMask = 7u << 4;
constexpr uint16_t kMsi64 = 1u << 7;
constexpr uint16_t kMsiMaskable = 1u << 8;
// MSI-X capability: control at +2 (bits 0-10 table size - 1, bit 14 function mask, bit 15
// enable), table BIR/offset at +4, PBA BIR/offset at +8. Table entries are 16 bytes: address
// low, address high, data, vector control (bit 0 masked).
constexpr uint16_t kMsixFunctionMask = 1u << 14;
constexpr uint16_t kMsixEnable = 1u << 15;
constexpr uint32_t kMsixEntrySize = 16;
constexpr uint32_t kMsixEntryMasked = 1;

struct MsixTable {
    volatile uint32_t* entries;  // nullptr: not mapped (no MSI-X, or the table is not in a BAR)
    uint32_t count;
};
MsixTable g_msix[kMaxPciFunctions];

uint8_t cap_offset(const PciFunction& f, uint8_t id) {
    const pci::Capability* c = pci::find_capability(f.info, id);
    return c != nullptr ? c->offset : 0;
}

uint16_t read16(const PciFunction& f, uint32_t offset) {
    return static_cast<uint16_t>(pci_config_read(f, static_cast<uint16_t>(offset), 2));
}
void write16(const PciFunction& f, uint32_t offset, uint16_t v) {
    pci_config_write(f, static_cast<uint16_t>(offset), v, 2);
}
void write32(const PciFunction& f, uint32_t offset, uint32_t v) {
    pci_config_write(f, static_cast<uint16_t>(offset), v, 4);
}

// The function's slot in the enumeration table (what the MSI-X mappings are indexed by).
uint32_t index_of(const PciFunction& f) {
    for (uint32_t i = 0; i < pci_function_count(); ++i) {
        const PciFunction& g = pci_function(i);
        if (g.bus == f.bus && g.device == f.device && g.function == f.function)
            return i;
    }
    panic("msi: %02x:%02x.%u is not an enumerated function", f.bus, f.device, f.function);
}

// A BIR/offset register (+4 or +8 of the MSI-X capability) as a BarRange of `size` bytes.
BarRange msix_range(const PciFunction& f, uint8_t cap, uint32_t reg, uint64_t size) {
    const uint32_t v = pci_config_read(f, static_cast<uint16_t>(cap + reg), 4);
    return {v & 7u, v & ~7u, size};
}

uint32_t msix_entries(const PciFunction& f, uint8_t cap) {
    return (read16(f, cap + 2u) & 0x7ffu) + 1;
}

// Where MSI's data and mask registers are.
struct MsiLayout {
    uint8_t cap;
    uint16_t control;
    uint32_t data, mask;  // configuration offsets; mask 0: no per-vector masking
};
MsiLayout msi_layout(const PciFunction& f) {
    const uint8_t cap = cap_offset(f, pci::kCapMsi);
    const uint16_t control = read16(f, cap + 2u);
    const uint32_t data = cap + ((control & kMsi64) != 0 ? 0xcu : 0x8u);
    return {cap, control, data, (control & kMsiMaskable) != 0 ? data + 4 : 0};
}

volatile uint32_t* msix_entry(const PciFunction& f, uint32_t index) {
    const MsixTable& t = g_msix[index_of(f)];
    KEEL_ASSERT(t.entries != nullptr && index < t.count);
    return t.entries + index * (kMsixEntrySize / 4);
}

}  // namespace

void init_msi() {
    for (uint32_t i = 0; i < pci_function_count(); ++i) {
        const PciFunction& f = pci_function(i);
        BarRange table{}, pba{};
        if (!msix_ranges(f, &table, &pba))
            continue;
        const pci::Bar& bar = f.bars[table.bar];
        const bool memory = table.bar < 6 && (bar.kind == pci::BarKind::kMemory32 ||
                                              bar.kind == pci::BarKind::kMemory64);
        if (!memory || table.offset > bar.size || table.size > bar.size - table.offset) {
            log::warn(
                "msi: %02x:%02x.%u: MSI-X table (BAR%u +0x%lx) outside a memory BAR: no MSI-X",
                f.bus, f.device, f.function, table.bar, table.offset);
            continue;
        }
        g_msix[i] = {mm::map_mmio(mm::PhysAddr{bar.address + table.offset}, table.size)
                         .as<volatile uint32_t>(),
                     static_cast<uint32_t>(table.size / kMsixEntrySize)};
    }
}

MsiKind msi_kind(const PciFunction& f) {
    if (cap_offset(f, pci::kCapMsix) != 0)
        return MsiKind::kMsix;
    if (cap_offset(f, pci::kCapMsi) != 0)
        return MsiKind::kMsi;
    return MsiKind::kNone;
}

uint32_t msi_vector_count(const PciFunction& f) {
    switch (msi_kind(f)) {
        case MsiKind::kMsix:
            return msix_entries(f, cap_offset(f, pci::kCapMsix));
        case MsiKind::kMsi: {
            const uint32_t log2 = msi_layout(f).control >> 1 & 7u;
            return 1u << (log2 > 5 ? 5 : log2);  // 6 and 7 are reserved
        }
        case MsiKind::kNone:
            break;
    }
    return 0;
}

bool msix_ranges(const PciFunction& f, BarRange* table, BarRange* pba) {
    const uint8_t cap = cap_offset(f, pci::kCapMsix);
    if (cap == 0)
        return false;
    const uint32_t entries = msix_entries(f, cap);
    *table = msix_range(f, cap, 4, uint64_t{entries} * kMsixEntrySize);
    *pba = msix_range(f, cap, 8, (entries + 63) / 64 * 8);
    return true;
}

uint32_t msi_config_ranges(const PciFunction& f, ConfigRange out[2]) {
    uint32_t n = 0;
    if (const uint8_t cap = cap_offset(f, pci::kCapMsi); cap != 0) {
        const MsiLayout m = msi_layout(f);
        // Through the pending bits when maskable, else through the data (and extended data).
        const uint32_t end = m.mask != 0 ? m.mask + 8 : m.data + 4;
        out[n++] = {cap, static_cast<uint16_t>(end - cap)};
    }
    if (const uint8_t cap = cap_offset(f, pci::kCapMsix); cap != 0)
        out[n++] = {cap, 12};
    return n;
}

Result<void> msi_enable(const PciFunction& f, uint32_t index, uint8_t vector, uint8_t apic_id) {
    const uint32_t address = static_cast<uint32_t>(kMsiAddressBase) | uint32_t{apic_id} << 12;
    const uint16_t command = read16(f, pci::kCommand);
    switch (msi_kind(f)) {
        case MsiKind::kMsix: {
            const uint8_t cap = cap_offset(f, pci::kCapMsix);
            const MsixTable& t = g_msix[index_of(f)];
            if (t.entries == nullptr || index >= t.count)
                return fail(abi::Error::kNotSupported);
            const uint16_t control = read16(f, cap + 2u);
            write16(f, pci::kCommand, static_cast<uint16_t>(command | pci::kCommandMemory));
            if ((control & kMsixEnable) == 0) {
                // Never both mechanisms at once: MSI off (a firmware may have left it on).
                if (cap_offset(f, pci::kCapMsi) != 0) {
                    const MsiLayout m = msi_layout(f);
                    write16(f, m.cap + 2u, static_cast<uint16_t>(m.control & ~kMsiEnable));
                }
                // First message in use: every entry masked (whatever the firmware or a former
                // driver left), under the function mask while the table is written.
                write16(f, cap + 2u,
                        static_cast<uint16_t>(control | kMsixEnable | kMsixFunctionMask));
                for (uint32_t i = 0; i < t.count; ++i)
                    t.entries[i * (kMsixEntrySize / 4) + 3] = kMsixEntryMasked;
            }
            volatile uint32_t* e = msix_entry(f, index);
            e[3] = kMsixEntryMasked;
            e[0] = address;
            e[1] = 0;
            e[2] = vector;
            e[3] = 0;
            write16(
                f, cap + 2u,
                static_cast<uint16_t>((read16(f, cap + 2u) | kMsixEnable) & ~kMsixFunctionMask));
            break;
        }
        case MsiKind::kMsi: {
            if (index != 0)
                return fail(abi::Error::kNotSupported);
            const MsiLayout m = msi_layout(f);
            write16(f, m.cap + 2u, static_cast<uint16_t>(m.control & ~kMsiEnable));
            write32(f, m.cap + 4u, address);
            if ((m.control & kMsi64) != 0)
                write32(f, m.cap + 8u, 0);
            write16(f, m.data, vector);
            if (m.mask != 0)
                write32(f, m.mask, pci_config_read(f, static_cast<uint16_t>(m.mask), 4) & ~1u);
            // One vector enabled (multiple message enable 0).
            write16(f, m.cap + 2u,
                    static_cast<uint16_t>((m.control & ~kMsiEnabledVectorsMask) | kMsiEnable));
            break;
        }
        case MsiKind::kNone:
            return fail(abi::Error::kNotSupported);
    }
    write16(f, pci::kCommand,
            static_cast<uint16_t>(read16(f, pci::kCommand) | pci::kCommandIntxDisable));
    return success();
}

void msi_disable(const PciFunction& f, uint32_t index, bool last) {
    switch (msi_kind(f)) {
        case MsiKind::kMsix: {
            const uint8_t cap = cap_offset(f, pci::kCapMsix);
            if (g_msix[index_of(f)].entries == nullptr)
                return;
            // The table is reached through the BAR: decoding may have been turned off since.
            write16(f, pci::kCommand,
                    static_cast<uint16_t>(read16(f, pci::kCommand) | pci::kCommandMemory));
            msix_entry(f, index)[3] = kMsixEntryMasked;
            if (last)
                write16(f, cap + 2u,
                        static_cast<uint16_t>(read16(f, cap + 2u) &
                                              ~(kMsixEnable | kMsixFunctionMask)));
            break;
        }
        case MsiKind::kMsi: {
            const MsiLayout m = msi_layout(f);
            if (m.mask != 0)
                write32(f, m.mask, pci_config_read(f, static_cast<uint16_t>(m.mask), 4) | 1u);
            if (last)
                write16(f, m.cap + 2u, static_cast<uint16_t>(m.control & ~kMsiEnable));
            break;
        }
        case MsiKind::kNone:
            break;
    }
}

bool msi_masked(const PciFunction& f, uint32_t index) {
    switch (msi_kind(f)) {
        case MsiKind::kMsix: {
            const uint8_t cap = cap_offset(f, pci::kCapMsix);
            if ((read16(f, cap + 2u) & kMsixEnable) == 0 || g_msix[index_of(f)].entries == nullptr)
                return true;
            return (msix_entry(f, index)[3] & kMsixEntryMasked) != 0;
        }
        case MsiKind::kMsi: {
            const MsiLayout m = msi_layout(f);
            if ((m.control & kMsiEnable) == 0)
                return true;
            return m.mask != 0 && (pci_config_read(f, static_cast<uint16_t>(m.mask), 4) & 1u) != 0;
        }
        case MsiKind::kNone:
            break;
    }
    return true;
}

}  // namespace keel::dev
