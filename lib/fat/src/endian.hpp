// Little-endian reads and writes of on-disk fields (private to lib/fat).
#pragma once

#include <stdint.h>

namespace keel::fat::detail {

inline uint16_t le16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] | p[1] << 8);
}
inline uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
inline void put16(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}
inline void put32(uint8_t* p, uint32_t v) {
    put16(p, v);
    put16(p + 2, v >> 16);
}
// Eight bytes a step, then the tail: the page cache copies every page of file data it serves
// or keeps through here, and byte by byte that was half the FAT server's time in bench row B9's
// 64 KiB reads (bench/guestprof.py, 7 Dec). __builtin_memcpy of a constant 8 is one load and
// one store, not a call (freestanding code has no memcpy to call). Ranges do not overlap.
inline void copy(uint8_t* to, const uint8_t* from, uint32_t n) {
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, from + i, 8);
        __builtin_memcpy(to + i, &w, 8);
    }
    for (; i < n; ++i)
        to[i] = from[i];
}
inline void fill(uint8_t* to, uint8_t v, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
        to[i] = v;
}

}  // namespace keel::fat::detail
