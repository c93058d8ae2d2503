// The kernel heap: an address-ordered free list of blocks in a region (mm::kHeapBase) that
// grows by mapping fresh frames. First fit, blocks split on allocation and merged with both
// neighbours on free, 16-byte alignment. Adequate for a microkernel's few, long-lived objects.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::heap {

// Maps the first chunk. Needs the frame allocator and paging.
void init();

// nullptr when size is 0 or memory is exhausted. Cost O(free blocks). Any context that may
// take a spin lock.
void* alloc(size_t size);
// Accepts nullptr. Panics on a pointer the heap did not hand out or a double free.
void free(void* p);

struct Stats {
    uint64_t mapped_bytes;  // region size backed by frames
    uint64_t free_bytes;    // sum of free block payloads
    uint64_t free_blocks;
    uint64_t live_allocations;
};
Stats stats();

}  // namespace keel::heap
