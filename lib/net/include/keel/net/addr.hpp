// Link and network addresses. An IPv4 address is a uint32_t in host order everywhere in the
// stack (10.0.2.15 is 0x0a00020f); only the wire helpers see network order.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::net {

using Ip4 = uint32_t;

struct Mac {
    uint8_t bytes[6];
    bool operator==(const Mac&) const = default;
};

inline constexpr Mac kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
inline constexpr Ip4 kBroadcastIp4 = 0xffffffffu;

constexpr Ip4 ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return static_cast<Ip4>(a) << 24 | static_cast<Ip4>(b) << 16 | static_cast<Ip4>(c) << 8 | d;
}

// "a.b.c.d", exactly size bytes (no NUL needed): four decimal numbers 0-255 without leading
// zeros or signs. true and *out, or false.
bool parse_ip4(const char* text, size_t size, Ip4* out);
// Writes "a.b.c.d" and a NUL into out (at least kIp4TextSize bytes): the length without NUL.
inline constexpr size_t kIp4TextSize = 16;
size_t format_ip4(Ip4 address, char* out);

}  // namespace keel::net
