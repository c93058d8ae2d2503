#include "arch/smp.hpp"

#include <cstddef>
#include <keel/c/libc.hpp>

#include "arch/cpu.hpp"
#include "arch/gdt.hpp"
#include "arch/idt.hpp"
#include "arch/lapic.hpp"
#include "arch/percpu.hpp"
#include "arch/syscall_entry.hpp"
#include "dev/acpi.hpp"
#include "log/log.hpp"
#include "mm/frame_allocator.hpp"
#include "mm/kernel_stack.hpp"
#include "mm/paging.hpp"
#include "panic.hpp"
#include "sched/scheduler.hpp"

extern "C" const uint8_t keel_ap_trampoline[];
extern "C" const uint8_t keel_ap_trampoline_data[];
extern "C" const uint8_t keel_ap_trampoline_end[];
extern "C" void keel_ap_entry();

namespace keel::smp {

namespace {

// arch/ap_trampoline.S's data block.
struct [[gnu::packed]] TrampolineData {
    uint16_t gdtr_limit;
    uint32_t gdtr_base;  // offset in the page, made physical here
    uint32_t protected_offset;
    uint16_t protected_selector;
    uint32_t long_offset;
    uint16_t long_selector;
    uint32_t cr3;
    uint32_t efer;
    uint8_t pad[6];
    uint64_t kernel_cr3;
    uint64_t stack_top;
    uint64_t percpu;
    uint64_t entry;
    uint64_t gdt[4];
};
static_assert(offsetof(TrampolineData, cr3) == 18 && offsetof(TrampolineData, efer) == 22 &&
              offsetof(TrampolineData, kernel_cr3) == 32 && offsetof(TrampolineData, entry) == 56 &&
              offsetof(TrampolineData, gdt) == 64 && sizeof(TrampolineData) == 96);

constexpr uint64_t kLowLimit = 0x100000;  // STARTUP reaches pages below 1 MiB only
constexpr uint64_t kLowPages = 4;         // trampoline, PML4, PDPT, PD
constexpr uint64_t kPresentWritable = 0x3;
constexpr uint64_t kLargePage = 0x80;
constexpr uint32_t kEfer = 0xc0000080;
constexpr uint64_t kEferLma = 1ull << 10;  // read-only: the CPU sets it
constexpr uint32_t kPat = 0x277;
constexpr uint64_t kStackPages = 4;  // 16 KiB, as the boot CPU's static stacks
// The Intel SDM's MP initialisation: INIT, 10 ms, STARTUP, 200 us, STARTUP, 200 us.
constexpr uint64_t kInitDelayNs = 10'000'000;
constexpr uint64_t kStartupDelayNs = 200'000;

uint64_t g_low = 0;  // physical address of the reserved pages; 0 = none

// The boot CPU's control state, copied by each AP (written before the first STARTUP).
uint64_t g_cr0 = 0;
uint64_t g_cr4 = 0;
uint64_t g_pat = 0;

void set_up_tables() {
    auto* pml4 = mm::direct_map<uint64_t>(mm::PhysAddr{g_low + 1 * 4096});
    auto* pdpt = mm::direct_map<uint64_t>(mm::PhysAddr{g_low + 2 * 4096});
    auto* pd = mm::direct_map<uint64_t>(mm::PhysAddr{g_low + 3 * 4096});
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    memset(pd, 0, 4096);
    // The first 2 MiB identity-mapped (the trampoline runs there while paging comes on); the
    // kernel half shared with the kernel's tables (keel_ap_entry runs there before it loads
    // the kernel's CR3; every kernel-half PML4 entry exists from boot, kernel/README.md).
    pml4[0] = (g_low + 2 * 4096) | kPresentWritable;
    pdpt[0] = (g_low + 3 * 4096) | kPresentWritable;
    pd[0] = 0 | kPresentWritable | kLargePage;
    const auto* kernel = mm::direct_map<const uint64_t>(mm::kernel_space().pml4());
    for (int i = 256; i < 512; ++i)
        pml4[i] = kernel[i];
}

TrampolineData& copy_trampoline() {
    auto* page = mm::direct_map<uint8_t>(mm::PhysAddr{g_low});
    const uint64_t size = static_cast<uint64_t>(keel_ap_trampoline_end - keel_ap_trampoline);
    KEEL_ASSERT(size <= 4096);
    memcpy(page, keel_ap_trampoline, size);
    auto& d =
        *reinterpret_cast<TrampolineData*>(page + (keel_ap_trampoline_data - keel_ap_trampoline));
    const auto low = static_cast<uint32_t>(g_low);
    d.gdtr_base += low;
    d.protected_offset += low;
    d.long_offset += low;
    d.cr3 = low + 1 * 4096;
    d.efer = static_cast<uint32_t>(cpu::rdmsr(kEfer) & ~kEferLma);
    d.kernel_cr3 = mm::kernel_space().pml4().value;
    d.entry = reinterpret_cast<uint64_t>(&keel_ap_entry);
    return d;
}

const char* allocate_stacks(percpu::PerCpu& c) {
    uint64_t* tops[3] = {&c.boot_stack_top, &c.double_fault_stack_top, &c.nmi_stack_top};
    for (uint64_t* top : tops) {
        const auto stack = mm::allocate_kernel_stack(kStackPages);
        if (!stack)
            return "no memory for its stacks";
        *top = stack->top();
    }
    return nullptr;
}

// Waits until the AP reports (online or failed, see keel_ap_main); false on the time-out.
bool wait_report(const percpu::PerCpu& c, uint64_t ns) {
    const uint64_t end = lapic::now_ns() + ns;
    for (;;) {
        const percpu::CpuState s = c.state.load(std::memory_order_acquire);
        if (s == percpu::CpuState::kOnline || s == percpu::CpuState::kFailed)
            return true;
        if (lapic::now_ns() > end)
            return false;
        cpu::pause();
    }
}

// Starts one AP; nullptr when it reported in, else why not.
const char* start_one(percpu::PerCpu& c, TrampolineData& d) {
    if (const char* why = allocate_stacks(c))
        return why;
    d.stack_top = c.boot_stack_top;
    d.percpu = reinterpret_cast<uint64_t>(&c);
    asm volatile("mfence" ::: "memory");  // the data block before the IPIs
    const auto page = static_cast<uint8_t>(g_low >> 12);
    if (!lapic::send_init(c.apic_id))
        return "INIT not delivered";
    lapic::delay_ns(kInitDelayNs);
    c.started_ns = lapic::now_ns();
    for (int i = 0; i < 2; ++i) {
        if (!lapic::send_startup(c.apic_id, page))
            return "STARTUP not delivered";
        // A CPU that started on the first STARTUP ignores the second one.
        if (wait_report(c, kStartupDelayNs))
            return c.failure;
    }
    if (wait_report(c, kStartTimeoutMs * 1'000'000ull))
        return c.failure;
    // Parks it again (wait-for-STARTUP), so that it cannot come up later on a data block that
    // by then describes the next CPU.
    (void)lapic::send_init(c.apic_id);
    return "did not report in within the time-out";
}

}  // namespace

void reserve_low_memory() {
    const auto low = mm::frames().alloc_contiguous(kLowPages, kLowLimit);
    if (!low) {
        log::warn("smp: no %lu free pages below 1 MiB for the AP trampoline", kLowPages);
        return;
    }
    g_low = low->value;
}

void start_aps(int phantom_apic_id) {
    percpu::PerCpu& bsp = percpu::cpu(0);
    bsp.apic_id = lapic::id();
    const dev::AcpiInfo& acpi = dev::acpi_info();
    if (!acpi.have_madt) {
        log::info("smp: no MADT; running on the boot CPU alone (LAPIC id %u)", bsp.apic_id);
        return;
    }
    if (g_low == 0) {
        log::warn("smp: no trampoline page; running on the boot CPU alone");
        return;
    }
    g_cr0 = cpu::read_cr0();
    g_cr4 = cpu::read_cr4();
    g_pat = cpu::rdmsr(kPat);
    set_up_tables();
    TrampolineData& data = copy_trampoline();

    log::info("smp: cpu 0: LAPIC id %u online (boot CPU)", bsp.apic_id);
    uint32_t tried = 1;
    const uint32_t n = acpi.madt.cpu_count + (phantom_apic_id >= 0 ? 1 : 0);
    for (uint32_t i = 0; i < n; ++i) {
        const bool phantom = i == acpi.madt.cpu_count;
        const uint32_t apic_id =
            phantom ? static_cast<uint32_t>(phantom_apic_id) : acpi.madt.cpus[i].apic_id;
        if (apic_id == bsp.apic_id)
            continue;
        ++tried;
        if (!phantom && !acpi.madt.cpus[i].enabled) {
            log::info("smp: LAPIC id %u: disabled in the MADT; left parked", apic_id);
            continue;
        }
        percpu::PerCpu* c = percpu::claim(apic_id);
        if (c == nullptr) {
            log::warn("smp: LAPIC id %u: beyond the maximum of %u CPUs; left parked", apic_id,
                      percpu::kMaxCpus);
            continue;
        }
        if (const char* why = start_one(*c, data)) {
            c->state.store(percpu::CpuState::kFailed, std::memory_order_relaxed);
            log::error("smp: cpu %u: LAPIC id %u failed: %s", c->index, apic_id, why);
        } else {
            log::info("smp: cpu %u: LAPIC id %u online (reported %lu us after STARTUP)", c->index,
                      apic_id, (c->reported_ns - c->started_ns) / 1000);
        }
    }
    uint32_t online = 0;
    for (uint32_t i = 0; i < percpu::count(); ++i)
        online += percpu::cpu(i).state.load(std::memory_order_acquire) == percpu::CpuState::kOnline;
    log::info("smp: %u of %u CPUs online", online, tried);
}

}  // namespace keel::smp

