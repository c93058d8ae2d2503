// ACPI fuzz target (lib/acpi): firmware tables from hostile bytes. Whatever is accepted must
// satisfy what the kernel relies on (lengths and counts in range, windows aligned and ordered);
// whatever is refused has a reason; nothing is read outside the memory given (ASan).
// Input: [mode][payload...]
//   mode & 3 == 0: payload = [36-byte RSDP][physical memory image at 0x1000]; the whole chain
//     (RSDP, root table, every listed table, MADT and MCFG) as the kernel walks it. With
//     mode & 4 the harness first fixes the RSDP checksums and every table checksum at a
//     16-byte boundary of the image, so mutations get past the checksums to the parsers.
//   mode & 3 == 1 / 2 / 3: payload = one table, straight into parse_madt / parse_mcfg /
//     parse_dmar.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/acpi/acpi.hpp>

namespace {

namespace acpi = keel::acpi;
constexpr uint64_t kImageBase = 0x1000;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "acpi oracle: %s\n", what);
    std::abort();
}

struct Image {
    std::vector<uint8_t> bytes;
    static bool read(void* ctx, uint64_t phys, void* out, uint64_t size) {
        const auto& b = static_cast<const Image*>(ctx)->bytes;
        if (phys < kImageBase || phys - kImageBase > b.size() ||
            size > b.size() - (phys - kImageBase))
            return false;
        std::memcpy(out, b.data() + (phys - kImageBase), size);
        return true;
    }
};

void fix(uint8_t* p, size_t checksum_at, size_t n) {
    p[checksum_at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i)
        sum = static_cast<uint8_t>(sum + p[i]);
    p[checksum_at] = static_cast<uint8_t>(-sum);
}

void check_madt(const uint8_t* t, uint32_t n) {
    static acpi::Madt m;
    if (acpi::parse_madt(t, n, &m) != nullptr)
        return;
    if (m.cpu_count > acpi::kMaxCpus || m.io_apic_count > acpi::kMaxIoApics ||
        m.override_count > acpi::kMaxOverrides) {
        fail("MADT counts beyond the arrays");
    }
    // Each entry takes at least 2 bytes of the table after its 44-byte header.
    if (m.cpu_count + m.io_apic_count + m.override_count + m.dropped > (n - 44) / 2)
        fail("MADT reports more entries than the table can hold");
}

void check_mcfg(const uint8_t* t, uint32_t n) {
    acpi::Mcfg m;
    if (acpi::parse_mcfg(t, n, &m) != nullptr)
        return;
    if (m.count > acpi::kMaxEcamWindows || (m.count + m.dropped) * 16 != n - 44)
        fail("MCFG entry count differs from its length");
    for (uint32_t i = 0; i < m.count; ++i) {
        const acpi::EcamWindow& w = m.windows[i];
        if (w.start_bus > w.end_bus || (w.base & 0xfffff) != 0 ||
            w.base > ~0ull - ((uint64_t{w.end_bus} + 1) << 20)) {
            fail("accepted an ECAM window that is disordered, misaligned or wrapping");
        }
    }
}

// A made-up bus: even device numbers are bridges to the next buses.
bool fake_bridge(void*, acpi::PciAddress at, uint8_t* secondary, uint8_t* subordinate) {
    if (at.device % 2 != 0)
        return false;
    *secondary = static_cast<uint8_t>(at.bus + 1);
    *subordinate = static_cast<uint8_t>(at.bus + 1 + at.function);
    return true;
}

void check_scopes(const acpi::DeviceScopes& s, uint32_t room) {
    if (s.count > acpi::kMaxDeviceScopes)
        fail("DMAR scope count beyond its array");
    // Each scope takes at least 8 bytes (6-byte header, one hop).
    if ((s.count + s.dropped) * 8 > room)
        fail("DMAR reports more device scopes than the structure can hold");
    const acpi::BridgeLookup bridges{&fake_bridge, nullptr};
    for (uint32_t i = 0; i < s.count; ++i) {
        const acpi::DeviceScope& d = s.entries[i];
        const acpi::ScopeHop& last = d.path[d.path_length > 0 ? d.path_length - 1 : 0];
        const bool pci =
            d.type == acpi::ScopeType::kPciEndpoint || d.type == acpi::ScopeType::kPciSubHierarchy;
        if (d.path_length == 1 &&
            acpi::scope_names(d, {d.start_bus, last.device, last.function}, bridges) != pci) {
            fail("DMAR scope of one hop does not name exactly its own PCI function");
        }
        if (d.path_length == 0 || d.path_length > acpi::kMaxScopePath)
            fail("DMAR accepted a scope path that is empty or too long");
        for (uint32_t h = 0; h < d.path_length; ++h) {
            if (d.path[h].device > 31 || d.path[h].function > 7)
                fail("DMAR accepted an impossible device or function");
        }
    }
}

