// The local APIC of the boot CPU and its timer. The legacy 8259 PICs are remapped out of the
// exception range and masked: all interrupts come through the APIC.
//
// The timer runs one-shot: each interrupt's hook (the scheduler) programs the next one for the
// earliest thing it waits for (the end of the running thread's slice, a blocked thread's
// deadline, an armed timer object), so deadlines are met to within tens of microseconds
// instead of at the next 10 ms tick. TCG has no TSC-deadline mode, hence the LAPIC's own
// count-down. The clock is the TSC, calibrated with the LAPIC timer against the PIT: it does
// not depend on when the timer interrupts arrive, so variable intervals, late interrupts and
// interrupts held off while the kernel runs cost it nothing.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"

namespace keel::lapic {

// The shortest interval program() sets: a deadline that is due (or nearly) still gets an
// interrupt this far ahead, so a stream of close deadlines cannot starve everything else.
inline constexpr uint64_t kMinDelayNs = 20'000;
// The longest: longer waits take several interrupts (the count then fits 32 bits).
inline constexpr uint64_t kMaxDelayNs = 1'000'000'000;

// Maps the APIC, enables it, calibrates its timer and the TSC against the PIT (about 10 ms)
// and arms the timer, one-shot, on idt::kTimerVector, 10 ms ahead. Interrupts stay disabled;
// the caller enables them. Needs paging (for the MMIO mapping) and the IDT.
void init();

uint64_t ticks();  // timer interrupts since init
// Nanoseconds since init (the TSC scaled by its calibration). Never goes backwards on this
// CPU; sched::now_ns() clamps anyway.
uint64_t now_ns();
// Programs the one-shot timer to interrupt at monotonic time `at` (now_ns), but no sooner than
// kMinDelayNs and no later than kMaxDelayNs from now; replaces whatever was armed. The count
// is rounded late, so the interrupt does not arrive before now_ns() reaches `at` (the hook
// checks anyway). Interrupts off.
void program(uint64_t at);
// program(at) unless the armed interrupt comes no later than `at`. When the armed time has
// passed its interrupt is pending, and its hook programs the next one. Interrupts off.
void program_if_earlier(uint64_t at);
uint64_t armed_at();  // the time last programmed on this CPU
// Called on every timer interrupt after the EOI, with the interrupted frame. The hook must call
// program() before it may switch threads: nothing else re-arms a one-shot timer. Without a
// hook the timer re-arms itself 10 ms ahead.
void set_tick_hook(void (*hook)(idt::InterruptFrame&));
uint32_t timer_counts_per_ms();  // calibration results
uint64_t tsc_per_ms();
uint32_t id();  // this CPU's APIC id
// End of interrupt for the vector being serviced (device interrupts, dev/irq.cpp). For a
// level-triggered I/O APIC input it also clears the entry's remote IRR (EOI broadcast).
void eoi();
// Enables the calling application processor's LAPIC (the MMIO page is the same physical
// address on every CPU, each reaching its own): TPR 0, software enable, the timer masked (the
// scheduler arms per-CPU timers in stage 2). Interrupts off.
void init_ap();
// Unmasks the calling application processor's timer (one-shot, the shared hook) and arms it
// kDefaultDelayNs ahead: its threads are preempted by its own timer (sched::run_ap). Interrupts
// off.
void start_timer_ap();
// Busy-waits `ns` nanoseconds on the calibrated clock (after init()).
void delay_ns(uint64_t ns);
// INIT and STARTUP inter-processor interrupts to the CPU with LAPIC id `apic_id` (the MP
// start-up sequence, arch/smp.cpp); STARTUP starts it in real mode at physical page `page`
// (address page << 12). False when the LAPIC did not deliver it within 1 ms.
bool send_init(uint32_t apic_id);
bool send_startup(uint32_t apic_id, uint8_t page);
// Sends a non-maskable interrupt to this CPU (self-test of the NMI path), or to the CPU with
// LAPIC id `apic_id` (the same test on an application processor).
void send_self_nmi();
// A fixed-delivery IPI with `vector` to the CPU with LAPIC id `apic_id` (the reschedule and TLB
// shootdown IPIs); false when the LAPIC did not deliver it within 1 ms. Interrupts off.
bool send_fixed(uint32_t apic_id, uint8_t vector);
void send_nmi(uint32_t apic_id);

}  // namespace keel::lapic
