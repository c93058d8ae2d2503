#include <keel/net/ethernet.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

EthernetParse parse_ethernet(const uint8_t* frame, size_t size, EthernetFrame* out) {
    if (size < kEthernetHeader)
        return EthernetParse::kTruncated;
    const uint16_t type = get16(frame + 12);
    if (type == kEtherTypeVlan || type == kEtherTypeQinQ)
        return EthernetParse::kVlan;
    // Values below 0x0600 are 802.3 lengths (LLC frames), which nothing here speaks.
    if (type < 0x0600)
        return EthernetParse::kLengthField;
    __builtin_memcpy(out->destination.bytes, frame, 6);
    __builtin_memcpy(out->source.bytes, frame + 6, 6);
    out->type = type;
    out->payload = frame + kEthernetHeader;
    out->size = size - kEthernetHeader;
    return EthernetParse::kOk;
}

void write_ethernet(uint8_t* out, const Mac& destination, const Mac& source, uint16_t type) {
    __builtin_memcpy(out, destination.bytes, 6);
    __builtin_memcpy(out + 6, source.bytes, 6);
    put16(out + 12, type);
}

}  // namespace keel::net
