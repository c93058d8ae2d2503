#include <keel/net/ip_output.hpp>
#include <keel/net/udp.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

UdpParse parse_udp(const uint8_t* data, size_t size, Ip4 source, Ip4 destination,
                   UdpDatagram* out) {
    if (size < kUdpHeader)
        return UdpParse::kMalformed;
    const uint16_t length = get16(data + 4);
    // Bytes past the UDP length (inside the IP payload) are ignored, as RFC 768 implies.
    if (length < kUdpHeader || length > size)
        return UdpParse::kMalformed;
    if (get16(data + 6) != 0) {
        const uint32_t sum = checksum_add(
            pseudo_header_sum(source, destination, kProtocolUdp, length), data, length);
        if (checksum_fold(sum) != 0)
            return UdpParse::kBadChecksum;
    }
    out->source_port = get16(data);
    out->destination_port = get16(data + 2);
    out->payload = data + kUdpHeader;
    out->size = length - kUdpHeader;
    return UdpParse::kOk;
}

void write_udp(uint8_t* out, Ip4 source, uint16_t source_port, Ip4 destination,
               uint16_t destination_port, const uint8_t* payload, size_t size) {
    const uint16_t length = static_cast<uint16_t>(kUdpHeader + size);
    put16(out, source_port);
    put16(out + 2, destination_port);
    put16(out + 4, length);
    put16(out + 6, 0);
    if (size != 0)
        __builtin_memmove(out + kUdpHeader, payload, size);
    uint16_t sum = checksum_fold(
        checksum_add(pseudo_header_sum(source, destination, kProtocolUdp, length), out, length));
    // 0 on the wire means "no checksum"; its one's-complement twin says the same sum.
    put16(out + 6, sum == 0 ? 0xffff : sum);
}

}  // namespace keel::net
