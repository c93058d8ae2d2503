// drivers/virtio-common: what every virtio 1.x PCI driver does with its device and its threads,
// shared by drivers/virtio-blk and drivers/virtio-net (README.md there). The pure, host-tested
// logic (capabilities, negotiation, the split queue) is lib/virtio; this is the part with
// system calls: mapping the register regions, the status handshake, queues in DMA memory,
// MSI-X or INTx, and the serve loop and interrupt thread around a driver's pump().
#pragma once

#include <keel/virtio/pci.hpp>
#include <keel/virtio/virtqueue.hpp>

#include "runtime.hpp"
#include "serve.hpp"

namespace keel::drivers::virtio {

// A register region mapped into this process (little-endian, as x86 is).
struct Mmio {
    volatile uint8_t* base = nullptr;
    uint8_t r8(uint32_t at) const { return base[at]; }
    uint16_t r16(uint32_t at) const { return *reinterpret_cast<volatile uint16_t*>(base + at); }
    uint32_t r32(uint32_t at) const { return *reinterpret_cast<volatile uint32_t*>(base + at); }
    void w8(uint32_t at, uint8_t v) const { base[at] = v; }
    void w16(uint32_t at, uint16_t v) const {
        *reinterpret_cast<volatile uint16_t*>(base + at) = v;
    }
    void w32(uint32_t at, uint32_t v) const {
        *reinterpret_cast<volatile uint32_t*>(base + at) = v;
    }
    // 64-bit fields as two 32-bit writes, low half first (the spec allows it).
    void w64(uint32_t at, uint64_t v) const {
        w32(at, static_cast<uint32_t>(v));
        w32(at + 4, static_cast<uint32_t>(v >> 32));
    }
};

// DMA memory: where this process reaches it and where the device does.
struct Dma {
    uint8_t* at = nullptr;
    uint64_t device = 0;
};

// Bytes of DMA memory one queue's rings take (descriptors at 0, the available ring at 4 KiB, the
// used ring at 8 KiB: room for kMaxQueueSize entries each).
inline constexpr uint64_t kRingBytes = 12 * 1024;

// One virtio PCI function, from reset to DRIVER_OK. Every step that fails returns a static
// reason (nullptr on success); after FEATURES are negotiated a failing step also sets FAILED.
// Use, in the spec's order (virtio 1.x 3.1.1): start, negotiate, read the device configuration
// (read_config), setup_queue for each queue, setup_interrupts, go. Not thread-safe: set-up runs
// before the driver's threads; afterwards the registers are touched under the driver's lock
// (wait_interrupt excepted: the ISR is read by the interrupt thread alone).
class Device {
  public:
    // Takes the device object (the function init gave), checks it is a virtio PCI function,
    // finds the register regions with lib/virtio (each inside its BAR), maps them, resets the
    // device (waiting at most 1 s) and sets ACKNOWLEDGE and DRIVER. A device configuration
    // shorter than `config_bytes` (or none) is refused with `no_config`.
    const char* start(user::Handle device, uint32_t config_bytes, const char* no_config);
    // Offers what lib/virtio's negotiate accepts (VERSION_1 belongs in `required`), sets
    // FEATURES_OK and checks that it stuck. *accepted gets the features.
    const char* negotiate(uint64_t required, uint64_t optional, uint64_t* accepted);
    // Runs read() (which reads config()) until the configuration generation is the same before
    // and after it (at most 16 tries). Whether it was.
    template <class F>
    bool read_config(F&& read) {
        for (int tries = 0; tries < 16; ++tries) {
            const uint8_t before = common_.r8(keel::virtio::kConfigGeneration);
            read();
            if (common_.r8(keel::virtio::kConfigGeneration) == before)
                return true;
        }
        return false;
    }
    // DMA memory of `bytes` (zeroed, physically contiguous, at most 4 MiB) for this device,
    // mapped read-write. Its handle is closed (the mapping keeps it) unless `keep` asks for it
    // (a driver that shares the memory with a client: drivers/virtio-blk's shared rings).
    const char* dma(uint64_t bytes, Dma* out, user::Handle* keep = nullptr);
    // Lays out queue `index` with the largest power of two the device allows up to `most`
    // entries (at least `least`), its rings in `rings` (kRingBytes of DMA memory), and finds
    // its notify register. The queue is enabled by go().
    const char* setup_queue(uint16_t index, uint16_t most, uint16_t least, Dma rings,
                            keel::virtio::SplitQueue* queue, volatile uint16_t** notify);
    // Turns memory decoding and bus mastering on, then asks for MSI-X vector 0 for queues
    // 0..count-1 (read back; the configuration change interrupt gets none) and falls back to
    // INTx when there is no vector.
    const char* setup_interrupts(uint16_t count);
    // Enables queues 0..count-1 and sets DRIVER_OK.
    void go(uint16_t count);

