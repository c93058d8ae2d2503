// lib/acpi on the host: well-formed tables as QEMU lays them out, then every corruption a
// firmware (or an attacker with a crafted boot image) could present: each must be refused with
// a reason or skipped, never read out of bounds (ASan) or trusted.
#include <gtest/gtest.h>

#include <string>

#include "acpi_builder.hpp"

namespace keel::acpi {
namespace {

using test::Bytes;
using test::Memory;

struct Firmware {
    Memory mem;
    Bytes rsdp;
    Bytes scratch = Bytes(kMaxTableSize);
    Rsdp parsed{};
    RootTable root{};

    // RSDT at 0x1000 (or XSDT at 0x2000), MADT at 0x3000, MCFG at 0x4000.
    explicit Firmware(bool xsdt = true) {
        mem.regions[0x3000] = test::madt(2);
        mem.regions[0x4000] = test::mcfg();
        mem.regions[0x1000] = test::root(false, {0x3000, 0x4000});
        mem.regions[0x2000] = test::root(true, {0x3000, 0x4000});
        rsdp = xsdt ? test::rsdp(2, 0x1000, 0x2000) : test::rsdp(0, 0x1000, 0);
    }
    const char* parse() {
        if (const char* why = parse_rsdp(rsdp.data(), rsdp.size(), &parsed))
            return why;
        return read_root(mem.reader(), parsed, scratch.data(), &root);
    }
};

TEST(Acpi, XsdtAndRsdtListTheTables) {
    for (bool xsdt : {true, false}) {
        Firmware f(xsdt);
        ASSERT_EQ(f.parse(), nullptr);
        EXPECT_EQ(f.parsed.root_is_xsdt, xsdt);
        EXPECT_EQ(f.parsed.root_address, xsdt ? 0x2000u : 0x1000u);
        EXPECT_STREQ(f.parsed.oem, "KEELOE");
        ASSERT_EQ(f.root.count, 2u);
        EXPECT_EQ(f.root.skipped, 0u);
        EXPECT_STREQ(f.root.tables[0].signature, "APIC");
        EXPECT_STREQ(f.root.tables[1].signature, "MCFG");
        EXPECT_EQ(find(f.root, "MCFG"), &f.root.tables[1]);
        EXPECT_EQ(find(f.root, "HPET"), nullptr);
    }
}

TEST(Acpi, MadtAndMcfgAsQemuGivesThem) {
    Firmware f;
    ASSERT_EQ(f.parse(), nullptr);
    uint32_t length = 0;
    ASSERT_EQ(read_table(f.mem.reader(), *find(f.root, "APIC"), f.scratch.data(), &length),
              nullptr);
    Madt madt;
    ASSERT_EQ(parse_madt(f.scratch.data(), length, &madt), nullptr);
    EXPECT_EQ(madt.local_apic_address, 0xfee00000u);
    EXPECT_TRUE(madt.pc_at_compatible);
    ASSERT_EQ(madt.cpu_count, 2u);
    EXPECT_EQ(madt.cpus[1].apic_id, 1);
    ASSERT_EQ(madt.io_apic_count, 1u);
    EXPECT_EQ(madt.io_apics[0].address, 0xfec00000u);
    ASSERT_EQ(madt.override_count, 2u);
    EXPECT_EQ(madt.overrides[0].source, 0);
    EXPECT_EQ(madt.overrides[0].gsi, 2u);
    EXPECT_EQ(madt.overrides[1].gsi, 9u);
    EXPECT_EQ(madt.overrides[1].flags, 0xd);
    ASSERT_EQ(read_table(f.mem.reader(), *find(f.root, "MCFG"), f.scratch.data(), &length),
              nullptr);
    Mcfg mcfg;
    ASSERT_EQ(parse_mcfg(f.scratch.data(), length, &mcfg), nullptr);
    ASSERT_EQ(mcfg.count, 1u);
    EXPECT_EQ(mcfg.windows[0].base, 0xb0000000u);
    EXPECT_EQ(mcfg.windows[0].end_bus, 255);
}

TEST(Acpi, CorruptRsdpIsRefused) {
    Firmware f;
    Bytes r = f.rsdp;
    Rsdp out;
    EXPECT_NE(parse_rsdp(r.data(), 19, &out), nullptr);  // truncated
    EXPECT_NE(parse_rsdp(nullptr, 36, &out), nullptr);
    r[0] = 'X';
    EXPECT_STREQ(parse_rsdp(r.data(), r.size(), &out), "RSDP signature is not \"RSD PTR \"");
    r = f.rsdp;
    r[16] ^= 1;  // RSDT address: the 20-byte checksum no longer holds
    EXPECT_STREQ(parse_rsdp(r.data(), r.size(), &out), "RSDP checksum mismatch");
    r = f.rsdp;
    r[24] ^= 1;  // XSDT address: only the extended checksum covers it
    EXPECT_STREQ(parse_rsdp(r.data(), r.size(), &out), "RSDP extended checksum mismatch");
    r = f.rsdp;
    EXPECT_NE(parse_rsdp(r.data(), 30, &out), nullptr);  // revision 2, cut short
    test::put(r, 20, 1000, 4);                           // length beyond the copy
    test::fix_checksum(r, 32, 36);
    EXPECT_STREQ(parse_rsdp(r.data(), r.size(), &out), "RSDP length out of range");
    r = test::rsdp(0, 0, 0);
    EXPECT_STREQ(parse_rsdp(r.data(), r.size(), &out), "RSDP names no root table");
}

TEST(Acpi, CorruptRootTableIsRefused) {
    {
        Firmware f;
        f.mem.regions[0x2000][40] ^= 0x10;  // an entry, checksum now wrong
        EXPECT_STREQ(f.parse(), "table checksum mismatch");
    }
    {
        Firmware f;
        f.mem.regions[0x2000][0] = 'R';  // an RSDT where the XSDT should be
        EXPECT_STREQ(f.parse(), "root table signature is not XSDT");
    }
    {
        Firmware f;
        f.mem.regions.erase(0x2000);
        EXPECT_NE(f.parse(), nullptr);
    }
    {
        Firmware f;  // a length that runs past readable memory
        Bytes& x = f.mem.regions[0x2000];
        test::put(x, 4, x.size() + 100, 4);
        EXPECT_STREQ(f.parse(), "table body not readable");
        test::put(x, 4, kMaxTableSize + 1, 4);
        EXPECT_NE(f.parse(), nullptr);
        test::put(x, 4, 10, 4);  // shorter than a header
        EXPECT_NE(f.parse(), nullptr);
    }
}

TEST(Acpi, UnreadableOrImpossibleEntriesAreSkipped) {
    Firmware f;
    f.mem.regions[0x2000] = test::root(true, {0x3000, 0xdead0000, 0x4000, ~0ull - 3});
    Bytes bad_length = test::mcfg();
    test::put(bad_length, 4, 4, 4);
    f.mem.regions[0x5000] = bad_length;
    f.mem.regions[0x2000] = test::root(true, {0x3000, 0xdead0000, 0x4000, ~0ull - 3, 0x5000});
    f.rsdp = test::rsdp(2, 0x1000, 0x2000);
    ASSERT_EQ(f.parse(), nullptr);
    EXPECT_EQ(f.root.count, 2u);
    EXPECT_EQ(f.root.skipped, 3u);
}

TEST(Acpi, TablesChangedOrCorruptedAfterListingAreRefused) {
    Firmware f;
    ASSERT_EQ(f.parse(), nullptr);
    uint32_t length = 0;
    f.mem.regions[0x3000][50] ^= 1;
    EXPECT_STREQ(read_table(f.mem.reader(), f.root.tables[0], f.scratch.data(), &length),
                 "table checksum mismatch");
    f.mem.regions[0x3000] = test::mcfg();  // another table now sits there
    EXPECT_STREQ(read_table(f.mem.reader(), f.root.tables[0], f.scratch.data(), &length),
                 "table header changed since the root table was read");
}

Bytes madt_with(const Bytes& entries) {
    Bytes body;
    test::append(body, 0xfee00000, 4);
    test::append(body, 0, 4);
    body.insert(body.end(), entries.begin(), entries.end());
    return test::table("APIC", body);
}

TEST(Acpi, MadtEntriesAreBoundsChecked) {
    Madt m;
    const auto parse = [&m](const Bytes& t) {
        return parse_madt(t.data(), static_cast<uint32_t>(t.size()), &m);
    };
    EXPECT_STREQ(parse(madt_with({0, 0})), "MADT entry length outside the table");  // length 0
    EXPECT_STREQ(parse(madt_with({0, 1})), "MADT entry length outside the table");  // length 1
    EXPECT_STREQ(parse(madt_with({1, 12, 0})), "MADT entry length outside the table");
    EXPECT_STREQ(parse(madt_with({0})), "MADT entry header truncated");
    EXPECT_STREQ(parse(madt_with({1, 4, 0, 0})), "MADT I/O APIC entry too short");
    EXPECT_STREQ(parse(madt_with({0, 2})), "MADT local APIC entry too short");
    EXPECT_STREQ(parse(madt_with({2, 9, 0, 0, 0, 0, 0, 0, 0})),
                 "MADT interrupt override entry too short");
    // Unknown types are skipped whole; a 64-bit local APIC address overrides the 32-bit one.
    ASSERT_EQ(parse(madt_with({0x7f, 3, 0, 5, 12, 0, 0, 0x11, 0x22, 0, 0, 0, 0, 0, 0})), nullptr);
    EXPECT_EQ(m.local_apic_address, 0x2211u);
    EXPECT_NE(parse_madt(nullptr, 100, &m), nullptr);
    Bytes not_madt = test::mcfg();
    EXPECT_NE(parse(not_madt), nullptr);
}

TEST(Acpi, MadtKeepsWhatFitsAndCountsTheRest) {
    Madt m;
    const Bytes t = test::madt(kMaxCpus + 5);
    ASSERT_EQ(parse_madt(t.data(), static_cast<uint32_t>(t.size()), &m), nullptr);
    EXPECT_EQ(m.cpu_count, kMaxCpus);
    EXPECT_EQ(m.dropped, 5u);
}

TEST(Acpi, McfgEntriesAreValidated) {
    Mcfg m;
    const auto parse = [&m](const Bytes& t) {
        return parse_mcfg(t.data(), static_cast<uint32_t>(t.size()), &m);
    };
    EXPECT_STREQ(parse(test::mcfg(0xb0000000, 5, 4)),
                 "MCFG entry's start bus is above its end bus");
    EXPECT_STREQ(parse(test::mcfg(0xb0000800)), "MCFG entry's base is not 1 MiB aligned");
    EXPECT_STREQ(parse(test::mcfg(0xfffffffff0000000ull)),
                 "MCFG entry's window wraps the address space");
    EXPECT_EQ(parse(test::mcfg(0xfffffffff0000000ull, 0, 254)), nullptr);  // ends at 2^64 - 1 MiB
    Bytes partial = test::mcfg();
    partial.resize(partial.size() - 1);
    test::put(partial, 4, partial.size(), 4);
    EXPECT_STREQ(parse(partial), "MCFG length is not a whole number of entries");
    ASSERT_EQ(parse(test::mcfg(0xe0000000, 0, 31)), nullptr);
    EXPECT_EQ(m.windows[0].end_bus, 31);
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const Bytes& p : parts)
        all.insert(all.end(), p.begin(), p.end());
    return all;
}

const char* parse_dmar_bytes(const Bytes& t, Dmar* d) {
    return parse_dmar(t.data(), static_cast<uint32_t>(t.size()), d);
}

TEST(Acpi, DmarAsQemuGivesIt) {
    Firmware f;
    f.mem.regions[0x5000] = test::dmar();
    f.mem.regions[0x2000] = test::root(true, {0x3000, 0x4000, 0x5000});
    ASSERT_EQ(f.parse(), nullptr);
    uint32_t length = 0;
    const TableRef* ref = find(f.root, "DMAR");
    ASSERT_NE(ref, nullptr);
    ASSERT_EQ(read_table(f.mem.reader(), *ref, f.scratch.data(), &length), nullptr);
    static Dmar d;
    ASSERT_EQ(parse_dmar(f.scratch.data(), length, &d), nullptr);
    EXPECT_EQ(d.host_address_width, 39);
    EXPECT_EQ(d.flags, kDmarIntrRemap | kDmarX2apicOptOut);
    ASSERT_EQ(d.unit_count, 1u);
    EXPECT_EQ(d.reserved_count, 0u);
    EXPECT_EQ(d.dropped + d.skipped, 0u);
    const DmarUnit& u = d.units[0];
    EXPECT_EQ(u.register_base, 0xfed90000u);
    EXPECT_FALSE(u.include_pci_all);
    EXPECT_EQ(u.segment, 0);
    ASSERT_EQ(u.scopes.count, 8u);
    EXPECT_EQ(u.scopes.entries[0].type, ScopeType::kIoApic);
    EXPECT_EQ(u.scopes.entries[0].start_bus, 0xff);
    EXPECT_EQ(u.scopes.entries[0].path_length, 1);
    EXPECT_EQ(u.scopes.entries[4].type, ScopeType::kPciEndpoint);
    EXPECT_EQ(u.scopes.entries[4].path[0].device, 3);
    EXPECT_EQ(u.scopes.entries[7].path[0].function, 3);
}

TEST(Acpi, DmarUnitsRegionsAndScopesAsRealFirmwareHasThem) {
    // A graphics unit listing one endpoint, then the catch-all unit; an RMRR for a USB
    // controller behind a bridge (two hops); an ATSR (type 2) that is skipped.
    const Bytes atsr = {2, 0, 8, 0, 0, 0, 0, 0};
    const Bytes t = test::dmar(
        cat({test::dmar_drhd(0xfed90000, 0, test::dmar_scope(1, 0, 0, {{2, 0}})),
             test::dmar_drhd(0xfed91000, 1,
                             cat({test::dmar_scope(3, 2, 0xf0, {{31, 0}}),
                                  test::dmar_scope(4, 0, 0, {{31, 7}})})),
             test::dmar_rmrr(0x7d000000, 0x7d01ffff, test::dmar_scope(1, 0, 0, {{28, 0}, {0, 1}})),
             atsr}),
        46, 1);
    static Dmar d;
    ASSERT_EQ(parse_dmar_bytes(t, &d), nullptr);
    EXPECT_EQ(d.host_address_width, 46);
    ASSERT_EQ(d.unit_count, 2u);
    EXPECT_FALSE(d.units[0].include_pci_all);
    ASSERT_EQ(d.units[0].scopes.count, 1u);
    EXPECT_EQ(d.units[0].scopes.entries[0].type, ScopeType::kPciEndpoint);
    EXPECT_EQ(d.units[0].scopes.entries[0].path[0].device, 2);
    EXPECT_TRUE(d.units[1].include_pci_all);
    EXPECT_EQ(d.units[1].register_base, 0xfed91000u);
    EXPECT_EQ(d.units[1].scopes.count, 2u);
    EXPECT_EQ(d.units[1].scopes.entries[1].type, ScopeType::kHpet);
    EXPECT_EQ(d.units[1].scopes.entries[1].path[0].function, 7);
    ASSERT_EQ(d.reserved_count, 1u);
    EXPECT_EQ(d.reserved[0].base, 0x7d000000u);
    EXPECT_EQ(d.reserved[0].limit, 0x7d01ffffu);
    ASSERT_EQ(d.reserved[0].scopes.count, 1u);
    EXPECT_EQ(d.reserved[0].scopes.entries[0].path_length, 2);
    EXPECT_EQ(d.reserved[0].scopes.entries[0].path[1].function, 1);
    EXPECT_EQ(d.skipped, 1u);
}

TEST(Acpi, DmarKeepsWhatFitsAndCountsTheRest) {
    Bytes units, scopes;
    for (uint32_t i = 0; i < kMaxDmarUnits + 2; ++i)
        units = cat({units, test::dmar_drhd(0x100000 + i * 0x1000, 0, {})});
    for (uint32_t i = 0; i < kMaxDeviceScopes + 3; ++i)
        scopes = cat(
            {scopes, test::dmar_scope(
                         1, 0, 0, {{static_cast<uint8_t>(i % 32), static_cast<uint8_t>(i / 32)}})});
    static Dmar d;
    ASSERT_EQ(parse_dmar_bytes(test::dmar(units), &d), nullptr);
    EXPECT_EQ(d.unit_count, kMaxDmarUnits);
    EXPECT_EQ(d.dropped, 2u);
    ASSERT_EQ(parse_dmar_bytes(test::dmar(test::dmar_drhd(0x1000, 1, scopes)), &d), nullptr);
    EXPECT_EQ(d.units[0].scopes.count, kMaxDeviceScopes);
    EXPECT_EQ(d.units[0].scopes.dropped, 3u);
}

TEST(Acpi, CorruptDmarIsRefused) {
    static Dmar d;
    const auto parse = [](const Bytes& t) { return parse_dmar_bytes(t, &d); };
    EXPECT_NE(parse_dmar(nullptr, 100, &d), nullptr);
    EXPECT_STREQ(parse(test::mcfg()), "DMAR truncated or not a DMAR");
    Bytes short_header = test::dmar({});
    short_header.resize(40);
    EXPECT_STREQ(parse(short_header), "DMAR truncated or not a DMAR");
    EXPECT_STREQ(parse(test::dmar({}, 65)), "DMAR host address width above 64 bits");
    EXPECT_EQ(parse(test::dmar({})), nullptr);  // no structures at all
    EXPECT_STREQ(parse(test::dmar({0, 0})), "DMAR structure header truncated");
    EXPECT_STREQ(parse(test::dmar({0, 0, 3, 0})), "DMAR structure length outside the table");
    EXPECT_STREQ(parse(test::dmar({0, 0, 20, 0, 0, 0})), "DMAR structure length outside the table");
    EXPECT_STREQ(parse(test::dmar({0, 0, 8, 0, 1, 0, 0, 0})),
                 "DMAR remapping unit (DRHD) too short");
    EXPECT_STREQ(parse(test::dmar({1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
                 "DMAR reserved region (RMRR) too short");
    for (uint64_t base : {0ull, 0xfed90800ull, ~0ull}) {
        EXPECT_STREQ(parse(test::dmar(test::dmar_drhd(base, 1, {}))),
                     "DMAR remapping unit's register base is 0 or unaligned");
    }
    const char* bad_region = "DMAR reserved region is unaligned or its limit is below its base";
    EXPECT_STREQ(parse(test::dmar(test::dmar_rmrr(0x1800, 0x1fff, {}))), bad_region);
    EXPECT_STREQ(parse(test::dmar(test::dmar_rmrr(0x1000, 0x1ffe, {}))), bad_region);
    EXPECT_STREQ(parse(test::dmar(test::dmar_rmrr(0x3000, 0x1fff, {}))), bad_region);
    EXPECT_EQ(parse(test::dmar(test::dmar_rmrr(0x1000, 0x1fff, {}))), nullptr);
    // Device scopes: truncated, a length past the structure, half a hop, no hop, too many hops,
    // impossible device or function numbers.
    const auto with_scope = [&](const Bytes& scope) {
        return parse(test::dmar(test::dmar_drhd(0xfed90000, 0, scope)));
    };
    EXPECT_STREQ(with_scope({1, 8, 0, 0}), "DMAR device scope header truncated");
    EXPECT_STREQ(with_scope({1, 10, 0, 0, 0, 0, 2, 0}),
                 "DMAR device scope length outside its structure");
    EXPECT_STREQ(with_scope({1, 5, 0, 0, 0, 0}), "DMAR device scope length outside its structure");
    EXPECT_STREQ(with_scope({1, 7, 0, 0, 0, 0, 2}),
                 "DMAR device scope path is not whole (device, function) pairs");
    EXPECT_STREQ(with_scope({1, 6, 0, 0, 0, 0}), "DMAR device scope has an empty path");
    EXPECT_STREQ(with_scope(test::dmar_scope(1, 0, 0, {{1, 0}, {1, 0}, {1, 0}, {1, 0}, {1, 0}})),
                 "DMAR device scope path longer than the kernel follows");
    EXPECT_STREQ(with_scope(test::dmar_scope(1, 0, 0, {{32, 0}})),
                 "DMAR device scope path names an impossible device or function");
    EXPECT_STREQ(with_scope(test::dmar_scope(1, 0, 0, {{3, 8}})),
                 "DMAR device scope path names an impossible device or function");
    EXPECT_STREQ(parse(test::dmar(test::dmar_rmrr(0x1000, 0x1fff, {2, 9, 0, 0, 0, 0, 0, 0}))),
                 "DMAR device scope length outside its structure");
}

// A machine: bridge 00:1c.0 -> buses 2-4, bridge 02:00.0 on it -> bus 3; 00:1f.0 is not a
// bridge.
bool test_bridge(void*, PciAddress at, uint8_t* secondary, uint8_t* subordinate) {
    if (at.bus == 0 && at.device == 0x1c && at.function == 0) {
        *secondary = 2, *subordinate = 4;
        return true;
    }
    if (at.bus == 2 && at.device == 0 && at.function == 0) {
        *secondary = 3, *subordinate = 3;
        return true;
    }
    return false;
}

TEST(Acpi, DmarScopesNameFunctionsThroughBridges) {
    const BridgeLookup bridges{&test_bridge, nullptr};
    const auto scope = [](uint8_t type, uint8_t bus,
                          std::vector<std::pair<uint8_t, uint8_t>> path) {
        static Dmar d;
        EXPECT_EQ(
            parse_dmar_bytes(
                test::dmar(test::dmar_drhd(0x1000, 0, test::dmar_scope(type, 0, bus, path))), &d),
            nullptr);
        return d.units[0].scopes.entries[0];
    };
    // An endpoint on the start bus: exactly that function.
    const DeviceScope on_bus0 = scope(1, 0, {{3, 0}});
    EXPECT_TRUE(scope_names(on_bus0, {0, 3, 0}, bridges));
    EXPECT_FALSE(scope_names(on_bus0, {0, 3, 1}, bridges));
    EXPECT_FALSE(scope_names(on_bus0, {1, 3, 0}, bridges));
    // Two and three hops: through 00:1c.0 to bus 2, then through 02:00.0 to bus 3.
    EXPECT_TRUE(scope_names(scope(1, 0, {{0x1c, 0}, {0, 1}}), {2, 0, 1}, bridges));
    EXPECT_TRUE(scope_names(scope(1, 0, {{0x1c, 0}, {0, 0}, {5, 2}}), {3, 5, 2}, bridges));
    EXPECT_FALSE(scope_names(scope(1, 0, {{0x1c, 0}, {0, 0}, {5, 2}}), {2, 5, 2}, bridges));
    // A hop that is not a bridge names nothing.
    EXPECT_FALSE(scope_names(scope(1, 0, {{0x1f, 0}, {0, 0}}), {0, 0, 0}, bridges));
    // A sub-hierarchy: the bridge and every bus behind it, not the buses beyond.
    const DeviceScope below = scope(2, 0, {{0x1c, 0}});
    EXPECT_TRUE(scope_names(below, {0, 0x1c, 0}, bridges));
    EXPECT_TRUE(scope_names(below, {2, 0, 0}, bridges));
    EXPECT_TRUE(scope_names(below, {4, 9, 1}, bridges));
    EXPECT_FALSE(scope_names(below, {5, 0, 0}, bridges));
    EXPECT_FALSE(scope_names(below, {0, 0x1d, 0}, bridges));
    // A sub-hierarchy scope on something that is not a bridge: only that function.
    EXPECT_TRUE(scope_names(scope(2, 0, {{0x1f, 0}}), {0, 0x1f, 0}, bridges));
    EXPECT_FALSE(scope_names(scope(2, 0, {{0x1f, 0}}), {1, 0, 0}, bridges));
    // I/O APIC and HPET scopes name no PCI function, even at the same address.
    EXPECT_FALSE(scope_names(scope(3, 0, {{3, 0}}), {0, 3, 0}, bridges));
    EXPECT_FALSE(scope_names(scope(4, 0, {{3, 0}}), {0, 3, 0}, bridges));
    // QEMU's unit lists edu (00:03.0) among the root bus's endpoints.
    static Dmar d;
    ASSERT_EQ(parse_dmar_bytes(test::dmar(), &d), nullptr);
    EXPECT_TRUE(scopes_name(d.units[0].scopes, {0, 3, 0}, bridges));
    EXPECT_FALSE(scopes_name(d.units[0].scopes, {0, 4, 0}, bridges));
    EXPECT_FALSE(scopes_name(d.units[0].scopes, {0xff, 0, 0}, bridges));  // the I/O APIC's
}

}  // namespace
}  // namespace keel::acpi
