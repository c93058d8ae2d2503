// Builds ACPI tables in a fake physical memory for the host tests and the fuzzer's seeds:
// byte-exact layouts as the ACPI specification gives them, checksums filled in.
#pragma once

#include <keel/acpi/acpi.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace keel::acpi::test {

using Bytes = std::vector<uint8_t>;

inline void put(Bytes& b, size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
        b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void append(Bytes& b, uint64_t v, int n) {
    b.resize(b.size() + n);
    put(b, b.size() - n, v, n);
}
inline void fix_checksum(Bytes& b, size_t checksum_at, size_t length) {
    b[checksum_at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = static_cast<uint8_t>(sum + b[i]);
    b[checksum_at] = static_cast<uint8_t>(-sum);
}

// A table: header (signature, length, checksum) around `body`.
inline Bytes table(const char* signature, const Bytes& body) {
    Bytes t(kHeaderSize, 0);
    std::memcpy(t.data(), signature, 4);
    std::memcpy(t.data() + 10, "KEELTS", 6);
    t.insert(t.end(), body.begin(), body.end());
    put(t, 4, t.size(), 4);
    fix_checksum(t, 9, t.size());
    return t;
}

inline Bytes rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt) {
    Bytes r(revision >= 2 ? 36 : 20, 0);
    std::memcpy(r.data(), "RSD PTR ", 8);
    std::memcpy(r.data() + 9, "KEELOE", 6);
    r[15] = revision;
    put(r, 16, rsdt, 4);
    fix_checksum(r, 8, 20);
    if (revision >= 2) {
        put(r, 20, 36, 4);
        put(r, 24, xsdt, 8);
        fix_checksum(r, 32, 36);
    }
    return r;
}

inline Bytes root(bool xsdt, const std::vector<uint64_t>& addresses) {
    Bytes body;
    for (uint64_t a : addresses)
        append(body, a, xsdt ? 8 : 4);
    return table(xsdt ? "XSDT" : "RSDT", body);
}

// QEMU's q35 shapes: one CPU, one I/O APIC at 0xfec00000, IRQ0 -> GSI 2 and the SCI override.
inline Bytes madt(uint32_t cpus = 1) {
    Bytes body;
    append(body, 0xfee00000, 4);
    append(body, 1, 4);  // PC-AT compatible
    for (uint32_t i = 0; i < cpus; ++i) {
        append(body, 0, 1), append(body, 8, 1), append(body, i, 1), append(body, i, 1);
        append(body, 1, 4);
    }
    append(body, 1, 1), append(body, 12, 1), append(body, 0, 1), append(body, 0, 1);
    append(body, 0xfec00000, 4), append(body, 0, 4);
    append(body, 2, 1), append(body, 10, 1), append(body, 0, 1), append(body, 0, 1);
    append(body, 2, 4), append(body, 0, 2);
    append(body, 2, 1), append(body, 10, 1), append(body, 0, 1), append(body, 9, 1);
    append(body, 9, 4), append(body, 0xd, 2);
    return table("APIC", body);
}

inline Bytes mcfg(uint64_t base = 0xb0000000, uint8_t start = 0, uint8_t end = 255) {
    Bytes body(8, 0);
    append(body, base, 8), append(body, 0, 2), append(body, start, 1), append(body, end, 1);
    append(body, 0, 4);
    return table("MCFG", body);
}

// DMAR pieces (VT-d specification 8.3-8.4). A device scope: type, start bus, path of
// (device, function) hops.
inline Bytes dmar_scope(uint8_t type, uint8_t id, uint8_t bus,
                        const std::vector<std::pair<uint8_t, uint8_t>>& path) {
    Bytes s;
    append(s, type, 1), append(s, 6 + 2 * path.size(), 1), append(s, 0, 2);
    append(s, id, 1), append(s, bus, 1);
    for (auto [d, f] : path)
        append(s, d, 1), append(s, f, 1);
    return s;
}
inline Bytes dmar_drhd(uint64_t base, uint8_t flags, const Bytes& scopes, uint16_t segment = 0) {
    Bytes d;
    append(d, 0, 2), append(d, 16 + scopes.size(), 2), append(d, flags, 1), append(d, 0, 1);
    append(d, segment, 2), append(d, base, 8);
    d.insert(d.end(), scopes.begin(), scopes.end());
    return d;
}
inline Bytes dmar_rmrr(uint64_t base, uint64_t limit, const Bytes& scopes) {
    Bytes r;
    append(r, 1, 2), append(r, 24 + scopes.size(), 2), append(r, 0, 2), append(r, 0, 2);
    append(r, base, 8), append(r, limit, 8);
    r.insert(r.end(), scopes.begin(), scopes.end());
    return r;
}
// A DMAR around `structures`; by default QEMU 7.2's q35 with intel-iommu: host address width
// 39, interrupt remapping and x2APIC opt-out flags, one unit at 0xfed90000 without
// INCLUDE_PCI_ALL (QEMU lists the root bus's devices instead, so that a bus can bypass the
// IOMMU), its scopes the I/O APIC (id 0, pseudo bus 0xff, 0.0) and each device on bus 0.
inline Bytes dmar_structures_qemu() {
    Bytes scopes = dmar_scope(3, 0, 0xff, {{0, 0}});
    for (auto [d, f] : std::vector<std::pair<uint8_t, uint8_t>>{
             {0, 0}, {1, 0}, {2, 0}, {3, 0}, {31, 0}, {31, 2}, {31, 3}}) {
        const Bytes s = dmar_scope(1, 0, 0, {{d, f}});
        scopes.insert(scopes.end(), s.begin(), s.end());
    }
    return dmar_drhd(0xfed90000, 0, scopes);
}
inline Bytes dmar(const Bytes& structures = dmar_structures_qemu(), uint8_t width = 39,
                  uint8_t flags = 3) {
    Bytes body;
    append(body, width - 1, 1), append(body, flags, 1);
    body.resize(body.size() + 10, 0);
    body.insert(body.end(), structures.begin(), structures.end());
    return table("DMAR", body);
}

// Physical memory made of regions; reads outside every region fail.
struct Memory {
    std::map<uint64_t, Bytes> regions;

    static bool read(void* ctx, uint64_t phys, void* out, uint64_t size) {
        const auto& self = *static_cast<const Memory*>(ctx);
        for (const auto& [base, bytes] : self.regions) {
            if (phys >= base && phys - base <= bytes.size() &&
                size <= bytes.size() - (phys - base)) {
                std::memcpy(out, bytes.data() + (phys - base), size);
                return true;
            }
        }
        return false;
    }
    PhysReader reader() { return {&Memory::read, this}; }
};

}  // namespace keel::acpi::test
