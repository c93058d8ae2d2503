#include "obj/device.hpp"

#include <new>

#include <keel/c/format.hpp>
#include <keel/c/libc.hpp>
#include "boot_handoff.hpp"
#include "dev/iommu.hpp"
#include "dev/msi.hpp"
#include "log/log.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/paging.hpp"
#include "obj/interrupt.hpp"
#include "obj/io_ports.hpp"
#include "obj/memory.hpp"
#include "obj/root.hpp"
#include "proc/process.hpp"

namespace keel::obj {

namespace {

// The legacy devices a driver may be given. COM1 is the kernel's log and is never handed out;
// the Bochs display's index/data pair is added only when such a display is present.
constexpr LegacyDevice kLegacyDevices[] = {
    {"ps2", {0x60, 0x64}, {1, 1}, 1},    // 8042 data and status/command; keyboard on IRQ 1
    {"com2", {0x2f8, 0}, {8, 0}, 3},     // second 16550 UART
    {"pit", {0x40, 0}, {4, 0}, kNoIrq},  // 8254 counters and mode register (IRQ 0 is not given)
};
// Index at 0x1ce, data at 0x1cf: both are 16-bit registers, so a data access reaches 0x1d0.
constexpr LegacyDevice kBochsVbe{"bochs-vbe", {0x1ce, 0}, {3, 0}, kNoIrq};
constexpr uint16_t kBochsVendor = 0x1234, kBochsDisplay = 0x1111;

constexpr uint32_t kDeviceRights =
    abi::kRightRead | abi::kRightWrite | abi::kRightCreate | abi::kRightShare;
constexpr uint32_t kMemoryRights =
    abi::kRightRead | abi::kRightWrite | abi::kRightMap | abi::kRightShare;
constexpr uint32_t kPortRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;
constexpr uint32_t kInterruptRights = abi::kRightRead | abi::kRightWrite | abi::kRightShare;

// Command register bits a driver may set; the rest read back as the kernel left them.
constexpr uint16_t kDriverCommandBits = pci::kCommandIo | pci::kCommandMemory |
                                        pci::kCommandBusMaster | 1u << 6 /* parity */ |
                                        1u << 8 /* SERR */ | pci::kCommandIntxDisable;

constexpr uint16_t kHeaderEnd = 0x40;

bool overlaps(uint32_t a, uint32_t a_len, uint32_t b, uint32_t b_len) {
    return a < b + b_len && b < a + a_len;
}

// May a driver write `width` bytes at `offset` of f's configuration space? kNoRights for the
// kernel's registers; the command register is narrowed in place instead (*value).
Result<void> config_write_policy(const dev::PciFunction& f, uint16_t offset, uint32_t width,
                                 uint32_t* value) {
    if (offset < pci::kCommand)
        return fail(Error::kNoRights);  // identification: read-only
    if (offset < pci::kCommand + 4) {
        // The dword of command (bytes 4-5) and status (6-7, write-one-to-clear: a driver may
        // clear its device's error bits). Merge the write into the current dword, narrow the
        // command to the driver's bits, and hand back the written bytes.
        const uint32_t shift = (offset - pci::kCommand) * 8;
        const uint32_t mask = (width == 4 ? ~0u : (1u << (width * 8)) - 1) << shift;
        const uint32_t current = dev::pci_config_read(f, pci::kCommand, 4);
        uint32_t merged = (current & ~mask) | ((*value << shift) & mask);
        const uint32_t command =
            (merged & kDriverCommandBits) | (current & 0xffffu & ~uint32_t{kDriverCommandBits});
        merged = (merged & 0xffff0000u) | command;
        *value = (merged & mask) >> shift;
        return success();
    }
    if (offset < pci::kFirstBar) {
        // Class, cache line, latency, header type, BIST: only the cache line size and latency
        // timer are a driver's (a BIST write would start the device's self-test).
        if (offset >= 0x0c && offset + width <= 0x0e)
            return success();
        return fail(Error::kNoRights);
    }
    if (offset < kHeaderEnd) {
        // BARs, ROM BAR, a bridge's bus numbers and windows, the interrupt line the kernel
        // routes by, the capability pointer: all the kernel's. (Subsystem ids are read-only.)
        return fail(Error::kNoRights);
    }
    // The MSI and MSI-X capabilities say where the device's interrupt messages go.
    dev::ConfigRange msi[2];
    for (uint32_t i = 0, n = dev::msi_config_ranges(f, msi); i < n; ++i) {
        if (overlaps(offset, width, msi[i].offset, msi[i].size))
            return fail(Error::kNoRights);
    }
    for (uint32_t i = 0; i < f.info.capability_count; ++i) {
        if (overlaps(offset, width, f.info.capabilities[i].offset, 2))
            return fail(Error::kNoRights);  // a capability's id and next pointer
    }
    return success();
}

// Whether another function's memory BAR shares a page with [base, base + size): then mapping
// whole pages would hand the driver another device's registers.
bool shares_page(const dev::PciFunction& self, uint64_t base, uint64_t size) {
    const uint64_t first = base & ~(mm::kPageSize - 1);
    const uint64_t end = (base + size + mm::kPageSize - 1) & ~(mm::kPageSize - 1);
    for (uint32_t i = 0; i < dev::pci_function_count(); ++i) {
        const dev::PciFunction& f = dev::pci_function(i);
        for (const pci::Bar& b : f.bars) {
            if (b.kind == pci::BarKind::kNone || b.kind == pci::BarKind::kIo || b.size == 0)
                continue;
            if (&f == &self && b.address == base)
                continue;
            const uint64_t bf = b.address & ~(mm::kPageSize - 1);
            const uint64_t be = (b.address + b.size + mm::kPageSize - 1) & ~(mm::kPageSize - 1);
            if (bf < end && first < be)
                return true;
        }
    }
    return false;
}

// Where the loader's framebuffer lies: wholly (pitch * height bytes from its base) in a memory
// BAR of function f. *out gets the BAR and the offset into it. Only an RGB framebuffer of 32
// bits per pixel qualifies (the caller checks), so what a driver is told is 0x00RRGGBB.
bool framebuffer_in(const dev::PciFunction& f, const boot::Framebuffer& fb,
                    abi::BootFramebuffer* out) {
    const uint64_t bytes = uint64_t{fb.pitch} * fb.height;  // both 32-bit: no overflow
    for (uint32_t i = 0; i < 6; ++i) {
        uint64_t offset = 0;
        if (pci::bar_holds(f.bars[i], fb.base, bytes, &offset)) {
            *out = abi::BootFramebuffer{offset, i, fb.width, fb.height, fb.pitch};
            return true;
        }
    }
    return false;
}

// The loader's framebuffer, if it is one a driver can be told about: RGB, 32 bits per pixel,
// a pitch that holds a row. Logs why not otherwise.
bool usable_boot_framebuffer(const boot::Framebuffer& fb) {
    if (fb.base == 0)
        return false;
    if (fb.type != boot::FramebufferType::kRgb || fb.bpp != 32 || fb.width == 0 || fb.height == 0 ||
        fb.pitch / 4 < fb.width) {
        log::info(
            "boot framebuffer %ux%u, %u bpp, type %u at 0x%lx: not RGB 32 bpp; not handed out",
            fb.width, fb.height, fb.bpp, static_cast<uint32_t>(fb.type), fb.base);
        return false;
    }
    return true;
}

}  // namespace

Result<RefPtr<DeviceObject>> DeviceObject::create_pci(const dev::PciFunction& f) {
    RefPtr<DeviceObject> d = adopt_ref(new (std::nothrow) DeviceObject);
    if (!d)
        return fail(Error::kNoMemory);
    d->pci_ = &f;
    return d;
}

Result<RefPtr<DeviceObject>> DeviceObject::create_legacy(const LegacyDevice& l) {
    RefPtr<DeviceObject> d = adopt_ref(new (std::nothrow) DeviceObject);
    if (!d)
        return fail(Error::kNoMemory);
    d->legacy_ = &l;
    return d;
}

DeviceObject::~DeviceObject() {
    // Device objects live in the devices root for the whole boot; should one go, its
    // quarantined frames stay allocated (the device might still write them).
    if (quarantine_ != nullptr)
        log::warn("device object gone with %lu quarantined pages kept", quarantined_pages());
}

Result<uint64_t> DeviceObject::read(Request& req) {
    if (pci_ == nullptr)
        return fail(Error::kNotSupported);
    const uint64_t size = dev::pci_config_size();
    const uint64_t n = req.buffer.length();
    if (req.arg >= size || n > size - req.arg)
        return fail(Error::kInvalidArgument);
    for (uint64_t done = 0; done < n;) {
        const uint64_t at = req.arg + done;
        const uint32_t dword = dev::pci_config_read(*pci_, static_cast<uint16_t>(at & ~3ull), 4);
        const uint64_t skip = at & 3;
        const uint64_t chunk = n - done < 4 - skip ? n - done : 4 - skip;
        const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&dword) + skip;
        KEEL_TRY(req.buffer.copy_into(done, bytes, chunk));
        done += chunk;
    }
    return n;
}

