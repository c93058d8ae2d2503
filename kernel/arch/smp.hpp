// Application processor start-up (issue 22, stage 1): the MADT's processors started with
// INIT / STARTUP / STARTUP through the boot CPU's LAPIC, each brought to long mode on its own
// stacks, GDT + TSS and per-CPU block (arch/percpu.hpp), the shared IDT and its LAPIC enabled,
// then left halted with interrupts off: scheduling on them is stage 2.
#pragma once

namespace keel::smp {

// Takes the page the trampoline runs from and the three tables it runs on, all below 1 MiB,
// out of the frame allocator. Right after frames().init, before anything else allocates (low
// memory is scarce and the first allocations would take it).
void reserve_low_memory();

// Starts every other processor of the MADT (enabled or online-capable), one at a time, and
// logs each: `cpu N: LAPIC id X online`, or `... failed: REASON` (a CPU that does not report in
// within kStartTimeoutMs is sent INIT again and stays parked), or left parked beyond
// percpu::kMaxCpus; then one summary line `smp: N of M CPUs online`. Without a MADT it logs
// that it runs on the boot CPU alone. After lapic::init (the clock), paging, the heap and the
// IDT, with interrupts off on the boot CPU. `phantom_apic_id` >= 0 adds a processor that does
// not exist (a test of the failure path: kernel command-line word `smp-phantom`).
void start_aps(int phantom_apic_id);

inline constexpr unsigned kStartTimeoutMs = 1000;

}  // namespace keel::smp
