// A served object whose region is the edu device's DMA memory (serve_create with a device,
// docs/syscalls.md "User-space servers"): a child holding only edu serves it, and the device
// itself reads a client's write out of the owned buffer and writes a client's read into one,
// at the device addresses ServeInfo gave. Then the refusals, and a create/end loop after which
// the parent finds the kernel's memory and objects back where they were.
#include <utility>

#include <keel/c/mem.hpp>
#include "devtest.hpp"
#include "edu.hpp"
#include "queue.hpp"
#include "serve.hpp"

namespace keel::devtest {

namespace {

// The driver's geometry (drivers/virtio-blk): 64 slots, 48 owned buffers of 64 KiB, about
// 3 MiB of contiguous DMA memory a region.
constexpr uint32_t kLoopCapacity = 64, kLoopBuffers = 48, kLoopBufferSize = 64 * 1024;
constexpr int kLoopRounds = 16;

// Serves the one operation the queue `q` just submitted on sp's object: takes it, lets
// `device` run the device over its owned buffer, completes it with `value` and hands it back;
// then `client` sees the client's completion (value and buffer bytes).
template <class Device, class Client>
void serve_one(ServePort& sp, Queue& q, uint64_t value, Device device, Client client) {
    CHECK(q.poll() >= 0);  // forwarded: the kernel submits it to the server and parks it
    CHECK(sp.sync(false) >= 1);
    (void)sp.server().poll();
    auto op = sp.server().take();
    CHECK(op.ok());
    if (!op.ok())
        return;
    device(sp.server().bytes(*op));
    CHECK(sp.server().complete(op->id, static_cast<uint16_t>(ipc::abi::Status::Ok), value).ok());
    CHECK(sp.sync(false) >= 0);
    CHECK_EQ(q.wait(1, 2'000'000'000), 1);
    auto done = q.reap();
    CHECK(done.ok());
    if (!done.ok())
        return;
    client(done->value, q.client().bytes(done->buffer));
    done->buffer.reset();
}

}  // namespace

CHILD_MODE("edu-serve") {
    const Handle dev = device();
    const Edu edu{reinterpret_cast<volatile uint8_t*>(map_bar0(dev))};
    const uint64_t bad_before = testlib::bad_inputs();

    // Refused, and nothing written back or made: a handle that is no device, a device handle
    // without Create, no handle, a region DMA memory cannot hold (above 4 MiB), capacity 1.
    const abi::QueueGeometry small{4, 2, 4096, 0};
    abi::ServeInfo info{};
    Handle plain = 0;
    CHECK_EQ(sys::object_new(Kind::kMemory, 4096, &plain), 1);
    BAD_INPUT(sys::serve_create(&small, &info, plain), kInvalidArgument);
    const int64_t read_only =
        sys::do_io(dev, Op::kShare, nullptr, 0, uint64_t{abi::kRightRead | abi::kRightWrite} << 32);
    CHECK(read_only > 0);
    BAD_INPUT(sys::serve_create(&small, &info, static_cast<uint64_t>(read_only)), kNoRights);
    BAD_INPUT(sys::serve_create(&small, &info, 0x7ffe), kBadHandle);
    const abi::QueueGeometry huge{4, 8, 1u << 20, 0};
    BAD_INPUT(sys::serve_create(&huge, &info, dev), kTooLarge);
    const abi::QueueGeometry one{1, 2, 4096, 0};
    BAD_INPUT(sys::serve_create(&one, &info, dev), kInvalidArgument);
    BAD_INPUT(sys::serve_create(&small, nullptr, dev), kBadAddress);
    CHECK_EQ(info.port, 0u);
    CHECK_EQ(info.device_address, 0u);
    (void)testlib::close(static_cast<uint64_t>(read_only));
    (void)testlib::close(plain);
    const uint64_t refused = testlib::bad_inputs() - bad_before;

    // Without a device the region has no device address.
    {
        ServePort ordinary;
        CHECK_EQ(ordinary.create(4, 2, 4096), 0);
        CHECK_EQ(ordinary.device_address(reinterpret_cast<const std::byte*>(ordinary.region())),
                 0u);
    }

    // The device reads a client's write out of its owned buffer and writes a client's read
    // into another: the server's code never touches the bytes.
    set_bus_master(dev, true);
    ServePort sp;
    CHECK_EQ(sp.create(4, 2, 4096, dev), 0);
    const uint64_t base = sp.device_address(reinterpret_cast<const std::byte*>(sp.region()));
    CHECK(base != 0 && base % 4096 == 0);
    Queue q;
    CHECK_EQ(q.create(4, 2, 4096), 0);
    auto wb = q.client().acquire();
    CHECK(wb.ok());
    for (int i = 0; i < kDmaBytes; ++i)
        q.client().bytes(*wb)[i] = static_cast<std::byte>(i * 7 + 3);
    CHECK(q.submit(Op::kWrite, sp.served(), 0, 1, std::move(*wb), kDmaBytes).ok());
    serve_one(
        sp, q, kDmaBytes,
        [&](std::span<std::byte> bytes) {
            CHECK_EQ(bytes.size(), static_cast<uint64_t>(kDmaBytes));
            CHECK(edu.dma(sp.device_address(bytes.data()), kEduBuffer, kDmaBytes, false));
            // What the device took is gone from the buffer: the read below must come from it.
            c::fill(bytes.data(), 0, bytes.size());
        },
        [&](uint64_t value, std::span<std::byte>) { CHECK_EQ(value, uint64_t{kDmaBytes}); });
    auto rb = q.client().acquire();
    CHECK(rb.ok());
    c::fill(q.client().bytes(*rb).data(), 0, kDmaBytes);
    CHECK(q.submit(Op::kRead, sp.served(), 0, 2, std::move(*rb), kDmaBytes).ok());
    int same = 0;
    serve_one(
        sp, q, kDmaBytes,
        [&](std::span<std::byte> bytes) {
            c::fill(bytes.data(), 0, bytes.size());
            CHECK(edu.dma(kEduBuffer, sp.device_address(bytes.data()), kDmaBytes, true));
        },
        [&](uint64_t value, std::span<std::byte> bytes) {
            CHECK_EQ(value, uint64_t{kDmaBytes});
            for (int j = 0; j < kDmaBytes && static_cast<uint64_t>(j) < bytes.size(); ++j)
                same += bytes[j] == static_cast<std::byte>(j * 7 + 3) ? 1 : 0;
        });
    CHECK_EQ(same, kDmaBytes);
    print(
        "devtest: served region in edu's DMA memory: the device took %d written bytes from an "
        "owned buffer and put %d back for a read; %lu bad serve_create calls refused\n",
        kDmaBytes, same, refused);
    (void)q.destroy();
    (void)sp.destroy();

    // Regions made and ended, half with bus mastering on (without an IOMMU their memory waits
    // in quarantine until it goes off below), half with it off: the parent checks that the
    // kernel's memory comes back.
    for (int i = 0; i < kLoopRounds; ++i) {
        if (i == kLoopRounds / 2)
            set_bus_master(dev, false);
        ServePort p;
        CHECK_EQ(p.create(kLoopCapacity, kLoopBuffers, kLoopBufferSize, dev), 0);
        CHECK(p.device_address(reinterpret_cast<const std::byte*>(p.region())) != 0);
    }
    return testlib::failed() == 0 ? 0 : 1;
}

namespace {

TEST(serve_region_in_dma_memory) {
    const int64_t edu = find_device(devices(), kEduVendor, kEduDevice);
    if (edu < 0) {
        print("devtest: no edu device (-device edu): served DMA region not tried\n");
        return;
    }
    // A legacy device has no DMA memory.
    const int64_t com2 = sys::do_io(devices(), Op::kOpen, "com2", 4);
    CHECK(com2 > 0);
    const abi::QueueGeometry g{4, 2, 4096, 0};
    abi::ServeInfo info{};
    BAD_INPUT(sys::serve_create(&g, &info, static_cast<uint64_t>(com2)), kNotSupported);
    (void)testlib::close(static_cast<uint64_t>(com2));

    const Handle r = driver_root(edu);
    CHECK(r != 0);
    const abi::MemoryInfo before = testlib::memory_info();
    CHECK(before.total_frames != 0);  // the leak check below needs the process table
    const abi::ExitInfo ended = testlib::wait_child(testlib::spawn_child_rooted("edu-serve", r));
    CHECK_EQ(ended.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
    CHECK_EQ(ended.status, 0);
    const bool back = testlib::kernel_memory_back_to(before);
    CHECK(back);
    print(
        "devtest: %d served regions of %u x %u KiB in DMA memory made and ended: kernel memory "
        "%s\n",
        kLoopRounds, kLoopBuffers, kLoopBufferSize / 1024, back ? "back" : "NOT back");
    (void)testlib::close(r);
    (void)testlib::close(static_cast<uint64_t>(edu));
}

}  // namespace

}  // namespace keel::devtest