Result<uint64_t> DeviceObject::write(Request& req) {
    if (pci_ == nullptr)
        return fail(Error::kNotSupported);
    const uint64_t width = req.buffer.length();
    if ((width != 1 && width != 2 && width != 4) || req.arg % width != 0 ||
        req.arg >= dev::pci_config_size()) {
        return fail(Error::kInvalidArgument);
    }
    uint32_t value = 0;
    KEEL_TRY(req.buffer.copy_out_of(0, &value, width));
    const auto offset = static_cast<uint16_t>(req.arg);
    KEEL_TRY(config_write_policy(*pci_, offset, static_cast<uint32_t>(width), &value));
    dev::pci_config_write(*pci_, offset, value, static_cast<uint32_t>(width));
    if (!bus_master_on()) {
        ++quiesced_;
        release_quarantine();
    }
    return width;
}

bool DeviceObject::bus_master_on() const {
    return pci_ != nullptr &&
           (dev::pci_config_read(*pci_, pci::kCommand, 2) & pci::kCommandBusMaster) != 0;
}

void DeviceObject::fill_info(abi::DeviceInfo& info) const {
    info = abi::DeviceInfo{};
    if (legacy_ != nullptr) {
        info.bus_kind = static_cast<uint32_t>(abi::DeviceBus::kLegacy);
        info.interrupt_line = legacy_->irq;
        for (uint32_t i = 0; i < 2; ++i) {
            if (legacy_->count[i] != 0) {
                info.bars[i] = {legacy_->first[i], legacy_->count[i],
                                static_cast<uint32_t>(abi::BarKind::kIo), 0};
            }
        }
        return;
    }
    const pci::Function& f = pci_->info;
    info.bus_kind = static_cast<uint32_t>(abi::DeviceBus::kPci);
    info.vendor = f.vendor;
    info.device = f.device;
    info.class_code = f.class_code;
    info.subclass = f.subclass;
    info.prog_if = f.prog_if;
    info.revision = f.revision;
    info.bus = pci_->bus;
    info.slot = pci_->device;
    info.function = pci_->function;
    info.header_type = f.header_type;
    info.interrupt_pin = f.interrupt_pin;
    info.interrupt_line = f.interrupt_pin != 0 ? f.interrupt_line : 0xff;
    info.config_size = static_cast<uint16_t>(dev::pci_config_size());
    for (uint32_t i = 0; i < f.capability_count && i < 15; ++i)
        info.capabilities[i] = f.capabilities[i].id;
    info.msi_vectors = static_cast<uint16_t>(dev::msi_vector_count(*pci_));
    for (uint32_t i = 0; i < 6; ++i) {
        const pci::Bar& b = pci_->bars[i];
        if (b.kind == pci::BarKind::kNone)
            continue;
        info.bars[i].base = b.address;
        info.bars[i].size = b.size;
        info.bars[i].kind = static_cast<uint32_t>(
            b.kind == pci::BarKind::kIo ? abi::BarKind::kIo : abi::BarKind::kMemory);
        info.bars[i].flags = (b.prefetchable ? abi::kBarPrefetchable : 0) |
                             (b.kind == pci::BarKind::kMemory64 ? abi::kBar64 : 0);
    }
}

