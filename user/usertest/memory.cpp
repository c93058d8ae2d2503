// Memory objects (map, seek, peek, subranges sharing frames, rights masks on shares) and the
// runtime's heap on top of them.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

// A memory object's size is the byte length it was made with; it still maps whole pages.
TEST(memory_size_is_exact) {
    Handle m;
    CHECK_EQ(sys::object_new(Kind::kMemory, 100, &m), 1);
    uint64_t size = 0;
    CHECK_EQ(get_u64(m, Meta::kSize, &size), 8);
    CHECK_EQ(size, 100);
    abi::Stat st{};
    CHECK_EQ(sys::do_io(m, Op::kGetMeta, &st, sizeof st, uint64_t(Meta::kStat)), 16);
    CHECK(st.type == uint32_t(abi::NodeType::kFile) && st.size == 100);
    char buf[200];
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, sizeof buf), 100);  // stops at the size
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, sizeof buf), 0);
    BAD_INPUT(sys::do_io(m, Op::kWrite, "x", 1), kTooLarge);
    BAD_INPUT(sys::do_io(m, Op::kSeek, nullptr, 0, 101), kInvalidArgument);
    const int64_t at = sys::do_io(m, Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    reinterpret_cast<volatile uint8_t*>(at)[4095] = 1;  // the rest of the page is there
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(at)), 0);
    CHECK_EQ(close(m), 0);
}

// read_at (pread): bytes from an absolute offset; the object's position is neither used nor
// moved. Past the end reads nothing; an offset whose read would wrap past 2^64 is refused;
// it needs Read like read; objects without byte positions do not have it.
TEST(memory_read_at) {
    Handle m;
    CHECK_EQ(sys::object_new(Kind::kMemory, 5000, &m), 1);
    const int64_t at = sys::do_io(m, Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    auto* bytes = reinterpret_cast<volatile uint8_t*>(at);
    for (int i = 0; i < 5000; ++i)
        bytes[i] = static_cast<uint8_t>(i * 13 + 1);
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 10), 10);
    uint8_t buf[200];
    CHECK_EQ(sys::do_io(m, Op::kReadAt, buf, 100, 4090), 100);  // across the page boundary
    CHECK(buf[0] == static_cast<uint8_t>(4090 * 13 + 1) && buf[99] == uint8_t(4189 * 13 + 1));
    CHECK_EQ(sys::do_io(m, Op::kReadAt, buf, 200, 4900), 100);      // stops at the size
    CHECK_EQ(sys::do_io(m, Op::kReadAt, buf, 200, 5000), 0);        // at the end
    CHECK_EQ(sys::do_io(m, Op::kReadAt, buf, 200, 1ull << 40), 0);  // far past it
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, 1), 1);                  // the position stayed at 10
    CHECK_EQ(buf[0], static_cast<uint8_t>(10 * 13 + 1));
    BAD_INPUT(sys::do_io(m, Op::kReadAt, buf, 200, ~0ull - 100), kInvalidArgument);  // wraps
    CHECK_EQ(sys::do_io(m, Op::kReadAt, buf, 0, ~0ull), 0);  // no byte, no wrap
    BAD_INPUT(sys::do_io_raw(m, uint64_t(Op::kReadAt), addr(kReadOnly), 16, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(m, uint64_t(Op::kReadAt), kKernel, 16, 0), kBadAddress);
    const int64_t wo = sys::do_io(m, Op::kShare, nullptr, 0, uint64_t{abi::kRightWrite} << 32);
    CHECK(wo > 0);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(wo), Op::kReadAt, buf, 8, 0), kNoRights);
    CHECK_EQ(close(static_cast<Handle>(wo)), 0);
    Handle pipe[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, pipe), 2);
    BAD_INPUT(sys::do_io(pipe[0], Op::kReadAt, buf, 8, 0), kNotSupported);  // no positions
    CHECK_EQ(close(pipe[0]), 0);
    CHECK_EQ(close(pipe[1]), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(at)), 0);
    CHECK_EQ(close(m), 0);
}

