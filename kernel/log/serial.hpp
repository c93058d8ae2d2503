// COM1 (0x3f8): the kernel's console and the channel every test result travels on. Output is
// polled; input (the console object's reads, obj/console.hpp) arrives by interrupt.
#pragma once

#include <cstdint>

namespace keel::serial {

void init();
void put(char c);  // translates '\n' to "\r\n"
// The same, calling while_busy() at each poll of a busy transmitter (the host side of the UART
// may stall for as long as it likes; the console object offers the CPU meanwhile).
void put(char c, void (*while_busy)());
void write(const char* s);
// Input: takes a received byte into *out; false when none waits.
bool receive(uint8_t* out);
// Interrupt on every received byte (IER bit 0; OUT2 gates the UART's line on a PC).
void enable_receive_interrupt();
inline constexpr uint8_t kIrq = 4;  // COM1's ISA interrupt

}  // namespace keel::serial
