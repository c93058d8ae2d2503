// Little-endian reads of untrusted byte strings, one byte at a time: packed formats (ELF,
// firmware tables, configuration spaces, packets) put fields at any alignment, and parsers must
// not depend on the host's byte order or alignment rules. The caller checks bounds first.
// Built-in headers only: the 32-bit loader uses it too.
#pragma once

#include <stdint.h>

namespace keel::bytes {

inline uint64_t read_le(const uint8_t* p, uint32_t bytes) {
    uint64_t v = 0;
    for (uint32_t i = bytes; i > 0; --i)
        v = (v << 8) | p[i - 1];
    return v;
}
inline uint16_t le16(const uint8_t* p) {
    return static_cast<uint16_t>(read_le(p, 2));
}
inline uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(read_le(p, 4));
}
inline uint64_t le64(const uint8_t* p) {
    return read_le(p, 8);
}

}  // namespace keel::bytes
