// Byte pipes and message pipes: data, boundaries, rights of each end, capacity, end of stream.
#include "usertest.hpp"

namespace keel::usertest {
namespace {

TEST(byte_pipes) {
    Handle p[2];
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    const Handle r = p[0], w = p[1];
    char buf[64];
    CHECK_EQ(sys::do_io(w, Op::kWrite, "hello", 5), 5);
    CHECK_EQ(sys::do_io(r, Op::kPeek, buf, 64), 5);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 3), 3);
    CHECK(buf[0] == 'h' && buf[2] == 'l');
    uint64_t size = 0;
    CHECK_EQ(get_u64(r, Meta::kSize, &size), 8);
    CHECK_EQ(size, 2);
    // A failed copy consumes nothing.
    BAD_INPUT(sys::do_io_raw(r, 0, addr(kReadOnly), 2, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(r, 0, kUnmapped, 2, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(w, 2, kKernel, 2, 0), kBadAddress);
    BAD_INPUT(sys::do_io_raw(w, 2, kNull, 2, 0), kBadAddress);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 64), 2);
    CHECK(buf[0] == 'l' && buf[1] == 'o');
    // Rights: each end does one thing.
    BAD_INPUT(sys::do_io(r, Op::kWrite, "x", 1), kNoRights);
    BAD_INPUT(sys::do_io(w, Op::kRead, buf, 1), kNoRights);
    BAD_INPUT(sys::do_io(r, Op::kSeek, nullptr, 0, 0), kNotSupported);
    BAD_INPUT(sys::do_io(w, Op::kSeek, nullptr, 0, 0), kNoRights);  // seek needs Read
    // Capacity: a big write takes what fits.
    auto* big = static_cast<char*>(allocate(5000));
    CHECK(big != nullptr);
    memset(big, 'b', 5000);
    CHECK_EQ(sys::do_io(w, Op::kWrite, big, 5000), static_cast<int64_t>(abi::kPipeCapacity));
    CHECK_EQ(sys::do_io(r, Op::kRead, big, 5000), static_cast<int64_t>(abi::kPipeCapacity));
    release(big);
    // End of stream, then the other way round.
    CHECK_EQ(sys::do_io(w, Op::kWrite, "end", 3), 3);
    close(w);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 64), 3);
    CHECK_EQ(sys::do_io(r, Op::kRead, buf, 64), 0);
    close(r);
    CHECK_EQ(sys::object_new(Kind::kPipe, 0, p), 2);
    close(p[0]);
    BAD_INPUT(sys::do_io(p[1], Op::kWrite, "x", 1), kPeerGone);
    close(p[1]);
}

TEST(message_pipes) {
    Handle e[2];
    CHECK_EQ(sys::object_new(Kind::kMessagePipe, 0, e), 2);
    char buf[64];
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "abc", 3), 3);
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "defgh", 5), 5);
    CHECK_EQ(sys::do_io(e[1], Op::kWrite, "back", 4), 4);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 3);  // boundaries kept
    CHECK_EQ(sys::do_io(e[1], Op::kPeek, buf, 64), 5);
    BAD_INPUT(sys::do_io(e[1], Op::kRead, buf, 2), kBufferTooSmall);
    BAD_INPUT(sys::do_io_raw(e[1], 0, addr(kReadOnly), 16, 0), kBadAddress);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 5);  // still there after both failures
    CHECK(buf[0] == 'd' && buf[4] == 'h');
    CHECK_EQ(sys::do_io(e[0], Op::kRead, buf, 64), 4);
    auto* big = static_cast<char*>(allocate(abi::kMaxMessageLength + 1));
    BAD_INPUT(sys::do_io(e[0], Op::kWrite, big, abi::kMaxMessageLength + 1), kTooLarge);
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, big, abi::kMaxMessageLength),
             static_cast<int64_t>(abi::kMaxMessageLength));
    CHECK_EQ(sys::do_io(e[1], Op::kRead, big, abi::kMaxMessageLength),
             static_cast<int64_t>(abi::kMaxMessageLength));
    release(big);
    BAD_INPUT(sys::do_io_raw(e[0], 2, kUnmapped, 16, 0), kBadAddress);
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "", 0), 0);  // an empty message is a message
    CHECK_EQ(sys::do_io(e[0], Op::kWrite, "last", 4), 4);
    close(e[0]);
    BAD_INPUT(sys::do_io(e[1], Op::kWrite, "x", 1), kPeerGone);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 0);
    CHECK_EQ(sys::do_io(e[1], Op::kRead, buf, 64), 4);
    BAD_INPUT(sys::do_io(e[1], Op::kRead, buf, 64), kPeerGone);
    close(e[1]);
}

}  // namespace
}  // namespace keel::usertest
