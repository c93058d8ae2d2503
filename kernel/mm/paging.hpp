// 4-level paging on the tables the loader built (BootInfo::page_tables_phys). All table
// accesses go through the direct map. Only 4 KiB mappings are created or changed here; the
// loader's 2 MiB direct-map pages are left alone (an operation that meets one fails).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "lib/spin_lock.hpp"
#include "mm/address.hpp"

namespace keel::mm {

// Leaf permissions. Present is implied; writable, user and no-execute are opt-in.
enum PageFlags : uint64_t {
    kPageWritable = 1ull << 1,
    kPageUser = 1ull << 2,
    kPageWriteThrough = 1ull << 3,
    kPageNoCache = 1ull << 4,
    // In a 4 KiB entry, bit 7 selects the upper half of the PAT: init_paging programs its first
    // entry (PAT index 4) as write-combining, so this flag alone maps a page write-combining.
    kPageWriteCombining = 1ull << 7,
    kPageNoExecute = 1ull << 63,
};

struct Translation {
    PhysAddr phys;
    uint64_t flags;      // effective permissions over all levels (PageFlags subset)
    uint64_t page_size;  // 4 KiB, 2 MiB or 1 GiB
};

class AddressSpace {
  public:
    explicit AddressSpace(PhysAddr pml4) : pml4_(pml4) {}

    // Maps the 4 KiB page at virt to frame phys. Allocates missing tables. Fails (false) when
    // virt is already mapped, lies in a large page, or a table cannot be allocated; nothing is
    // changed on failure (tables made for it are freed again).
    [[nodiscard]] bool map(VirtAddr virt, PhysAddr phys, uint64_t flags);
    // Removes the 4 KiB mapping at virt and returns the frame it mapped (the caller owns it
    // again), or nullopt if virt was not mapped by a 4 KiB page. Flushes the TLB entry. Frees
    // the page table (and in the user half the page directory) the removal emptied, where
    // addresses are handed out fresh: the user half, kernel stacks, queue windows.
    std::optional<PhysAddr> unmap(VirtAddr virt);
    // Replaces the permissions of the 4 KiB page at virt. False when not mapped that way.
    [[nodiscard]] bool protect(VirtAddr virt, uint64_t flags);
    // Walks the tables without changing anything.
    std::optional<Translation> translate(VirtAddr virt) const;

    PhysAddr pml4() const { return pml4_; }
    // Switches this object to another set of tables (boot: adopting the loader's).
    void reset(PhysAddr pml4) { pml4_ = pml4; }
    // The CPUs where these tables are loaded (bit = percpu index; kept by activate()): a
    // removal or downgrade asks the others to flush (arch/tlb.hpp) before it returns.
    uint32_t loaded_on() const { return cpus_.load(std::memory_order_acquire); }

  private:
    friend void activate(AddressSpace& space);
    uint64_t* leaf_entry(VirtAddr virt, bool create);
    void flush_elsewhere();

    PhysAddr pml4_;
    std::atomic<uint32_t> cpus_{0};
    SpinLock lock_{"address space", LockRank::kAddressSpace};
};

// The kernel's address space (the loader's tables).
AddressSpace& kernel_space();
// Loads `space` on the calling CPU (CR3, unless it is loaded already) and moves the CPU's bit
// from the mask of the space it leaves to this one's. The scheduler's switch and a process's
// teardown, under the big kernel lock, and an idle CPU's answer to a shootdown (only its own
// bits change); interrupts off.
void activate(AddressSpace& space);

// Uncached device memory: PCD and PWT (PAT index 3, UC, as at reset).
inline constexpr uint64_t kPageUncached = kPageNoCache | kPageWriteThrough;

// Addresses below this are the user half (PML4 entries 0-255).
inline constexpr uint64_t kUserHalfEnd = 0x0000800000000000ull;

// A fresh PML4 for a process: empty user half, the kernel half shared with every address
// space (its 256 entries are created at boot and never change). nullopt without memory.
std::optional<PhysAddr> create_user_tables();
// Frees the user half's page tables and the PML4 itself (not the frames they map: those
// belong to memory objects). pml4 must not be the active CR3.
void destroy_user_tables(PhysAddr pml4);

// Adopts the loader's tables: drops the identity map of low memory, unmaps the guard pages
// under the static kernel stacks, and checks that kernel text is read-only and data is NX.
void init_paging(const boot::BootInfo& info);

// Maps [phys, phys + size) uncached at a fresh address in the MMIO region. Panics when out of
// memory (device mappings are made at boot).
VirtAddr map_mmio(PhysAddr phys, uint64_t size);

// Maps `pages` frames (not necessarily contiguous) read-write, NX at a fresh, contiguous
// address in the window region, with an unmapped guard page after them: the kernel's view of
// a queue region that a process also maps. The frames stay the caller's (a memory object
// holds them for as long as the window exists). Addresses are not reused (512 GiB of region; the
// page tables go with the last window in them). nullopt when a page table cannot be allocated
// (nothing stays mapped).
std::optional<VirtAddr> map_window(const PhysAddr* frames, uint64_t pages);
// Removes a window made by map_window (the frames are not freed).
void unmap_window(VirtAddr base, uint64_t pages);

}  // namespace keel::mm
