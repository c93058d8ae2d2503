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

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

namespace detail {
extern Tss g_tss;  // this CPU's; set up by init()
}

// The stack the CPU switches to when an interrupt or exception arrives in user mode (TSS.rsp0):
// the running thread's kernel stack top. Interrupts off. Inline: every thread switch sets it.
inline void set_kernel_stack(uint64_t rsp0) {
    detail::g_tss.rsp[0] = rsp0;
}

}  // namespace keel::gdt
