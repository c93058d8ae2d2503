// keel_kernel_main: brings the kernel core up in dependency order, prints the banner with the
// memory-map summary, then either runs the kernel tests (command line word `test`) or idles.
#include <keel/boot_info.hpp>

#include <keel/c/libc.hpp>
#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "arch/protections.hpp"
#include "arch/smp.hpp"
#include "arch/syscall_entry.hpp"
#include "boot_handoff.hpp"
#include "debug/backtrace.hpp"
#include "debug/crash.hpp"
#include "debug/stack_guard.hpp"
#include "dev/acpi.hpp"
#include "dev/ioapic.hpp"
#include "dev/iommu.hpp"
#include "dev/irq.hpp"
#include "dev/msi.hpp"
#include "dev/pci.hpp"
#include "dev/rtc.hpp"
#include "log/log.hpp"
#include "log/serial.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/heap.hpp"
#include "mm/paging.hpp"
#include "obj/console.hpp"
#include "panic.hpp"
#include "proc/init_process.hpp"
#include "sched/big_lock.hpp"
#include "sched/scheduler.hpp"
#include "test/ktest.hpp"

extern "C" void (*const __init_array_start[])();
extern "C" void (*const __init_array_end[])();

namespace keel {

namespace {

const boot::BootInfo* g_boot_info = nullptr;
// The processor `smp-phantom` adds to the MADT's: no QEMU machine of the tests has it.
constexpr int kPhantomApicId = 0xfe;

void check_boot_info(const boot::BootInfo* info) {
    if (info == nullptr || info->magic != boot::kBootInfoMagic) {
        panic("no valid BootInfo from the loader (magic mismatch)");
    }
    if (info->version != boot::kBootInfoVersion || info->size != sizeof(boot::BootInfo)) {
        panic(
            "BootInfo version %u size %u, kernel expects version %u size %zu: rebuild the "
            "loader and the kernel together",
            info->version, info->size, boot::kBootInfoVersion, sizeof(boot::BootInfo));
    }
    if (info->memory_range_count > boot::kMaxMemoryRanges ||
        info->module_count > boot::kMaxModules) {
        panic("BootInfo counts out of range");
    }
}

void print_banner(const boot::BootInfo& info) {
    log::print("\nKeel 0.1.0 x86-64 microkernel\n");
    log::print("  command line: \"%s\"\n", info.cmdline);
    log::print("  memory: %lu MiB usable in %u ranges (direct map %lu GiB)\n",
               info.usable_bytes >> 20, info.memory_range_count, info.direct_map_size >> 30);
    for (uint32_t i = 0; i < info.memory_range_count; ++i) {
        const boot::MemoryRange& r = info.memory_ranges[i];
        log::print("    [0x%012lx - 0x%012lx) %8lu KiB\n", r.base, r.base + r.size, r.size >> 10);
    }
    log::print("  kernel: %lu KiB at phys 0x%lx, image %lu KiB\n", info.kernel_phys_size >> 10,
               info.kernel_phys_base, info.kernel_image_size >> 10);
    log::print("  modules: %u\n", info.module_count);
    for (uint32_t i = 0; i < info.module_count; ++i) {
        const boot::Module& m = info.modules[i];
        log::print("    %s (%lu bytes at 0x%lx) \"%s\"\n", m.name, m.size, m.base, m.cmdline);
    }
    if (info.framebuffer.base != 0) {
        log::print("  framebuffer: %ux%u, %u bpp at 0x%lx\n", info.framebuffer.width,
                   info.framebuffer.height, info.framebuffer.bpp, info.framebuffer.base);
    } else {
        log::print("  framebuffer: none\n");
    }
}

}  // namespace

const boot::BootInfo& boot_info() {
    return *g_boot_info;
}

}  // namespace keel

extern "C" [[noreturn]] void keel_kernel_main(const keel::boot::BootInfo* info) {
    using namespace keel;
    // GDT, TSS and GS first: the lock-order checker of every spin lock reads the per-CPU block.
    percpu::init_bsp();
    debug::init_stack_guard();
    serial::init();
    check_boot_info(info);
    g_boot_info = info;
    idt::init();
    for (auto* ctor = __init_array_start; ctor < __init_array_end; ++ctor)
        (*ctor)();
    debug::set_symbol_source(mm::direct_map<const uint8_t>(mm::PhysAddr{info->kernel_image_base}),
                             info->kernel_image_size);
    if (has_word(info->cmdline, "debug"))
        log::set_level(log::Level::kDebug);

    print_banner(*info);
    dev::init_acpi(*info);
    mm::frames().init(*info);
    smp::reserve_low_memory();
    mm::init_paging(*info);
    heap::init();
    dev::init_pci();
    dev::init_iommu();
    dev::init_msi();
    log::info("memory: %lu of %lu frames free", mm::frames().free_frames(),
              mm::frames().managed_frames());
    lapic::init();
    dev::ioapic::init();
    dev::irq::init();
    obj::init_console_input();
    syscall_entry::init();
    // The FPU for user threads (each thread's state is switched with it, sched/thread.hpp):
    // present (EM off, TS off: no lazy switching), WAIT honours TS (MP), and an unmasked x87
    // error raises #MF in the thread that caused it (NE) rather than the legacy IRQ 13.
    cpu::write_cr0((cpu::read_cr0() & ~((1ull << 2) | (1ull << 3))) | (1ull << 1) | (1ull << 5));
    asm volatile("fninit");
    (void)cpu::enable_protections();
    // Threads on every CPU (issue 22, stage 2) unless `smp=boot`; the kernel tests run on the
    // boot CPU, which holds the big kernel lock throughout them.
    sched::set_all_cpus(!has_word(info->cmdline, "smp=boot") && !has_word(info->cmdline, "test"));
    smp::start_aps(has_word(info->cmdline, "smp-phantom") ? kPhantomApicId : -1);
    sched::init();
    sched::big_lock::acquire();  // from here on the boot CPU runs kernel code holding it
    dev::rtc::init();            // after the clock's calibration: the wall clock runs on it
    cpu::enable_interrupts();
    log::info("keel: kernel core up");

    debug::maybe_crash(info->cmdline);
    if (has_word(info->cmdline, "test")) {
        const int failed = ktest::run_all();
        qemu_exit(failed == 0 ? QemuExit::kSuccess : QemuExit::kFailure);
    }
    if (has_word(info->cmdline, "exit"))
        qemu_exit(QemuExit::kSuccess);
    cpu::disable_interrupts();
    if (proc::start_init(*info))
        sched::run_idle();  // from here on the boot thread is the idle thread
    if (info->module_count > 0) {
        // Modules were given but none could run: under QEMU, end the run as a failure.
        log::error("keel: init could not be started; stopping");
        qemu_exit(QemuExit::kFailure);
    }
    sched::big_lock::release();  // nothing runs here; interrupts on an idle CPU take it
    cpu::enable_interrupts();
    log::info("keel: nothing to run; idling. Ctrl-A X quits QEMU.");
    for (;;)
        cpu::enable_and_halt();
}