    // Sets FAILED (the device may stop), returns why.
    const char* fail(const char* why);
    // Resets the device: it stops using the driver's memory.
    void reset() { common_.w8(keel::virtio::kDeviceStatus, 0); }
    // Resets it and turns bus mastering off: a program done with the device (its DMA memory can
    // then go back at once instead of into the kernel's quarantine).
    void stop();
    // Waits for the interrupt; with INTx reads the ISR (which lowers the line) and acknowledges.
    // False when the read failed (the caller retries after a pause).
    bool wait_interrupt();

    const Mmio& config() const { return config_; }
    uint32_t config_length() const { return layout_.device.length; }
    user::Handle handle() const { return device_; }
    bool msix() const { return msix_; }

  private:
    int64_t resource(abi::DeviceResourceKind kind, uint32_t index, uint64_t arg);
    uint64_t map_bar(uint8_t bar);
    uint64_t read_features();

    user::Handle device_ = 0;
    Mmio common_, isr_, config_;
    keel::virtio::Layout layout_{};
    uint64_t notify_base_ = 0;  // the notify region, mapped
    uint64_t mapped_[6] = {};
    user::Handle interrupt_ = 0;
    bool msix_ = false;
};

// A driver's work around its device: pump() does everything there is to do (reap the used
// rings, take forwarded operations, hand buffers to the device, notify it, publish the served
// completions) with `lock` held, returning whether it reaped or took anything;
// set_interrupts(on) sets the no-interrupt hint of the driver's queues (lock held).
struct Pump {
    user::Mutex* lock;
    user::ServePort* port;
    bool (*pump)();
    void (*set_interrupts)(bool on);
};

// Pumps, then hands the completions back; again while the kernel says new operations came in
// meanwhile (a sync resets the kernel's count of submissions, so the thread that swallowed that
// news pumps again itself, and the serve loop never sleeps on queued work).
void pump_and_hand_back(const Pump& p);
// The interrupt thread's loop (never returns): sleeps on the interrupt while the device is idle;
// once it fires, polls with the queues' interrupts suppressed for as long as that makes progress
// (at most 64 rounds, each handing its completions back at once), then turns them back on and
// pumps once more (a completion between the last poll and turning them on would otherwise wait
// for the next interrupt).
[[noreturn]] void interrupt_loop(Device& device, const Pump& p);
// The serve loop of the main thread: sleeps until the kernel forwards something, then pumps.
// Returns 0 when the process is ending.
int serve_loop(const Pump& p);

// The device object init gave ("device" in the root): its handle, or 0 after saying why
// ("DRIVER: no device given: ...").
user::Handle open_device(const char* driver);
// Creates the serve port (capacity, owned buffers and their size as ServePort::create) and
// publishes its served object as srv/NAME, NAME the program's argument or `fallback` (*name gets
// it). False after saying why. With `dma_device` the region is asked for in that device's DMA
// memory (port.device_address() non-zero), with `dma_flags` (abi::kServeDeviceData: the driver
// takes device data too); when the kernel has no contiguous run that long (NoMemory) it says so
// and serves from ordinary memory (the driver then copies, and takes no device data).
bool serve(const char* driver, const user::StartInfo& start, const char* fallback,
           user::ServePort& port, uint32_t capacity, uint32_t buffers, uint32_t buffer_size,
           char (&name)[abi::kMaxNameLength + 1], user::Handle dma_device = 0,
           uint32_t dma_flags = 0);

}  // namespace keel::drivers::virtio
