// Port I/O and the pages a driver must not reach: a serial-port driver holding COM2's eight
// ports, a process that tries `in` on its own, and a driver that touches its device's MSI-X
// table.
#include "devtest.hpp"

#include <keel/c/format.hpp>

#include <utility>

namespace keel::devtest {

namespace {

Handle devices_root() {
    const int64_t d = open(root(), "devices");
    return d > 0 ? static_cast<Handle>(d) : 0;
}

int64_t port_read(uint64_t ports, uint64_t offset, uint64_t width) {
    uint32_t v = 0;
    const int64_t r = sys::do_io(ports, Op::kRead, &v, width, offset);
    return r < 0 ? r : v;
}
int64_t port_write(uint64_t ports, uint64_t offset, uint32_t v, uint64_t width) {
    return sys::do_io(ports, Op::kWrite, &v, width, offset);
}

// The first PCI function with an MSI-X capability: a handle, or -kNotFound.
int64_t find_msix_device(Handle list) {
    for (uint32_t slot = 0; slot < 32; ++slot) {
        char name[abi::kMaxNameLength];
        const size_t n = snformat(name, sizeof name, "pci-00:%02x.0", slot);
        const int64_t d = sys::do_io(list, Op::kOpen, name, n);
        if (d < 0)
            continue;
        DeviceInfo info{};
        CHECK_EQ(device_info(static_cast<uint64_t>(d), &info), sizeof info);
        for (uint16_t cap : info.capabilities) {
            if (cap == 0x11)
                return d;
        }
        (void)testlib::close(static_cast<uint64_t>(d));
    }
    return -static_cast<int64_t>(abi::Error::kNotFound);
}

// COM2 through its port object (-serial null on QEMU's command line gives the machine one).
TEST(serial_port_driver) {
    const Handle list = devices_root();
    const int64_t com2 = sys::do_io(list, Op::kOpen, "com2", 4);
    CHECK(com2 > 0);
    const Handle r = driver_root(com2);
    const abi::ExitInfo info = testlib::wait_child(testlib::spawn_child_rooted("com2-driver", r));
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(info.status, 0);
    (void)testlib::close(r);
    (void)testlib::close(static_cast<uint64_t>(com2));
    (void)testlib::close(list);
}

// `in` from user mode: the process faults (general protection) and ends; nothing else does.
TEST(raw_port_access_faults) {
    const abi::ExitInfo info = testlib::wait_child(testlib::spawn_child("raw-port"));
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    CHECK_EQ(info.vector, 13u);
}

// The pages of an MSI-X table are holes in the driver's view of the BAR: touching one faults.
TEST(msix_table_unreachable) {
    const Handle list = devices_root();
    const int64_t d = find_msix_device(list);
    if (d < 0) {
        print("devtest: no device with MSI-X: hole test not run\n");
        (void)testlib::close(list);
        return;
    }
    const Handle r = driver_root(d);
    const abi::ExitInfo info = testlib::wait_child(testlib::spawn_child_rooted("msix-touch", r));
    CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kFault));
    CHECK_EQ(info.vector, 14u);
    print("devtest: MSI-X table page of the driver's BAR view: page fault at 0x%lx\n", info.cr2);
    (void)testlib::close(r);
    (void)testlib::close(static_cast<uint64_t>(d));
    (void)testlib::close(list);
}

// QEMU's standard display: its framebuffer BAR mapped write-combining, its registers (BAR2)
// uncached, and the same registers through the bochs-vbe port pair.
TEST(display_driver) {
    const Handle list = devices_root();
    const int64_t d = find_device(list, 0x1234, 0x1111);
    const int64_t vbe = sys::do_io(list, Op::kOpen, "bochs-vbe", 9);
    if (d < 0 || vbe < 0) {
        print("devtest: no standard VGA: display test not run\n");
        (void)testlib::close(list);
        return;
    }
    // QEMU's own loader sets up no framebuffer: no device holds one (the GRUB ISO's case is
    // qemu_display_iso's).
    abi::BootFramebuffer fb{};
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(d), Op::kGetMeta, &fb, sizeof fb,
                         static_cast<uint64_t>(Meta::kBootFramebuffer)),
              kNotFound);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(vbe), Op::kGetMeta, &fb, sizeof fb,
                         static_cast<uint64_t>(Meta::kBootFramebuffer)),
              kNotFound);
    for (const auto& [device, mode] :
         {std::pair{d, "display-driver"}, std::pair{vbe, "vbe-driver"}}) {
        const Handle r = driver_root(device);
        const abi::ExitInfo info = testlib::wait_child(testlib::spawn_child_rooted(mode, r));
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
        CHECK_EQ(info.status, 0);
        (void)testlib::close(r);
        (void)testlib::close(static_cast<uint64_t>(device));
    }
    (void)testlib::close(list);
}

constexpr uint16_t kVbeIdBase = 0xb0c0;  // VBE_DISPI_ID0; QEMU answers 0xb0c0..0xb0c5

}  // namespace

