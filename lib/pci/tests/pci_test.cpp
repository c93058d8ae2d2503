// lib/pci on the host: configuration spaces shaped like QEMU's devices, then hostile ones:
// capability lists that loop or point into the header, impossible BAR sizes and addresses.
#include <gtest/gtest.h>
#include <keel/pci/pci.hpp>

#include <array>
#include <cstdint>

namespace keel::pci {
namespace {

struct Config {
    std::array<uint8_t, kConfigSize> b{};
    void put(size_t at, uint32_t v, int n) {
        for (int i = 0; i < n; ++i)
            b[at + i] = static_cast<uint8_t>(v >> (8 * i));
    }
    // A virtio-blk-like endpoint: I/O BAR0, memory BAR1, 64-bit prefetchable BAR4, INTA, and
    // capabilities at 0x98 (MSI-X) -> 0x84 (vendor) -> 0x70 (vendor) -> end.
    Config() {
        put(0, 0x1af4, 2), put(2, 0x1001, 2);
        put(6, kStatusCapabilities, 2);
        b[11] = 0x01, b[10] = 0x00;
        put(bar_offset(0), 0xc041, 4);
        put(bar_offset(1), 0xfebd1000, 4);
        put(bar_offset(4), 0xfe00000c, 4), put(bar_offset(5), 0x1, 4);
        b[0x3c] = 11, b[0x3d] = 1;
        b[0x34] = 0x98;
        b[0x98] = kCapMsix, b[0x99] = 0x84;
        b[0x84] = kCapVendor, b[0x85] = 0x70;
        b[0x70] = kCapVendor, b[0x71] = 0x00;
    }
    const char* parse(Function* f) const { return parse_function(b.data(), b.size(), f); }
};

TEST(Pci, EndpointIdentityAndCapabilities) {
    Config c;
    Function f;
    ASSERT_EQ(c.parse(&f), nullptr);
    EXPECT_EQ(f.vendor, 0x1af4);
    EXPECT_EQ(f.device, 0x1001);
    EXPECT_EQ(f.class_code, 1);
    EXPECT_EQ(f.header_type, 0);
    EXPECT_EQ(f.bar_count, 6u);
    EXPECT_EQ(f.interrupt_pin, 1);
    EXPECT_EQ(f.interrupt_line, 11);
    ASSERT_EQ(f.capability_count, 3u);
    EXPECT_EQ(f.capabilities[0].offset, 0x98);
    EXPECT_EQ(find_capability(f, kCapMsix), &f.capabilities[0]);
    EXPECT_EQ(find_capability(f, kCapMsi), nullptr);
}

TEST(Pci, BridgeBusesAndNoCapabilities) {
    Config c;
    c.b[14] = 0x81;  // bridge, multifunction
    c.b[0x19] = 1, c.b[0x1a] = 4;
    c.put(6, 0, 2);  // no capability list: 0x34 is ignored
    Function f;
    ASSERT_EQ(c.parse(&f), nullptr);
    EXPECT_EQ(f.header_type, 1);
    EXPECT_TRUE(f.multifunction);
    EXPECT_EQ(f.bar_count, 2u);
    EXPECT_EQ(f.secondary_bus, 1);
    EXPECT_EQ(f.subordinate_bus, 4);
    EXPECT_EQ(f.capability_count, 0u);
}

TEST(Pci, HostileHeadersAreRefused) {
    Function f;
    Config absent;
    absent.put(0, 0xffff, 2);
    EXPECT_STREQ(absent.parse(&f), "no function here (vendor 0xffff or 0)");
    Config cardbus;
    cardbus.b[14] = 2;
    EXPECT_NE(cardbus.parse(&f), nullptr);
    Config pin;
    pin.b[0x3d] = 5;
    EXPECT_STREQ(pin.parse(&f), "interrupt pin beyond INTD");
    Config loop;
    loop.b[0x71] = 0x98;  // the last capability points back to the first
    EXPECT_STREQ(loop.parse(&f), "capability list loops");
    Config self;
    self.b[0x99] = 0x9b;  // low bits reserved: 0x9b is 0x98 again
    EXPECT_STREQ(self.parse(&f), "capability list loops");
    Config header;
    header.b[0x85] = 0x30;
    EXPECT_STREQ(header.parse(&f), "capability pointer into the standard header");
    Config c;
    EXPECT_NE(parse_function(c.b.data(), 255, &f), nullptr);
    EXPECT_NE(parse_function(nullptr, 256, &f), nullptr);
}

TEST(Pci, EveryDwordACapabilityStillTerminates) {
    Config c;
    c.b[0x34] = 0x40;
    for (uint32_t at = 0x40; at < 0x100; at += 4)
        c.b[at + 1] = static_cast<uint8_t>(at + 4 < 0x100 ? at + 4 : 0);
    Function f;
    ASSERT_EQ(c.parse(&f), nullptr);
    EXPECT_EQ(f.capability_count, kMaxCapabilities);
}

TEST(Pci, BarsDecodeAsQemuSizesThem) {
    Config c;
    Function f;
    ASSERT_EQ(c.parse(&f), nullptr);
    Bar bar;
    uint32_t slots = 0;
    // I/O, 64 ports: all ones read back as 0x...ffc1 (upper half may read 0 on some devices).
    ASSERT_EQ(decode_bar(f, c.b.data(), 0, 0x0000ffc1, 0, &bar, &slots), nullptr);
    EXPECT_EQ(bar.kind, BarKind::kIo);
    EXPECT_EQ(bar.address, 0xc040u);
    EXPECT_EQ(bar.size, 64u);
    ASSERT_EQ(decode_bar(f, c.b.data(), 1, 0xfffff000, 0, &bar, &slots), nullptr);
    EXPECT_EQ(bar.kind, BarKind::kMemory32);
    EXPECT_EQ(bar.size, 4096u);
    EXPECT_EQ(slots, 1u);
    ASSERT_EQ(decode_bar(f, c.b.data(), 4, 0xffffc00c, 0xffffffff, &bar, &slots), nullptr);
    EXPECT_EQ(bar.kind, BarKind::kMemory64);
    EXPECT_TRUE(bar.prefetchable);
    EXPECT_EQ(bar.address, 0x1fe000000ull);
    EXPECT_EQ(bar.size, 16384u);
    EXPECT_EQ(slots, 2u);
    ASSERT_EQ(decode_bar(f, c.b.data(), 2, 0, 0, &bar, &slots), nullptr);  // unimplemented
    EXPECT_EQ(bar.kind, BarKind::kNone);
    // 64-bit, 8 GiB: the size comes from the upper half only.
    c.put(bar_offset(4), 0x0000000c, 4), c.put(bar_offset(5), 0x4, 4);
    ASSERT_EQ(decode_bar(f, c.b.data(), 4, 0x0000000c, 0xfffffffe, &bar, &slots), nullptr);
    EXPECT_EQ(bar.size, 8ull << 30);
}

TEST(Pci, HostileBarsAreRefused) {
    Config c;
    Function f;
    ASSERT_EQ(c.parse(&f), nullptr);
    Bar bar;
    uint32_t slots = 0;
    EXPECT_STREQ(decode_bar(f, c.b.data(), 1, 0xffffe800, 0, &bar, &slots),
                 "memory BAR size is not a power of two");
    c.put(bar_offset(1), 0xfebd1800, 4);  // a 4 KiB BAR at an address 2 KiB aligned
    EXPECT_STREQ(decode_bar(f, c.b.data(), 1, 0xfffff000, 0, &bar, &slots),
                 "memory BAR address not aligned to its size");
    c.put(bar_offset(1), 0x00000002, 4);  // type 1: reserved
    EXPECT_STREQ(decode_bar(f, c.b.data(), 1, 0xfffff002, 0, &bar, &slots),
                 "memory BAR of a reserved type");
    c.put(bar_offset(5), 0xfe00000c, 4);  // 64-bit in the last slot
    EXPECT_STREQ(decode_bar(f, c.b.data(), 5, 0xffffc00c, 0, &bar, &slots),
                 "64-bit BAR in the last slot");
    c.put(bar_offset(0), 0xfff1, 4);  // 256 ports at 0xfff0: past 64 KiB
    EXPECT_NE(decode_bar(f, c.b.data(), 0, 0xff01, 0, &bar, &slots), nullptr);
    EXPECT_STREQ(decode_bar(f, c.b.data(), 6, 0, 0, &bar, &slots),
                 "no such BAR for this header type");
    c.put(bar_offset(4), 0xfffff00c, 4), c.put(bar_offset(5), 0xffffffff, 4);
    EXPECT_STREQ(decode_bar(f, c.b.data(), 4, 0xffffe00c, 0xffffffff, &bar, &slots),
                 "memory BAR address not aligned to its size");
}

TEST(Pci, BarHoldsARangeOnlyWholly) {
    const Bar fb{BarKind::kMemory32, true, 0xfd000000, 0x1000000};
    uint64_t offset = 1;
    EXPECT_TRUE(bar_holds(fb, 0xfd000000, 1024 * 768 * 4, &offset));
    EXPECT_EQ(offset, 0u);
    EXPECT_TRUE(bar_holds(fb, 0xfd100000, 0xf00000, &offset));  // up to the last byte
    EXPECT_EQ(offset, 0x100000u);
    EXPECT_TRUE(bar_holds(fb, 0xfe000000, 0, &offset));  // empty, at the end
    offset = 7;
    EXPECT_FALSE(bar_holds(fb, 0xfd100000, 0xf00001, &offset));          // one byte past the end
    EXPECT_FALSE(bar_holds(fb, 0xfcfff000, 0x2000, &offset));            // starts before it
    EXPECT_FALSE(bar_holds(fb, 0xfe000001, 0, &offset));                 // after it
    EXPECT_FALSE(bar_holds(fb, 0xfd000010, ~uint64_t{0} - 8, &offset));  // a sum would wrap
    EXPECT_FALSE(bar_holds(fb, ~uint64_t{0}, 2, &offset));
    EXPECT_EQ(offset, 7u);  // untouched when false
    const Bar io{BarKind::kIo, false, 0xc000, 0x40};
    EXPECT_FALSE(bar_holds(io, 0xc000, 4, &offset));
    const Bar none{BarKind::kNone, false, 0, 0};
    EXPECT_FALSE(bar_holds(none, 0, 0, &offset));
    const Bar high{BarKind::kMemory64, true, 0x800000000, 0x10000000};
    EXPECT_TRUE(bar_holds(high, 0x808000000, 0x8000000, &offset));
    EXPECT_EQ(offset, 0x8000000u);
}

}  // namespace
}  // namespace keel::pci
