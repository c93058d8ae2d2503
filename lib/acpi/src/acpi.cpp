#include <keel/acpi/acpi.hpp>
#include <keel/bytes/le.hpp>

namespace keel::acpi {

namespace {

// Firmware tables are packed: fields sit at any alignment.
using bytes::read_le;

bool checksum_ok(const uint8_t* p, uint32_t n) {
    uint8_t sum = 0;
    for (uint32_t i = 0; i < n; ++i)
        sum = static_cast<uint8_t>(sum + p[i]);
    return sum == 0;
}

bool same(const uint8_t* p, const char* s, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
        if (p[i] != static_cast<uint8_t>(s[i]))
            return false;
    }
    return true;
}

// Reads a table header at `address` and returns its length, or 0 when it cannot be read or its
// length is impossible.
uint32_t header_length(const PhysReader& mem, uint64_t address, uint8_t* header) {
    if (!mem.read(mem.ctx, address, header, kHeaderSize))
        return 0;
    const uint64_t length = read_le(header + 4, 4);
    return length < kHeaderSize || length > kMaxTableSize ? 0 : static_cast<uint32_t>(length);
}

// Reads the whole table at `address` (header already read: `length` valid) into scratch and
// checks its checksum.
const char* read_whole(const PhysReader& mem, uint64_t address, uint32_t length, uint8_t* scratch) {
    if (!mem.read(mem.ctx, address, scratch, length))
        return "table body not readable";
    if (read_le(scratch + 4, 4) != length)
        return "table length changed while it was read";
    if (!checksum_ok(scratch, length))
        return "table checksum mismatch";
    return nullptr;
}

// The device scopes in [at, end) of a DMAR structure.
const char* parse_scopes(const uint8_t* p, uint32_t at, uint32_t end, DeviceScopes* out) {
    out->count = 0;
    out->dropped = 0;
    while (at < end) {
        if (end - at < 6)
            return "DMAR device scope header truncated";
        const uint8_t size = p[at + 1];
        if (size < 6 || size > end - at)
            return "DMAR device scope length outside its structure";
        if ((size - 6) % 2 != 0)
            return "DMAR device scope path is not whole (device, function) pairs";
        const uint32_t hops = (size - 6u) / 2;
        if (hops == 0)
            return "DMAR device scope has an empty path";
        if (hops > kMaxScopePath)
            return "DMAR device scope path longer than the kernel follows";
        DeviceScope s{};
        s.type = static_cast<ScopeType>(p[at]);
        s.enumeration_id = p[at + 4];
        s.start_bus = p[at + 5];
        s.path_length = static_cast<uint8_t>(hops);
        for (uint32_t i = 0; i < hops; ++i) {
            s.path[i] = {p[at + 6 + 2 * i], p[at + 7 + 2 * i]};
            if (s.path[i].device > 31 || s.path[i].function > 7)
                return "DMAR device scope path names an impossible device or function";
        }
        at += size;
        if (out->count == kMaxDeviceScopes) {
            ++out->dropped;
            continue;
        }
        out->entries[out->count++] = s;
    }
    return nullptr;
}

}  // namespace

const char* parse_rsdp(const uint8_t* bytes, size_t size, Rsdp* out) {
    if (bytes == nullptr || size < 20)
        return "RSDP truncated (fewer than 20 bytes)";
    if (!same(bytes, "RSD PTR ", 8))
        return "RSDP signature is not \"RSD PTR \"";
    if (!checksum_ok(bytes, 20))
        return "RSDP checksum mismatch";
    out->revision = bytes[15];
    for (uint32_t i = 0; i < 6; ++i) {
        const uint8_t c = bytes[9 + i];
        out->oem[i] = c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
    }
    out->oem[6] = '\0';
    out->root_address = read_le(bytes + 16, 4);
    out->root_is_xsdt = false;
    if (out->revision >= 2) {
        if (size < 36)
            return "RSDP revision 2 but fewer than 36 bytes";
        const uint64_t length = read_le(bytes + 20, 4);
        if (length < 36 || length > size)
            return "RSDP length out of range";
        if (!checksum_ok(bytes, static_cast<uint32_t>(length)))
            return "RSDP extended checksum mismatch";
        const uint64_t xsdt = read_le(bytes + 24, 8);
        if (xsdt != 0) {
            out->root_address = xsdt;
            out->root_is_xsdt = true;
        }
    }
    if (out->root_address == 0)
        return "RSDP names no root table";
    return nullptr;
}

