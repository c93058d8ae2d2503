// Thin wrappers over the x86-64 instructions the kernel core needs. Header-only, no state.
#pragma once

#include <cstdint>

namespace keel::cpu {

inline void outb(uint16_t port, uint8_t v) {
    asm volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
inline void outw(uint16_t port, uint16_t v) {
    asm volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
inline void outl(uint16_t port, uint32_t v) {
    asm volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint16_t inw(uint16_t port) {
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint32_t inl(uint16_t port) {
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(v)),
                 "d"(static_cast<uint32_t>(v >> 32)));
}

inline uint64_t read_cr2() {
    uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline uint64_t read_cr3() {
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline void write_cr3(uint64_t v) {
    asm volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}
// The x87/MMX/SSE registers to and from a 512-byte, 16-byte aligned image.
inline void fxsave(void* area) {
    asm volatile("fxsave64 (%0)" ::"r"(area) : "memory");
}
inline void fxrstor(const void* area) {
    asm volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
}
inline uint64_t read_cr0() {
    uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline void write_cr0(uint64_t v) {
    asm volatile("mov %0, %%cr0" ::"r"(v) : "memory");
}
inline uint64_t read_cr4() {
    uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline void write_cr4(uint64_t v) {
    asm volatile("mov %0, %%cr4" ::"r"(v) : "memory");
}
inline void invlpg(uint64_t virt) {
    asm volatile("invlpg (%0)" ::"r"(virt) : "memory");
}

inline void enable_interrupts() {
    asm volatile("sti" ::: "memory");
}
inline void disable_interrupts() {
    asm volatile("cli" ::: "memory");
}
inline void halt() {
    asm volatile("hlt" ::: "memory");
}
// Waits for the next interrupt with interrupts enabled, atomically (sti's one-instruction
// shadow covers the hlt, so a wake-up cannot be lost between them).
inline void enable_and_halt() {
    asm volatile("sti; hlt" ::: "memory");
}
// Lets pending interrupts in and closes again: sti's shadow covers the nop, so an interrupt
// that is pending is taken between the nop and the cli (a kernel preemption point).
inline void interrupt_window() {
    asm volatile("sti; nop; cli" ::: "memory");
}
inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
inline void pause() {
    asm volatile("pause");
}

inline bool interrupts_enabled() {
    uint64_t flags;
    asm volatile("pushfq; pop %0" : "=r"(flags));
    return (flags & (1u << 9)) != 0;
}

}  // namespace keel::cpu
