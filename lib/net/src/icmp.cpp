#include <keel/net/icmp.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

bool parse_icmp(const uint8_t* data, size_t size, IcmpMessage* out) {
    if (size < kIcmpHeader || checksum_fold(checksum_add(0, data, size)) != 0)
        return false;
    out->type = data[0];
    out->code = data[1];
    out->identifier = get16(data + 4);
    out->sequence = get16(data + 6);
    out->body = data + kIcmpHeader;
    out->size = size - kIcmpHeader;
    return true;
}

void write_icmp_echo(uint8_t* out, uint8_t type, uint16_t identifier, uint16_t sequence,
                     const uint8_t* data, size_t size) {
    out[0] = type;
    out[1] = 0;
    put16(out + 2, 0);
    put16(out + 4, identifier);
    put16(out + 6, sequence);
    if (size != 0)
        __builtin_memmove(out + kIcmpHeader, data, size);
    put16(out + 2, checksum_fold(checksum_add(0, out, kIcmpHeader + size)));
}

}  // namespace keel::net
