// Building the usable-RAM map from what the firmware reports. Pure code shared by the loader
// and the host unit tests: firmware maps arrive unsorted, overlapping, with regions smaller
// than a page or reaching the top of the address space, and the result must still be exact.
#pragma once

#include "range_set.hpp"

namespace keel::boot {

// One firmware memory-map entry (multiboot mmap / E820 semantics).
struct RawRegion {
    uint64_t base;
    uint64_t size;
    uint32_t type;  // kRawAvailable means usable RAM; everything else is reserved
};
inline constexpr uint32_t kRawAvailable = 1;

// Usable RAM = (union of available regions, shrunk inward to whole pages)
//            - (every non-available region and every excluded range, grown outward to pages).
// A reserved region wins over an overlapping available one. The result replaces out's
// contents. Cost O((raw + excluded) * out capacity). Never fails: when out is too small the
// smallest ranges are dropped and out.truncated() says so.
void build_usable_map(const RawRegion* raw, uint32_t raw_count, const RangeSet& excluded,
                      RangeSet& out);

// The lowest page-aligned physical address a such that [a, a + size) lies inside one usable
// range, a >= min_address and a + size <= limit. Returns 0 when there is none (page 0 is never
// handed out). Cost O(usable.count()).
uint64_t find_free(const RangeSet& usable, uint64_t size, uint64_t min_address, uint64_t limit);

}  // namespace keel::boot