Result<uint64_t> DeviceObject::get_meta(Request& req) {
    if (static_cast<abi::Meta>(req.arg) == abi::Meta::kBootFramebuffer) {
        if (boot_framebuffer_.width == 0)
            return fail(Error::kNotFound);
        return answer_bytes(req, &boot_framebuffer_, sizeof boot_framebuffer_);
    }
    if (static_cast<abi::Meta>(req.arg) != abi::Meta::kDevice)
        return fail(Error::kInvalidArgument);
    abi::DeviceInfo info;
    fill_info(info);
    return answer_bytes(req, &info, sizeof info);
}

Result<uint64_t> DeviceObject::create(Request& req) {
    abi::DeviceResource r{};
    if (req.buffer.length() != sizeof r)
        return fail(Error::kInvalidArgument);
    KEEL_TRY(req.buffer.copy_out_of(0, &r, sizeof r));
    switch (static_cast<abi::DeviceResourceKind>(r.kind)) {
        case abi::DeviceResourceKind::kBar:
            return create_bar(req, r);
        case abi::DeviceResourceKind::kDmaMemory:
            return create_dma(req, r);
        case abi::DeviceResourceKind::kInterrupt:
        case abi::DeviceResourceKind::kMsi:
            return create_interrupt(req, r);
    }
    return fail(Error::kInvalidArgument);
}

