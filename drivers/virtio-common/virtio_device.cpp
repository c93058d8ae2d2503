// The virtio PCI set-up and the driver threads' loops (virtio_device.hpp).
#include "virtio_device.hpp"

#include <keel/c/mem.hpp>

namespace keel::drivers::virtio {

namespace vio = keel::virtio;
using user::Handle;
using user::Op;
namespace sys = user::sys;

namespace {

constexpr uint64_t kResetTimeoutNs = 1'000'000'000;
constexpr int kPollRounds = 64;

}  // namespace

int64_t Device::resource(abi::DeviceResourceKind kind, uint32_t index, uint64_t arg) {
    const abi::DeviceResource r{static_cast<uint32_t>(kind), index, arg};
    return sys::do_io(device_, Op::kCreate, &r, sizeof r);
}

// Maps a memory BAR read-write (once); its address or 0.
uint64_t Device::map_bar(uint8_t bar) {
    if (mapped_[bar] != 0)
        return mapped_[bar];
    const int64_t h = resource(abi::DeviceResourceKind::kBar, bar, 0);
    if (h < 0)
        return 0;
    const int64_t at = sys::do_io(static_cast<uint64_t>(h), Op::kMap, nullptr, 0, 1);
    (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);  // the mapping keeps it
    mapped_[bar] = at > 0 ? static_cast<uint64_t>(at) : 0;
    return mapped_[bar];
}

const char* Device::dma(uint64_t bytes, Dma* out, Handle* keep) {
    const int64_t h = resource(abi::DeviceResourceKind::kDmaMemory, 0, bytes);
    if (h < 0)
        return "no DMA memory";
    uint64_t device_address = 0;
    const int64_t r = sys::do_io(static_cast<uint64_t>(h), Op::kGetMeta, &device_address, 8,
                                 static_cast<uint64_t>(abi::Meta::kDeviceAddress));
    const int64_t mapped = sys::do_io(static_cast<uint64_t>(h), Op::kMap, nullptr, 0, 1);
    if (keep != nullptr && r == 8 && mapped > 0)
        *keep = static_cast<Handle>(h);
    else
        (void)sys::do_io(static_cast<uint64_t>(h), Op::kClose);
    if (r != 8 || mapped <= 0)
        return "no DMA memory";
    out->at = reinterpret_cast<uint8_t*>(mapped);
    out->device = device_address;
    return nullptr;
}

void Device::stop() {
    reset();
    uint16_t command = 0;
    if (sys::do_io(device_, Op::kRead, &command, 2, 4) == 2 && (command & 0x4) != 0) {
        command = static_cast<uint16_t>(command & ~0x4);
        (void)sys::do_io(device_, Op::kWrite, &command, 2, 4);
    }
}

const char* Device::fail(const char* why) {
    if (common_.base != nullptr)
        common_.w8(vio::kDeviceStatus, common_.r8(vio::kDeviceStatus) | vio::kStatusFailed);
    return why;
}

uint64_t Device::read_features() {
    common_.w32(vio::kDeviceFeatureSelect, 0);
    const uint64_t low = common_.r32(vio::kDeviceFeature);
    common_.w32(vio::kDeviceFeatureSelect, 1);
    return low | uint64_t{common_.r32(vio::kDeviceFeature)} << 32;
}

const char* Device::start(Handle device, uint32_t config_bytes, const char* no_config) {
    device_ = device;
    abi::DeviceInfo info{};
    if (sys::do_io(device_, Op::kGetMeta, &info, sizeof info,
                   static_cast<uint64_t>(abi::Meta::kDevice)) != sizeof info) {
        return "no device information";
    }
    if (info.bus_kind != static_cast<uint32_t>(abi::DeviceBus::kPci) ||
        info.vendor != vio::kVendor) {
        return "not a virtio PCI function";
    }
    uint8_t space[256];
    if (sys::do_io(device_, Op::kRead, space, sizeof space, 0) != sizeof space)
        return "cannot read the configuration space";
    uint64_t bar_sizes[6] = {};
    for (int i = 0; i < 6; ++i) {
        if (info.bars[i].kind == static_cast<uint32_t>(abi::BarKind::kMemory))
            bar_sizes[i] = info.bars[i].size;
    }
    if (const char* why = vio::find_layout(space, sizeof space, bar_sizes, &layout_))
        return why;
    if (!layout_.has_device || layout_.device.length < config_bytes)
        return no_config;
    const uint64_t common = map_bar(layout_.common.bar), isr = map_bar(layout_.isr.bar),
                   config = map_bar(layout_.device.bar), notify = map_bar(layout_.notify.bar);
    if (common == 0 || isr == 0 || config == 0 || notify == 0)
        return "cannot map the device's registers";
    common_.base = reinterpret_cast<volatile uint8_t*>(common + layout_.common.offset);
    isr_.base = reinterpret_cast<volatile uint8_t*>(isr + layout_.isr.offset);
    config_.base = reinterpret_cast<volatile uint8_t*>(config + layout_.device.offset);
    notify_base_ = notify + layout_.notify.offset;

    // Reset, and wait for it to finish (status reads 0).
    common_.w8(vio::kDeviceStatus, 0);
    const uint64_t deadline = sys::clock_ns() + kResetTimeoutNs;
    while (common_.r8(vio::kDeviceStatus) != 0) {
        if (sys::clock_ns() > deadline)
            return "device reset never finished";
        (void)sys::sleep_ns(100'000);
    }
    // Reset, the device no longer uses memory: bus mastering off (setup_interrupts turns it
    // on again). After a driver of this device ended (a restart), that is what lets the
    // kernel free the DMA pages it kept from the dead driver (kernel/obj/device.cpp's
    // quarantine); each restart would leak them otherwise.
    uint16_t command = 0;
    if (sys::do_io(device_, Op::kRead, &command, 2, 4) == 2 && (command & 0x4) != 0) {
        command = static_cast<uint16_t>(command & ~0x4);
        (void)sys::do_io(device_, Op::kWrite, &command, 2, 4);
    }
    common_.w8(vio::kDeviceStatus, vio::kStatusAcknowledge);
    common_.w8(vio::kDeviceStatus, vio::kStatusAcknowledge | vio::kStatusDriver);
    return nullptr;
}

const char* Device::negotiate(uint64_t required, uint64_t optional, uint64_t* accepted) {
    uint64_t features = 0;
    if (const char* why = vio::negotiate(read_features(), required, optional, &features))
        return fail(why);
    common_.w32(vio::kDriverFeatureSelect, 0);
    common_.w32(vio::kDriverFeature, static_cast<uint32_t>(features));
    common_.w32(vio::kDriverFeatureSelect, 1);
    common_.w32(vio::kDriverFeature, static_cast<uint32_t>(features >> 32));
    common_.w8(vio::kDeviceStatus,
               vio::kStatusAcknowledge | vio::kStatusDriver | vio::kStatusFeaturesOk);
    if ((common_.r8(vio::kDeviceStatus) & vio::kStatusFeaturesOk) == 0)
        return fail("device refused the features");
    *accepted = features;
    return nullptr;
}

const char* Device::setup_queue(uint16_t index, uint16_t most, uint16_t least, Dma rings,
                                vio::SplitQueue* queue, volatile uint16_t** notify) {
    common_.w16(vio::kQueueSelect, index);
    const uint16_t allowed = common_.r16(vio::kQueueSize);
    uint16_t size = most > vio::kMaxQueueSize ? vio::kMaxQueueSize : most;
    while (size > allowed)
        size = static_cast<uint16_t>(size / 2);
    if (size < least || size == 0)
        return fail("queue too short");
    common_.w16(vio::kQueueSize, size);
    static_assert(vio::descriptor_table_size(vio::kMaxQueueSize) <= 4096 &&
                  vio::available_ring_size(vio::kMaxQueueSize) <= 4096 &&
                  vio::used_ring_size(vio::kMaxQueueSize) <= kRingBytes - 8192);
    if (!queue->init(size, rings.at, rings.at + 4096, rings.at + 8192))
        return fail("cannot lay out a queue");
    common_.w64(vio::kQueueDesc, rings.device);
    common_.w64(vio::kQueueDriver, rings.device + 4096);
    common_.w64(vio::kQueueDevice, rings.device + 8192);
    uint32_t notify_at = 0;
    if (const char* why =
            vio::notify_offset(layout_, common_.r16(vio::kQueueNotifyOff), &notify_at)) {
        return fail(why);
    }
    *notify = reinterpret_cast<volatile uint16_t*>(notify_base_ + notify_at);
    return nullptr;
}

const char* Device::setup_interrupts(uint16_t count) {
    // Bus mastering first: both the queues and the interrupt messages are memory writes.
    uint16_t command = 0;
    (void)sys::do_io(device_, Op::kRead, &command, 2, 4);
    command = static_cast<uint16_t>(command | 0x6);  // memory decoding, bus mastering
    (void)sys::do_io(device_, Op::kWrite, &command, 2, 4);
    common_.w16(vio::kConfigMsixVector, vio::kNoVector);
    const int64_t msi = resource(abi::DeviceResourceKind::kMsi, 0, 0);
    if (msi > 0) {
        bool all = true;
        for (uint16_t q = 0; q < count; ++q) {
            common_.w16(vio::kQueueSelect, q);
            common_.w16(vio::kQueueMsixVector, 0);
            all = all && common_.r16(vio::kQueueMsixVector) == 0;
        }
        if (all) {
            interrupt_ = static_cast<Handle>(msi);
            msix_ = true;
        } else {
            (void)sys::do_io(static_cast<uint64_t>(msi), Op::kClose);
        }
    }
    if (!msix_) {
        for (uint16_t q = 0; q < count; ++q) {
            common_.w16(vio::kQueueSelect, q);
            common_.w16(vio::kQueueMsixVector, vio::kNoVector);
        }
        const int64_t intx = resource(abi::DeviceResourceKind::kInterrupt, 0, 0);
        if (intx < 0)
            return fail("no interrupt (neither MSI-X nor INTx)");
        interrupt_ = static_cast<Handle>(intx);
    }
    return nullptr;
}

void Device::go(uint16_t count) {
    for (uint16_t q = 0; q < count; ++q) {
        common_.w16(vio::kQueueSelect, q);
        common_.w16(vio::kQueueEnable, 1);
    }
    common_.w8(vio::kDeviceStatus, vio::kStatusAcknowledge | vio::kStatusDriver |
                                       vio::kStatusFeaturesOk | vio::kStatusDriverOk);
}

bool Device::wait_interrupt() {
    uint64_t fired = 0;
    if (sys::do_io(interrupt_, Op::kRead, &fired, 8) < 0)
        return false;
    if (!msix_) {
        (void)isr_.r8(0);  // reading clears it, and lowers the line
        (void)sys::do_io(interrupt_, Op::kWrite, nullptr, 0);
    }
    return true;
}

void pump_and_hand_back(const Pump& p) {
    for (;;) {
        p.lock->lock();
        (void)p.pump();
        p.lock->unlock();
        if (sys::serve_sync(p.port->port(), 0, 0) <= 0)
            return;
    }
}

void interrupt_loop(Device& device, const Pump& p) {
    for (;;) {
        if (!device.wait_interrupt()) {
            (void)sys::sleep_ns(1'000'000);
            continue;
        }
        p.lock->lock();
        p.set_interrupts(false);
        p.lock->unlock();
        for (int round = 0; round < kPollRounds; ++round) {
            p.lock->lock();
            const bool progress = p.pump();
            p.lock->unlock();
            (void)sys::serve_sync(p.port->port(), 0, 0);  // news: pumped next round or below
            if (!progress)
                break;
        }
        p.lock->lock();
        p.set_interrupts(true);
        p.lock->unlock();
        pump_and_hand_back(p);
    }
}

int serve_loop(const Pump& p) {
    // The server side is published under the lock by every pump, so the wait needs no lock.
    for (;;) {
        const int64_t n = sys::serve_sync(p.port->port(), 1, 0);
        if (n == -static_cast<int64_t>(abi::Error::kPeerGone))
            return 0;
        pump_and_hand_back(p);
    }
}

Handle open_device(const char* driver) {
    const int64_t device = user::open(user::root(), "device");
    if (device < 0) {
        user::print("%s: no device given: %s\n", driver, user::error_text(device));
        return 0;
    }
    return static_cast<Handle>(device);
}

bool serve(const char* driver, const user::StartInfo& start, const char* fallback,
           user::ServePort& port, uint32_t capacity, uint32_t buffers, uint32_t buffer_size,
           char (&name)[abi::kMaxNameLength + 1], user::Handle dma_device, uint32_t dma_flags) {
    const bool given = start.args_length > 0 && start.args_length <= abi::kMaxNameLength;
    const uint64_t n = given ? start.args_length : c::length(fallback);
    c::copy(name, given ? start.args : fallback, n);
    name[n] = '\0';
    int64_t r =
        port.create(capacity, buffers, buffer_size, dma_device, dma_device != 0 ? dma_flags : 0);
    if (r == -static_cast<int64_t>(abi::Error::kNoMemory) && dma_device != 0) {
        user::print("%s: no DMA memory for the served region: serving from ordinary memory\n",
                    driver);
        r = port.create(capacity, buffers, buffer_size);
    }
    if (r < 0) {
        user::print("%s: cannot serve: %s\n", driver, user::error_text(r));
        return false;
    }
    const int64_t srv = user::open(user::root(), "srv");
    const int64_t bound = srv < 0 ? srv
                                  : sys::do_io(static_cast<uint64_t>(srv), Op::kCreate, name,
                                               c::length(name), port.served());
    if (srv >= 0)
        (void)sys::do_io(static_cast<uint64_t>(srv), Op::kClose);
    if (bound < 0) {
        user::print("%s: cannot publish srv/%s: %s\n", driver, name, user::error_text(bound));
        return false;
    }
    return true;
}

}  // namespace keel::drivers::virtio
