// RangeSet: a sorted set of disjoint, non-adjacent [base, end) ranges kept in caller storage.
// Pure code (no allocation, no globals): the 32-bit loader uses it to build the usable memory
// map and to track what it has reserved, and the host unit tests exercise it directly.
#pragma once

#include <keel/boot_info.hpp>

namespace keel::boot {

inline constexpr uint64_t kMaxAddress = ~0ull;  // exclusive ends saturate here

inline uint64_t align_down(uint64_t v, uint64_t a) {
    return v & ~(a - 1);
}
// Saturates instead of wrapping: a range reaching the top of the address space stays valid.
inline uint64_t align_up(uint64_t v, uint64_t a) {
    return v > kMaxAddress - (a - 1) ? align_down(kMaxAddress, a) : align_down(v + a - 1, a);
}
// base + size without wrapping.
inline uint64_t saturating_end(uint64_t base, uint64_t size) {
    return size > kMaxAddress - base ? kMaxAddress : base + size;
}

class RangeSet {
  public:
    // storage must hold capacity entries and outlive the set. Capacity 0 is allowed (all adds
    // are then dropped and truncated() reports it).
    constexpr RangeSet(MemoryRange* storage, uint32_t capacity)
        : items_(storage), capacity_(capacity) {}

    // Adds [base, end), merging with overlapping or adjacent ranges. Cost O(count). When the
    // storage is full the smallest range is dropped and truncated() becomes true: forgetting
    // memory is safe, inventing it is not.
    void add(uint64_t base, uint64_t end);
    // Removes [base, end). May split one range in two; when that needs room that is not there,
    // the smaller piece is dropped (truncated() becomes true).
    void remove(uint64_t base, uint64_t end);
    void clear() { count_ = 0; }

    uint32_t count() const { return count_; }
    const MemoryRange& operator[](uint32_t i) const { return items_[i]; }
    bool truncated() const { return truncated_; }
    uint64_t total_bytes() const;
    // True when [base, end) intersects any range in the set.
    bool intersects(uint64_t base, uint64_t end) const;

  private:
    void erase(uint32_t i);
    void insert(uint32_t i, uint64_t base, uint64_t end);

    MemoryRange* items_;
    uint32_t capacity_;
    uint32_t count_ = 0;
    bool truncated_ = false;
};

}  // namespace keel::boot
