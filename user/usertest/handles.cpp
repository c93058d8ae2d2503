// System-call numbers and operations, bad and stale handles, bad pointers (checked on the
// console, the one object every process has), and object_new's own bad input.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

TEST(syscall_numbers_and_ops) {
    BAD_INPUT(syscall(static_cast<abi::Syscall>(99)), kInvalidArgument);
    BAD_INPUT(syscall(static_cast<abi::Syscall>(~0ull)), kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(console(), static_cast<uint64_t>(Op::kCount), 0, 0, 0),
              kInvalidArgument);
    BAD_INPUT(sys::do_io(console(), Op::kSync), kNotSupported);  // nothing a kernel object keeps
    BAD_INPUT(sys::do_io_raw(console(), ~0ull, 0, 0, 0), kInvalidArgument);
    CHECK_EQ(sys::yield(), 0);
}

TEST(bad_and_stale_handles) {
    char buf[8];
    BAD_INPUT(sys::do_io(0, Op::kRead, buf, 8), kBadHandle);
    constexpr uint32_t kGen1 = 1u << abi::kHandleIndexBits;
    BAD_INPUT(sys::do_io(kGen1 - 1, Op::kRead, buf, 8), kBadHandle);  // generation 0
    BAD_INPUT(sys::do_io(0 | kGen1, Op::kRead, buf, 8), kBadHandle);  // slot 0
    BAD_INPUT(sys::do_io(1ull << 40, Op::kRead, buf, 8), kBadHandle);
    BAD_INPUT(sys::do_io(console() + 5 * kGen1, Op::kWrite, "x", 1), kBadHandle);  // future
    BAD_INPUT(sys::do_io(0x7fffff00u | 200, Op::kClose), kBadHandle);
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    CHECK_EQ(close(p[0]), 0);
    BAD_INPUT(sys::do_io(p[0], Op::kRead, buf, 8), kStaleHandle);
    BAD_INPUT(close(p[0]), kStaleHandle);
    Handle q[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, q), 2);  // other slots: taken round-robin
    CHECK(q[0] != p[0] && q[1] != p[0]);
    // Around the table: p[0]'s slot comes back with a newer generation, never p[0] itself.
    bool reused = false;
    for (uint32_t i = 0; i < 2 * abi::kMaxHandles && !reused; ++i) {
        Handle m;
        CHECK_EQ(sys::object_new(Kind::kMemory, 4096, &m), 1);
        CHECK(m != p[0]);
        reused = (m & (kGen1 - 1)) == (p[0] & (kGen1 - 1));
        close(m);
    }
    CHECK(reused);
    BAD_INPUT(sys::do_io(p[0], Op::kRead, buf, 8), kStaleHandle);
    BAD_INPUT(sys::do_io(p[0], Op::kGetMeta, buf, 8, 1), kStaleHandle);
    CHECK_EQ(kind_of(q[0]), static_cast<uint64_t>(Kind::kPipe));
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

TEST(console_and_bad_pointers) {
    CHECK_EQ(sys::do_io(console(), Op::kWrite, "console write ok\n", 17), 17);
    CHECK_EQ(kind_of(console()), static_cast<uint64_t>(Kind::kConsole));
    BAD_INPUT(sys::do_io_raw(console(), 2, kNull, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, 8, 8, 0), kBadAddress);  // the null page
    BAD_INPUT(sys::do_io_raw(console(), 2, kKernel, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, kKernelText, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, kUnmapped, 8, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, kNearTop, 0x2000, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 2, 0x1000, ~0ull - 0x800, 0), kTooLarge);
    BAD_INPUT(sys::do_io_raw(console(), 2, 0x10000, kHuge, 0), kTooLarge);
    BAD_INPUT(sys::do_io_raw(console(), 2, 0x10000, abi::kMaxIoLength + 1, 0), kTooLarge);
    // Straddling the end of a mapping: the last 4 bytes of a page, then the guard page.
    const uint64_t page = map_new(4096);
    CHECK(page != 0);
    BAD_INPUT(sys::do_io_raw(console(), 2, page + 4092, 8, 0), kBadAddress);
    // Missing rights: the console is write-only.
    char buf[8];
    BAD_INPUT(sys::do_io(console(), Op::kRead, buf, 8), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kOpen, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kMap, nullptr, 0, 0), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kCreate, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(console(), Op::kSetMeta, buf, 8, 1), kNotSupported);
    // Meta answers into bad memory.
    BAD_INPUT(sys::do_io_raw(console(), 3, kKernel, 8, 1), kBadAddress);
    BAD_INPUT(sys::do_io_raw(console(), 3, addr(kReadOnly), 8, 1), kBadAddress);
    BAD_INPUT(sys::do_io(console(), Op::kGetMeta, buf, 4, 1), kBufferTooSmall);
    CHECK_EQ(sys::unmap(page), 0);
    BAD_INPUT(sys::unmap(page), kInvalidArgument);
    BAD_INPUT(sys::unmap(kKernel), kInvalidArgument);
}

TEST(object_new) {
    Handle h[2];
    BAD_INPUT(sys::object_new(static_cast<Kind>(99), 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kConsole, 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kProcess, 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kMemory, 0, h), kInvalidArgument);
    BAD_INPUT(sys::object_new(Kind::kMemory, abi::kMaxMemorySize + 1, h), kTooLarge);
    BAD_INPUT(sys::object_new(Kind::kPipe, 0, nullptr), kBadAddress);
    BAD_INPUT(sys::object_new(Kind::kPipe, 0, reinterpret_cast<Handle*>(kKernel)), kBadAddress);
    BAD_INPUT(sys::object_new(Kind::kRoot, 0, reinterpret_cast<Handle*>(addr(kReadOnly))),
              kBadAddress);
    BAD_INPUT(sys::object_new(Kind::kMessagePipe, 0, reinterpret_cast<Handle*>(kUnmapped)),
              kBadAddress);
}

}  // namespace
}  // namespace keel::usertest
