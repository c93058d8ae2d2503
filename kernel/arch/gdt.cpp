#include "arch/gdt.hpp"

#include "arch/percpu.hpp"

namespace keel::gdt {

namespace {

struct [[gnu::packed]] Pointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint64_t kDescriptors[5] = {
    0,
    0x00af9a000000ffffull,  // kernel code: present, ring 0, executable, long mode
    0x00cf92000000ffffull,  // kernel data: present, ring 0, writable
    0x00cff2000000ffffull,  // user data: ring 3
    0x00affa000000ffffull,  // user code: ring 3, long mode
};

}  // namespace

void load(CpuTables& t, uint64_t double_fault_stack_top, uint64_t nmi_stack_top) {
    for (int i = 0; i < 5; ++i)
        t.gdt[i] = kDescriptors[i];
    t.tss = Tss{};
    t.tss.ist[kIstDoubleFault - 1] = double_fault_stack_top;
    t.tss.ist[kIstNmi - 1] = nmi_stack_top;
    t.tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap
    const uint64_t base = reinterpret_cast<uint64_t>(&t.tss);
    const uint64_t limit = sizeof(Tss) - 1;
    t.gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |  // available TSS
               (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    t.gdt[6] = base >> 32;

    const Pointer ptr{sizeof(t.gdt) - 1, reinterpret_cast<uint64_t>(t.gdt)};
    asm volatile(
        "lgdt %0\n"
        "pushq %1\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"  // reload cs
        "1:\n"
        "mov %2, %%ds\n"
        "mov %2, %%es\n"
        "mov %2, %%ss\n"
        "mov %3, %%fs\n"
        "mov %3, %%gs\n"
        "ltr %4\n"
        :
        : "m"(ptr), "i"(uint64_t{kKernelCode}), "r"(uint32_t{kKernelData}), "r"(uint32_t{0}),
          "r"(uint16_t{kTss})
        : "rax", "memory");
}

}  // namespace keel::gdt
