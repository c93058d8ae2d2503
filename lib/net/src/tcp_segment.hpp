// A received TCP segment, validated (RFC 9293 3.1): the header's fields, the options the
// engine uses, and the payload. Private to the engine.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <keel/net/addr.hpp>

namespace keel::net::tcp {

inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;

inline constexpr uint8_t kOptionEnd = 0;
inline constexpr uint8_t kOptionNop = 1;
inline constexpr uint8_t kOptionMss = 2;
inline constexpr uint8_t kOptionWindowScale = 3;
inline constexpr uint8_t kOptionSackPermitted = 4;

struct Segment {
    uint16_t source_port, destination_port;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    uint16_t mss;  // the MSS option's value, 0 when absent
    bool has_window_scale;
    uint8_t window_scale;  // the window scale option's shift (unclamped)
    const uint8_t* data;
    uint32_t length;  // payload bytes

    // The sequence space it occupies: SYN and FIN count one each.
    uint32_t sequence_length() const {
        return length + ((flags & kSyn) != 0 ? 1u : 0u) + ((flags & kFin) != 0 ? 1u : 0u);
    }
};

enum class ParseResult { kOk, kMalformed, kBadChecksum };

// Validates segment[0, size) received from source to destination: at least 20 bytes and at
// most 65535, a data offset of 5..15 words inside the segment, every option inside the
// option area with a length of at least 2 (MSS exactly 4, window scale exactly 3,
// SACK-permitted exactly 2; unknown kinds skipped by their length), the checksum over the
// pseudo header. Fills *out only for kOk.
ParseResult parse_segment(Ip4 source, Ip4 destination, const uint8_t* segment, size_t size,
                          Segment* out);

}  // namespace keel::net::tcp
