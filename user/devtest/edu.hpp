// QEMU's edu device as devtest's drivers use it: its registers, its DMA engine, and the
// steps every driver child takes (its device, BAR0 mapped, bus mastering).
#pragma once

#include "devtest.hpp"

namespace keel::devtest {

// QEMU's edu device (docs/specs/edu.rst in QEMU): BAR0 registers.
constexpr uint64_t kEduId = 0x00;         // 0x010000ed: version 1.0
constexpr uint64_t kEduLiveness = 0x04;   // reads back the complement of what was written
constexpr uint64_t kEduFactorial = 0x08;  // write n; reads n! once status bit 0 clears
constexpr uint64_t kEduStatus = 0x20;     // bit 0: computing
constexpr uint64_t kEduRaise = 0x60;      // write: raise the interrupt with these status bits
constexpr uint64_t kEduLower = 0x64;      // write: clear these interrupt status bits
constexpr uint64_t kEduDmaSource = 0x80;  // 64-bit registers
constexpr uint64_t kEduDmaDest = 0x88;
constexpr uint64_t kEduDmaCount = 0x90;
constexpr uint64_t kEduDmaCommand = 0x98;  // bit 0 start (clears when done), bit 1 to RAM
constexpr uint64_t kEduBuffer = 0x40000;   // the device's own 4 KiB buffer, as a DMA address
// QEMU aborts (hw_error) on a transfer that ends at the buffer's very end, so stay inside it.
constexpr int kDmaBytes = 2048;

struct Edu {
    volatile uint8_t* regs;
    uint32_t read32(uint64_t r) const { return *reinterpret_cast<volatile uint32_t*>(regs + r); }
    void write32(uint64_t r, uint32_t v) const {
        *reinterpret_cast<volatile uint32_t*>(regs + r) = v;
    }
    void write64(uint64_t r, uint64_t v) const {
        *reinterpret_cast<volatile uint64_t*>(regs + r) = v;
    }
    uint64_t read64(uint64_t r) const { return *reinterpret_cast<volatile uint64_t*>(regs + r); }
    // One DMA transfer of n bytes; false if the engine never finished (the device models each
    // transfer with a 100 ms timer of its own).
    bool dma(uint64_t from, uint64_t to, uint64_t n, bool to_ram) const {
        write64(kEduDmaSource, from);
        write64(kEduDmaDest, to);
        write64(kEduDmaCount, n);
        write64(kEduDmaCommand, 1 | (to_ram ? 2u : 0u));
        for (int i = 0; i < 2000; ++i) {
            if ((read64(kEduDmaCommand) & 1) == 0)
                return true;
            (void)sys::sleep_ns(1000000);
        }
        return false;
    }
};

// "device" in the child's root.
Handle device();
// BAR0 mapped (uncached); its address.
uint64_t map_bar0(Handle dev);
// Bus mastering on or off through the command register (checked).
void set_bus_master(Handle dev, bool on);

}  // namespace keel::devtest
