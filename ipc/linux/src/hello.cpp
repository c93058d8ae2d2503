// Handshake records: pure encode/parse, no I/O (see hello.hpp). Field by field at fixed
// offsets, so the wire format does not depend on any struct's padding.
#include <ipc/linux/hello.hpp>
#include <ipc/linux/wake_page.hpp>

#include <cstring>

namespace keel::ipc::linux_transport {

namespace {

// Hello: magic u32 @0, version u16 @4, size u16 @6, capacity u32 @8, buffer_count u32 @12,
// buffer_size u32 @16, reserved u32 @20, queue_offset u64 @24, region_size u64 @32,
// reserved u64 @40.
// Reply: magic u32 @0, version u16 @4, status u16 @6, op_limit u16 @8, reserved u16 @10,
// reserved u32 @12.

template <class T>
void put(std::byte* out, std::size_t at, T v) {
    std::memcpy(out + at, &v, sizeof v);
}

template <class T>
T get(std::span<const std::byte> in, std::size_t at) {
    T v;
    std::memcpy(&v, in.data() + at, sizeof v);
    return v;
}

}  // namespace

std::array<std::byte, kHelloSize> encode_hello(const Hello& hello) {
    std::array<std::byte, kHelloSize> out{};
    put<std::uint32_t>(out.data(), 0, kHelloMagic);
    put<std::uint16_t>(out.data(), 4, kHelloVersion);
    put<std::uint16_t>(out.data(), 6, std::uint16_t(kHelloSize));
    put<std::uint32_t>(out.data(), 8, hello.geometry.capacity);
    put<std::uint32_t>(out.data(), 12, hello.geometry.buffer_count);
    put<std::uint32_t>(out.data(), 16, hello.geometry.buffer_size);
    put<std::uint64_t>(out.data(), 24, std::uint64_t(kQueueOffset));
    put<std::uint64_t>(out.data(), 32, hello.region_size);
    return out;
}

std::array<std::byte, kReplySize> encode_reply(const HelloReply& reply) {
    std::array<std::byte, kReplySize> out{};
    put<std::uint32_t>(out.data(), 0, kReplyMagic);
    put<std::uint16_t>(out.data(), 4, kHelloVersion);
    put<std::uint16_t>(out.data(), 6, std::uint16_t(reply.status));
    put<std::uint16_t>(out.data(), 8, reply.op_limit);
    return out;
}

Result<Hello> parse_hello(std::span<const std::byte> bytes) {
    if (bytes.size() != kHelloSize) {
        return fail(Error::InvalidArgument);
    }
    if (get<std::uint32_t>(bytes, 0) != kHelloMagic ||
        get<std::uint16_t>(bytes, 4) != kHelloVersion ||
        get<std::uint16_t>(bytes, 6) != kHelloSize || get<std::uint32_t>(bytes, 20) != 0 ||
        get<std::uint64_t>(bytes, 24) != kQueueOffset || get<std::uint64_t>(bytes, 40) != 0) {
        return fail(Error::BadLayout);
    }
    Hello h;
    h.geometry.capacity = get<std::uint32_t>(bytes, 8);
    h.geometry.buffer_count = get<std::uint32_t>(bytes, 12);
    h.geometry.buffer_size = get<std::uint32_t>(bytes, 16);
    h.region_size = get<std::uint64_t>(bytes, 32);
    auto layout = Layout::compute(h.geometry);
    if (!layout) {
        return fail(Error::BadLayout);
    }
    // The whole memfd is the wake page plus the queue region, exactly.
    if (h.region_size != kQueueOffset + layout->total_size) {
        return fail(Error::BadLayout);
    }
    return h;
}

Result<HelloReply> parse_reply(std::span<const std::byte> bytes) {
    if (bytes.size() != kReplySize) {
        return fail(Error::InvalidArgument);
    }
    if (get<std::uint32_t>(bytes, 0) != kReplyMagic ||
        get<std::uint16_t>(bytes, 4) != kHelloVersion || get<std::uint16_t>(bytes, 10) != 0 ||
        get<std::uint32_t>(bytes, 12) != 0) {
        return fail(Error::BadLayout);
    }
    auto status = get<std::uint16_t>(bytes, 6);
    if (status > std::uint16_t(ReplyStatus::ServerError)) {
        return fail(Error::BadLayout);
    }
    HelloReply r;
    r.status = ReplyStatus(status);
    r.op_limit = get<std::uint16_t>(bytes, 8);
    return r;
}

}  // namespace keel::ipc::linux_transport
