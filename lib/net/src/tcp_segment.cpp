#include <keel/net/ip_output.hpp>
#include <keel/net/wire.hpp>

#include "tcp_segment.hpp"

namespace keel::net::tcp {

namespace {

// Walks the options: false if one runs off the area or has an impossible length.
bool parse_options(const uint8_t* p, size_t size, Segment* s) {
    size_t i = 0;
    while (i < size) {
        const uint8_t kind = p[i];
        if (kind == kOptionEnd)
            return true;
        if (kind == kOptionNop) {
            ++i;
            continue;
        }
        if (i + 1 >= size)
            return false;  // no room for the length byte
        const uint8_t length = p[i + 1];
        if (length < 2 || length > size - i)
            return false;
        if ((kind == kOptionMss && length != 4) || (kind == kOptionWindowScale && length != 3) ||
            (kind == kOptionSackPermitted && length != 2))
            return false;
        if (kind == kOptionMss)
            s->mss = get16(p + i + 2);
        if (kind == kOptionWindowScale) {
            s->has_window_scale = true;
            s->window_scale = p[i + 2];
        }
        i += length;
    }
    return true;
}

}  // namespace

ParseResult parse_segment(Ip4 source, Ip4 destination, const uint8_t* segment, size_t size,
                          Segment* out) {
    if (segment == nullptr || size < 20 || size > 65535)
        return ParseResult::kMalformed;
    const size_t header = static_cast<size_t>(segment[12] >> 4) * 4;
    if (header < 20 || header > size)
        return ParseResult::kMalformed;
    Segment s{};
    if (!parse_options(segment + 20, header - 20, &s))
        return ParseResult::kMalformed;
    // Checked last: the cheaper format checks reject most garbage first, and a segment with a
    // right checksum but a broken format is still malformed.
    const uint32_t sum = checksum_add(
        pseudo_header_sum(source, destination, kProtocolTcp, static_cast<uint16_t>(size)), segment,
        size);
    if (checksum_fold(sum) != 0)
        return ParseResult::kBadChecksum;
    s.source_port = get16(segment);
    s.destination_port = get16(segment + 2);
    s.seq = get32(segment + 4);
    s.ack = get32(segment + 8);
    s.flags = static_cast<uint8_t>(segment[13] & 0x3f);
    s.window = get16(segment + 14);
    s.data = segment + header;
    s.length = static_cast<uint32_t>(size - header);
    *out = s;
    return ParseResult::kOk;
}

}  // namespace keel::net::tcp