void check_dmar(const uint8_t* t, uint32_t n) {
    static acpi::Dmar d;
    if (acpi::parse_dmar(t, n, &d) != nullptr)
        return;
    if (d.unit_count > acpi::kMaxDmarUnits || d.reserved_count > acpi::kMaxDmarReserved)
        fail("DMAR counts beyond the arrays");
    // A unit takes at least 16 bytes, a region 24, any other structure 4, after 48 bytes.
    if (uint64_t{d.unit_count} * 16 + uint64_t{d.reserved_count} * 24 + uint64_t{d.skipped} * 4 >
        n - 48) {
        fail("DMAR reports more structures than the table can hold");
    }
    if (d.host_address_width == 0 || d.host_address_width > 64)
        fail("DMAR host address width out of range");
    for (uint32_t i = 0; i < d.unit_count; ++i) {
        const acpi::DmarUnit& u = d.units[i];
        if (u.register_base == 0 || (u.register_base & 0xfff) != 0)
            fail("DMAR accepted a register base that is 0 or unaligned");
        check_scopes(u.scopes, n - 48 - 16);
    }
    for (uint32_t i = 0; i < d.reserved_count; ++i) {
        const acpi::DmarReserved& r = d.reserved[i];
        if ((r.base & 0xfff) != 0 || (r.limit & 0xfff) != 0xfff || r.base > r.limit)
            fail("DMAR accepted a reserved region unaligned or upside down");
        check_scopes(r.scopes, n - 48 - 24);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    std::vector<uint8_t> payload(data + 1, data + size);  // exact size: ASan sees overruns
    const uint32_t n = static_cast<uint32_t>(payload.size());
    if ((mode & 3) == 1) {
        check_madt(payload.empty() ? nullptr : payload.data(), n);
        return 0;
    }
    if ((mode & 3) == 2) {
        check_mcfg(payload.empty() ? nullptr : payload.data(), n);
        return 0;
    }
    if ((mode & 3) == 3) {
        check_dmar(payload.empty() ? nullptr : payload.data(), n);
        return 0;
    }
    if (payload.size() < 36)
        return 0;
    std::vector<uint8_t> rsdp(payload.begin(), payload.begin() + 36);
    Image image{std::vector<uint8_t>(payload.begin() + 36, payload.end())};
    if ((mode & 4) != 0) {
        fix(rsdp.data(), 8, 20);
        fix(rsdp.data(), 32, 36);
        auto& b = image.bytes;
        for (size_t at = 0; at + acpi::kHeaderSize <= b.size(); at += 16) {
            const uint32_t length = b[at + 4] | b[at + 5] << 8 | b[at + 6] << 16 |
                                    static_cast<uint32_t>(b[at + 7]) << 24;
            if (length >= acpi::kHeaderSize && length <= b.size() - at)
                fix(b.data() + at, 9, length);
        }
    }
    acpi::Rsdp parsed;
    if (const char* why = acpi::parse_rsdp(rsdp.data(), rsdp.size(), &parsed)) {
        if (why[0] == '\0')
            fail("refused without a reason");
        return 0;
    }
    static std::vector<uint8_t> scratch(acpi::kMaxTableSize);
    static acpi::RootTable root;
    const acpi::PhysReader mem{&Image::read, &image};
    if (acpi::read_root(mem, parsed, scratch.data(), &root) != nullptr)
        return 0;
    if (root.count > acpi::kMaxTables)
        fail("root table count beyond its array");
    for (uint32_t i = 0; i < root.count; ++i) {
        const acpi::TableRef& ref = root.tables[i];
        if (ref.length < acpi::kHeaderSize || ref.length > acpi::kMaxTableSize)
            fail("listed a table with an impossible length");
        uint32_t length = 0;
        if (acpi::read_table(mem, ref, scratch.data(), &length) != nullptr)
            continue;
        if (length != ref.length)
            fail("read a table of another length than listed");
        if (std::memcmp(ref.signature, "APIC", 4) == 0)
            check_madt(scratch.data(), length);
        if (std::memcmp(ref.signature, "MCFG", 4) == 0)
            check_mcfg(scratch.data(), length);
        if (std::memcmp(ref.signature, "DMAR", 4) == 0)
            check_dmar(scratch.data(), length);
    }
    return 0;
}
