#include <keel/net/static_address.hpp>

namespace keel::net {
namespace {

// A unicast host address: not 0.0.0.0/8 ("this network"), not loopback, not multicast or
// above (RFC 1122 3.2.1.3, RFC 5771).
bool unicast_host(Ip4 a) {
    const uint32_t first = a >> 24;
    return first != 0 && first != 127 && first < 224;
}

}  // namespace

const char* parse_static_address(const char* address, size_t address_size, const char* gateway,
                                 size_t gateway_size, StaticAddress* out) {
    size_t slash = 0;
    while (slash < address_size && address[slash] != '/')
        ++slash;
    if (slash == address_size)
        return "the address needs a prefix length (a.b.c.d/N)";
    Ip4 ip = 0;
    if (!parse_ip4(address, slash, &ip))
        return "not a dotted quad before the '/'";
    const char* prefix_text = address + slash + 1;
    const size_t prefix_size = address_size - slash - 1;
    if (prefix_size == 0 || prefix_size > 2)
        return "the prefix length is not a number from 8 to 30";
    uint32_t prefix = 0;
    for (size_t i = 0; i < prefix_size; ++i) {
        if (prefix_text[i] < '0' || prefix_text[i] > '9')
            return "the prefix length is not a number from 8 to 30";
        prefix = prefix * 10 + static_cast<uint32_t>(prefix_text[i] - '0');
    }
    if ((prefix_size == 2 && prefix_text[0] == '0') || prefix < 8 || prefix > 30)
        return "the prefix length is not a number from 8 to 30";
    const Ip4 mask = ~0u << (32 - prefix);
    if (!unicast_host(ip))
        return "not a unicast host address";
    if ((ip & ~mask) == 0 || (ip & ~mask) == ~mask)
        return "the subnet's own address or its broadcast";
    Ip4 gw = 0;
    if (gateway != nullptr && gateway_size > 0) {
        if (!parse_ip4(gateway, gateway_size, &gw))
            return "the gateway is not a dotted quad";
        if ((gw & mask) != (ip & mask))
            return "the gateway is not on the address's subnet";
        if (gw == ip || (gw & ~mask) == 0 || (gw & ~mask) == ~mask)
            return "the gateway is the address itself, the subnet's address or its broadcast";
    }
    *out = StaticAddress{ip, mask, gw};
    return nullptr;
}

}  // namespace keel::net
