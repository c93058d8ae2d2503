// GDT and TSS, one pair per CPU (each lives in the CPU's percpu::PerCpu). The TSS exists for
// rsp0 and its interrupt stack table: double faults and NMIs switch to stacks of their own, so
// a kernel stack overflow (or an NMI at any instant) still reaches a handler that can print.
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

// One CPU's descriptor tables: null, kernel code, kernel data, user data, user code, TSS (two
// slots), and the TSS they point at.
struct alignas(16) CpuTables {
    uint64_t gdt[7];
    Tss tss;
};

// Fills `tables` (IST entries from the two stack tops), loads the GDT and TSS on this CPU and
// reloads every segment register (GS with the null selector: the caller sets GS base after).
void load(CpuTables& tables, uint64_t double_fault_stack_top, uint64_t nmi_stack_top);

}  // namespace keel::gdt
