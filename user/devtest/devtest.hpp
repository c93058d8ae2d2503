// devtest: the device objects of issue 15 from user mode, as a driver spawner and as the
// drivers it starts. The spawner (this program, given "devices" by init) lists every device
// and starts each driver child with a root holding only "console" and the one device it
// drives ("device"); the children use that device and try what a hostile driver would.
#pragma once

#include "testlib.hpp"

namespace keel::devtest {

using namespace keel::user;
using abi::DeviceInfo;
using abi::DeviceResource;
using abi::DeviceResourceKind;
using abi::Kind;
using abi::Meta;

inline constexpr uint16_t kEduVendor = 0x1234, kEduDevice = 0x11e8;

inline int64_t device_info(uint64_t device, DeviceInfo* out) {
    return sys::do_io(device, Op::kGetMeta, out, sizeof *out, static_cast<uint64_t>(Meta::kDevice));
}
// A handle to one of the device's resources, or -Error.
inline int64_t resource(uint64_t device, DeviceResourceKind kind, uint32_t index, uint64_t arg) {
    const DeviceResource r{static_cast<uint32_t>(kind), index, arg};
    return sys::do_io(device, Op::kCreate, &r, sizeof r);
}
inline int64_t config_read(uint64_t device, uint64_t offset, void* out, uint64_t width) {
    return sys::do_io(device, Op::kRead, out, width, offset);
}
inline int64_t config_write(uint64_t device, uint64_t offset, uint32_t value, uint64_t width) {
    return sys::do_io(device, Op::kWrite, &value, width, offset);
}
inline uint32_t config_u32(uint64_t device, uint64_t offset, uint64_t width = 4) {
    uint32_t v = 0;
    return config_read(device, offset, &v, width) == static_cast<int64_t>(width) ? v : ~0u;
}

// devtest's "devices" (opened on first use).
Handle devices();
// The first device in `devices` with this vendor and device id: its name into `name` (NUL
// terminated) and a handle, or -kNotFound.
int64_t find_device(Handle devices, uint16_t vendor, uint16_t device, char* name = nullptr);
// A root holding "console" and `device` bound as "device" (the driver's whole world), or 0.
Handle driver_root(int64_t device);

}  // namespace keel::devtest
