// The device's side of a used ring, for the tests: the ring as 32-bit words (flags and index
// in the first, then id/length pairs), as the tests lay it out.
#pragma once

#include <cstdint>
#include <vector>

namespace keel::virtio::testing {

// The device completes a chain: one used element at the used index, then the index moved.
inline void device_completes(std::vector<uint32_t>& used, uint16_t size, uint32_t id,
                             uint32_t length) {
    auto* idx = reinterpret_cast<uint16_t*>(used.data()) + 1;
    const uint16_t at = static_cast<uint16_t>(*idx & (size - 1));
    used[1 + 2 * at] = id;
    used[1 + 2 * at + 1] = length;
    ++*idx;
}

}  // namespace keel::virtio::testing