const char* read_root(const PhysReader& mem, const Rsdp& rsdp, uint8_t* scratch, RootTable* out) {
    out->count = 0;
    out->skipped = 0;
    const uint32_t length = header_length(mem, rsdp.root_address, scratch);
    if (length == 0)
        return "root table header not readable or its length impossible";
    if (!same(scratch, rsdp.root_is_xsdt ? "XSDT" : "RSDT", 4))
        return rsdp.root_is_xsdt ? "root table signature is not XSDT"
                                 : "root table signature is not RSDT";
    if (const char* why = read_whole(mem, rsdp.root_address, length, scratch))
        return why;
    const uint32_t entry_size = rsdp.root_is_xsdt ? 8 : 4;
    const uint32_t entries = (length - kHeaderSize) / entry_size;
    uint8_t header[kHeaderSize];
    for (uint32_t i = 0; i < entries; ++i) {
        const uint64_t address = read_le(scratch + kHeaderSize + i * entry_size, entry_size);
        const uint32_t table_length =
            out->count == kMaxTables ? 0 : header_length(mem, address, header);
        if (table_length == 0) {
            ++out->skipped;
            continue;
        }
        TableRef& ref = out->tables[out->count++];
        for (uint32_t c = 0; c < 4; ++c) {
            const uint8_t ch = header[c];
            ref.signature[c] = ch >= 0x20 && ch < 0x7f ? static_cast<char>(ch) : '?';
        }
        ref.signature[4] = '\0';
        ref.address = address;
        ref.length = table_length;
    }
    return nullptr;
}

const char* read_table(const PhysReader& mem, const TableRef& ref, uint8_t* scratch,
                       uint32_t* length) {
    const uint32_t n = header_length(mem, ref.address, scratch);
    if (n == 0)
        return "table header not readable or its length impossible";
    if (n != ref.length || !same(scratch, ref.signature, 4))
        return "table header changed since the root table was read";
    if (const char* why = read_whole(mem, ref.address, n, scratch))
        return why;
    *length = n;
    return nullptr;
}

const TableRef* find(const RootTable& root, const char* signature) {
    for (uint32_t i = 0; i < root.count; ++i) {
        if (same(reinterpret_cast<const uint8_t*>(root.tables[i].signature), signature, 4))
            return &root.tables[i];
    }
    return nullptr;
}

const char* parse_madt(const uint8_t* table, uint32_t length, Madt* out) {
    constexpr uint32_t kFirstEntry = kHeaderSize + 8;
    if (table == nullptr || length < kFirstEntry || !same(table, "APIC", 4))
        return "MADT truncated or not an MADT";
    *out = Madt{};
    out->local_apic_address = read_le(table + 36, 4);
    out->pc_at_compatible = (read_le(table + 40, 4) & 1) != 0;
    for (uint32_t at = kFirstEntry; at < length;) {
        if (length - at < 2)
            return "MADT entry header truncated";
        const uint8_t type = table[at];
        const uint8_t size = table[at + 1];
        if (size < 2 || size > length - at)
            return "MADT entry length outside the table";
        const uint8_t* e = table + at;
        at += size;
        switch (type) {
            case 0:  // processor local APIC
                if (size < 8)
                    return "MADT local APIC entry too short";
                if (out->cpu_count == kMaxCpus) {
                    ++out->dropped;
                    break;
                }
                out->cpus[out->cpu_count++] = {e[2], e[3], (read_le(e + 4, 4) & 3) != 0};
                break;
            case 1:  // I/O APIC
                if (size < 12)
                    return "MADT I/O APIC entry too short";
                if (out->io_apic_count == kMaxIoApics) {
                    ++out->dropped;
                    break;
                }
                out->io_apics[out->io_apic_count++] = {e[2],
                                                       static_cast<uint32_t>(read_le(e + 4, 4)),
                                                       static_cast<uint32_t>(read_le(e + 8, 4))};
                break;
            case 2:  // interrupt source override
                if (size < 10)
                    return "MADT interrupt override entry too short";
                if (out->override_count == kMaxOverrides) {
                    ++out->dropped;
                    break;
                }
                out->overrides[out->override_count++] = {e[3],
                                                         static_cast<uint32_t>(read_le(e + 4, 4)),
                                                         static_cast<uint16_t>(read_le(e + 8, 2))};
                break;
            case 5:  // local APIC address override (64-bit)
                if (size < 12)
                    return "MADT local APIC address override too short";
                out->local_apic_address = read_le(e + 4, 8);
                break;
            default:  // NMI sources, x2APIC entries, ...: not used yet
                break;
        }
    }
    return nullptr;
}

const char* parse_mcfg(const uint8_t* table, uint32_t length, Mcfg* out) {
    constexpr uint32_t kFirstEntry = kHeaderSize + 8;
    constexpr uint32_t kEntrySize = 16;
    if (table == nullptr || length < kFirstEntry || !same(table, "MCFG", 4))
        return "MCFG truncated or not an MCFG";
    if ((length - kFirstEntry) % kEntrySize != 0)
        return "MCFG length is not a whole number of entries";
    *out = Mcfg{};
    for (uint32_t at = kFirstEntry; at < length; at += kEntrySize) {
        const uint8_t* e = table + at;
        const EcamWindow w{read_le(e, 8), static_cast<uint16_t>(read_le(e + 8, 2)), e[10], e[11]};
        if (w.start_bus > w.end_bus)
            return "MCFG entry's start bus is above its end bus";
        if ((w.base & ((1u << 20) - 1)) != 0)
            return "MCFG entry's base is not 1 MiB aligned";
        // Bus b is at base + (b << 20): the window ends (end + 1) MiB above base.
        const uint64_t span = (uint64_t{w.end_bus} + 1) << 20;
        if (w.base > ~0ull - span)
            return "MCFG entry's window wraps the address space";
        if (out->count == kMaxEcamWindows) {
            ++out->dropped;
            continue;
        }
        out->windows[out->count++] = w;
    }
    return nullptr;
}

