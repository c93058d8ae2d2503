// Builds ACPI tables in a fake physical memory for the host tests and the fuzzer's seeds:
// byte-exact layouts as the ACPI specification gives them, checksums filled in.
#pragma once

#include <keel/acpi/acpi.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
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
