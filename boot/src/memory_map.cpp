#include "memory_map.hpp"

namespace keel::boot {

void build_usable_map(const RawRegion* raw, uint32_t raw_count, const RangeSet& excluded,
                      RangeSet& out) {
    out.clear();
    for (uint32_t i = 0; i < raw_count; ++i) {
        if (raw[i].type != kRawAvailable)
            continue;
        const uint64_t end = align_down(saturating_end(raw[i].base, raw[i].size), kPageSize);
        out.add(align_up(raw[i].base, kPageSize), end);
    }
    for (uint32_t i = 0; i < raw_count; ++i) {
        if (raw[i].type == kRawAvailable || raw[i].size == 0)
            continue;
        out.remove(align_down(raw[i].base, kPageSize),
                   align_up(saturating_end(raw[i].base, raw[i].size), kPageSize));
    }
    for (uint32_t i = 0; i < excluded.count(); ++i) {
        const MemoryRange& r = excluded[i];
        out.remove(align_down(r.base, kPageSize),
                   align_up(saturating_end(r.base, r.size), kPageSize));
    }
}

uint64_t find_free(const RangeSet& usable, uint64_t size, uint64_t min_address, uint64_t limit) {
    if (size == 0)
        return 0;
    size = align_up(size, kPageSize);
    if (min_address < kPageSize)
        min_address = kPageSize;
    min_address = align_up(min_address, kPageSize);
    for (uint32_t i = 0; i < usable.count(); ++i) {
        const uint64_t base = usable[i].base < min_address ? min_address : usable[i].base;
        uint64_t end = usable[i].base + usable[i].size;
        if (end > limit)
            end = limit;
        if (base < end && end - base >= size)
            return base;
    }
    return 0;
}

}  // namespace keel::boot
