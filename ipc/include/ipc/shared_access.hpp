// Reading and writing memory the peer can write concurrently: every access the endpoints make
// to the shared region goes through this file.
//
// read_once copies an entry with volatile 8-byte loads: the compiler may neither re-read a
// field later (a double fetch the peer could race) nor merge the copy away. It compiles to
// plain moves: no locked instructions. Ordering with respect to the ring counters comes from
// the acquire load of the counter that published the entry. shared_load / shared_store are the
// counters' and endpoint states' atomic accesses, with the memory order spelt at each call.
//
// The observed test build (KEEL_IPC_OBSERVE_SHARED defined for ipc/ and the code including
// it: spec/src/shared_check.cpp) reports each access to testing::on_shared_access, a load just
// after it happened (the hook may then change the bytes, as a peer could an instant later), a
// store just before. Everywhere else the report compiles to nothing.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace keel::ipc {

namespace testing {

enum class AccessKind : std::uint8_t { Load, Store };

struct SharedAccess {
    void* at;
    std::uint32_t size;
    AccessKind kind;
    std::memory_order order;  // volatile accesses (entries, the header's geometry): relaxed
};

#ifdef KEEL_IPC_OBSERVE_SHARED
// Defined by the observing harness.
void on_shared_access(const SharedAccess& access);
#endif

}  // namespace testing

#ifdef KEEL_IPC_OBSERVE_SHARED
#define KEEL_IPC_OBSERVE(at, size, kind, order)                                        \
    ::keel::ipc::testing::on_shared_access(::keel::ipc::testing::SharedAccess{         \
        const_cast<void*>(static_cast<const volatile void*>(at)), std::uint32_t(size), \
        ::keel::ipc::testing::AccessKind::kind, order})
#else
#define KEEL_IPC_OBSERVE(at, size, kind, order) ((void)0)
#endif

template <class T>
T read_once(const T* shared) {
    static_assert(sizeof(T) % 8 == 0 && alignof(T) >= 8);
    struct Words {
        std::uint64_t w[sizeof(T) / 8];
    } words;
    auto src = reinterpret_cast<const volatile std::uint64_t*>(shared);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        words.w[i] = src[i];
    KEEL_IPC_OBSERVE(shared, sizeof(T), Load, std::memory_order_relaxed);
    return std::bit_cast<T>(words);
}

// read_once straight into private memory (`out`), word by word: for a copy the caller keeps
// as it is, without holding it in registers on the way.
template <class T>
void read_once_into(T* out, const T* shared) {
    static_assert(sizeof(T) % 8 == 0 && alignof(T) >= 8);
    auto src = reinterpret_cast<const volatile std::uint64_t*>(shared);
    auto dst = reinterpret_cast<std::uint64_t*>(out);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        dst[i] = src[i];
    KEEL_IPC_OBSERVE(shared, sizeof(T), Load, std::memory_order_relaxed);
}

template <class T>
void write_once(T* shared, const T& value) {
    static_assert(sizeof(T) % 8 == 0 && alignof(T) >= 8);
    struct Words {
        std::uint64_t w[sizeof(T) / 8];
    };
    auto words = std::bit_cast<Words>(value);
    KEEL_IPC_OBSERVE(shared, sizeof(T), Store, std::memory_order_relaxed);
    auto dst = reinterpret_cast<volatile std::uint64_t*>(shared);
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i)
        dst[i] = words.w[i];
}

// One word of an entry or of the header, volatile (a single load or store of it).
template <class T>
T read_word(const T* shared) {
    T v = *static_cast<const volatile T*>(shared);
    KEEL_IPC_OBSERVE(shared, sizeof(T), Load, std::memory_order_relaxed);
    return v;
}

template <class T>
void write_word(T* shared, std::type_identity_t<T> value) {
    KEEL_IPC_OBSERVE(shared, sizeof(T), Store, std::memory_order_relaxed);
    *static_cast<volatile T*>(shared) = value;
}

// A ring counter or an endpoint state.
inline std::uint32_t shared_load(const std::atomic<std::uint32_t>& word, std::memory_order order) {
    std::uint32_t v = word.load(order);
    KEEL_IPC_OBSERVE(&word, sizeof(std::uint32_t), Load, order);
    return v;
}

inline void shared_store(std::atomic<std::uint32_t>& word, std::uint32_t value,
                         std::memory_order order) {
    KEEL_IPC_OBSERVE(&word, sizeof(std::uint32_t), Store, order);
    word.store(value, order);
}

// The header's magic, a plain word accessed atomically: it publishes the header.
inline std::uint32_t shared_load(std::uint32_t& word, std::memory_order order) {
    std::uint32_t v = std::atomic_ref<std::uint32_t>(word).load(order);
    KEEL_IPC_OBSERVE(&word, sizeof(std::uint32_t), Load, order);
    return v;
}

inline void shared_store(std::uint32_t& word, std::uint32_t value, std::memory_order order) {
    KEEL_IPC_OBSERVE(&word, sizeof(std::uint32_t), Store, order);
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

}  // namespace keel::ipc
