// Host stand-in for kernel/arch/cpu.hpp (fuzz/kernel_objects): found before the kernel's own
// header on the include path, so the kernel files compile unchanged. Port and MSR accesses do
// nothing, CR3 is a variable (the simulated active address space), INVLPG counts, and
// interrupts are always off (the kernel's rule for system calls).
#pragma once

#include <cstdint>

namespace keel::cpu {

namespace sim {
inline uint64_t cr3 = 0;
inline uint64_t invlpgs = 0;
inline uint64_t tsc = 0;
}  // namespace sim

inline void outb(uint16_t, uint8_t) {}
inline void outw(uint16_t, uint16_t) {}
inline void outl(uint16_t, uint32_t) {}
inline uint8_t inb(uint16_t) {
    return 0xff;
}
inline uint16_t inw(uint16_t) {
    return 0xffff;
}
inline uint32_t inl(uint16_t) {
    return ~0u;
}
inline uint64_t rdmsr(uint32_t) {
    return 0;
}
inline void wrmsr(uint32_t, uint64_t) {}
inline uint64_t read_cr2() {
    return 0;
}
inline uint64_t read_cr3() {
    return sim::cr3;
}
inline void write_cr3(uint64_t v) {
    sim::cr3 = v;
}
inline void fxsave(void*) {}
inline void fxrstor(const void*) {}
inline uint64_t read_cr0() {
    return 0;
}
inline void write_cr0(uint64_t) {}
inline uint64_t read_cr4() {
    return 0;
}
inline void write_cr4(uint64_t) {}
inline void invlpg(uint64_t) {
    ++sim::invlpgs;
}
inline void enable_interrupts() {}
inline void disable_interrupts() {}
inline void halt() {}
inline void enable_and_halt() {}
inline void pause() {}
inline bool interrupts_enabled() {
    return false;
}
// The TSC: a count that only moves forward (sched/preempt.hpp's stretches; its budget is
// "never" here, as preempt_init is not called, so no preemption point ever switches).
inline uint64_t rdtsc() {
    return ++sim::tsc;
}
inline void interrupt_window() {}

}  // namespace keel::cpu
