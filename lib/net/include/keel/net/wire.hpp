// Network byte order and the Internet checksum (RFC 1071): the arithmetic every layer of the
// stack shares. Reads take a pointer the caller has already bounds-checked.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::net {

inline uint16_t get16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t get32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// The one's-complement sum of 16-bit big-endian words, unfolded. Chain calls over the pieces
// of one message; every piece but the last must have an even length (a trailing odd byte is
// padded with zero, as RFC 1071 says for the end of the data).
uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t size);
// Copies src[0, size) to dst (the ranges must not overlap) and returns what
// checksum_add(sum, dst, size) would: one pass over the bytes instead of a copy and a sum (the
// TCP sender builds each data segment so, from its send ring into the outgoing frame).
uint32_t checksum_copy(uint32_t sum, uint8_t* dst, const uint8_t* src, size_t size);
// Folds the carries and complements: the value to store in a checksum field. A message whose
// stored checksum is right sums (with that field included) to 0 after folding.
uint16_t checksum_fold(uint32_t sum);
// The TCP/UDP pseudo header (RFC 793, RFC 768) for addresses in host order.
uint32_t pseudo_header_sum(uint32_t source, uint32_t destination, uint8_t protocol,
                           uint16_t length);

}  // namespace keel::net