Result<uint64_t> DeviceObject::create_bar(Request& req, const abi::DeviceResource& r) {
    if (r.index >= 6 || (r.arg & ~abi::kCacheWriteCombining) != 0)
        return fail(Error::kInvalidArgument);
    if (legacy_ != nullptr) {
        if (r.index >= 2 || legacy_->count[r.index] == 0 || r.arg != 0)
            return fail(Error::kInvalidArgument);
        const RefPtr<IoPorts> ports =
            KEEL_TRY(IoPorts::create(legacy_->first[r.index], legacy_->count[r.index]));
        return KEEL_TRY(req.caller->handles().insert(*ports, kPortRights));
    }
    const pci::Bar& b = pci_->bars[r.index];
    if (b.kind == pci::BarKind::kNone || b.size == 0)
        return fail(Error::kInvalidArgument);
    if (b.kind == pci::BarKind::kIo) {
        if (r.arg != 0 || b.address + b.size > 0x10000)
            return fail(Error::kInvalidArgument);
        const RefPtr<IoPorts> ports = KEEL_TRY(
            IoPorts::create(static_cast<uint16_t>(b.address), static_cast<uint16_t>(b.size)));
        return KEEL_TRY(req.caller->handles().insert(*ports, kPortRights));
    }
    const bool wc = (r.arg & abi::kCacheWriteCombining) != 0;
    if (wc && !b.prefetchable)
        return fail(Error::kInvalidArgument);  // only memory without read side effects
    if (shares_page(*pci_, b.address, b.size)) {
        log::warn("pci %02x:%02x.%u: BAR%u shares a page with another device; not mapped",
                  pci_->bus, pci_->device, pci_->function, r.index);
        return fail(Error::kNoRights);
    }
    const uint64_t first = b.address & ~(mm::kPageSize - 1);
    const uint64_t pages = (b.address + b.size - first + mm::kPageSize - 1) / mm::kPageSize;
    const RefPtr<MemoryObject> m = KEEL_TRY(MemoryObject::create_device(
        mm::PhysAddr{first}, pages, wc ? mm::kPageWriteCombining : mm::kPageUncached));
    // The MSI-X table and pending bits are the kernel's (they say where the device's interrupt
    // messages go): their pages stay unmapped in the driver's view.
    dev::BarRange ranges[2];
    if (dev::msix_ranges(*pci_, &ranges[0], &ranges[1])) {
        for (const dev::BarRange& x : ranges) {
            if (x.bar != r.index || x.size == 0)
                continue;
            const uint64_t lo = (b.address + x.offset - first) / mm::kPageSize;
            const uint64_t hi = (b.address + x.offset + x.size - 1 - first) / mm::kPageSize;
            for (uint64_t p = lo; p <= hi && p < pages; ++p)
                m->punch_hole(p);
        }
    }
    return KEEL_TRY(req.caller->handles().insert(*m, kMemoryRights));
}

