// The 4-level page tables the kernel starts on: an identity map (for the instant of the jump),
// the direct map of physical memory at kDirectMapBase, and the kernel's segments at their
// link addresses with their ELF permissions. Built with paging off, so a table's physical
// address is also its pointer; every table lies below 4 GiB.
#pragma once

#include <stdint.h>

namespace keel::loader {

// Page-table entry bits (Intel SDM vol. 3, 4.5).
inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPteLarge = 1ull << 7;
inline constexpr uint64_t kPteNoExecute = 1ull << 63;

class PageTableBuilder {
  public:
    using AllocPage = uint64_t (*)();  // returns a zeroed 4 KiB page below 4 GiB

    PageTableBuilder(AllocPage alloc, bool nx) : alloc_(alloc), nx_(nx), pml4_(alloc()) {}

    // Maps [0, bytes) (a multiple of 1 GiB, at most 512 GiB) with 2 MiB pages twice: at 0
    // (executable: the loader's jump runs there) and at kDirectMapBase (non-executable). The
    // two share their lower-level tables.
    void map_physical(uint64_t bytes);
    // Maps one 4 KiB kernel page.
    void map_page(uint64_t virt, uint64_t phys, bool writable, bool executable);

    uint64_t pml4() const { return pml4_; }

  private:
    uint64_t* table(uint64_t phys) {
        return reinterpret_cast<uint64_t*>(static_cast<uintptr_t>(phys));
    }
    uint64_t next_level(uint64_t* parent, uint32_t index);

    AllocPage alloc_;
    bool nx_;
    uint64_t pml4_;
};

}  // namespace keel::loader
