// UDP (RFC 768): the 8-byte header, its checksum over the pseudo header, and the port ranges.
// Sockets and their queues live in the Stack (stack.hpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"

namespace keel::net {

inline constexpr size_t kUdpHeader = 8;
inline constexpr uint16_t kEphemeralFirst = 49152;  // RFC 6335's dynamic range
inline constexpr uint16_t kEphemeralLast = 65535;

struct UdpDatagram {
    uint16_t source_port;
    uint16_t destination_port;
    const uint8_t* payload;
    size_t size;
};

enum class UdpParse : uint8_t {
    kOk,
    kMalformed,    // shorter than the header, length field below 8 or beyond the IP payload
    kBadChecksum,  // a nonzero checksum that does not verify (zero means "not computed")
};

// data/size: the IPv4 payload; source/destination from the IPv4 header (for the checksum).
UdpParse parse_udp(const uint8_t* data, size_t size, Ip4 source, Ip4 destination, UdpDatagram* out);
// Writes the header and payload (8 + size bytes) at out, always with a checksum (a computed 0
// is sent as 0xffff, RFC 768).
void write_udp(uint8_t* out, Ip4 source, uint16_t source_port, Ip4 destination,
               uint16_t destination_port, const uint8_t* payload, size_t size);

}  // namespace keel::net
