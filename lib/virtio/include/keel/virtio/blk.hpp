// The virtio block device (virtio 1.x, 5.2): its feature bits, configuration layout, request
// header and status, and the checks and arithmetic a block driver does on every request, as
// pure code (so that they are tested on the host). Built-in headers only.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::virtio::blk {

inline constexpr uint64_t kFeatureSizeMax = 1ull << 1;
inline constexpr uint64_t kFeatureSegMax = 1ull << 2;
inline constexpr uint64_t kFeatureReadOnly = 1ull << 5;
inline constexpr uint64_t kFeatureBlockSize = 1ull << 6;
inline constexpr uint64_t kFeatureFlush = 1ull << 9;

// The device configuration (little-endian, at these offsets).
inline constexpr uint32_t kConfigCapacity = 0;    // u64, in 512-byte sectors
inline constexpr uint32_t kConfigSizeMax = 8;     // u32, with kFeatureSizeMax
inline constexpr uint32_t kConfigSegMax = 12;     // u32, with kFeatureSegMax
inline constexpr uint32_t kConfigBlockSize = 20;  // u32, with kFeatureBlockSize
inline constexpr uint32_t kConfigMinimum = 24;    // bytes a driver reads

inline constexpr uint32_t kSector = 512;  // the unit of capacity and of a request's sector

// Request types.
inline constexpr uint32_t kTypeIn = 0;   // read
inline constexpr uint32_t kTypeOut = 1;  // write
inline constexpr uint32_t kTypeFlush = 4;

// The device-readable header that starts every request; one device-writable status byte ends it.
struct RequestHeader {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};
static_assert(sizeof(RequestHeader) == 16);

inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoError = 1;
inline constexpr uint8_t kStatusUnsupported = 2;

// What a device's configuration says, after validation.
struct Geometry {
    uint64_t capacity_bytes;  // a multiple of block_size
    uint32_t block_size;      // a power of two, 512..4096
    uint32_t size_max;        // bytes per segment at most (UINT32_MAX: no limit)
    uint32_t seg_max;         // data segments per request at most (>= 1)
    bool read_only;
};

// Validates the configuration values against the negotiated features (the device's words are
// untrusted): a block size that is not a power of two in 512..4096 falls back to 512; a
// size_max below 512 or a seg_max of 0 is refused; the capacity is cut to whole blocks and must
// not overflow in bytes. nullptr and *out filled, or a reason.
const char* check_geometry(uint64_t features, uint64_t capacity_sectors, uint32_t size_max,
                           uint32_t seg_max, uint32_t block_size, Geometry* out);

enum class Check : uint8_t { kOk, kInvalid, kOutOfRange };
// A read or write of `length` bytes at byte `offset`: kInvalid unless both are multiples of
// the block size and length is not 0, kOutOfRange when it ends past the device (overflow-safe).
Check check_request(const Geometry& g, uint64_t offset, uint64_t length);

// The largest data length one virtio request may carry for a buffer of `buffer` bytes laid out
// contiguously: min(buffer, seg_max * size_max, `cap`), whole blocks, at least one block.
uint32_t max_request_bytes(const Geometry& g, uint32_t cap);

}  // namespace keel::virtio::blk
