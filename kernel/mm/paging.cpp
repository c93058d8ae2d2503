#include "mm/paging.hpp"

#include "arch/cpu.hpp"
#include "arch/percpu.hpp"
#include "arch/stacks.hpp"
#include "arch/tlb.hpp"
#include "log/log.hpp"
#include "mm/frame_allocator.hpp"
#include "panic.hpp"

extern "C" char __kernel_text_start[], __kernel_text_end[];
extern "C" char __kernel_data_start[], __kernel_end[];

namespace keel::mm {

namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kLarge = 1ull << 7;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
constexpr uint64_t kFlagMask =
    kPageWritable | kPageUser | kPageWriteThrough | kPageNoCache | kPageNoExecute;

uint32_t index_of(VirtAddr v, int level) {  // level 3 = PML4 ... 0 = PT
    return static_cast<uint32_t>(v.value >> (12 + 9 * level)) & 511;
}

AddressSpace g_kernel_space{PhysAddr{0}};
uint64_t g_mmio_next = kMmioBase;
uint64_t g_window_next = kWindowBase;
SpinLock g_mmio_lock{"mmio", LockRank::kMmio};

}  // namespace

AddressSpace& kernel_space() {
    return g_kernel_space;
}

void activate(AddressSpace& space) {
    percpu::PerCpu& c = percpu::current();
    const uint32_t bit = 1u << c.index;
    if (c.loaded_space == &space && (cpu::read_cr3() & kAddressMask) == space.pml4().value)
        return;
    if (c.loaded_space != nullptr)
        c.loaded_space->cpus_.fetch_and(~bit, std::memory_order_release);
    space.cpus_.fetch_or(bit, std::memory_order_release);
    c.loaded_space = &space;
    cpu::write_cr3(space.pml4().value);
}

void AddressSpace::flush_elsewhere() {
    // This CPU flushed its own entry (invlpg). The kernel half is caught up lazily; a user
    // space is flushed now wherever else it is loaded, before the caller frees the frame.
    if (this == &g_kernel_space)
        tlb::kernel_half_changed();
    else
        tlb::shoot_down(cpus_.load(std::memory_order_acquire));
}

std::optional<PhysAddr> create_user_tables() {
    auto pml4 = frames().alloc_zeroed();
    if (!pml4)
        return std::nullopt;
    const uint64_t* kernel = direct_map<uint64_t>(g_kernel_space.pml4());
    uint64_t* user = direct_map<uint64_t>(*pml4);
    for (int i = 256; i < 512; ++i)
        user[i] = kernel[i];
    return pml4;
}

namespace {
// Frees the tables below `table` (level 3 = PML4 entries ... 1 = PD entries); leaf frames are
// not touched: they belong to memory objects.
void free_tables(uint64_t* table, int level, int first, int last) {
    for (int i = first; i < last; ++i) {
        const uint64_t e = table[i];
        if ((e & kPresent) == 0 || (e & kLarge) != 0)
            continue;
        const PhysAddr next{e & kAddressMask};
        if (level > 1)
            free_tables(direct_map<uint64_t>(next), level - 1, 0, 512);
        frames().free(next);
        table[i] = 0;
    }
}
}  // namespace

void destroy_user_tables(PhysAddr pml4) {
    KEEL_ASSERT((cpu::read_cr3() & kAddressMask) != pml4.value);
    free_tables(direct_map<uint64_t>(pml4), 3, 0, 256);
    frames().free(pml4);
}

uint64_t* AddressSpace::leaf_entry(VirtAddr virt, bool create) {
    uint64_t* table = direct_map<uint64_t>(pml4_);
    uint64_t* made[3];  // the entries this call pointed at new tables
    int n = 0;
    for (int level = 3; level > 0; --level) {
        uint64_t& e = table[index_of(virt, level)];
        if ((e & kPresent) == 0) {
            if (!create)
                return nullptr;
            auto frame = frames().alloc_zeroed();
            if (!frame) {
                // The tables made for this page go again: empty where addresses are never
                // reused (a window whose mapping failed), nothing would ever free them.
                PhysAddr gone[3];
                const int count = n;
                while (n > 0) {
                    uint64_t& m = *made[--n];
                    gone[n] = PhysAddr{m & kAddressMask};
                    m = 0;
                }
                cpu::invlpg(virt.value);  // no cached walk through them either
                if (count > 0)
                    flush_elsewhere();  // nor on a CPU running this space's threads
                for (int i = 0; i < count; ++i)
                    frames().free(gone[i]);
                return nullptr;
            }
            // Upper levels allow everything; the leaf decides. Tables of the user half carry
            // the user bit (the CPU ANDs it over all levels); kernel-half tables never do.
            e = frame->value | kPresent | kPageWritable |
                (virt.value < kUserHalfEnd ? kPageUser : 0);
            made[n++] = &e;
        } else if ((e & kLarge) != 0) {
            return nullptr;
        }
        table = direct_map<uint64_t>(PhysAddr{e & kAddressMask});
    }
    return &table[index_of(virt, 0)];
}

