// The virtio network device (virtio 1.x, 5.1): its feature bits, configuration layout and the
// 12-byte header that starts every buffer, and the checks a driver does on what the device
// says (its configuration, every received buffer), as pure code tested on the host. Keel's
// driver negotiates VERSION_1, MAC, STATUS and MTU only: no checksum or segmentation offloads
// and no merged receive buffers, so a transmitted header is all zeros and a received one
// carries nothing the driver needs (it is checked, then ignored). Built-in headers only.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::virtio::net {

// Feature bits (5.1.3). Only kFeatureMtu, kFeatureMac and kFeatureStatus are ever accepted.
inline constexpr uint64_t kFeatureCsum = 1ull << 0;       // the device checksums transmits
inline constexpr uint64_t kFeatureGuestCsum = 1ull << 1;  // received checksums may be partial
inline constexpr uint64_t kFeatureMtu = 1ull << 3;        // config mtu is valid
inline constexpr uint64_t kFeatureMac = 1ull << 5;        // config mac is valid
inline constexpr uint64_t kFeatureMergeRx = 1ull << 15;   // a frame may span buffers
inline constexpr uint64_t kFeatureStatus = 1ull << 16;    // config status is valid

// The device configuration (little-endian, at these offsets).
inline constexpr uint32_t kConfigMac = 0;     // u8[6], with kFeatureMac
inline constexpr uint32_t kConfigStatus = 6;  // u16, with kFeatureStatus
inline constexpr uint32_t kConfigMtu = 10;    // u16, with kFeatureMtu
// The configuration bytes a driver reads with these features.
uint32_t config_bytes(uint64_t features);

inline constexpr uint16_t kStatusLinkUp = 1;

// The queues: receive 0, transmit 1 (one pair: no VIRTIO_NET_F_MQ).
inline constexpr uint16_t kReceiveQueue = 0;
inline constexpr uint16_t kTransmitQueue = 1;

// The header before each frame in a buffer (VERSION_1 layout: num_buffers always there).
struct Header {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
static_assert(sizeof(Header) == 12);
inline constexpr uint32_t kHeaderBytes = sizeof(Header);
inline constexpr uint8_t kHeaderNeedsCsum = 1;  // a partial checksum: needs kFeatureGuestCsum
inline constexpr uint8_t kHeaderDataValid = 2;  // the checksum was checked: harmless
inline constexpr uint8_t kGsoNone = 0;

// Ethernet: a frame without its CRC is a 14-byte header and at most mtu payload bytes.
inline constexpr uint32_t kEthernetHeader = 14;
inline constexpr uint16_t kDefaultMtu = 1500;  // the link's mtu, at most
inline constexpr uint16_t kMinimumMtu = 68;    // the spec's floor for config mtu

// What a device's configuration says, after validation.
struct Config {
    uint8_t mac[6];
    bool has_mac;  // kFeatureMac: mac is the device's (else the driver picks one)
    bool link_up;  // kFeatureStatus: its link bit; without it, always up
    uint16_t mtu;  // min(config mtu, kDefaultMtu) with kFeatureMtu, else kDefaultMtu
};

// Validates the configuration values against the negotiated features (the device's words are
// untrusted): a multicast or all-zero mac, or an mtu below kMinimumMtu, is refused; status bits
// other than link-up are ignored. nullptr and *out filled, or a reason.
const char* check_config(uint64_t features, const uint8_t mac[6], uint16_t status, uint16_t mtu,
                         Config* out);

// A locally administered unicast MAC address made from `seed` (for a device without a mac).
void random_mac(uint64_t seed, uint8_t out[6]);

// Whether `length` bytes are a frame this link transmits: 14 .. mtu + 14.
inline bool frame_length_ok(uint64_t length, uint16_t mtu) {
    return length >= kEthernetHeader && length <= uint64_t{mtu} + kEthernetHeader;
}

enum class Received : uint8_t {
    kOk,
    kShort,      // fewer bytes than a header and an Ethernet header
    kLong,       // a frame longer than mtu + 14
    kBadHeader,  // an offload the driver never negotiated (partial checksum, GSO), or a frame
                 // said to span buffers
};
// Checks a receive buffer the device says it wrote `used` bytes of (the split queue already
// checked `used` against the buffer's size): the header first (posted zeroed: num_buffers must
// be 0, as QEMU leaves it without merged buffers, or 1, as the spec says), then the frame's
// length, *frame_length = used - kHeaderBytes on kOk. `buffer` holds at least kHeaderBytes.
Received check_received(const uint8_t* buffer, uint32_t used, uint16_t mtu, uint32_t* frame_length);

}  // namespace keel::virtio::net
