#include "log/serial.hpp"

#include "arch/cpu.hpp"

namespace keel::serial {

namespace {
constexpr uint16_t kCom1 = 0x3f8;

void raw_put(char c, void (*while_busy)()) {
    // Bounded wait: a missing UART must not hang the kernel (the port then reads 0xff).
    for (int i = 0; i < 100000 && (cpu::inb(kCom1 + 5) & 0x20) == 0; ++i) {
        if (while_busy != nullptr)
            while_busy();
        cpu::pause();
    }
    cpu::outb(kCom1, static_cast<uint8_t>(c));
}
}  // namespace

void init() {
    cpu::outb(kCom1 + 1, 0x00);  // no UART interrupts until input is wanted: output is polled
    cpu::outb(kCom1 + 3, 0x80);  // DLAB on
    cpu::outb(kCom1 + 0, 0x01);  // divisor 1: 115200 baud
    cpu::outb(kCom1 + 1, 0x00);
    cpu::outb(kCom1 + 3, 0x03);  // 8N1
    cpu::outb(kCom1 + 2, 0xc7);  // FIFO on and cleared
    cpu::outb(kCom1 + 4, 0x03);  // DTR, RTS
}

void put(char c, void (*while_busy)()) {
    if (c == '\n')
        raw_put('\r', while_busy);
    raw_put(c, while_busy);
}

void put(char c) {
    put(c, nullptr);
}

void write(const char* s) {
    while (*s != '\0')
        put(*s++);
}

bool receive(uint8_t* out) {
    if ((cpu::inb(kCom1 + 5) & 0x01) == 0)  // line status: data ready
        return false;
    *out = cpu::inb(kCom1);
    return true;
}

void enable_receive_interrupt() {
    cpu::outb(kCom1 + 4, 0x0b);  // DTR, RTS, OUT2
    cpu::outb(kCom1 + 1, 0x01);  // received data available
}

}  // namespace keel::serial
