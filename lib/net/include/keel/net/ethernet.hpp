// Ethernet II framing (IEEE 802.3 with an EtherType >= 0x0600): 14 bytes of header, no CRC
// (the device strips and adds it). 802.1Q/802.1ad tagged frames are refused: the stack runs on
// one untagged link, and a tag it does not expect is counted rather than guessed through.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "addr.hpp"

namespace keel::net {

inline constexpr size_t kEthernetHeader = 14;
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad

struct EthernetFrame {
    Mac destination;
    Mac source;
    uint16_t type;
    const uint8_t* payload;  // inside the frame handed to parse_ethernet
    size_t size;             // may include the link's padding to 60 bytes
};

enum class EthernetParse : uint8_t {
    kOk,
    kTruncated,    // shorter than the header
    kVlan,         // an 802.1Q or 802.1ad tag
    kLengthField,  // an 802.3 length (< 0x0600) rather than an EtherType: not Ethernet II
};

EthernetParse parse_ethernet(const uint8_t* frame, size_t size, EthernetFrame* out);
// Writes the 14-byte header at out.
void write_ethernet(uint8_t* out, const Mac& destination, const Mac& source, uint16_t type);

}  // namespace keel::net