CHILD_MODE("display-driver") {
    const int64_t dev = open(root(), "device");
    DeviceInfo info{};
    CHECK_EQ(device_info(static_cast<uint64_t>(dev), &info), sizeof info);
    CHECK((info.bars[0].flags & abi::kBarPrefetchable) != 0);
    const int64_t fb = resource(static_cast<uint64_t>(dev), DeviceResourceKind::kBar, 0,
                                abi::kCacheWriteCombining);
    CHECK(fb > 0);
    uint64_t size = 0;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(fb), Op::kGetMeta, &size, 8,
                        static_cast<uint64_t>(Meta::kSize)),
             8);
    CHECK_EQ(size, info.bars[0].size);
    const int64_t at = sys::do_io(static_cast<uint64_t>(fb), Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    auto* pixels = reinterpret_cast<volatile uint32_t*>(at);
    for (uint32_t i = 0; i < 65536; ++i)
        pixels[i] = i * 2654435761u;
    uint32_t same = 0;
    for (uint32_t i = 0; i < 65536; ++i)
        same += pixels[i] == i * 2654435761u ? 1 : 0;
    CHECK_EQ(same, 65536u);
    // BAR2: the Bochs display interface registers at 0x500, uncached.
    const int64_t regs = resource(static_cast<uint64_t>(dev), DeviceResourceKind::kBar, 2, 0);
    CHECK(regs > 0);
    const int64_t r = sys::do_io(static_cast<uint64_t>(regs), Op::kMap, nullptr, 0, 1);
    CHECK(r > 0);
    const uint16_t id = *reinterpret_cast<volatile uint16_t*>(r + 0x500);
    CHECK(id >= kVbeIdBase && id <= kVbeIdBase + 5);
    print(
        "devtest: display: %lu MiB framebuffer write-combining, 65536 pixels back; VBE id "
        "0x%x through BAR2\n",
        size >> 20, id);
    return testlib::failed() == 0 ? 0 : 1;
}

CHILD_MODE("vbe-driver") {
    const int64_t dev = open(root(), "device");
    const int64_t ports = resource(static_cast<uint64_t>(dev), DeviceResourceKind::kBar, 0, 0);
    CHECK(ports > 0);
    CHECK_EQ(port_write(static_cast<uint64_t>(ports), 0, 0, 2), 2);  // index: ID
    const int64_t id = port_read(static_cast<uint64_t>(ports), 1, 2);
    CHECK(id >= kVbeIdBase && id <= kVbeIdBase + 5);
    BAD_INPUT(port_read(static_cast<uint64_t>(ports), 1, 4), kInvalidArgument);
    print("devtest: bochs-vbe ports: VBE id 0x%lx\n", id);
    return testlib::failed() == 0 ? 0 : 1;
}

CHILD_MODE("com2-driver") {
    const int64_t dev = open(root(), "device");
    CHECK(dev > 0);
    DeviceInfo info{};
    CHECK_EQ(device_info(static_cast<uint64_t>(dev), &info), sizeof info);
    CHECK_EQ(info.bars[0].base, 0x2f8u);
    CHECK_EQ(info.bars[0].size, 8u);
    CHECK_EQ(info.interrupt_line, 3u);
    const int64_t ports = resource(static_cast<uint64_t>(dev), DeviceResourceKind::kBar, 0, 0);
    CHECK(ports > 0);
    uint64_t count = 0;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(ports), Op::kGetMeta, &count, 8,
                        static_cast<uint64_t>(Meta::kSize)),
             8);
    CHECK_EQ(count, 8u);
    // The 16550's scratch register keeps what is written to it.
    for (uint32_t v : {0x5au, 0xa5u, 0x00u}) {
        CHECK_EQ(port_write(static_cast<uint64_t>(ports), 7, v, 1), 1);
        CHECK_EQ(port_read(static_cast<uint64_t>(ports), 7, 1), v);
    }
    // Line status: transmitter empty on an idle port.
    CHECK((port_read(static_cast<uint64_t>(ports), 5, 1) & 0x20) != 0);
    BAD_INPUT(port_read(static_cast<uint64_t>(ports), 8, 1), kInvalidArgument);
    BAD_INPUT(port_read(static_cast<uint64_t>(ports), 6, 4), kInvalidArgument);
    BAD_INPUT(port_read(static_cast<uint64_t>(ports), 0, 3), kInvalidArgument);
    BAD_INPUT(port_write(static_cast<uint64_t>(ports), ~0ull, 0, 1), kInvalidArgument);
    BAD_INPUT(resource(static_cast<uint64_t>(dev), DeviceResourceKind::kBar, 1, 0),
              kInvalidArgument);
    BAD_INPUT(resource(static_cast<uint64_t>(dev), DeviceResourceKind::kDmaMemory, 0, 4096),
              kNotSupported);
    BAD_INPUT(config_write(static_cast<uint64_t>(dev), 4, 0, 2), kNotSupported);
    print(
        "devtest: COM2 driver: scratch register through ports 0x2f8-0x2ff, %lu bad-input "
        "cases refused\n",
        testlib::bad_inputs());
    return testlib::failed() == 0 ? 0 : 1;
}

CHILD_MODE("raw-port") {
    uint8_t v;
    asm volatile("inb $0x64, %0" : "=a"(v));  // the PS/2 status port, not granted: faults
    return v;                                 // not reached
}

CHILD_MODE("msix-touch") {
    const int64_t dev = open(root(), "device");
    uint32_t cap = config_u32(static_cast<uint64_t>(dev), 0x34, 1);
    for (int i = 0; i < 48 && cap >= 0x40 && config_u32(static_cast<uint64_t>(dev), cap, 1) != 0x11;
         ++i) {
        cap = config_u32(static_cast<uint64_t>(dev), cap + 1, 1);
    }
    if (cap < 0x40)
        return 2;
    const uint32_t table = config_u32(static_cast<uint64_t>(dev), cap + 4);
    const int64_t bar =
        resource(static_cast<uint64_t>(dev), DeviceResourceKind::kBar, table & 7, 0);
    if (bar < 0)
        return 3;
    const int64_t at = sys::do_io(static_cast<uint64_t>(bar), Op::kMap, nullptr, 0, 1);
    if (at < 0)
        return 4;
    // Aim the first vector's message at the kernel's own vector space: never gets there.
    *reinterpret_cast<volatile uint32_t*>(at + (table & ~7u) + 8) = 14;
    return 5;
}

}  // namespace keel::devtest
