// GDT and TSS. The TSS exists for its interrupt stack table: double faults and NMIs switch to
// stacks of their own, so a kernel stack overflow (or an NMI at any instant) still reaches a
// handler that can print.
#pragma once

#include <cstdint>

namespace keel::gdt {

inline constexpr uint16_t kKernelCode = 0x08;
inline constexpr uint16_t kKernelData = 0x10;
inline constexpr uint16_t kUserData = 0x18 | 3;  // order fixed by sysret: data below code
inline constexpr uint16_t kUserCode = 0x20 | 3;
inline constexpr uint16_t kTss = 0x28;

// IST slots (1-based, as the IDT gate encodes them).
inline constexpr uint8_t kIstDoubleFault = 1;
inline constexpr uint8_t kIstNmi = 2;

// Loads the GDT and TSS on this CPU and reloads every segment register. The IST entries point
// at the static stacks of arch/stacks.hpp.
void init();

// The stack the CPU switches to when an interrupt or exception arrives in user mode (TSS.rsp0):
// the running thread's kernel stack top. Interrupts off.
void set_kernel_stack(uint64_t rsp0);

}  // namespace keel::gdt
