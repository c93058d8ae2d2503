// SpscRing: a generic typed single-producer single-consumer ring over caller-provided memory,
// built from the queue's own pieces: abi::RingHeader (head and tail each alone on a cache
// line), rules.hpp's ring arithmetic and validation, and read_once/write_once for entries.
//
// The two ends are separate objects (SpscProducer, SpscConsumer) so that each lives with its
// thread or process and its private state never shares a cache line with the other's. Each end
// caches the peer's counter and reloads it (acquire) only when the cached value says full or
// empty: in steady state a push or pop touches one shared counter line, its own, with one
// release store. No locked instruction anywhere.
//
// The memory may be shared with an untrusted peer: every counter read from it is validated by
// rules::ring_tail_valid / ring_head_valid before use, and entries are copied out once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <ipc/abi.hpp>
#include <ipc/result.hpp>
#include <ipc/rules.hpp>
#include <ipc/shared_access.hpp>

namespace keel::ipc {

// Entries are copied with 8-byte volatile moves (shared_access.hpp), so they must be plain
// bytes in whole 8-byte words.
template <class T>
concept RingEntry = std::is_trivially_copyable_v<T> && sizeof(T) % 8 == 0 && alignof(T) >= 8;

// Sets both counters of a ring to `first_index`. Called once by whoever creates the ring,
// before either end attaches. O(1).
inline void spsc_ring_init(abi::RingHeader& header, std::uint32_t first_index = 0) {
    header.head.value.store(first_index, std::memory_order_relaxed);
    header.tail.value.store(first_index, std::memory_order_release);
}

namespace detail {

// Capacity comes from the span: a power of two, at most 2^31 so that used counts fit.
template <class T>
bool ring_geometry_ok(std::span<T> entries) {
    std::size_t n = entries.size();
    return n != 0 && (n & (n - 1)) == 0 && n <= (std::size_t(1) << 31) &&
           reinterpret_cast<std::uintptr_t>(entries.data()) % alignof(T) == 0;
}

}  // namespace detail

// Both ends: every call but attach() requires a successful attach() first.
template <RingEntry T>
class SpscProducer {
  public:
    // Takes the counters as they are. O(1). Errors: InvalidArgument (capacity not a power of
    // two, or misaligned), BadLayout (counters already impossible).
    Result<void> attach(abi::RingHeader& header, std::span<T> entries) {
        if (!detail::ring_geometry_ok(entries))
            return fail(Error::InvalidArgument);
        auto cap = std::uint32_t(entries.size());
        std::uint32_t head = header.head.value.load(std::memory_order_acquire);
        std::uint32_t tail = header.tail.value.load(std::memory_order_relaxed);
        if (!rules::ring_tail_valid<std::uint32_t>(head, head, tail, cap)) {
            return fail(Error::BadLayout);
        }
        header_ = &header;
        entries_ = entries.data();
        capacity_ = cap;
        tail_ = tail;
        head_seen_ = head;
        return success();
    }

    // Producer thread only. Copies `value` into the ring and publishes it (one release store).
    // O(1). Errors: RingFull (the consumer has not freed a slot), ProtocolViolation (the
    // consumer's head is impossible); on error nothing changed.
    Result<void> push(const T& value) {
        auto r = stage(value);
        if (r)
            publish();
        return r;
    }

    // Producer thread only. As push(), but the entry becomes visible only at the next
    // publish(): a batch costs one release store.
    Result<void> stage(const T& value) {
        if (!rules::ring_has_room<std::uint32_t>(head_seen_, tail_, capacity_)) [[unlikely]] {
            std::uint32_t head = header_->head.value.load(std::memory_order_acquire);
            if (!rules::ring_head_valid<std::uint32_t>(head_seen_, head, tail_)) {
                return fail(Error::ProtocolViolation);
            }
            head_seen_ = head;
            if (!rules::ring_has_room<std::uint32_t>(head_seen_, tail_, capacity_)) {
                return fail(Error::RingFull);
            }
        }
        write_once(&entries_[rules::ring_slot<std::uint32_t>(tail_, capacity_)], value);
        ++tail_;
        return success();
    }

    // Producer thread only. Makes every staged entry visible. O(1).
    void publish() { header_->tail.value.store(tail_, std::memory_order_release); }

    std::uint32_t capacity() const { return capacity_; }

  private:
    abi::RingHeader* header_ = nullptr;
    T* entries_ = nullptr;
    std::uint32_t capacity_ = 0;
    std::uint32_t tail_ = 0;       // ours: entries produced
    std::uint32_t head_seen_ = 0;  // the consumer's head as last read
};

template <RingEntry T>
class SpscConsumer {
  public:
    // As SpscProducer::attach.
    Result<void> attach(abi::RingHeader& header, std::span<T> entries) {
        if (!detail::ring_geometry_ok(entries))
            return fail(Error::InvalidArgument);
        auto cap = std::uint32_t(entries.size());
        std::uint32_t head = header.head.value.load(std::memory_order_relaxed);
        std::uint32_t tail = header.tail.value.load(std::memory_order_acquire);
        if (!rules::ring_tail_valid<std::uint32_t>(head, head, tail, cap)) {
            return fail(Error::BadLayout);
        }
        header_ = &header;
        entries_ = entries.data();
        capacity_ = cap;
        head_ = head;
        tail_seen_ = tail;
        return success();
    }

    // Consumer thread only. Copies out the oldest entry and frees its slot (one release
    // store). O(1). Errors: Empty, ProtocolViolation (the producer's tail is impossible); on
    // error nothing changed.
    Result<T> pop() {
        if (!rules::ring_has_entry<std::uint32_t>(head_, tail_seen_)) [[unlikely]] {
            std::uint32_t tail = header_->tail.value.load(std::memory_order_acquire);
            if (!rules::ring_tail_valid<std::uint32_t>(head_, tail_seen_, tail, capacity_)) {
                return fail(Error::ProtocolViolation);
            }
            tail_seen_ = tail;
            if (!rules::ring_has_entry<std::uint32_t>(head_, tail_seen_)) {
                return fail(Error::Empty);
            }
        }
        T value = read_once(&entries_[rules::ring_slot<std::uint32_t>(head_, capacity_)]);
        ++head_;
        header_->head.value.store(head_, std::memory_order_release);
        return value;
    }

    std::uint32_t capacity() const { return capacity_; }

  private:
    abi::RingHeader* header_ = nullptr;
    T* entries_ = nullptr;
    std::uint32_t capacity_ = 0;
    std::uint32_t head_ = 0;       // ours: entries consumed
    std::uint32_t tail_seen_ = 0;  // the producer's tail as last read
};

}  // namespace keel::ipc
