// The spawner's side: the device list, and starting drivers that see one device each.
#include "devtest.hpp"

#include <keel/c/format.hpp>
#include <keel/c/mem.hpp>
#include <keel/c/string.hpp>

namespace keel::devtest {

namespace {

// Calls fn(name, length) for each name in a root.
template <class Fn>
void each_name(Handle root_handle, Fn fn) {
    static char names[4096];
    const int64_t n = sys::do_io(root_handle, Op::kPeek, names, sizeof names);
    CHECK(n >= 0);
    for (int64_t at = 0; at < n;) {
        int64_t end = at;
        while (end < n && names[end] != '\n')
            ++end;
        fn(names + at, static_cast<uint64_t>(end - at));
        at = end + 1;
    }
}

}  // namespace

Handle devices() {
    static Handle h = 0;
    if (h == 0) {
        const int64_t d = open(root(), "devices");
        CHECK(d > 0);
        h = d > 0 ? static_cast<Handle>(d) : 0;
    }
    return h;
}

int64_t find_device(Handle list, uint16_t vendor, uint16_t device, char* name_out) {
    int64_t found = -static_cast<int64_t>(abi::Error::kNotFound);
    each_name(list, [&](const char* name, uint64_t length) {
        if (found >= 0)
            return;
        const int64_t d = sys::do_io(list, Op::kOpen, name, length);
        DeviceInfo info{};
        if (d < 0 || device_info(static_cast<uint64_t>(d), &info) != sizeof info) {
            (void)sys::do_io(static_cast<uint64_t>(d), Op::kClose);
            return;
        }
        if (info.bus_kind == static_cast<uint32_t>(abi::DeviceBus::kPci) && info.vendor == vendor &&
            info.device == device) {
            found = d;
            if (name_out != nullptr) {
                c::copy(name_out, name, length);
                name_out[length] = '\0';
            }
            return;
        }
        (void)sys::do_io(static_cast<uint64_t>(d), Op::kClose);
    });
    return found;
}

Handle driver_root(int64_t device) {
    Handle r = 0;
    if (sys::object_new(Kind::kRoot, 0, &r) < 0)
        return 0;
    const int64_t console_handle = open(root(), "console");
    if (console_handle < 0 ||
        sys::do_io(r, Op::kCreate, "console", 7, static_cast<uint64_t>(console_handle)) < 0 ||
        sys::do_io(r, Op::kCreate, "device", 6, static_cast<uint64_t>(device)) < 0) {
        return 0;
    }
    (void)testlib::close(static_cast<uint64_t>(console_handle));
    return r;
}

namespace {

// Every device in the list: its name matches its DeviceInfo, and one line each for the log
// (the qemu tests check that exactly the devices on QEMU's command line are there).
TEST(device_list) {
    const Handle list = devices();
    uint64_t count = 0;
    CHECK_EQ(sys::do_io(list, Op::kGetMeta, &count, 8, static_cast<uint64_t>(Meta::kSize)), 8);
    uint32_t pci = 0, legacy = 0;
    each_name(list, [&](const char* name, uint64_t length) {
        const int64_t d = sys::do_io(list, Op::kOpen, name, length);
        CHECK(d > 0);
        uint64_t kind = 0;
        CHECK_EQ(sys::do_io(static_cast<uint64_t>(d), Op::kGetMeta, &kind, 8,
                            static_cast<uint64_t>(Meta::kKind)),
                 8);
        CHECK_EQ(kind, static_cast<uint64_t>(Kind::kDevice));
        DeviceInfo info{};
        CHECK_EQ(device_info(static_cast<uint64_t>(d), &info), sizeof info);
        char text[abi::kMaxNameLength + 1];
        c::copy(text, name, length);
        text[length] = '\0';
        if (info.bus_kind == static_cast<uint32_t>(abi::DeviceBus::kPci)) {
            ++pci;
            char expect[abi::kMaxNameLength];
            snformat(expect, sizeof expect, "pci-%02x:%02x.%u", info.bus, info.slot, info.function);
            CHECK(str_equal(expect, text));
            // The identity in the configuration space is what DeviceInfo says.
            CHECK_EQ(config_u32(static_cast<uint64_t>(d), 0),
                     uint32_t{info.device} << 16 | info.vendor);
            print("devtest: %s %04x:%04x class %02x.%02x\n", text, info.vendor, info.device,
                  info.class_code, info.subclass);
        } else {
            ++legacy;
            CHECK_EQ(info.bus_kind, static_cast<uint32_t>(abi::DeviceBus::kLegacy));
            CHECK(info.bars[0].kind == static_cast<uint32_t>(abi::BarKind::kIo));
            uint32_t v = 0;
            BAD_INPUT(config_read(static_cast<uint64_t>(d), 0, &v, 4), kNotSupported);
        }
        (void)testlib::close(static_cast<uint64_t>(d));
    });
    CHECK_EQ(pci + legacy, count);
    print("devtest: %u PCI functions, %u legacy devices\n", pci, legacy);
    // The list is init's to hand out: a holder of it can read it, not change it.
    BAD_INPUT(sys::do_io(list, Op::kDestroy, "pit", 3), kNoRights);
    BAD_INPUT(sys::do_io(list, Op::kCreate, "x", 1, root()), kNoRights);
}

// The edu device driven by a child that holds only it, then a hostile child holding only it.
TEST(edu_driver_and_hostile_driver) {
    const int64_t edu = find_device(devices(), kEduVendor, kEduDevice);
    if (edu < 0) {
        print("devtest: no edu device (-device edu): driver tests not run\n");
        return;
    }
    const Handle r = driver_root(edu);
    CHECK(r != 0);
    for (const char* mode : {"edu-driver", "hostile-driver"}) {
        const abi::ExitInfo info = testlib::wait_child(testlib::spawn_child_rooted(mode, r));
        CHECK_EQ(info.reason, static_cast<uint32_t>(abi::ExitReason::kExited));
        CHECK_EQ(info.status, 0);
    }
    (void)testlib::close(r);
    (void)testlib::close(static_cast<uint64_t>(edu));
}

}  // namespace

}  // namespace keel::devtest

int keel_main(const keel::user::StartInfo& start) {
    return keel::testlib::run(start, "devtest");
}
