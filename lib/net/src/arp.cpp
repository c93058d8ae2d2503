#include <keel/net/arp.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

bool parse_arp(const uint8_t* data, size_t size, ArpPacket* out) {
    if (size < kArpSize)
        return false;
    // Ethernet (1) and IPv4 (0x0800) with their address lengths: the only pairing we resolve.
    if (get16(data) != 1 || get16(data + 2) != 0x0800 || data[4] != 6 || data[5] != 4)
        return false;
    const uint16_t op = get16(data + 6);
    if (op != kArpRequest && op != kArpReply)
        return false;
    out->operation = op;
    __builtin_memcpy(out->sender_mac.bytes, data + 8, 6);
    out->sender_ip = get32(data + 14);
    __builtin_memcpy(out->target_mac.bytes, data + 18, 6);
    out->target_ip = get32(data + 24);
    return true;
}

void write_arp(uint8_t* out, const ArpPacket& packet) {
    put16(out, 1);
    put16(out + 2, 0x0800);
    out[4] = 6;
    out[5] = 4;
    put16(out + 6, packet.operation);
    __builtin_memcpy(out + 8, packet.sender_mac.bytes, 6);
    put32(out + 14, packet.sender_ip);
    __builtin_memcpy(out + 18, packet.target_mac.bytes, 6);
    put32(out + 24, packet.target_ip);
}

}  // namespace keel::net