bool AddressSpace::map(VirtAddr virt, PhysAddr phys, uint64_t flags) {
    LockGuard guard(lock_);
    uint64_t* e = leaf_entry(virt, true);
    if (e == nullptr || (*e & kPresent) != 0)
        return false;
    *e = (phys.value & kAddressMask) | kPresent | (flags & kFlagMask);
    return true;
}

namespace {
bool table_empty(const uint64_t* table) {
    for (int i = 0; i < 512; ++i)
        if (table[i] != 0)
            return false;
    return true;
}

// How many levels of tables above a leaf unmap() may free when they empty: page tables and
// page directories, in the user half (a process's own; destroy_user_tables takes the rest)
// and in the kernel regions whose addresses are handed out and never reused (kernel stacks,
// queue windows: without this every stack or window made would leave its tables behind, a
// frame per 2 MiB of addresses and one per GiB, for ever). Never a PDPT: a kernel region's is
// shared by every process's PML4. Nowhere else: those tables are the loader's.
int freeable_levels(VirtAddr v) {
    const auto in = [v](uint64_t base) { return v.value - base < kRegionSize; };
    return v.value < kUserHalfEnd || in(kStackRegionBase) || in(kWindowBase) ? 2 : 0;
}
}  // namespace

std::optional<PhysAddr> AddressSpace::unmap(VirtAddr virt) {
    LockGuard guard(lock_);
    uint64_t* tables[4];  // tables[level]: the table of that level on virt's path
    uint64_t* table = direct_map<uint64_t>(pml4_);
    for (int level = 3; level > 0; --level) {
        tables[level] = table;
        const uint64_t e = table[index_of(virt, level)];
        if ((e & kPresent) == 0 || (e & kLarge) != 0)
            return std::nullopt;
        table = direct_map<uint64_t>(PhysAddr{e & kAddressMask});
    }
    tables[0] = table;
    uint64_t& leaf = table[index_of(virt, 0)];
    if ((leaf & kPresent) == 0)
        return std::nullopt;
    const PhysAddr old{leaf & kAddressMask};
    leaf = 0;
    cpu::invlpg(virt.value);
    PhysAddr emptied[2];
    int freed = 0;
    for (int level = 0; level < freeable_levels(virt) && table_empty(tables[level]); ++level) {
        uint64_t& parent = tables[level + 1][index_of(virt, level + 1)];
        emptied[freed++] = PhysAddr{parent & kAddressMask};
        parent = 0;
        // INVLPG also drops every cached paging-structure entry (Intel SDM vol. 3, 4.10.4.1),
        // so nothing walks through the freed table afterwards.
        cpu::invlpg(virt.value);
    }
    // Other CPUs flush (the leaf and the cached walks through the emptied tables) before any
    // of these frames can be handed out again.
    flush_elsewhere();
    for (int i = 0; i < freed; ++i)
        frames().free(emptied[i]);
    return old;
}

bool AddressSpace::protect(VirtAddr virt, uint64_t flags) {
    LockGuard guard(lock_);
    uint64_t* e = leaf_entry(virt, false);
    if (e == nullptr || (*e & kPresent) == 0)
        return false;
    *e = (*e & kAddressMask) | kPresent | (flags & kFlagMask);
    cpu::invlpg(virt.value);
    flush_elsewhere();
    return true;
}

std::optional<Translation> AddressSpace::translate(VirtAddr virt) const {
    // Effective permissions: writable/user only if every level allows it, NX if any level
    // sets it (Intel SDM vol. 3, 4.6).
    uint64_t allow = kPageWritable | kPageUser;
    uint64_t nx = 0;
    const uint64_t* table = direct_map<uint64_t>(pml4_);
    for (int level = 3; level >= 0; --level) {
        const uint64_t e = table[index_of(virt, level)];
        if ((e & kPresent) == 0)
            return std::nullopt;
        allow &= e;
        nx |= e & kPageNoExecute;
        if (level == 0 || (e & kLarge) != 0) {
            const uint64_t size = 1ull << (12 + 9 * level);
            const uint64_t base = e & kAddressMask & ~(size - 1);
            const uint64_t flags = allow | nx | (e & (kPageWriteThrough | kPageNoCache));
            return Translation{PhysAddr{base + (virt.value & (size - 1))}, flags, size};
        }
        table = direct_map<uint64_t>(PhysAddr{e & kAddressMask});
    }
    return std::nullopt;
}

