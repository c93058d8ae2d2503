// Reading and writing entries that live in memory the peer can write concurrently.
//
// read_once copies an entry with volatile 8-byte loads: the compiler may neither re-read a
// field later (a double fetch the peer could race) nor merge the copy away. It compiles to
// plain moves: no locked instructions. Ordering with respect to the ring counters comes from
// the acquire load of the counter that published the entry.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace keel::ipc {

template <class T>
T read_once(const T* shared) {
    static_assert(sizeof(T) % 8 == 0 && alignof(T) >= 8);
    struct Words {
        std::uint64_t w[sizeof(T) / 8];
    } words;
    auto src = reinterpret_cast<const volatile std::uint64_t*>(shared);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        words.w[i] = src[i];
    return std::bit_cast<T>(words);
}

template <class T>
void write_once(T* shared, const T& value) {
    static_assert(sizeof(T) % 8 == 0 && alignof(T) >= 8);
    struct Words {
        std::uint64_t w[sizeof(T) / 8];
    };
    auto words = std::bit_cast<Words>(value);
    auto dst = reinterpret_cast<volatile std::uint64_t*>(shared);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        dst[i] = words.w[i];
}

}  // namespace keel::ipc
