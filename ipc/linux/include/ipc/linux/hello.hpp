// The handshake of the Linux transport: the only messages it parses. The client sends one
// Hello (with the queue's memfd attached as SCM_RIGHTS); the server answers with one
// HelloReply. Both are fixed-size records in native byte order (both ends are on one machine).
//
// encode/parse are pure functions over bytes, kept apart from any socket code so that they
// can be fuzzed on their own: parse_* must accept exactly the bytes encode_* produces for a
// valid message and refuse everything else with an Error, never crash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <ipc/layout.hpp>
#include <ipc/result.hpp>

namespace keel::ipc::linux_transport {

inline constexpr std::uint32_t kHelloMagic = 0x484c4b4b;  // "KKLH"
inline constexpr std::uint32_t kReplyMagic = 0x524c4b4b;  // "KKLR"
inline constexpr std::uint16_t kHelloVersion = 1;

// What the client announces: the geometry it created the queue with and the size of the
// memfd. The server still checks the memfd itself and the queue header against this.
struct Hello {
    Geometry geometry;
    std::uint64_t region_size = 0;  // kQueueOffset + Layout::compute(geometry)->total_size
};

enum class ReplyStatus : std::uint16_t {
    Accepted = 0,
    BadHello = 1,     // the Hello did not parse
    TooLarge = 2,     // geometry beyond the server's limits
    BadRegion = 3,    // the memfd is missing, unsealed, of the wrong size, or does not map
    BadQueue = 4,     // Server::attach refused the queue header
    ServerError = 5,  // the server could not allocate or map
};

struct HelloReply {
    ReplyStatus status = ReplyStatus::Accepted;
    std::uint16_t op_limit = 0;  // service opcodes the server accepts: [kFirstServiceOp, op_limit)
};

inline constexpr std::size_t kHelloSize = 48;
inline constexpr std::size_t kReplySize = 16;

// Cost O(1). The Hello must describe a valid geometry (callers check with Layout::compute).
std::array<std::byte, kHelloSize> encode_hello(const Hello& hello);
std::array<std::byte, kReplySize> encode_reply(const HelloReply& reply);

// Cost O(1). Errors: InvalidArgument (wrong length), BadLayout (wrong magic, version, size
// field, non-zero reserved bytes, invalid geometry, region_size not matching the geometry).
Result<Hello> parse_hello(std::span<const std::byte> bytes);
// Errors: InvalidArgument (wrong length), BadLayout (wrong magic, version, reserved bytes,
// unknown status).
Result<HelloReply> parse_reply(std::span<const std::byte> bytes);

}  // namespace keel::ipc::linux_transport
