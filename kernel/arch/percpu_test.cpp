// Kernel tests for the per-CPU blocks and the application processors (arch/percpu, arch/smp).
#include "arch/percpu.hpp"

#include "arch/cpu.hpp"
#include "arch/gdt.hpp"
#include "arch/lapic.hpp"
#include "arch/stacks.hpp"
#include "dev/acpi.hpp"
#include "test/ktest.hpp"

namespace keel::percpu {
namespace {

constexpr uint32_t kGsBase = 0xc0000101;
constexpr uint32_t kKernelGsBase = 0xc0000102;

bool within(uint64_t address, uint64_t top) {
    return address < top && address >= top - stacks::kStackSize;
}

KTEST(percpu_boot_cpu_block_reached_through_gs) {
    PerCpu& c = current();
    KEXPECT(&c == &cpu(0));
    KEXPECT(c.self == &c);
    KEXPECT_EQ(c.index, 0u);
    KEXPECT_EQ(c.apic_id, lapic::id());
    KEXPECT_EQ(cpu::rdmsr(kGsBase), reinterpret_cast<uint64_t>(&c));
    KEXPECT_EQ(cpu::rdmsr(kKernelGsBase), 0u);  // what user mode gets (swapgs)
    KEXPECT_EQ(c.tables.tss.ist[gdt::kIstNmi - 1], stacks::top(stacks::Stack::kNmi));
    KEXPECT_EQ(c.tables.tss.ist[gdt::kIstDoubleFault - 1],
               stacks::top(stacks::Stack::kDoubleFault));
    KEXPECT(c.state.load() == CpuState::kOnline);
}

// The window the NMI's GS-base check exists for: in kernel mode with the user's GS loaded (as
// between the exit paths' swapgs and their iretq/sysretq). The handler records the NMI in the
// per-CPU block through GS: with the wrong GS it would fault on address 16.
KTEST(percpu_nmi_in_kernel_mode_with_user_gs_finds_its_block) {
    cpu::disable_interrupts();
    const uint64_t before = cpu(0).nmi_count.load();
    asm volatile("swapgs" ::: "memory");
    lapic::send_self_nmi();
    for (int i = 0; i < 1000000 && cpu(0).nmi_count.load() == before; ++i)
        cpu::pause();
    const uint64_t gs_during = cpu::rdmsr(kGsBase);
    asm volatile("swapgs" ::: "memory");
    cpu::enable_interrupts();
    KEXPECT_EQ(gs_during, 0u);  // the handler gave the user's GS back
    KEXPECT_EQ(cpu(0).nmi_count.load(), before + 1);
    KEXPECT(within(cpu(0).nmi_frame, cpu(0).nmi_stack_top));
}

// Every processor of the MADT within kMaxCpus is online, each with blocks, tables and stacks
// of its own; an NMI sent to each runs on that CPU's own IST stack (its TSS, the shared IDT,
// its GS) and the CPU goes back to its halt.
KTEST(smp_every_cpu_online_with_its_own_tables_and_stacks) {
    const dev::AcpiInfo& acpi = dev::acpi_info();
    uint32_t expected = 1;
    if (acpi.have_madt) {
        expected = 0;
        for (uint32_t i = 0; i < acpi.madt.cpu_count; ++i)
            expected += acpi.madt.cpus[i].enabled ? 1 : 0;
        if (expected > kMaxCpus)
            expected = kMaxCpus;
    }
    uint32_t online = 0;
    for (uint32_t i = 0; i < count(); ++i) {
        PerCpu& c = cpu(i);
        if (c.state.load() != CpuState::kOnline)
            continue;
        ++online;
        KEXPECT(c.self == &c);
        KEXPECT_EQ(c.index, i);
        for (uint32_t j = 0; j < i; ++j) {
            const PerCpu& o = cpu(j);
            KEXPECT(c.apic_id != o.apic_id);
            KEXPECT(c.boot_stack_top != o.boot_stack_top);
            KEXPECT(c.nmi_stack_top != o.nmi_stack_top);
            KEXPECT(c.double_fault_stack_top != o.double_fault_stack_top);
        }
        // The TSS descriptor of this CPU's GDT points at this CPU's TSS.
        const uint64_t tss = reinterpret_cast<uint64_t>(&c.tables.tss);
        const uint64_t low = c.tables.gdt[gdt::kTss / 8];
        const uint64_t base = ((low >> 16) & 0xffffff) | (((low >> 56) & 0xff) << 24) |
                              (c.tables.gdt[gdt::kTss / 8 + 1] << 32);
        KEXPECT_EQ(base, tss);
        KEXPECT_EQ(c.tables.tss.ist[gdt::kIstNmi - 1], c.nmi_stack_top);
        if (i == 0)
            continue;
        const uint64_t before = c.nmi_count.load();
        lapic::send_nmi(c.apic_id);
        for (int k = 0; k < 10000000 && c.nmi_count.load() == before; ++k)
            cpu::pause();
        KEXPECT_EQ(c.nmi_count.load(), before + 1);
        KEXPECT(within(c.nmi_frame, c.nmi_stack_top));
    }
    KEXPECT_EQ(online, expected);
}

}  // namespace
}  // namespace keel::percpu
