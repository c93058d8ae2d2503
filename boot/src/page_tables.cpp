#include "page_tables.hpp"

#include <keel/boot_info.hpp>

namespace keel::loader {

namespace {
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
uint32_t index_of(uint64_t virt, uint32_t level) {  // level 3 = PML4 ... 0 = PT
    return static_cast<uint32_t>(virt >> (12 + 9 * level)) & 511;
}
}  // namespace

uint64_t PageTableBuilder::next_level(uint64_t* parent, uint32_t index) {
    if ((parent[index] & kPtePresent) == 0) {
        // Upper levels grant everything; the leaf entry decides writability and execution.
        parent[index] = alloc_() | kPtePresent | kPteWritable;
    }
    return parent[index] & kAddressMask;
}

void PageTableBuilder::map_physical(uint64_t bytes) {
    const uint64_t pdpt = alloc_();
    uint64_t* pml4 = table(pml4_);
    pml4[index_of(0, 3)] = pdpt | kPtePresent | kPteWritable;
    pml4[index_of(boot::kDirectMapBase, 3)] =
        pdpt | kPtePresent | kPteWritable | (nx_ ? kPteNoExecute : 0);
    const uint32_t gibs = static_cast<uint32_t>(bytes >> 30);
    for (uint32_t g = 0; g < gibs && g < 512; ++g) {
        const uint64_t pd = alloc_();
        table(pdpt)[g] = pd | kPtePresent | kPteWritable;
        for (uint32_t i = 0; i < 512; ++i) {
            const uint64_t addr = (uint64_t{g} << 30) | (uint64_t{i} << 21);
            table(pd)[i] = addr | kPtePresent | kPteWritable | kPteLarge;
        }
    }
}

void PageTableBuilder::map_page(uint64_t virt, uint64_t phys_addr, bool writable, bool executable) {
    uint64_t t = pml4_;
    for (uint32_t level = 3; level > 0; --level)
        t = next_level(table(t), index_of(virt, level));
    table(t)[index_of(virt, 0)] = phys_addr | kPtePresent | (writable ? kPteWritable : 0) |
                                  (!executable && nx_ ? kPteNoExecute : 0);
}

}  // namespace keel::loader
