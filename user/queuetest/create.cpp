// queue_create's bad input, and queue calls on things that are not queues.
#include "queuetest.hpp"

namespace keel::queuetest {
namespace {

TEST(queue_create_bad_input) {
    abi::QueueInfo info{};
    abi::QueueGeometry g{3, 0, 0, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // not a power of two
    g = {0, 0, 0, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);
    g = {8, 4, 4096, 4};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // a flag the kernel does not know
    // Device data names a served object whose server takes it (blktest tries real ones).
    g = {8, 4, 4096, abi::kQueueDeviceData};
    BAD_INPUT(sys::queue_create(&g, &info), kBadHandle);
    BAD_INPUT(sys::queue_create(&g, &info, console()), kInvalidArgument);  // not served
    {
        // A served object whose server serves from ordinary memory takes no device data, and a
        // server cannot ask for it without a device.
        abi::QueueGeometry sg{8, 2, 4096, 0};
        abi::ServeInfo serve{};
        CHECK_EQ(sys::serve_create(&sg, &serve), 0);
        BAD_INPUT(sys::queue_create(&g, &info, serve.served), kNotSupported);
        CHECK_EQ(close(serve.served), 0);
        CHECK_EQ(close(serve.port), 0);
        CHECK_EQ(sys::unmap(serve.address), 0);
        sg.flags = abi::kServeDeviceData;
        BAD_INPUT(sys::serve_create(&sg, &serve), kInvalidArgument);
    }
    g = {512, 4, 4096, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // above kMaxQueueCapacity
    g = {8, 4, 100, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kInvalidArgument);  // not a multiple of 64
    g = {8, 256, 65536, 0};
    BAD_INPUT(sys::queue_create(&g, &info), kTooLarge);  // 16 MiB region
    g = {8, 4, 4096, 0};
    BAD_INPUT(sys::queue_create(nullptr, &info), kBadAddress);
    BAD_INPUT(sys::queue_create(&g, nullptr), kBadAddress);
    BAD_INPUT(sys::queue_create(reinterpret_cast<abi::QueueGeometry*>(kKernel), &info),
              kBadAddress);
    BAD_INPUT(sys::queue_create(&g, reinterpret_cast<abi::QueueInfo*>(kKernel)), kBadAddress);
    // Queue calls on things that are not (our) queues.
    BAD_INPUT(sys::queue_poll(0), kBadHandle);
    BAD_INPUT(sys::queue_poll(1ull << 40), kBadHandle);
    BAD_INPUT(sys::queue_poll(console()), kInvalidArgument);
    BAD_INPUT(sys::queue_wait(console(), 1, 1000), kInvalidArgument);
    BAD_INPUT(sys::queue_destroy(console()), kInvalidArgument);
    // A raw queue whose region nobody laid out: the kernel cannot attach (kProtocol).
    const int64_t h = sys::queue_create(&g, &info);
    CHECK(h > 0);
    CHECK(info.address != 0 && info.size > 0);
    BAD_INPUT(sys::queue_poll(h), kProtocol);
    uint64_t kind = 0;
    CHECK_EQ(sys::do_io(h, Op::kGetMeta, &kind, 8, static_cast<uint64_t>(Meta::kKind)), 8);
    CHECK_EQ(kind, static_cast<uint64_t>(Kind::kQueue));
    uint64_t rights = 0;
    CHECK_EQ(sys::do_io(h, Op::kGetMeta, &rights, 8, static_cast<uint64_t>(Meta::kRights)), 8);
    CHECK_EQ(rights & abi::kRightShare, 0u);  // a queue stays with its creator
    BAD_INPUT(sys::do_io(h, Op::kShare, nullptr, 0, uint64_t{abi::kRightsAll} << 32), kNoRights);
    CHECK_EQ(sys::queue_destroy(h), 0);
    BAD_INPUT(sys::queue_poll(h), kStaleHandle);
    BAD_INPUT(sys::queue_destroy(h), kStaleHandle);
}

// A program that makes and destroys queues and ports for as long as it runs (httpd: one queue
// per connection) must get their memory back: 300 regions of 4 MiB are nine times the memory
// of the 128 MiB machine this runs on, so one left mapped each time runs out long before the
// end.
// The kernel's own account must come back too (after one round that warms up the kernel
// heap and this program's).
TEST(queue_and_port_create_destroy_loop_returns_the_memory) {
    constexpr uint32_t kBuffers = 63, kSize = 65536;  // with the rings, just under 4 MiB
    abi::MemoryInfo before{};
    for (int i = 0; i < 301; ++i) {
        if (i == 1)
            before = memory_info();
        {
            Queue q;
            CHECK_EQ(q.create(8, kBuffers, kSize), 0);
        }
        {
            ServePort sp;
            CHECK_EQ(sp.create(8, kBuffers, kSize), 0);
        }
    }
    CHECK(kernel_memory_back_to(before));
}

}  // namespace
}  // namespace keel::queuetest
