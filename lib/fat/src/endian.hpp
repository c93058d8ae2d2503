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
inline void copy(uint8_t* to, const uint8_t* from, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
        to[i] = from[i];
}
inline void fill(uint8_t* to, uint8_t v, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
        to[i] = v;
}

}  // namespace keel::fat::detail
