// Intel VT-d, legacy translation mode (VT-d specification 3.x, chapters 3, 6, 9 and 10):
// root table (one entry per bus) -> context table (one entry per device and function) ->
// second-level page tables of the device's domain. Register-based invalidation only (no
// invalidation queue); faults are polled.
#include "dev/iommu.hpp"

#include <keel/c/libc.hpp>

#include "dev/acpi.hpp"
#include "lib/spin_lock.hpp"
#include "log/log.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"

namespace keel::dev {

namespace {

using mm::kPageSize;
using mm::PhysAddr;

// Registers (chapter 11).
constexpr uint32_t kVer = 0x00, kCap = 0x08, kEcap = 0x10, kGcmd = 0x18, kGsts = 0x1c,
                   kRtaddr = 0x20, kCcmd = 0x28, kFsts = 0x34, kFectl = 0x38;
// GCMD / GSTS bits; the one-shot ones (root pointer, fault log, write buffer, interrupt table
// pointer) must not be written back from GSTS.
constexpr uint32_t kTe = 1u << 31, kSrtp = 1u << 30, kWbf = 1u << 27, kQie = 1u << 26;
constexpr uint32_t kGstsOneShot = (1u << 30) | (1u << 29) | (1u << 27) | (1u << 24);
constexpr uint64_t kInvalidate = 1ull << 63;  // CCMD.ICC, IOTLB.IVT
constexpr uint64_t kCcmdGlobal = 1ull << 61;
constexpr uint64_t kIotlbGlobal = 1ull << 60, kIotlbDomain = 2ull << 60;
constexpr uint64_t kIotlbDrainReads = 1ull << 49, kIotlbDrainWrites = 1ull << 48;
constexpr uint32_t kFstsOverflow = 1u << 0;
// Second-level entries: read, write; bits 12 and up the next table or the frame.
constexpr uint64_t kSlRead = 1u << 0, kSlWrite = 1u << 1;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;

constexpr uint32_t kMaxUnits = 4;
constexpr uint32_t kMaxMappings = 64;  // per domain
constexpr uint64_t kIovaBase = 0x100000;
constexpr uint64_t kMaxPages = 1ull << 20;
constexpr uint32_t kSpinLimit = 100'000'000;

struct Unit {
    volatile uint8_t* regs;
    uint64_t base;
    uint64_t cap, ecap;
    uint32_t iotlb_at, fault_at, fault_count;
    uint32_t levels;      // second-level table depth: 3 (39-bit) or 4 (48-bit)
    uint64_t iova_limit;  // first address the domains cannot use
    uint32_t max_domains;
    bool caching_mode, rwbf, coherent;
    PhysAddr root;
};

struct Mapping {
    uint64_t iova, pages;
    bool reserved;  // an RMRR identity mapping: kept by reset
};

enum class Cover : uint8_t { kNone, kDomain, kBlocked };

struct Domain {
    Cover cover = Cover::kNone;
    Unit* unit = nullptr;
    uint16_t id = 0;
    PhysAddr root{0};  // top-level second-level table
    uint32_t count = 0;
    Mapping mappings[kMaxMappings];  // sorted by iova
};

SpinLock g_lock{"iommu", LockRank::kIommu};
Unit g_units[kMaxUnits];
uint32_t g_unit_count = 0;
bool g_enabled = false;
Domain g_domains[kMaxPciFunctions];  // by pci_function index

uint32_t read32(const Unit& u, uint32_t at) {
    return *reinterpret_cast<volatile uint32_t*>(u.regs + at);
}
uint64_t read64(const Unit& u, uint32_t at) {
    return *reinterpret_cast<volatile uint64_t*>(u.regs + at);
}
void write32(const Unit& u, uint32_t at, uint32_t v) {
    *reinterpret_cast<volatile uint32_t*>(u.regs + at) = v;
}
void write64(const Unit& u, uint32_t at, uint64_t v) {
    *reinterpret_cast<volatile uint64_t*>(u.regs + at) = v;
}

// A unit that stops answering is a broken machine: nothing about DMA can be promised then.
template <typename Done>
void spin_until(const char* what, Done done) {
    for (uint32_t i = 0; i < kSpinLimit; ++i) {
        if (done())
            return;
        cpu::pause();
    }
    panic("IOMMU: %s did not complete", what);
}

// Makes a table update visible to a unit whose page walks do not snoop the CPU's caches
// (ECAP.C clear). Units that snoop need nothing.
void flush(const Unit& u, const void* p, uint64_t size) {
    if (u.coherent)
        return;
    const uint64_t start = reinterpret_cast<uint64_t>(p) & ~63ull;
    for (uint64_t a = start; a < reinterpret_cast<uint64_t>(p) + size; a += 64)
        asm volatile("clflush (%0)" ::"r"(a) : "memory");
    asm volatile("mfence" ::: "memory");
}

void command(const Unit& u, uint32_t bit, bool on, uint32_t status_bit, bool want) {
    const uint32_t status = read32(u, kGsts) & ~kGstsOneShot;
    write32(u, kGcmd, on ? status | bit : status & ~bit);
    spin_until("global command", [&] { return ((read32(u, kGsts) & status_bit) != 0) == want; });
}

void flush_write_buffer(const Unit& u) {
    if (u.rwbf)
        command(u, kWbf, true, kWbf, false);
}

void invalidate_context_global(const Unit& u) {
    write64(u, kCcmd, kInvalidate | kCcmdGlobal);
    spin_until("context-cache invalidation", [&] { return (read64(u, kCcmd) & kInvalidate) == 0; });
}

// Domain-selective (or global, did 0) IOTLB invalidation, which also drops the domain's
// paging-structure caches; with draining where the unit offers it, so that DMA already
// translated with the old entries has completed when the register clears.
void invalidate_iotlb(const Unit& u, uint16_t did) {
    uint64_t v = kInvalidate | (did == 0 ? kIotlbGlobal : kIotlbDomain | uint64_t{did} << 32);
    if ((u.cap >> 55) & 1)
        v |= kIotlbDrainReads;
    if ((u.cap >> 54) & 1)
        v |= kIotlbDrainWrites;
    write64(u, u.iotlb_at + 8, v);
    uint64_t done = 0;
    spin_until("IOTLB invalidation", [&] {
        done = read64(u, u.iotlb_at + 8);
        return (done & kInvalidate) == 0;
    });
    // IAIG 0: the unit did not perform it (a granularity it lacks): fall back to global.
    if (((done >> 57) & 3) == 0 && did != 0)
        invalidate_iotlb(u, 0);
    else if (((done >> 57) & 3) == 0)
        panic("IOMMU: unit at 0x%lx refused a global IOTLB invalidation", u.base);
}

uint64_t* table(PhysAddr p) {
    return mm::direct_map<uint64_t>(p);
}

// The leaf entry for `iova` in d's tables, creating missing tables when `create`; nullptr when
// a table is missing (or cannot be allocated).
uint64_t* leaf(Domain& d, uint64_t iova, bool create) {
    const Unit& u = *d.unit;
    uint64_t* t = table(d.root);
    for (uint32_t level = u.levels; level > 1; --level) {
        uint64_t& e = t[(iova >> (12 + 9 * (level - 1))) & 511];
        if ((e & (kSlRead | kSlWrite)) == 0) {
            if (!create)
                return nullptr;
            const std::optional<PhysAddr> frame = mm::frames().alloc_zeroed();
            if (!frame)
                return nullptr;
            flush(u, table(*frame), kPageSize);
            e = frame->value | kSlRead | kSlWrite;
            flush(u, &e, 8);
        }
        t = table(PhysAddr{e & kAddressMask});
    }
    return &t[(iova >> 12) & 511];
}

void clear_range(Domain& d, uint64_t iova, uint64_t pages) {
    for (uint64_t i = 0; i < pages; ++i) {
        if (uint64_t* e = leaf(d, iova + i * kPageSize, false)) {
            *e = 0;
            flush(*d.unit, e, 8);
        }
    }
}

// After entries went from not present to present: units in caching mode may have cached the
// absence; others need at most their write buffer flushed.
void made_present(const Domain& d) {
    if (d.unit->caching_mode)
        invalidate_iotlb(*d.unit, d.id);
    else
        flush_write_buffer(*d.unit);
}

// Maps [iova, +pages) to [phys, +pages) in d and records it; the range is free (checked by the
// caller). On failure nothing stays mapped.
Result<uint64_t> map_at(Domain& d, uint32_t slot, uint64_t iova, uint64_t phys, uint64_t pages,
                        bool writable, bool reserved) {
    if (d.count == kMaxMappings)
        return fail(abi::Error::kFull);
    for (uint64_t i = 0; i < pages; ++i) {
        uint64_t* e = leaf(d, iova + i * kPageSize, true);
        if (e == nullptr) {
            clear_range(d, iova, i);
            invalidate_iotlb(*d.unit, d.id);
            return fail(abi::Error::kNoMemory);
        }
        KEEL_ASSERT(*e == 0);
        *e = (phys + i * kPageSize) | kSlRead | (writable ? kSlWrite : 0);
        flush(*d.unit, e, 8);
    }
    for (uint32_t k = d.count; k > slot; --k)
        d.mappings[k] = d.mappings[k - 1];
    d.mappings[slot] = {iova, pages, reserved};
    ++d.count;
    made_present(d);
    return iova;
}

// The slot (in d's sorted mappings) and address of the first gap of `pages` pages plus a guard
// page after the previous mapping and before the next; false when there is none.
bool find_gap(const Domain& d, uint64_t pages, uint32_t* slot, uint64_t* iova) {
    uint64_t candidate = kIovaBase;
    const uint64_t size = pages * kPageSize;
    for (uint32_t k = 0; k <= d.count; ++k) {
        const uint64_t next = k == d.count ? d.unit->iova_limit : d.mappings[k].iova;
        if (candidate <= next && next - candidate >= size + kPageSize) {
            *slot = k;
            *iova = candidate;
            return true;
        }
        if (k < d.count) {  // reserved regions may lie below kIovaBase: never go below it
            const Mapping& m = d.mappings[k];
            const uint64_t after = m.iova + (m.pages + 1) * kPageSize;
            candidate = after > candidate ? after : candidate;
        }
    }
    return false;
}

// The slot a mapping covering [iova, +pages) would take, or false when it overlaps one.
bool slot_for(const Domain& d, uint64_t iova, uint64_t pages, uint32_t* slot) {
    uint32_t k = 0;
    while (k < d.count && d.mappings[k].iova < iova)
        ++k;
    if (k > 0) {
        const Mapping& before = d.mappings[k - 1];
        if (before.iova + before.pages * kPageSize > iova)
            return false;
    }
    if (k < d.count && iova + pages * kPageSize > d.mappings[k].iova)
        return false;
    *slot = k;
    return true;
}

void free_tables(PhysAddr t, uint32_t level) {
    if (level > 1) {
        for (uint32_t i = 0; i < 512; ++i) {
            const uint64_t e = table(t)[i];
            if ((e & (kSlRead | kSlWrite)) != 0)
                free_tables(PhysAddr{e & kAddressMask}, level - 1);
        }
    }
    mm::frames().free(t);
}

// Index of f in the PCI table, or -1.
int32_t index_of(const PciFunction& f) {
    for (uint32_t i = 0; i < pci_function_count(); ++i) {
        const PciFunction& g = pci_function(i);
        if (g.bus == f.bus && g.device == f.device && g.function == f.function)
            return static_cast<int32_t>(i);
    }
    return -1;
}

// DMAR scope paths are walked through the bridges as enumerated.
bool pci_bridge(void*, acpi::PciAddress at, uint8_t* secondary, uint8_t* subordinate) {
    for (uint32_t i = 0; i < pci_function_count(); ++i) {
        const PciFunction& g = pci_function(i);
        if (g.bus == at.bus && g.device == at.device && g.function == at.function) {
            if (g.info.header_type != 1)
                return false;
            *secondary = g.info.secondary_bus;
            *subordinate = g.info.subordinate_bus;
            return true;
        }
    }
    return false;
}

bool scopes_name(const acpi::DeviceScopes& scopes, const PciFunction& f) {
    return acpi::scopes_name(scopes, {f.bus, f.device, f.function}, {&pci_bridge, nullptr});
}

// The unit translating f's DMA: the one whose scope lists it, else the segment's catch-all.
Unit* unit_for(const PciFunction& f, const acpi::Dmar& dmar, const uint32_t* unit_of_drhd) {
    Unit* all = nullptr;
    for (uint32_t i = 0; i < dmar.unit_count; ++i) {
        if (unit_of_drhd[i] == kMaxUnits)
            continue;
        Unit* u = &g_units[unit_of_drhd[i]];
        if (dmar.units[i].include_pci_all)
            all = u;
        else if (scopes_name(dmar.units[i].scopes, f))
            return u;
    }
    return all;
}

const char* setup_unit(Unit& u, uint64_t base) {
    u.base = base;
    u.regs = mm::map_mmio(PhysAddr{base}, kPageSize).as<volatile uint8_t>();
    u.cap = read64(u, kCap);
    u.ecap = read64(u, kEcap);
    u.iotlb_at = static_cast<uint32_t>((u.ecap >> 8) & 0x3ff) * 16;
    u.fault_at = static_cast<uint32_t>((u.cap >> 24) & 0x3ff) * 16;
    u.fault_count = static_cast<uint32_t>((u.cap >> 40) & 0xff) + 1;
    const uint64_t end = u.iotlb_at + 16 > u.fault_at + 16ull * u.fault_count
                             ? u.iotlb_at + 16
                             : u.fault_at + 16ull * u.fault_count;
    if (end > 16 * kPageSize)
        return "register block larger than 64 KiB";
    if (end > kPageSize)
        u.regs = mm::map_mmio(PhysAddr{base}, (end + kPageSize - 1) & ~(kPageSize - 1))
                     .as<volatile uint8_t>();
    const uint64_t sagaw = (u.cap >> 8) & 0x1f;
    if (sagaw & 4)
        u.levels = 4;
    else if (sagaw & 2)
        u.levels = 3;
    else
        return "supports neither 3- nor 4-level second-level tables";
    const uint32_t mgaw = static_cast<uint32_t>((u.cap >> 16) & 0x3f) + 1;
    const uint32_t width = mgaw < 12 + 9 * u.levels ? mgaw : 12 + 9 * u.levels;
    u.iova_limit = 1ull << width;
    u.max_domains = 1u << (4 + 2 * (u.cap & 7));
    u.caching_mode = (u.cap >> 7) & 1;
    u.rwbf = (u.cap >> 4) & 1;
    u.coherent = u.ecap & 1;
    const std::optional<PhysAddr> root = mm::frames().alloc_zeroed();
    if (!root)
        return "no memory for the root table";
    u.root = *root;
    // Left on by firmware: translation off while the tables are replaced, and the invalidation
    // queue off (register-based invalidation is refused while it is on).
    if (read32(u, kGsts) & kTe)
        command(u, kTe, false, kTe, false);
    if (read32(u, kGsts) & kQie)
        command(u, kQie, false, kQie, false);
    // Faults are polled (iommu_log_faults): the fault event interrupt stays masked (FECTL.IM),
    // whatever firmware left there, so no message reaches a vector nobody handles.
    write32(u, kFectl, 1u << 31);
    return nullptr;
}

// Gives f (index i) its domain behind u: a context table for its bus if the bus has none, an
// empty top-level table, and a present context entry pointing at it.
bool attach(Unit& u, uint32_t i, const PciFunction& f) {
    Domain& d = g_domains[i];
    d.unit = &u;
    d.cover = Cover::kBlocked;
    // With caching mode, domain id 0 is reserved (VT-d 9.4): ids start at 1.
    if (i + 1 >= u.max_domains)
        return false;
    uint64_t* root_entry = &table(u.root)[2 * f.bus];
    if ((*root_entry & 1) == 0) {
        const std::optional<PhysAddr> ctx = mm::frames().alloc_zeroed();
        if (!ctx)
            return false;
        flush(u, table(*ctx), kPageSize);
        *root_entry = ctx->value | 1;
        flush(u, root_entry, 8);
    }
    const std::optional<PhysAddr> top = mm::frames().alloc_zeroed();
    if (!top)
        return false;
    flush(u, table(*top), kPageSize);
    d.id = static_cast<uint16_t>(i + 1);
    d.root = *top;
    uint64_t* ctx = &table(PhysAddr{*root_entry & kAddressMask})[2 * (f.device * 8u + f.function)];
    ctx[1] = (u.levels - 2) | uint64_t{d.id} << 8;  // AW: 1 = 3-level, 2 = 4-level
    ctx[0] = d.root.value | 1;                      // present; TT 0: translated through d
    flush(u, ctx, 16);
    d.cover = Cover::kDomain;
    return true;
}

void enable(Unit& u) {
    write64(u, kRtaddr, u.root.value);  // TTM 0: legacy root and context tables
    command(u, kSrtp, true, kSrtp, true);
    invalidate_context_global(u);
    invalidate_iotlb(u, 0);
    flush_write_buffer(u);
    command(u, kTe, true, kTe, true);
}

Domain* domain_of(const PciFunction& f) {
    const int32_t i = index_of(f);
    return i < 0 ? nullptr : &g_domains[i];
}

// f's domain when the IOMMU translates f's DMA through one, else nullptr.
Domain* translated(const PciFunction& f) {
    Domain* d = g_enabled ? domain_of(f) : nullptr;
    return d != nullptr && d->cover == Cover::kDomain ? d : nullptr;
}

}  // namespace

bool iommu_isolates(const PciFunction& f) {
    return translated(f) != nullptr;
}

void init_iommu() {
    const AcpiInfo& a = acpi_info();
    if (!a.have_dmar || a.dmar.unit_count == 0) {
        log::print("  IOMMU: none; drivers are trusted with DMA\n");
        return;
    }
    const acpi::Dmar& dmar = a.dmar;
    uint32_t unit_of_drhd[acpi::kMaxDmarUnits];
    for (uint32_t i = 0; i < dmar.unit_count; ++i) {
        unit_of_drhd[i] = kMaxUnits;
        const acpi::DmarUnit& r = dmar.units[i];
        if (r.segment != 0 || g_unit_count == kMaxUnits) {
            log::warn("IOMMU: unit at 0x%lx (segment %u) not used", r.register_base, r.segment);
            continue;
        }
        Unit& u = g_units[g_unit_count];
        if (const char* why = setup_unit(u, r.register_base)) {
            log::error("IOMMU: unit at 0x%lx refused: %s", r.register_base, why);
            continue;
        }
        unit_of_drhd[i] = g_unit_count++;
        const uint32_t version = read32(u, kVer);
        log::print(
            "  IOMMU: VT-d %u.%u at 0x%lx: %u-level tables (%u-bit device addresses), %u domains,"
            " %u fault records%s\n",
            (version >> 4) & 0xf, version & 0xf, u.base, u.levels,
            static_cast<uint32_t>(__builtin_ctzll(u.iova_limit)), u.max_domains, u.fault_count,
            u.caching_mode ? ", caching mode" : "");
    }
    if (g_unit_count == 0) {
        log::print("  IOMMU: no usable remapping unit; drivers are trusted with DMA\n");
        return;
    }
    uint32_t isolated = 0, uncovered = 0, blocked = 0;
    for (uint32_t i = 0; i < pci_function_count(); ++i) {
        const PciFunction& f = pci_function(i);
        Unit* u = unit_for(f, dmar, unit_of_drhd);
        if (u == nullptr) {
            ++uncovered;
            log::warn("IOMMU: pci %02x:%02x.%u is behind no remapping unit: trusted with DMA",
                      f.bus, f.device, f.function);
        } else if (attach(*u, i, f)) {
            ++isolated;
        } else {
            ++blocked;
            log::warn("IOMMU: pci %02x:%02x.%u got no domain: its DMA stays blocked", f.bus,
                      f.device, f.function);
        }
    }
    // Firmware's reserved regions stay reachable by the devices they name, at their own
    // addresses (before translation is on, so they never see a gap).
    for (uint32_t r = 0; r < dmar.reserved_count; ++r) {
        const acpi::DmarReserved& region = dmar.reserved[r];
        const uint64_t pages = (region.limit - region.base) / kPageSize + 1;
        for (uint32_t i = 0; i < pci_function_count(); ++i) {
            Domain& d = g_domains[i];
            uint32_t slot = 0;
            if (d.cover != Cover::kDomain || region.segment != 0 ||
                !scopes_name(region.scopes, pci_function(i))) {
                continue;
            }
            if (region.limit >= d.unit->iova_limit || pages > kMaxPages ||
                !slot_for(d, region.base, pages, &slot) ||
                !map_at(d, slot, region.base, region.base, pages, true, true).ok()) {
                log::error("IOMMU: reserved region 0x%lx-0x%lx not mapped for pci %02x:%02x.%u",
                           region.base, region.limit, pci_function(i).bus, pci_function(i).device,
                           pci_function(i).function);
            }
        }
    }
    for (uint32_t i = 0; i < g_unit_count; ++i)
        enable(g_units[i]);
    g_enabled = true;
    log::print("  IOMMU: DMA remapping on, %u devices isolated", isolated);
    if (uncovered != 0)
        log::print(", %u trusted (behind no unit)", uncovered);
    if (blocked != 0)
        log::print(", %u blocked (no domain)", blocked);
    log::print("; interrupt remapping off\n");
}

bool iommu_enabled() {
    return g_enabled;
}

Result<uint64_t> iommu_map(const PciFunction& f, mm::PhysAddr phys, uint64_t pages, bool writable) {
    if (pages == 0 || pages > kMaxPages || (phys.value & (kPageSize - 1)) != 0 ||
        phys.value > kAddressMask - pages * kPageSize) {
        return fail(abi::Error::kInvalidArgument);
    }
    if (!g_enabled)
        return phys.value;
    Domain* d = domain_of(f);
    if (d == nullptr)
        return fail(abi::Error::kNotFound);
    LockGuard guard(g_lock);
    if (d->cover == Cover::kNone)
        return phys.value;
    if (d->cover == Cover::kBlocked)
        return fail(abi::Error::kNotSupported);
    uint32_t slot = 0;
    uint64_t iova = 0;
    if (!find_gap(*d, pages, &slot, &iova))
        return fail(abi::Error::kFull);
    return map_at(*d, slot, iova, phys.value, pages, writable, false);
}

void iommu_unmap(const PciFunction& f, uint64_t iova, uint64_t pages) {
    Domain* d = translated(f);
    if (d == nullptr)
        return;
    LockGuard guard(g_lock);
    for (uint32_t k = 0; k < d->count; ++k) {
        const Mapping& m = d->mappings[k];
        if (m.iova != iova || m.pages != pages || m.reserved)
            continue;
        clear_range(*d, iova, pages);
        invalidate_iotlb(*d->unit, d->id);
        for (uint32_t j = k; j + 1 < d->count; ++j)
            d->mappings[j] = d->mappings[j + 1];
        --d->count;
        return;
    }
    log::error("IOMMU: unmap of 0x%lx+%lu pages for pci %02x:%02x.%u: no such mapping", iova, pages,
               f.bus, f.device, f.function);
}

void iommu_reset_device(const PciFunction& f) {
    Domain* d = translated(f);
    if (d == nullptr)
        return;
    LockGuard guard(g_lock);
    uint32_t kept = 0;
    for (uint32_t k = 0; k < d->count; ++k) {
        const Mapping m = d->mappings[k];
        if (m.reserved)
            d->mappings[kept++] = m;
        else
            clear_range(*d, m.iova, m.pages);
    }
    d->count = kept;
    invalidate_iotlb(*d->unit, d->id);
    if (kept != 0)
        return;  // the reserved regions still use the tables
    // Detach each subtree from the top-level table, invalidate (the paging-structure caches may
    // still point into it), then free it.
    const uint32_t levels = d->unit->levels;
    for (uint32_t i = 0; i < 512; ++i) {
        uint64_t& e = table(d->root)[i];
        if ((e & (kSlRead | kSlWrite)) == 0)
            continue;
        const PhysAddr sub{e & kAddressMask};
        e = 0;
        flush(*d->unit, &e, 8);
        invalidate_iotlb(*d->unit, d->id);
        free_tables(sub, levels - 1);
    }
}

uint32_t iommu_log_faults() {
    LockGuard guard(g_lock);
    uint32_t found = 0;
    for (uint32_t n = 0; n < g_unit_count; ++n) {
        const Unit& u = g_units[n];
        for (uint32_t i = 0; i < u.fault_count; ++i) {
            const uint32_t at = u.fault_at + 16 * i;
            const uint64_t high = read64(u, at + 8);
            if ((high >> 63) == 0)
                continue;
            const uint64_t address = read64(u, at) & ~0xfffull;
            const uint32_t source = high & 0xffff;
            log::warn("IOMMU: DMA fault: pci %02x:%02x.%u %s at 0x%lx blocked (reason 0x%x)",
                      source >> 8, (source >> 3) & 31, source & 7,
                      (high >> 62) & 1 ? "read" : "write", address,
                      static_cast<uint32_t>((high >> 32) & 0xff));
            write32(u, at + 12, 1u << 31);  // F is write-1-to-clear
            ++found;
        }
        if (read32(u, kFsts) & kFstsOverflow) {
            log::warn("IOMMU: fault records overflowed at 0x%lx: faults were lost", u.base);
            write32(u, kFsts, kFstsOverflow);
            ++found;
        }
    }
    return found;
}

}  // namespace keel::dev
