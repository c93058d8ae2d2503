#include <keel/net/dhcp.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

namespace {

// Option codes (RFC 2132).
constexpr uint8_t kPad = 0, kEnd = 255;
constexpr uint8_t kSubnetMask = 1, kRouter = 3, kDnsServer = 6, kRequestedAddress = 50,
                  kLeaseTime = 51, kMessageType = 53, kServerId = 54, kParameterList = 55,
                  kRenewalTime = 58, kRebindingTime = 59, kClientId = 61;

}  // namespace

bool parse_dhcp(const uint8_t* data, size_t size, const Mac& mac, DhcpMessage* out) {
    if (size < kDhcpFixed + 4)
        return false;
    // BOOTREPLY over Ethernet, for our hardware address.
    if (data[0] != 2 || data[1] != 1 || data[2] != 6)
        return false;
    if (__builtin_memcmp(data + 28, mac.bytes, 6) != 0)
        return false;
    if (get32(data + kDhcpFixed) != kDhcpMagic)
        return false;
    *out = DhcpMessage{};
    out->xid = get32(data + 4);
    out->your_address = get32(data + 16);
    size_t i = kDhcpFixed + 4;
    bool ended = false;
    while (i < size) {
        const uint8_t code = data[i];
        if (code == kPad) {
            ++i;
            continue;
        }
        if (code == kEnd) {
            ended = true;
            break;
        }
        if (i + 2 > size)
            return false;
        const size_t length = data[i + 1];
        const uint8_t* value = data + i + 2;
        if (length > size - (i + 2))
            return false;  // the option runs off the end
        switch (code) {
            case kMessageType:
                if (length != 1)
                    return false;
                out->type = value[0];
                break;
            case kSubnetMask:
            case kServerId:
            case kLeaseTime:
            case kRenewalTime:
            case kRebindingTime:
                if (length != 4)
                    return false;
                if (code == kSubnetMask)
                    out->netmask = get32(value);
                else if (code == kServerId)
                    out->server_id = get32(value);
                else if (code == kLeaseTime)
                    out->lease = get32(value);
                else if (code == kRenewalTime)
                    out->t1 = get32(value);
                else
                    out->t2 = get32(value);
                break;
            case kRouter:
            case kDnsServer:
                // A list of addresses: the first is used.
                if (length < 4 || length % 4 != 0)
                    return false;
                if (code == kRouter)
                    out->router = get32(value);
                else
                    out->dns = get32(value);
                break;
            default:
                break;  // others (and option overload, 52: sname/file are not read) are skipped
        }
        i += 2 + length;
    }
    // RFC 2131 requires END; a message without it was cut short.
    return ended && out->type != 0;
}

size_t write_dhcp(uint8_t* out, uint8_t type, uint32_t xid, const Mac& mac, Ip4 client,
                  Ip4 requested, Ip4 server, uint16_t seconds) {
    __builtin_memset(out, 0, kDhcpFixed);
    out[0] = 1;  // BOOTREQUEST
    out[1] = 1;  // Ethernet
    out[2] = 6;
    put32(out + 4, xid);
    put16(out + 8, seconds);
    // Broadcast flag only while we have no address to receive a unicast reply at.
    put16(out + 10, client == 0 ? 0x8000 : 0);
    put32(out + 12, client);
    __builtin_memcpy(out + 28, mac.bytes, 6);
    put32(out + kDhcpFixed, kDhcpMagic);
    size_t i = kDhcpFixed + 4;
    out[i++] = kMessageType;
    out[i++] = 1;
    out[i++] = type;
    out[i++] = kClientId;
    out[i++] = 7;
    out[i++] = 1;  // hardware type Ethernet
    __builtin_memcpy(out + i, mac.bytes, 6);
    i += 6;
    if (requested != 0) {
        out[i++] = kRequestedAddress;
        out[i++] = 4;
        put32(out + i, requested);
        i += 4;
    }
    if (server != 0) {
        out[i++] = kServerId;
        out[i++] = 4;
        put32(out + i, server);
        i += 4;
    }
    const uint8_t wanted[] = {kSubnetMask, kRouter,      kDnsServer,
                              kLeaseTime,  kRenewalTime, kRebindingTime};
    out[i++] = kParameterList;
    out[i++] = sizeof wanted;
    __builtin_memcpy(out + i, wanted, sizeof wanted);
    i += sizeof wanted;
    out[i++] = kEnd;
    // Pad to BOOTP's 300-byte minimum (RFC 1542 section 2.1): some relays and servers drop
    // shorter requests.
    for (; i < 300; ++i)
        out[i] = kPad;
    return i;
}

}  // namespace keel::net