Result<RefPtr<MemoryObject>> DeviceObject::dma_memory(uint64_t bytes) {
    if (pci_ == nullptr)
        return fail(Error::kNotSupported);  // no ISA DMA
    RefPtr<MemoryObject> m = KEEL_TRY(MemoryObject::create_dma(bytes, retain_ref(this)));
    // With an IOMMU, the device reaches these frames, and only these, at the address it gives.
    m->set_device_address(KEEL_TRY(dev::iommu_map(*pci_, m->frame(0), m->pages(), true)));
    return m;
}

Result<uint64_t> DeviceObject::create_dma(Request& req, const abi::DeviceResource& r) {
    if (pci_ == nullptr)
        return fail(Error::kNotSupported);
    if (r.index != 0)
        return fail(Error::kInvalidArgument);
    const RefPtr<MemoryObject> m = KEEL_TRY(dma_memory(r.arg));
    return KEEL_TRY(req.caller->handles().insert(*m, kMemoryRights));
}

Result<uint64_t> DeviceObject::create_interrupt(Request& req, const abi::DeviceResource& r) {
    RefPtr<InterruptObject> irq;
    if (static_cast<abi::DeviceResourceKind>(r.kind) == abi::DeviceResourceKind::kInterrupt) {
        if (r.index != 0 || r.arg != 0)
            return fail(Error::kInvalidArgument);
        if (legacy_ != nullptr) {
            if (legacy_->irq == kNoIrq)
                return fail(Error::kNotSupported);
            irq = KEEL_TRY(InterruptObject::create_isa(legacy_->irq));
        } else {
            irq = KEEL_TRY(InterruptObject::create_pci_intx(*pci_));
        }
    } else {
        if (legacy_ != nullptr || r.arg != 0)
            return fail(legacy_ != nullptr ? Error::kNotSupported : Error::kInvalidArgument);
        irq = KEEL_TRY(InterruptObject::create_msi(*pci_, r.index));
    }
    return KEEL_TRY(req.caller->handles().insert(*irq, kInterruptRights));
}

void DeviceObject::retire_dma(mm::PhysAddr first, uint64_t pages, uint64_t device_address,
                              bool reachable) {
    if (dev::iommu_isolates(*pci_)) {
        // Removed from the device's domain (and its caches) first: then nothing reaches them.
        if (device_address != 0)
            dev::iommu_unmap(*pci_, device_address, pages);
        for (uint64_t i = 0; i < pages; ++i)
            mm::frames().free(mm::PhysAddr{first.value + i * mm::kPageSize});
        return;
    }
    if (!reachable || !bus_master_on()) {
        for (uint64_t i = 0; i < pages; ++i)
            mm::frames().free(mm::PhysAddr{first.value + i * mm::kPageSize});
        return;
    }
    auto* q = new (std::nothrow) Quarantined{first, pages, quarantine_};
    if (q == nullptr) {
        log::warn("device: no memory to track %lu quarantined DMA pages; kept for good", pages);
        return;
    }
    quarantine_ = q;
    log::info("pci %02x:%02x.%u: %lu DMA pages quarantined until bus mastering is off", pci_->bus,
              pci_->device, pci_->function, pages);
}

