// The loader's only output and its way out: COM1 text and QEMU's isa-debug-exit. 32-bit code,
// no standard library.
#pragma once

#include <stdint.h>

namespace keel::loader {

void serial_init();
void print(const char* s);
void print_hex(uint64_t v);
void print_dec(uint64_t v);
// Prints "keel-loader: error: <what><detail>" and stops the machine: exits QEMU with code 37
// (isa-debug-exit value 0x12) and halts forever on hardware. Never returns, never faults.
[[noreturn]] void fail(const char* what, const char* detail = "");

inline void outb(uint16_t port, uint8_t v) {
    asm volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

}  // namespace keel::loader
