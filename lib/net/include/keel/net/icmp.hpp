// ICMP for IPv4 (RFC 792): echo request and reply, destination unreachable and time exceeded
// (which carry the offending datagram's header and at least 8 bytes of its transport header).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::net {

inline constexpr size_t kIcmpHeader = 8;
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpUnreachable = 3;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpPortUnreachable = 3;  // the code under kIcmpUnreachable

struct IcmpMessage {
    uint8_t type;
    uint8_t code;
    uint16_t identifier;  // echo: the first half of "rest of header"
    uint16_t sequence;    // echo: the second half
    const uint8_t* body;  // after the 8-byte header
    size_t size;
};

// true and *out when the message is at least 8 bytes and its checksum verifies.
bool parse_icmp(const uint8_t* data, size_t size, IcmpMessage* out);
// Writes an echo message (type kIcmpEchoRequest or kIcmpEchoReply) of 8 + size bytes at out,
// with its checksum.
void write_icmp_echo(uint8_t* out, uint8_t type, uint16_t identifier, uint16_t sequence,
                     const uint8_t* data, size_t size);

}  // namespace keel::net