uint64_t DeviceObject::quarantined_pages() const {
    uint64_t n = 0;
    for (const Quarantined* q = quarantine_; q != nullptr; q = q->next)
        n += q->pages;
    return n;
}

void DeviceObject::release_quarantine() {
    if (quarantine_ != nullptr) {
        log::info("pci %02x:%02x.%u: bus mastering off: %lu quarantined DMA pages freed", pci_->bus,
                  pci_->device, pci_->function, quarantined_pages());
    }
    while (quarantine_ != nullptr) {
        Quarantined* q = quarantine_;
        quarantine_ = q->next;
        for (uint64_t i = 0; i < q->pages; ++i)
            mm::frames().free(mm::PhysAddr{q->first.value + i * mm::kPageSize});
        delete q;
    }
}

Result<RefPtr<Root>> make_device_root() {
    const uint32_t legacy = sizeof kLegacyDevices / sizeof kLegacyDevices[0] + 1;
    const RefPtr<Root> root = KEEL_TRY(Root::create(dev::kMaxPciFunctions + legacy));
    char name[abi::kMaxNameLength];
    bool bochs = false;
    const boot::Framebuffer& fb = boot_info().framebuffer;
    bool fb_wanted = usable_boot_framebuffer(fb);
    for (uint32_t i = 0; i < dev::pci_function_count(); ++i) {
        const dev::PciFunction& f = dev::pci_function(i);
        bochs = bochs || (f.info.vendor == kBochsVendor && f.info.device == kBochsDisplay);
        const RefPtr<DeviceObject> d = KEEL_TRY(DeviceObject::create_pci(f));
        const size_t n =
            snformat(name, sizeof name, "pci-%02x:%02x.%u", f.bus, f.device, f.function);
        abi::BootFramebuffer place{};
        if (fb_wanted && framebuffer_in(f, fb, &place)) {
            fb_wanted = false;  // one function has it
            d->set_boot_framebuffer(place);
            log::print("  boot framebuffer %ux%u in %s BAR%u at offset 0x%lx\n", fb.width,
                       fb.height, name, place.bar, place.offset);
        }
        KEEL_TRY(root->bind(name, n, *d, kDeviceRights));
    }
    if (fb_wanted) {
        log::info("boot framebuffer at 0x%lx (%ux%u) lies in no PCI memory BAR; not handed out",
                  fb.base, fb.width, fb.height);
    }
    for (const LegacyDevice& l : kLegacyDevices) {
        const RefPtr<DeviceObject> d = KEEL_TRY(DeviceObject::create_legacy(l));
        KEEL_TRY(root->bind(l.name, strlen(l.name), *d, kDeviceRights));
    }
    if (bochs) {
        const RefPtr<DeviceObject> d = KEEL_TRY(DeviceObject::create_legacy(kBochsVbe));
        KEEL_TRY(root->bind(kBochsVbe.name, strlen(kBochsVbe.name), *d, kDeviceRights));
    }
    log::print("  devices: %u PCI functions and %u legacy devices for drivers; %s\n",
               dev::pci_function_count(), legacy - (bochs ? 0u : 1u),
               dev::iommu_enabled()
                   ? "DMA isolated by the IOMMU (each device reaches only its DMA memory)"
                   : "DMA is not isolated (no IOMMU): drivers are trusted with DMA");
    return root;
}

}  // namespace keel::obj
