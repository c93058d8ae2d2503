#include <keel/net/addr.hpp>
#include <keel/net/wire.hpp>

namespace keel::net {

namespace {

// The four 16-bit lanes of x, added.
uint64_t add_lanes(uint64_t x) {
    return (x & 0xffffu) + (x >> 16 & 0xffffu) + (x >> 32 & 0xffffu) + (x >> 48);
}

}  // namespace

namespace {

// The one loop behind checksum_add and checksum_copy: with Copy, each word read is also
// stored at dst (the compiler drops the stores when Copy is false).
template <bool Copy>
uint32_t sum_words(uint32_t sum, uint8_t* dst, const uint8_t* data, size_t size) {
    // The sum of the big-endian words is 256 times the sum of the bytes at even offsets plus
    // the sum of those at odd offsets. Eight bytes a step (the per-segment cost of every TCP
    // segment sent): a little-endian load puts the even bytes in the low halves of its four
    // 16-bit lanes and the odd ones in the high halves, added into two accumulators whose lanes
    // hold 256 steps (256 * 255 < 65536) before they are emptied. The result is the same number
    // the word-by-word sum gives.
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                  "the lanes assume little-endian loads");
    constexpr uint64_t kLowBytes = 0x00ff00ff00ff00ffull;
    // A 64-bit accumulator cannot overflow for any message an IPv4 datagram can carry; the
    // 32-bit result is folded once so chained calls keep room.
    uint64_t acc = sum;
    size_t i = 0;
    while (size - i >= 8) {
        uint64_t even = 0, odd = 0;
        const size_t words = (size - i) / 8 < 256 ? (size - i) / 8 : 256;
        for (size_t k = 0; k < words; ++k, i += 8) {
            uint64_t w;
            __builtin_memcpy(&w, data + i, sizeof w);
            if constexpr (Copy)
                __builtin_memcpy(dst + i, &w, sizeof w);
            even += w & kLowBytes;
            odd += w >> 8 & kLowBytes;
        }
        acc += (add_lanes(even) << 8) + add_lanes(odd);
    }
    for (; i + 1 < size; i += 2) {
        if constexpr (Copy) {
            dst[i] = data[i];
            dst[i + 1] = data[i + 1];
        }
        acc += get16(data + i);
    }
    if (i < size) {
        if constexpr (Copy)
            dst[i] = data[i];
        acc += static_cast<uint64_t>(data[i]) << 8;
    }
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return static_cast<uint32_t>(acc);
}

}  // namespace

uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t size) {
    return sum_words<false>(sum, nullptr, data, size);
}

uint32_t checksum_copy(uint32_t sum, uint8_t* dst, const uint8_t* src, size_t size) {
    return sum_words<true>(sum, dst, src, size);
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffffu);
}

uint32_t pseudo_header_sum(uint32_t source, uint32_t destination, uint8_t protocol,
                           uint16_t length) {
    uint64_t acc = (source >> 16) + (source & 0xffffu) + (destination >> 16) +
                   (destination & 0xffffu) + protocol + length;
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return static_cast<uint32_t>(acc);
}

bool parse_ip4(const char* text, size_t size, Ip4* out) {
    Ip4 value = 0;
    size_t i = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (i >= size || text[i] != '.')
                return false;
            ++i;
        }
        const size_t start = i;
        uint32_t n = 0;
        while (i < size && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
            n = n * 10 + static_cast<uint32_t>(text[i] - '0');
            ++i;
        }
        const size_t digits = i - start;
        if (digits == 0 || n > 255 || (digits > 1 && text[start] == '0'))
            return false;
        value = value << 8 | n;
    }
    if (i != size)
        return false;
    *out = value;
    return true;
}

size_t format_ip4(Ip4 address, char* out) {
    size_t n = 0;
    for (int part = 3; part >= 0; --part) {
        const uint32_t v = address >> (part * 8) & 0xffu;
        if (v >= 100)
            out[n++] = static_cast<char>('0' + v / 100);
        if (v >= 10)
            out[n++] = static_cast<char>('0' + v / 10 % 10);
        out[n++] = static_cast<char>('0' + v % 10);
        if (part > 0)
            out[n++] = '.';
    }
    out[n] = '\0';
    return n;
}

}  // namespace keel::net
