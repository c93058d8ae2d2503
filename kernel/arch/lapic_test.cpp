// Kernel test for the LAPIC timer: interrupts arrive and the tick count advances.
#include "arch/lapic.hpp"
#include "arch/cpu.hpp"
#include "arch/exceptions.hpp"
#include "arch/gdt.hpp"
#include "arch/percpu.hpp"
#include "arch/stacks.hpp"
#include "test/ktest.hpp"

namespace keel::lapic {
namespace {

KTEST(lapic_timer_ticks) {
    KEXPECT(timer_counts_per_ms() > 0);
    KEXPECT(cpu::interrupts_enabled());
    const uint64_t start = ticks();
    // Each hlt ends at the next interrupt; 5 interrupts take at most about 50 ms (10 ms slices).
    // The bound on iterations keeps a dead timer from hanging the run (the test then fails).
    for (int i = 0; i < 10000 && ticks() - start < 5; ++i)
        cpu::enable_and_halt();
    KEXPECT(ticks() - start >= 5);
}

KTEST(nmi_runs_on_its_own_ist_stack) {
    uint16_t tr = 0;
    asm volatile("str %0" : "=r"(tr));
    KEXPECT_EQ(tr, gdt::kTss);
    const uint64_t before = exceptions::last_nmi().count;
    send_self_nmi();
    for (int i = 0; i < 100000 && exceptions::last_nmi().count == before; ++i)
        cpu::pause();
    const auto nmi = exceptions::last_nmi();
    KEXPECT_EQ(nmi.count, before + 1);
    const uint64_t top = percpu::current().nmi_stack_top;
    KEXPECT_EQ(top, stacks::top(stacks::Stack::kNmi));  // the boot CPU's is the static one
    KEXPECT(nmi.frame_address < top && nmi.frame_address >= top - stacks::kStackSize);
}

}  // namespace
}  // namespace keel::lapic
