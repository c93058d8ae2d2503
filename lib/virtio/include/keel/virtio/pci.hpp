// Virtio 1.x over PCI ("modern" devices): finding the four register regions a driver needs
// from a function's configuration space, the common configuration registers' offsets, the
// device status bits and feature negotiation as pure logic. A configuration space is device-
// controlled bytes: the capability list is bounds- and loop-checked and every region must lie
// inside a memory BAR of the size the caller says (what the kernel's DeviceInfo reports), so
// a driver never maps or touches a byte outside its BARs because of what the device wrote.
// Pure code on a snapshot of the bytes: no allocation, no globals, built-in headers only.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::virtio {

inline constexpr uint16_t kVendor = 0x1af4;
inline constexpr uint16_t kModernDeviceBase = 0x1040;  // + virtio device id (blk: 2 = 0x1042)
inline constexpr uint16_t kTransitionalBlk = 0x1001;   // transitional block device

// cfg_type of a virtio vendor capability (PCI capability id 0x09).
inline constexpr uint8_t kCapCommon = 1;
inline constexpr uint8_t kCapNotify = 2;
inline constexpr uint8_t kCapIsr = 3;
inline constexpr uint8_t kCapDevice = 4;

// The common configuration structure (little-endian registers at these offsets).
inline constexpr uint32_t kDeviceFeatureSelect = 0;  // u32
inline constexpr uint32_t kDeviceFeature = 4;        // u32
inline constexpr uint32_t kDriverFeatureSelect = 8;  // u32
inline constexpr uint32_t kDriverFeature = 12;       // u32
inline constexpr uint32_t kConfigMsixVector = 16;    // u16
inline constexpr uint32_t kNumQueues = 18;           // u16
inline constexpr uint32_t kDeviceStatus = 20;        // u8
inline constexpr uint32_t kConfigGeneration = 21;    // u8
inline constexpr uint32_t kQueueSelect = 22;         // u16
inline constexpr uint32_t kQueueSize = 24;           // u16
inline constexpr uint32_t kQueueMsixVector = 26;     // u16
inline constexpr uint32_t kQueueEnable = 28;         // u16
inline constexpr uint32_t kQueueNotifyOff = 30;      // u16
inline constexpr uint32_t kQueueDesc = 32;           // u64
inline constexpr uint32_t kQueueDriver = 40;         // u64 (the available ring)
inline constexpr uint32_t kQueueDevice = 48;         // u64 (the used ring)
inline constexpr uint32_t kCommonSize = 56;          // the virtio 1.0 structure
inline constexpr uint16_t kNoVector = 0xffff;        // MSI-X vector register: none

// Device status bits.
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 64;
inline constexpr uint8_t kStatusFailed = 128;

// Device-independent feature bits.
inline constexpr uint64_t kFeatureIndirectDesc = 1ull << 28;
inline constexpr uint64_t kFeatureEventIdx = 1ull << 29;
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;
inline constexpr uint64_t kFeatureAccessPlatform = 1ull << 33;
inline constexpr uint64_t kFeatureRingPacked = 1ull << 34;

// ISR status bits (read-to-clear; only needed without MSI-X).
inline constexpr uint8_t kIsrQueue = 1;
inline constexpr uint8_t kIsrConfig = 2;

// A register region: `length` bytes at `offset` into memory BAR `bar`.
struct Region {
    uint8_t bar;
    uint32_t offset;
    uint32_t length;
};

struct Layout {
    Region common;  // at least kCommonSize bytes
    Region notify;  // at least 2 bytes
    uint32_t notify_multiplier;
    Region isr;       // at least 1 byte
    Region device;    // length 0 when the device has no device-specific configuration
    bool has_device;  // a device configuration capability was found
};

// Finds the modern virtio capabilities in a configuration-space snapshot (`size` >= 256
// bytes; only the first 256 are walked). `bar_sizes[i]` is the size of memory BAR i, 0 for an
// I/O or absent BAR. For each type the first usable capability is taken (the spec's rule); a
// capability naming a reserved or non-memory BAR, too short, or whose region does not fit in
// its BAR (overflow-safe) is skipped. nullptr on success, else a static reason: no capability
// list, a pointer into the header or a loop, or no usable common, notify or ISR capability
// (a legacy-only device has none).
const char* find_layout(const uint8_t* config, size_t size, const uint64_t bar_sizes[6],
                        Layout* out);

// The offset into the notify region where queue `queue_notify_off` (as read from
// kQueueNotifyOff) is notified: nullptr with *offset set when the 2-byte register lies inside
// the region, a reason otherwise (a device that names a register outside its capability).
const char* notify_offset(const Layout& layout, uint16_t queue_notify_off, uint32_t* offset);

// Feature negotiation: what the driver accepts from what the device offers. `required` must
// all be offered (else a reason, and *accepted is 0); `optional` are taken when offered;
// nothing else is ever accepted. kFeatureVersion1 belongs in `required` for a modern driver.
const char* negotiate(uint64_t offered, uint64_t required, uint64_t optional, uint64_t* accepted);

}  // namespace keel::virtio
