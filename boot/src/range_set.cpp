#include "range_set.hpp"

namespace keel::boot {

namespace {
uint64_t end_of(const MemoryRange& r) {
    return r.base + r.size;
}
}  // namespace

void RangeSet::erase(uint32_t i) {
    for (uint32_t j = i; j + 1 < count_; ++j)
        items_[j] = items_[j + 1];
    --count_;
}

void RangeSet::insert(uint32_t i, uint64_t base, uint64_t end) {
    for (uint32_t j = count_; j > i; --j)
        items_[j] = items_[j - 1];
    items_[i] = MemoryRange{base, end - base};
    ++count_;
}

void RangeSet::add(uint64_t base, uint64_t end) {
    if (end <= base)
        return;
    // Absorb every range that overlaps or touches [base, end).
    uint32_t i = 0;
    while (i < count_ && end_of(items_[i]) < base)
        ++i;
    while (i < count_ && items_[i].base <= end) {
        if (items_[i].base < base)
            base = items_[i].base;
        if (end_of(items_[i]) > end)
            end = end_of(items_[i]);
        erase(i);
    }
    if (count_ == capacity_) {
        if (capacity_ == 0) {
            truncated_ = true;
            return;
        }
        // Keep the larger of the new range and the current smallest.
        uint32_t smallest = 0;
        for (uint32_t j = 1; j < count_; ++j) {
            if (items_[j].size < items_[smallest].size)
                smallest = j;
        }
        truncated_ = true;
        if (items_[smallest].size >= end - base)
            return;
        erase(smallest);
        i = 0;
        while (i < count_ && items_[i].base < base)
            ++i;
    }
    insert(i, base, end);
}

void RangeSet::remove(uint64_t base, uint64_t end) {
    if (end <= base)
        return;
    for (uint32_t i = 0; i < count_;) {
        const uint64_t rb = items_[i].base;
        const uint64_t re = end_of(items_[i]);
        if (re <= base || rb >= end) {
            ++i;
            continue;
        }
        const bool keep_low = rb < base;
        const bool keep_high = re > end;
        if (keep_low && keep_high) {
            if (count_ == capacity_) {
                truncated_ = true;
                // No room to split: keep the larger piece.
                if (base - rb >= re - end) {
                    items_[i].size = base - rb;
                } else {
                    items_[i] = MemoryRange{end, re - end};
                }
                return;
            }
            items_[i].size = base - rb;
            insert(i + 1, end, re);
            return;
        }
        if (keep_low) {
            items_[i].size = base - rb;
            ++i;
        } else if (keep_high) {
            items_[i] = MemoryRange{end, re - end};
            ++i;
        } else {
            erase(i);
        }
    }
}

uint64_t RangeSet::total_bytes() const {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < count_; ++i)
        sum += items_[i].size;
    return sum;
}

bool RangeSet::intersects(uint64_t base, uint64_t end) const {
    for (uint32_t i = 0; i < count_; ++i) {
        if (items_[i].base < end && end_of(items_[i]) > base)
            return true;
    }
    return false;
}

}  // namespace keel::boot
