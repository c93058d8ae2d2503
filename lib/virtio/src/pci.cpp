#include <keel/virtio/pci.hpp>

namespace keel::virtio {

namespace {

constexpr uint32_t kWalked = 256;  // the conventional space holds the vendor capabilities
constexpr uint8_t kCapVendorId = 0x09;
constexpr uint16_t kStatusRegister = 0x06;
constexpr uint16_t kStatusCapabilities = 1u << 4;
constexpr uint8_t kCapabilityPointer = 0x34;
constexpr uint32_t kHeaderEnd = 0x40;
constexpr uint32_t kMaxHops = (kWalked - kHeaderEnd) / 4;

uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// The region a virtio capability at `at` names, if it is usable: a memory BAR and a region
// of at least `minimum` bytes inside it.
bool usable(const uint8_t* c, uint32_t at, uint32_t minimum, const uint64_t bar_sizes[6],
            Region* out) {
    const uint8_t bar = c[at + 4];
    if (bar > 5 || bar_sizes[bar] == 0)
        return false;
    const uint32_t offset = le32(c + at + 8);
    const uint32_t length = le32(c + at + 12);
    if (length < minimum)
        return false;
    if (uint64_t{offset} + length > bar_sizes[bar])  // no overflow: both below 2^32
        return false;
    *out = Region{bar, offset, length};
    return true;
}

}  // namespace

const char* find_layout(const uint8_t* c, size_t size, const uint64_t bar_sizes[6], Layout* out) {
    if (size < kWalked)
        return "configuration space snapshot shorter than 256 bytes";
    if ((uint32_t{c[kStatusRegister]} & kStatusCapabilities) == 0)
        return "no capability list";
    *out = Layout{};
    bool common = false, notify = false, isr = false;
    uint32_t at = c[kCapabilityPointer] & ~3u;
    for (uint32_t hops = 0; at != 0; ++hops) {
        if (hops == kMaxHops)
            return "capability list loops";
        if (at < kHeaderEnd || at + 4 > kWalked)
            return "capability pointer outside the capability area";
        const uint8_t id = c[at];
        const uint8_t length = c[at + 2];
        // A virtio capability: {vndr, next, len, cfg_type, bar, id, pad[2], offset, length},
        // 16 bytes; the notify one adds its multiplier (20 bytes).
        if (id == kCapVendorId && length >= 16 && at + length <= kWalked) {
            const uint8_t type = c[at + 3];
            Region r{};
            if (type == kCapCommon && !common && usable(c, at, kCommonSize, bar_sizes, &r)) {
                out->common = r;
                common = true;
            } else if (type == kCapNotify && !notify && length >= 20 &&
                       usable(c, at, 2, bar_sizes, &r)) {
                out->notify = r;
                out->notify_multiplier = le32(c + at + 16);
                notify = true;
            } else if (type == kCapIsr && !isr && usable(c, at, 1, bar_sizes, &r)) {
                out->isr = r;
                isr = true;
            } else if (type == kCapDevice && !out->has_device && usable(c, at, 1, bar_sizes, &r)) {
                out->device = r;
                out->has_device = true;
            }
        }
        at = c[at + 1] & ~3u;
    }
    if (!common)
        return "no usable common configuration capability (a legacy-only device?)";
    if (!notify)
        return "no usable notify capability";
    if (!isr)
        return "no usable ISR capability";
    return nullptr;
}

const char* notify_offset(const Layout& layout, uint16_t queue_notify_off, uint32_t* offset) {
    const uint64_t at = uint64_t{queue_notify_off} * layout.notify_multiplier;
    if (at + 2 > layout.notify.length)
        return "queue notify register outside the notify capability";
    *offset = static_cast<uint32_t>(at);
    return nullptr;
}

const char* negotiate(uint64_t offered, uint64_t required, uint64_t optional, uint64_t* accepted) {
    *accepted = 0;
    if ((offered & required) != required) {
        return (required & kFeatureVersion1) != 0 && (offered & kFeatureVersion1) == 0
                   ? "device does not offer VIRTIO_F_VERSION_1 (legacy only)"
                   : "device lacks a required feature";
    }
    *accepted = offered & (required | optional);
    return nullptr;
}

}  // namespace keel::virtio