void init_paging(const boot::BootInfo& info) {
    KEEL_ASSERT(info.page_tables_phys == (cpu::read_cr3() & kAddressMask));
    g_kernel_space.reset(PhysAddr{info.page_tables_phys});
    // The identity map served only the loader's jump; from here on a stray low pointer faults.
    direct_map<uint64_t>(PhysAddr{info.page_tables_phys})[0] = 0;
    cpu::write_cr3(cpu::read_cr3());
    // Every kernel-half PML4 entry exists from now on, so that user address spaces can copy
    // the 256 entries once and still see every later kernel mapping.
    uint64_t* pml4 = direct_map<uint64_t>(PhysAddr{info.page_tables_phys});
    for (int i = 256; i < 512; ++i) {
        if ((pml4[i] & kPresent) != 0)
            continue;
        auto table = frames().alloc_zeroed();
        if (!table)
            panic("no memory for the kernel's page tables");
        pml4[i] = table->value | kPresent | kPageWritable;
    }

    // PAT entry 4 (selected by kPageWriteCombining with PCD = PWT = 0) becomes write-combining;
    // entries 0-3 keep their reset values (WB, WT, UC-, UC), so existing mappings do not change.
    constexpr uint32_t kPatMsr = 0x277;
    constexpr uint64_t kPatWriteCombining = 0x01;
    const uint64_t pat = cpu::rdmsr(kPatMsr);
    cpu::wrmsr(kPatMsr, (pat & ~(0xffull << 32)) | kPatWriteCombining << 32);

    for (int s = 0; s < stacks::kStackCount; ++s) {
        if (!g_kernel_space.unmap(VirtAddr{stacks::guard_page(static_cast<stacks::Stack>(s))})) {
            panic("cannot unmap a kernel stack guard page");
        }
        // The frame stays allocated to the kernel image: it is not in the usable map.
    }

    const auto text =
        g_kernel_space.translate(VirtAddr{reinterpret_cast<uint64_t>(__kernel_text_start)});
    const auto data =
        g_kernel_space.translate(VirtAddr{reinterpret_cast<uint64_t>(__kernel_data_start)});
    if (!text || (text->flags & kPageWritable) != 0 || (text->flags & kPageNoExecute) != 0) {
        panic("kernel text is not mapped read-only and executable");
    }
    if (!data || (data->flags & kPageNoExecute) == 0 || (data->flags & kPageWritable) == 0) {
        panic("kernel data is not mapped writable and non-executable (is NX enabled?)");
    }
}

VirtAddr map_mmio(PhysAddr phys, uint64_t size) {
    LockGuard guard(g_mmio_lock);
    const uint64_t offset = phys.value & (kPageSize - 1);
    const uint64_t pages = (offset + size + kPageSize - 1) / kPageSize;
    const uint64_t base = g_mmio_next;
    g_mmio_next += (pages + 1) * kPageSize;  // one unmapped page between mappings
    for (uint64_t i = 0; i < pages; ++i) {
        const PhysAddr frame{(phys.value & ~(kPageSize - 1)) + i * kPageSize};
        if (!g_kernel_space.map(
                VirtAddr{base + i * kPageSize}, frame,
                kPageWritable | kPageNoCache | kPageWriteThrough | kPageNoExecute)) {
            panic("cannot map MMIO at 0x%lx", frame.value);
        }
    }
    return VirtAddr{base + offset};
}

std::optional<VirtAddr> map_window(const PhysAddr* frames, uint64_t pages) {
    uint64_t base;
    {
        LockGuard guard(g_mmio_lock);
        base = g_window_next;
        g_window_next += (pages + 1) * kPageSize;
    }
    for (uint64_t i = 0; i < pages; ++i) {
        if (!g_kernel_space.map(VirtAddr{base + i * kPageSize}, frames[i],
                                kPageWritable | kPageNoExecute)) {
            unmap_window(VirtAddr{base}, i);
            return std::nullopt;
        }
    }
    return VirtAddr{base};
}

void unmap_window(VirtAddr base, uint64_t pages) {
    for (uint64_t i = 0; i < pages; ++i)
        (void)g_kernel_space.unmap(VirtAddr{base.value + i * kPageSize});
}

}  // namespace keel::mm
