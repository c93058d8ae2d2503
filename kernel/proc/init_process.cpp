#include "proc/init_process.hpp"

#include <keel/c/libc.hpp>
#include "log/log.hpp"
#include "mm/address.hpp"
#include "obj/console.hpp"
#include "obj/device.hpp"
#include "obj/root.hpp"
#include "proc/process_table.hpp"
#include "proc/spawn.hpp"

namespace keel::proc {

bool start_init(const boot::BootInfo& info) {
    if (info.module_count == 0) {
        log::info("no boot modules: no init to start");
        return false;
    }
    auto root = obj::Root::create();
    auto console = obj::Console::create();
    if (!root.ok() || !console.ok())
        return false;
    (void)(*root)->bind("console", 7, **console,
                        abi::kRightRead | abi::kRightWrite | abi::kRightShare);
    // The process table: init and the shell spawn and list through it.
    if (auto table = ProcessTable::create(); table.ok())
        (void)(*root)->bind("processes", 9, **table,
                            abi::kRightRead | abi::kRightCreate | abi::kRightShare);
    // The device list, for whoever starts drivers (obj/device.hpp).
    if (auto devices = obj::make_device_root(); devices.ok())
        (void)(*root)->bind("devices", 7, **devices, abi::kRightRead | abi::kRightShare);
    else
        log::warn("no device list for init: error %ld", static_cast<int64_t>(devices.error()));
    obj::RefPtr<obj::MemoryObject> init_image;
    for (uint32_t i = 0; i < info.module_count; ++i) {
        const boot::Module& m = info.modules[i];
        auto mem = obj::MemoryObject::create(m.size);
        if (!mem.ok()) {
            log::warn("boot module %s (%lu bytes) does not fit a memory object: skipped", m.name,
                      m.size);
            continue;
        }
        (void)(*mem)->write_bytes(0, mm::direct_map<uint8_t>(mm::PhysAddr{m.base}), m.size);
        (void)(*root)->bind(m.name, strlen(m.name), **mem,
                            abi::kRightRead | abi::kRightMap | abi::kRightShare | abi::kRightSpawn);
        if (i == 0)
            init_image = *mem;
    }
    if (!init_image)
        return false;
    const HandleEntry given{
        (*root).get(), abi::kRightRead | abi::kRightCreate | abi::kRightDestroy | abi::kRightShare};
    const char* args = info.modules[0].cmdline;
    const auto r = spawn({init_image.get(), &given, 1, args, strlen(args), "init", 4});
    if (!r.ok()) {
        log::error("cannot start init (%s): error %ld", info.modules[0].name,
                   static_cast<int64_t>(r.error()));
        return false;
    }
    Process& init = **r;  // it lives on through its thread when r drops the reference
    init.set_machine_owner();
    log::info("init: process %lu from module %s \"%s\"", init.id(), info.modules[0].name, args);
    return true;
}

}  // namespace keel::proc