// An AP's first C++, on its boot stack with the kernel's tables (arch/ap_trampoline.S), GS not
// yet set: nothing here may take a lock before percpu::load.
extern "C" [[noreturn]] void keel_ap_main(keel::percpu::PerCpu* c) {
    using namespace keel;
    percpu::load(*c);
    idt::load();
    cpu::write_cr0(smp::g_cr0);
    cpu::write_cr4(smp::g_cr4);
    cpu::wrmsr(smp::kPat, smp::g_pat);
    asm volatile("fninit");
    syscall_entry::init();
    lapic::init_ap();
    // Reports in: online only if it runs with what the boot CPU meant it to have.
    uint16_t tr = 0;
    asm volatile("str %0" : "=r"(tr));
    if (&percpu::current() != c)
        c->failure = "GS does not reach its per-CPU block";
    else if (lapic::id() != c->apic_id)
        c->failure = "its LAPIC answers another id";
    else if (tr != gdt::kTss)
        c->failure = "its task register does not hold the TSS";
    c->reported_ns = lapic::now_ns();
    c->state.store(c->failure == nullptr ? percpu::CpuState::kOnline : percpu::CpuState::kFailed,
                   std::memory_order_release);
    if (c->failure == nullptr && sched::all_cpus())
        sched::run_ap();  // unless smp=boot: it runs threads (sched/scheduler.hpp)
    for (;;)
        cpu::halt();  // interrupts off: only an NMI, INIT or SMI ends the halt
}
