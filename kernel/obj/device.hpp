// Device objects (issue 15): what a user-space driver holds instead of the machine. One per PCI
// function and per legacy device the kernel hands out, all bound at boot in the "devices" root
// (make_device_root) that init receives; a driver is given only its own.
//
// A device's holder may, with the handle's rights:
// - Read: read its configuration space, get_meta kDevice (DeviceInfo) and, for the PCI function
//   whose memory BAR holds the framebuffer the loader set up, kBootFramebuffer;
// - Write: write its configuration space, mediated (config_write_policy in device.cpp): the
//   BARs, the ROM BAR, a bridge's windows and bus numbers, the interrupt line and the MSI and
//   MSI-X capabilities are the kernel's; the command register keeps only the bits a driver may
//   set (I/O and memory decoding, bus mastering, parity and SERR reporting, INTx disable);
// - Create: make handles to its resources: a BAR as device memory (uncached, or
//   write-combining for a prefetchable BAR) or as I/O ports, its interrupt, an MSI vector, and
//   DMA memory.
//
// DMA memory is physically contiguous RAM below 4 GiB that this device may reach at its
// device address (get_meta kDeviceAddress on the memory object). With an IOMMU the device
// reaches only that memory; without one the driver is trusted with DMA (the kernel says so in
// its log). When the memory's last reference goes (its driver closed it or died), its frames
// return here: they are freed at once when the device cannot reach them any more (removed
// from the IOMMU, or bus mastering off), otherwise kept in quarantine until the device's bus
// mastering is turned off through this object. They are never handed to anyone else while the
// device could still write them.
#pragma once

#include "dev/pci.hpp"
#include "mm/address.hpp"
#include "obj/object.hpp"

namespace keel::obj {

class MemoryObject;
class Root;

// A legacy (non-PCI) device: up to two port ranges and an ISA interrupt.
struct LegacyDevice {
    const char* name;
    uint16_t first[2];
    uint16_t count[2];  // 0: no such range
    uint8_t irq;        // ISA IRQ, kNoIrq for none
};
inline constexpr uint8_t kNoIrq = 0xff;

class DeviceObject final : public Object {
  public:
    // kNoMemory.
    static Result<RefPtr<DeviceObject>> create_pci(const dev::PciFunction& f);
    static Result<RefPtr<DeviceObject>> create_legacy(const LegacyDevice& d);

    Result<uint64_t> read(Request& req) override;  // configuration space from offset arg
    Result<uint64_t> peek(Request& req) override { return read(req); }
    Result<uint64_t> write(Request& req) override;     // 1, 2 or 4 bytes at arg, mediated
    Result<uint64_t> get_meta(Request& req) override;  // kDevice, kBootFramebuffer
    Result<uint64_t> create(Request& req) override;    // buffer = abi::DeviceResource

    // `bytes` of DMA memory for this device, mapped in its IOMMU domain (device_address()):
    // what create_dma hands out, and what backs a device-holding server's region
    // (QueueRegion::create). kNotSupported (legacy device), kInvalidArgument (0), kTooLarge
    // (above abi::kMaxDmaMemory), kNoMemory.
    Result<RefPtr<MemoryObject>> dma_memory(uint64_t bytes);
    // DMA memory made by this device came to its end (obj/memory.cpp): free the frames once
    // the device can no longer reach them. `reachable` false: nothing the device was given
    // points there any more (MemoryObject::set_lent_only), so without an IOMMU they are freed
    // at once, as with bus mastering off.
    void retire_dma(mm::PhysAddr first, uint64_t pages, uint64_t device_address, bool reachable);
    // Frames held back because the device might still write them.
    uint64_t quarantined_pages() const;
    // How many times a driver turned the device's bus mastering off: whatever it was given
    // before, it no longer reaches.
    uint64_t quiesced() const { return quiesced_; }
    const dev::PciFunction* pci() const { return pci_; }
    // The loader's framebuffer lies in this function's BAR (make_device_root finds it).
    void set_boot_framebuffer(const abi::BootFramebuffer& fb) { boot_framebuffer_ = fb; }

  private:
    DeviceObject() : Object(abi::Kind::kDevice) {}
    ~DeviceObject() override;
    Result<uint64_t> create_bar(Request& req, const abi::DeviceResource& r);
    Result<uint64_t> create_dma(Request& req, const abi::DeviceResource& r);
    Result<uint64_t> create_interrupt(Request& req, const abi::DeviceResource& r);
    void fill_info(abi::DeviceInfo& info) const;
    bool bus_master_on() const;
    // Frees every quarantined range: the device's bus mastering is off.
    void release_quarantine();

    const dev::PciFunction* pci_ = nullptr;  // exactly one of these two
    const LegacyDevice* legacy_ = nullptr;
    abi::BootFramebuffer boot_framebuffer_{};  // width 0: the loader's framebuffer is not here
    struct Quarantined {
        mm::PhysAddr first;
        uint64_t pages;
        Quarantined* next;
    };
    Quarantined* quarantine_ = nullptr;
    uint64_t quiesced_ = 0;
};

// The "devices" root: every PCI function as "pci-BB:DD.F" and the legacy devices by name,
// each bound with Read | Write | Create | Share. Logs whether DMA is isolated, and which
// function's BAR holds the loader's framebuffer (BootInfo; an RGB 32-bpp one lying wholly in
// a memory BAR is handed out as that function's kBootFramebuffer, any other is logged and not
// handed out). kNoMemory.
Result<RefPtr<Root>> make_device_root();

}  // namespace keel::obj