TEST(memory_objects) {
    Handle m;
    CHECK_EQ(sys::object_new(Kind::kMemory, 8192, &m), 1);
    uint64_t size = 0;
    CHECK_EQ(get_u64(m, Meta::kSize, &size), 8);
    CHECK_EQ(size, 8192);
    const int64_t at = sys::do_io(m, Op::kMap, nullptr, 0, 1);
    CHECK(at > 0);
    auto* bytes = reinterpret_cast<volatile uint8_t*>(at);
    for (int i = 0; i < 8192; ++i)
        bytes[i] = static_cast<uint8_t>(i * 7);
    char buf[16];
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 4096), 4096);
    CHECK_EQ(sys::do_io(m, Op::kPeek, buf, 16), 16);
    CHECK_EQ(static_cast<uint8_t>(buf[1]), static_cast<uint8_t>(4097 * 7));
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, 16), 16);
    CHECK_EQ(sys::do_io(m, Op::kWrite, "XY", 2), 2);  // at 4112
    CHECK_EQ(bytes[4112], 'X');
    BAD_INPUT(sys::do_io(m, Op::kSeek, nullptr, 0, 8193), kInvalidArgument);
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 8192), 8192);
    BAD_INPUT(sys::do_io(m, Op::kWrite, "XY", 2), kTooLarge);
    CHECK_EQ(sys::do_io(m, Op::kRead, buf, 16), 0);  // end of object
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 0), 0);
    BAD_INPUT(sys::do_io_raw(m, 0, addr(kReadOnly), 16, 0), kBadAddress);  // read into rodata
    BAD_INPUT(sys::do_io_raw(m, 0, kUnmapped, 16, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(m, 2, kKernel, 16, 0), kBadAddress);
    uint64_t pos = 99;
    CHECK_EQ(sys::do_io(m, Op::kSeek, nullptr, 0, 0), 0);
    (void)pos;
    BAD_INPUT(sys::do_io(m, Op::kGetMeta, buf, 8, 999), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kMap, nullptr, 0, 5), kInvalidArgument);

    // Subranges share frames.
    const uint64_t range[2] = {4096, 4096};
    const int64_t sub = sys::do_io(m, Op::kCreate, range, sizeof range);
    CHECK(sub > 0);
    const int64_t sub_at = sys::do_io(static_cast<uint64_t>(sub), Op::kMap, nullptr, 0, 1);
    CHECK(sub_at > 0);
    CHECK_EQ(reinterpret_cast<volatile uint8_t*>(sub_at)[16], 'X');
    reinterpret_cast<volatile uint8_t*>(sub_at)[17] = 'Z';
    CHECK_EQ(bytes[4113], 'Z');
    const uint64_t bad_offset[2] = {100, 4096};
    const uint64_t bad_size[2] = {4096, 8192};
    const uint64_t zero_size[2] = {0, 0};
    BAD_INPUT(sys::do_io(m, Op::kCreate, bad_offset, 16), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kCreate, bad_size, 16), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kCreate, zero_size, 16), kInvalidArgument);
    BAD_INPUT(sys::do_io(m, Op::kCreate, range, 8), kInvalidArgument);
    BAD_INPUT(sys::do_io_raw(m, 6, kUnmapped, 16, 0), kBadAddress);

    // The permission mask: a read+map share cannot map writable, write, or share on.
    const int64_t ro = share(m, 0, abi::kRightRead | abi::kRightMap);
    CHECK(ro > 0);
    CHECK_EQ(rights_of(static_cast<uint64_t>(ro)), abi::kRightRead | abi::kRightMap);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kMap, nullptr, 0, 1), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kWrite, "x", 1), kNoRights);
    BAD_INPUT(share(static_cast<uint64_t>(ro), 0, abi::kRightRead), kNoRights);
    BAD_INPUT(sys::do_io(static_cast<uint64_t>(ro), Op::kCreate, range, 16), kNoRights);
    const int64_t ro_at = sys::do_io(static_cast<uint64_t>(ro), Op::kMap, nullptr, 0, 0);
    CHECK(ro_at > 0);
    CHECK_EQ(reinterpret_cast<volatile uint8_t*>(ro_at)[4112], 'X');
    // Sharing never adds rights; unknown rights bits are refused.
    const int64_t again = share(m, 0, abi::kRightRead);
    CHECK_EQ(rights_of(static_cast<uint64_t>(again)), abi::kRightRead);
    BAD_INPUT(share(m, 0, 1u << 20), kInvalidArgument);
    BAD_INPUT(share(m, m, abi::kRightRead), kInvalidArgument);  // target is not a process
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(ro_at)), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(sub_at)), 0);
    CHECK_EQ(sys::unmap(static_cast<uint64_t>(at)), 0);
    close(static_cast<uint64_t>(again));
    close(static_cast<uint64_t>(ro));
    close(static_cast<uint64_t>(sub));
    close(m);
}

TEST(runtime_heap) {
    void* blocks[64];
    for (int i = 0; i < 64; ++i) {
        blocks[i] = allocate(static_cast<size_t>(16 + i * 97));
        CHECK(blocks[i] != nullptr);
        memset(blocks[i], i, static_cast<size_t>(16 + i * 97));
    }
    for (int i = 0; i < 64; i += 2)
        release(blocks[i]);
    for (int i = 1; i < 64; i += 2)
        CHECK_EQ(static_cast<uint8_t*>(blocks[i])[15], i);  // neighbours untouched
    for (int i = 1; i < 64; i += 2)
        release(blocks[i]);
    void* big = allocate(1 << 20);  // larger than one heap chunk
    CHECK(big != nullptr);
    release(big);
    CHECK(allocate(0) == nullptr);
}

}  // namespace
}  // namespace keel::usertest
