// The local APIC of the boot CPU and its timer, the kernel's tick. The legacy 8259 PICs are
// remapped out of the exception range and masked: all interrupts come through the APIC.
#pragma once

#include <cstdint>

#include "arch/idt.hpp"

namespace keel::lapic {

inline constexpr uint32_t kTimerHz = 100;

// Maps the APIC, enables it, calibrates its timer against the PIT (about 10 ms) and starts a
// periodic kTimerHz tick on idt::kTimerVector. Interrupts stay disabled; the caller enables
// them. Needs paging (for the MMIO mapping) and the IDT.
void init();

uint64_t ticks();  // timer interrupts since init
// Nanoseconds since the timer started: ticks plus the elapsed part of the current one. May
// step back by less than a tick when a tick is pending; sched::now_ns() clamps that.
uint64_t now_ns();
// Called on every tick after the EOI, with the interrupted frame (the scheduler's preemption).
void set_tick_hook(void (*hook)(idt::InterruptFrame&));
uint32_t timer_counts_per_tick();  // calibration result
uint32_t id();                     // this CPU's APIC id
// End of interrupt for the vector being serviced (device interrupts, dev/irq.cpp). For a
// level-triggered I/O APIC input it also clears the entry's remote IRR (EOI broadcast).
void eoi();
// Sends a non-maskable interrupt to this CPU (self-test of the NMI path).
void send_self_nmi();

}  // namespace keel::lapic
