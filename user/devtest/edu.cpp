// The drivers devtest starts, each holding one device ("device" in its root) and nothing else:
// a working driver of QEMU's edu device (registers through its BAR, DMA through memory the
// kernel made for it) and a hostile one that tries what a driver must not be able to do.
#include <utility>

#include <keel/c/mem.hpp>
#include "devtest.hpp"
#include "edu.hpp"
#include "queue.hpp"
#include "timer.hpp"

namespace keel::devtest {

Handle device() {
    const int64_t d = open(root(), "device");
    CHECK(d > 0);
    return d > 0 ? static_cast<Handle>(d) : 0;
}

uint64_t map_bar0(Handle dev) {
    const int64_t bar = resource(dev, DeviceResourceKind::kBar, 0, 0);
    CHECK(bar > 0);
    const int64_t at = sys::do_io(static_cast<uint64_t>(bar), Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    (void)testlib::close(static_cast<uint64_t>(bar));  // the mapping keeps it
    return at > 0 ? static_cast<uint64_t>(at) : 0;
}

void set_bus_master(Handle dev, bool on) {
    const uint32_t command = config_u32(dev, 4, 2);
    const uint32_t want = on ? (command | 4u) : (command & ~4u);
    CHECK_EQ(config_write(dev, 4, want, 2), 2);
    CHECK_EQ(config_u32(dev, 4, 2) & 4u, want & 4u);
}

CHILD_MODE("edu-driver") {
    const Handle dev = device();
    // The driver's whole world: its device and the console.
    CHECK(open(root(), "devices") == -static_cast<int64_t>(abi::Error::kNotFound));
    DeviceInfo info{};
    CHECK_EQ(device_info(dev, &info), sizeof info);
    CHECK_EQ(info.vendor, kEduVendor);
    CHECK_EQ(info.device, kEduDevice);
    CHECK_EQ(info.bars[0].kind, static_cast<uint32_t>(abi::BarKind::kMemory));

    const Edu edu{reinterpret_cast<volatile uint8_t*>(map_bar0(dev))};
    CHECK_EQ(edu.read32(kEduId), 0x010000edu);
    edu.write32(kEduLiveness, 0x12345678);
    CHECK_EQ(edu.read32(kEduLiveness), ~0x12345678u);
    edu.write32(kEduFactorial, 10);
    // The device computes on a thread of QEMU's own: wait for it in real time.
    for (int i = 0; i < 1000 && (edu.read32(kEduStatus) & 1) != 0; ++i)
        (void)sys::sleep_ns(1000000);
    CHECK_EQ(edu.read32(kEduFactorial), 3628800u);

    // DMA: a pattern from the kernel-made memory into the device and back into another page.
    set_bus_master(dev, true);
    const int64_t dma = resource(dev, DeviceResourceKind::kDmaMemory, 0, 8192);
    CHECK(dma > 0);
    uint64_t device_address = 0;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(dma), Op::kGetMeta, &device_address, 8,
                        static_cast<uint64_t>(Meta::kDeviceAddress)),
             8);
    CHECK(device_address != 0 && device_address % 4096 == 0);
    const int64_t at = sys::do_io(static_cast<uint64_t>(dma), Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    auto* bytes = reinterpret_cast<volatile uint8_t*>(at);
    for (int i = 0; i < kDmaBytes; ++i)
        bytes[i] = static_cast<uint8_t>(i * 13 + 7);
    CHECK(edu.dma(device_address, kEduBuffer, kDmaBytes, false));
    CHECK(edu.dma(kEduBuffer, device_address + 4096, kDmaBytes, true));
    int same = 0;
    for (int i = 0; i < kDmaBytes; ++i)
        same += bytes[4096 + i] == static_cast<uint8_t>(i * 13 + 7) ? 1 : 0;
    CHECK_EQ(same, kDmaBytes);
    print("devtest: edu DMA round trip through device address 0x%lx: %d of %d bytes\n",
          device_address, same, kDmaBytes);
    // Closing DMA memory while bus mastering is on: without an IOMMU it is quarantined (the
    // device might still write it) until bus mastering is off; with one it leaves the device's
    // domain at once. Either way the old device address reaches nothing a new owner holds:
    // DMA through it must leave fresh DMA memory untouched.
    // (The fresh memory is made first, so that it cannot be given the old device address.)
    const int64_t fresh = resource(dev, DeviceResourceKind::kDmaMemory, 0, 8192);
    CHECK(fresh > 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(at)), 0);
    (void)testlib::close(static_cast<uint64_t>(dma));
    const int64_t fresh_at = sys::do_io(static_cast<uint64_t>(fresh), Op::kMap, nullptr, 0, 1);
    CHECK(fresh_at > 0);
    CHECK(edu.dma(kEduBuffer, device_address, kDmaBytes, true));  // the stale address
    CHECK(edu.dma(kEduBuffer, device_address + 4096, kDmaBytes, true));
    auto* fresh_bytes = reinterpret_cast<volatile uint8_t*>(fresh_at);
    int zero = 0;
    for (int i = 0; i < 8192; ++i)
        zero += fresh_bytes[i] == 0 ? 1 : 0;
    CHECK_EQ(zero, 8192);
    print(
        "devtest: DMA through a stale device address: fresh DMA memory untouched (%d of "
        "8192 bytes zero)\n",
        zero);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(fresh_at)), 0);
    (void)testlib::close(static_cast<uint64_t>(fresh));
    set_bus_master(dev, false);

    // Interrupts. INTx (level-triggered, through the I/O APIC): a blocking read returns once
    // the device raised it; the line stays masked until the driver has lowered it at the
    // device and acknowledged the object.
    const int64_t intx = resource(dev, DeviceResourceKind::kInterrupt, 0, 0);
    CHECK(intx > 0);
    abi::InterruptInfo ii{};
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(intx), Op::kGetMeta, &ii, sizeof ii,
                        static_cast<uint64_t>(Meta::kInterruptInfo)),
             sizeof ii);
    CHECK((ii.flags & abi::kInterruptLevel) != 0);
    edu.write32(kEduRaise, 1);
    uint64_t fired = 0;
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(intx), Op::kRead, &fired, 8), 8);
    CHECK(fired >= 1);
    edu.write32(kEduLower, 1);
    CHECK_EQ(sys::do_io(static_cast<uint64_t>(intx), Op::kWrite, nullptr, 0), 0);
    print("devtest: edu INTx (GSI %u, vector 0x%x): fired %lu, acknowledged\n", ii.gsi, ii.vector,
          fired);
    (void)testlib::close(static_cast<uint64_t>(intx));

    // MSI, waited for through the queue together with a timer: one queue_wait sleeps on both
    // and wakes for whichever comes first.
    set_bus_master(dev, true);  // messages are memory writes
    const int64_t msi = resource(dev, DeviceResourceKind::kMsi, 0, 0);
    CHECK(msi > 0);
    BAD_INPUT(resource(dev, DeviceResourceKind::kMsi, 0, 0), kExists);
    BAD_INPUT(resource(dev, DeviceResourceKind::kMsi, 1, 0), kInvalidArgument);
    const int64_t t = timer::create();
    CHECK(t > 0);
    Queue q;
    CHECK_EQ(q.create(8, 4, 64), 0);
    auto b1 = q.client().acquire();
    auto b2 = q.client().acquire();
    CHECK(b1 && b2);
    CHECK(q.submit(Op::kRead, static_cast<Handle>(msi), 0, 1, std::move(*b1), 8).ok());
    CHECK(q.submit(Op::kRead, static_cast<Handle>(t), 0, 2, std::move(*b2), 8).ok());
    const uint64_t start = sys::clock_ns();
    constexpr uint64_t kTimerNs = 20'000'000;
    CHECK_EQ(timer::arm(static_cast<Handle>(t), start + kTimerNs), 16);
    CHECK_EQ(q.wait(1, 2'000'000'000), 1);
    const uint64_t timer_done = sys::clock_ns() - start;
    auto first = q.reap();
    CHECK(first && first->user_data == 2);  // the timer: the device has not been told yet
    // Never early; late by less than 100 ms: the timer interrupt is programmed for the
    // deadline, but one sample in QEMU on a loaded 2-core host can stall for tens of ms (the
    // medians of many samples are checked in usertest and queuetest, timers.cpp and timer.cpp).
    CHECK(timer_done >= kTimerNs);
    CHECK(timer_done < kTimerNs + 100'000'000);
    edu.write32(kEduRaise, 2);
    CHECK_EQ(q.wait(1, 2'000'000'000), 1);
    auto second = q.reap();
    CHECK(second && second->user_data == 1 && second->value == 8);
    uint64_t msi_count = 0;
    if (second)
        keel::c::copy(&msi_count, q.client().bytes(second->buffer).data(), 8);
    CHECK(msi_count >= 1);
    edu.write32(kEduLower, 2);
    print("devtest: one queue_wait: the 20 ms timer after %lu us, then edu's MSI (%lu)\n",
          timer_done / 1000, msi_count);
    first->buffer.reset();
    second->buffer.reset();
    (void)q.destroy();
    (void)testlib::close(static_cast<uint64_t>(t));
    (void)testlib::close(static_cast<uint64_t>(msi));
    set_bus_master(dev, false);

    // Create and drop DMA memory far beyond the machine's RAM in total: nothing may leak.
    for (int i = 0; i < 200; ++i) {
        const int64_t m = resource(dev, DeviceResourceKind::kDmaMemory, 0, abi::kMaxDmaMemory);
        CHECK(m > 0);
        if (m < 0)
            break;
        (void)testlib::close(static_cast<uint64_t>(m));
    }
    print("devtest: 200 DMA allocations of %lu KiB created and freed\n", abi::kMaxDmaMemory / 1024);
    return testlib::failed() == 0 ? 0 : 1;
}

CHILD_MODE("hostile-driver") {
    const Handle dev = device();
    DeviceInfo info{};
    CHECK_EQ(device_info(dev, &info), sizeof info);
    const uint32_t bar0 = config_u32(dev, 0x10);
    // The BARs, the ROM BAR, the interrupt line and the identity are the kernel's.
    BAD_INPUT(config_write(dev, 0x10, 0x1000, 4), kNoRights);  // move BAR0 over low RAM
    BAD_INPUT(config_write(dev, 0x14, 0, 4), kNoRights);
    BAD_INPUT(config_write(dev, 0x30, 0x1001, 4), kNoRights);
    BAD_INPUT(config_write(dev, 0x3c, 5, 1), kNoRights);
    BAD_INPUT(config_write(dev, 0x00, 0, 4), kNoRights);
    BAD_INPUT(config_write(dev, 0x34, 0, 1), kNoRights);  // capability pointer
    CHECK_EQ(config_u32(dev, 0x10), bar0);
    // The MSI capability says where the device's interrupt messages go: the kernel's too.
    const uint32_t cap = config_u32(dev, 0x34, 1);
    CHECK(cap >= 0x40);
    CHECK_EQ(config_u32(dev, cap, 1), 0x05u);  // edu: MSI is its first capability
    BAD_INPUT(config_write(dev, cap + 4, 0xfee00000, 4), kNoRights);
    BAD_INPUT(config_write(dev, cap + 2, 1, 2), kNoRights);
    BAD_INPUT(config_write(dev, cap, 0, 1), kNoRights);
    // The command register keeps only the driver's bits.
    const uint32_t before = config_u32(dev, 4, 2);
    CHECK_EQ(config_write(dev, 4, 0xffff, 2), 2);
    const uint32_t after = config_u32(dev, 4, 2);
    CHECK_EQ(after & ~0x547u, before & ~0x547u);
    CHECK_EQ(config_write(dev, 5, 0xff, 1), 1);  // the upper command byte, narrowed the same
    CHECK_EQ(config_u32(dev, 4, 2) & ~0x547u, before & ~0x547u);
    CHECK_EQ(config_write(dev, 4, before, 2), 2);
    BAD_INPUT(config_write(dev, 0x0c, 0x40000000, 4), kNoRights);  // would start BIST
    // Malformed accesses.
    BAD_INPUT(config_write(dev, 5, 0, 2), kInvalidArgument);
    BAD_INPUT(config_write(dev, 8, 0, 3), kInvalidArgument);
    BAD_INPUT(config_write(dev, info.config_size, 0, 4), kInvalidArgument);
    uint8_t big[8];
    BAD_INPUT(config_read(dev, info.config_size - 4, big, 8), kInvalidArgument);
    BAD_INPUT(config_read(dev, ~0ull, big, 1), kInvalidArgument);
    // Resources that are not there, or not like that.
    BAD_INPUT(resource(dev, DeviceResourceKind::kBar, 1, 0), kInvalidArgument);  // absent
    BAD_INPUT(resource(dev, DeviceResourceKind::kBar, 6, 0), kInvalidArgument);
    BAD_INPUT(resource(dev, DeviceResourceKind::kBar, 0, abi::kCacheWriteCombining),
              kInvalidArgument);  // BAR0 is not prefetchable
    BAD_INPUT(resource(dev, DeviceResourceKind::kBar, 0, 4), kInvalidArgument);
    BAD_INPUT(resource(dev, static_cast<DeviceResourceKind>(99), 0, 0), kInvalidArgument);
    BAD_INPUT(resource(dev, DeviceResourceKind::kDmaMemory, 0, 0), kInvalidArgument);
    BAD_INPUT(resource(dev, DeviceResourceKind::kDmaMemory, 0, abi::kMaxDmaMemory + 1), kTooLarge);
    const DeviceResource short_r{1, 0, 0};
    BAD_INPUT(sys::do_io(dev, Op::kCreate, &short_r, 8), kInvalidArgument);
    // Device memory is registers: no reads through the kernel, no program made of it.
    const int64_t bar = resource(dev, DeviceResourceKind::kBar, 0, 0);
    CHECK(bar > 0);
    uint8_t byte = 0;
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(bar), Op::kRead, &byte, 1), kNotSupported);
    const abi::SpawnArgs sa{};
    BAD_INPUT(sys::spawn(static_cast<Handle>(bar), &sa), kNoRights);
    // Only DMA memory has a device address.
    Handle plain = 0;
    CHECK_EQ(sys::object_new(Kind::kMemory, 4096, &plain), 1);
    uint64_t address = 0;
    BAD_INPUT(
        sys::do_io(plain, Op::kGetMeta, &address, 8, static_cast<uint64_t>(Meta::kDeviceAddress)),
        kInvalidArgument);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(bar), Op::kGetMeta, &address, 8,
                         static_cast<uint64_t>(Meta::kDeviceAddress)),
              kInvalidArgument);
    // A device handle with fewer rights does less.
    const int64_t read_only =
        sys::do_io(dev, Op::kShare, nullptr, 0, uint64_t{abi::kRightRead} << 32);
    CHECK(read_only > 0);
    BAD_INPUT(config_write(static_cast<uint64_t>(read_only), 0x0c, 0, 1), kNoRights);
    BAD_INPUT(resource(static_cast<uint64_t>(read_only), DeviceResourceKind::kBar, 0, 0),
              kNoRights);
    // Forged and stale handles, here and on an interrupt the driver never had.
    BAD_INPUT(config_write(0x7ffe, 0x0c, 0, 1), kBadHandle);
    uint64_t count = 0;
    BAD_INPUT(sys::do_io(0x1234, Op::kRead, &count, 8), kBadHandle);
    BAD_INPUT(resource(dev, DeviceResourceKind::kInterrupt, 1, 0), kInvalidArgument);
    BAD_INPUT(resource(dev, DeviceResourceKind::kMsi, 7, 0), kInvalidArgument);
    (void)testlib::close(static_cast<uint64_t>(read_only));
    BAD_INPUT(config_write(static_cast<uint64_t>(read_only), 0x0c, 0, 1), kStaleHandle);
    // No other device is reachable: the only names are its own.
    BAD_INPUT(open(root(), "devices"), kNotFound);
    BAD_INPUT(open(root(), "pci-00:00.0"), kNotFound);
    BAD_INPUT(open(root(), "com2"), kNotFound);
    print("devtest: hostile driver: %lu bad-input cases refused, %lu checks failed\n",
          testlib::bad_inputs(), testlib::failed());
    return testlib::failed() == 0 ? 0 : 1;
}

}  // namespace keel::devtest
