#include "arch/percpu.hpp"

#include <cstddef>

#include "arch/cpu.hpp"
#include "arch/stacks.hpp"

namespace keel::percpu {

namespace {

constexpr uint32_t kGsBase = 0xc0000101;
constexpr uint32_t kKernelGsBase = 0xc0000102;

static_assert(offsetof(PerCpu, user_rsp) == 0 && offsetof(PerCpu, kernel_rsp) == 8 &&
              offsetof(PerCpu, self) == 16);  // syscall_entry.S and current()

PerCpu g_cpus[kMaxCpus];
uint32_t g_count = 0;

}  // namespace

void load(PerCpu& c) {
    gdt::load(c.tables, c.double_fault_stack_top, c.nmi_stack_top);
    // After the GDT: reloading GS with the null selector may clear its base. In the kernel GS
    // is this block; user mode runs with base 0 and swapgs trades the two.
    cpu::wrmsr(kGsBase, reinterpret_cast<uint64_t>(&c));
    cpu::wrmsr(kKernelGsBase, 0);
}

void init_bsp() {
    PerCpu& c = g_cpus[0];
    c.self = &c;
    c.index = 0;
    c.apic_id = 0;  // read from the LAPIC once it is mapped (arch/smp.cpp)
    c.boot_stack_top = stacks::top(stacks::Stack::kBoot);
    c.double_fault_stack_top = stacks::top(stacks::Stack::kDoubleFault);
    c.nmi_stack_top = stacks::top(stacks::Stack::kNmi);
    c.state.store(CpuState::kOnline, std::memory_order_relaxed);
    g_count = 1;
    load(c);
}

PerCpu& cpu(uint32_t index) {
    return g_cpus[index];
}

uint32_t count() {
    return g_count;
}

PerCpu* claim(uint32_t apic_id) {
    if (g_count >= kMaxCpus)
        return nullptr;
    PerCpu& c = g_cpus[g_count];
    c.self = &c;
    c.index = g_count;
    c.apic_id = apic_id;
    c.state.store(CpuState::kStarting, std::memory_order_relaxed);
    ++g_count;
    return &c;
}

}  // namespace keel::percpu