const char* parse_dmar(const uint8_t* table, uint32_t length, Dmar* out) {
    constexpr uint32_t kFirstStructure = kHeaderSize + 12;
    constexpr uint32_t kDrhdSize = 16, kRmrrSize = 24;
    constexpr uint64_t kPageMask = 0xfff;
    if (table == nullptr || length < kFirstStructure || !same(table, "DMAR", 4))
        return "DMAR truncated or not a DMAR";
    *out = Dmar{};
    out->host_address_width = static_cast<uint8_t>(table[36] + 1u);
    if (table[36] >= 64)
        return "DMAR host address width above 64 bits";
    out->flags = table[37];
    for (uint32_t at = kFirstStructure; at < length;) {
        if (length - at < 4)
            return "DMAR structure header truncated";
        const uint64_t type = read_le(table + at, 2);
        const uint64_t size = read_le(table + at + 2, 2);
        if (size < 4 || size > length - at)
            return "DMAR structure length outside the table";
        const uint8_t* e = table + at;
        const uint32_t start = at, end = at + static_cast<uint32_t>(size);
        at = end;
        if (type == 0) {  // DRHD
            if (size < kDrhdSize)
                return "DMAR remapping unit (DRHD) too short";
            DmarUnit u{};
            u.flags = e[4];
            u.include_pci_all = (e[4] & kDmarIncludePciAll) != 0;
            u.segment = static_cast<uint16_t>(read_le(e + 6, 2));
            u.register_base = read_le(e + 8, 8);
            if (u.register_base == 0 || (u.register_base & kPageMask) != 0)
                return "DMAR remapping unit's register base is 0 or unaligned";
            if (const char* why = parse_scopes(table, start + kDrhdSize, end, &u.scopes))
                return why;
            if (out->unit_count == kMaxDmarUnits)
                ++out->dropped;
            else
                out->units[out->unit_count++] = u;
        } else if (type == 1) {  // RMRR
            if (size < kRmrrSize)
                return "DMAR reserved region (RMRR) too short";
            DmarReserved r{};
            r.segment = static_cast<uint16_t>(read_le(e + 6, 2));
            r.base = read_le(e + 8, 8);
            r.limit = read_le(e + 16, 8);
            if ((r.base & kPageMask) != 0 || (r.limit & kPageMask) != kPageMask ||
                r.base > r.limit) {
                return "DMAR reserved region is unaligned or its limit is below its base";
            }
            if (const char* why = parse_scopes(table, start + kRmrrSize, end, &r.scopes))
                return why;
            if (out->reserved_count == kMaxDmarReserved)
                ++out->dropped;
            else
                out->reserved[out->reserved_count++] = r;
        } else {  // ATSR, RHSA, ANDD, SATC, ...: not used
            ++out->skipped;
        }
    }
    return nullptr;
}

bool scope_names(const DeviceScope& scope, PciAddress f, const BridgeLookup& bridges) {
    if (scope.type != ScopeType::kPciEndpoint && scope.type != ScopeType::kPciSubHierarchy)
        return false;
    if (scope.path_length == 0 || scope.path_length > kMaxScopePath)
        return false;
    uint8_t bus = scope.start_bus;
    uint8_t secondary = 0, subordinate = 0;
    for (uint32_t h = 0; h + 1 < scope.path_length; ++h) {
        const PciAddress hop{bus, scope.path[h].device, scope.path[h].function};
        if (!bridges.bridge(bridges.ctx, hop, &secondary, &subordinate))
            return false;
        bus = secondary;
    }
    const ScopeHop& last = scope.path[scope.path_length - 1];
    if (f.bus == bus && f.device == last.device && f.function == last.function)
        return true;
    if (scope.type != ScopeType::kPciSubHierarchy)
        return false;
    const PciAddress bridge{bus, last.device, last.function};
    return bridges.bridge(bridges.ctx, bridge, &secondary, &subordinate) && f.bus >= secondary &&
           f.bus <= subordinate;
}

bool scopes_name(const DeviceScopes& scopes, PciAddress f, const BridgeLookup& bridges) {
    for (uint32_t i = 0; i < scopes.count && i < kMaxDeviceScopes; ++i) {
        if (scope_names(scopes.entries[i], f, bridges))
            return true;
    }
    return false;
}

}  // namespace keel::acpi
