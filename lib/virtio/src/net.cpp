#include <keel/virtio/net.hpp>

namespace keel::virtio::net {

namespace {

uint16_t le16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] | p[1] << 8);
}

}  // namespace

uint32_t config_bytes(uint64_t features) {
    if ((features & kFeatureMtu) != 0)
        return kConfigMtu + 2;
    if ((features & kFeatureStatus) != 0)
        return kConfigStatus + 2;
    return kConfigMac + 6;
}

const char* check_config(uint64_t features, const uint8_t mac[6], uint16_t status, uint16_t mtu,
                         Config* out) {
    Config c{};
    if ((features & kFeatureMac) != 0) {
        if ((mac[0] & 1) != 0)
            return "the device's MAC address is a multicast address";
        uint8_t any = 0;
        for (int i = 0; i < 6; ++i) {
            c.mac[i] = mac[i];
            any = static_cast<uint8_t>(any | mac[i]);
        }
        if (any == 0)
            return "the device's MAC address is all zeros";
        c.has_mac = true;
    }
    c.link_up = (features & kFeatureStatus) == 0 || (status & kStatusLinkUp) != 0;
    c.mtu = kDefaultMtu;
    if ((features & kFeatureMtu) != 0) {
        if (mtu < kMinimumMtu)
            return "the device's mtu is below 68";
        if (mtu < c.mtu)
            c.mtu = mtu;
    }
    *out = c;
    return nullptr;
}

void random_mac(uint64_t seed, uint8_t out[6]) {
    // splitmix64: every bit of the seed reaches every byte.
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int i = 0; i < 6; ++i)
        out[i] = static_cast<uint8_t>(z >> (8 * i));
    out[0] = static_cast<uint8_t>((out[0] & 0xfc) | 0x02);  // locally administered, unicast
}

Received check_received(const uint8_t* buffer, uint32_t used, uint16_t mtu,
                        uint32_t* frame_length) {
    if (used < kHeaderBytes + kEthernetHeader)
        return Received::kShort;
    const uint8_t flags = buffer[0];
    const uint8_t gso = buffer[1];
    const uint16_t buffers = le16(buffer + 10);
    if ((flags & ~kHeaderDataValid) != 0 || gso != kGsoNone || buffers > 1)
        return Received::kBadHeader;
    if (used - kHeaderBytes > uint32_t{mtu} + kEthernetHeader)
        return Received::kLong;
    *frame_length = used - kHeaderBytes;
    return Received::kOk;
}

}  // namespace keel::virtio::net
