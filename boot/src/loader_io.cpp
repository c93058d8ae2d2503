#include "loader_io.hpp"

namespace keel::loader {

namespace {
constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kDebugExit = 0xf4;
constexpr uint8_t kLoaderFailure = 0x12;  // QEMU exits with (0x12 << 1) | 1 = 37

void put(char c) {
    for (int i = 0; i < 100000 && (inb(kCom1 + 5) & 0x20) == 0; ++i) {
    }
    outb(kCom1, static_cast<uint8_t>(c));
}
}  // namespace

void serial_init() {
    outb(kCom1 + 1, 0x00);  // no interrupts
    outb(kCom1 + 3, 0x80);  // DLAB on
    outb(kCom1 + 0, 0x01);  // divisor 1: 115200 baud
    outb(kCom1 + 1, 0x00);
    outb(kCom1 + 3, 0x03);  // 8N1, DLAB off
    outb(kCom1 + 2, 0xc7);  // FIFO on, cleared
    outb(kCom1 + 4, 0x03);  // DTR, RTS
}

void print(const char* s) {
    for (; *s != '\0'; ++s) {
        if (*s == '\n')
            put('\r');
        put(*s);
    }
}

void print_hex(uint64_t v) {
    char buf[19] = "0x";
    for (int i = 0; i < 16; ++i) {
        const uint32_t nibble = static_cast<uint32_t>(v >> (60 - 4 * i)) & 0xf;
        buf[2 + i] = static_cast<char>(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
    }
    buf[18] = '\0';
    print(buf);
}

void print_dec(uint64_t v) {
    // 32-bit code has no 64-bit division without libgcc: subtract powers of ten instead.
    static constexpr uint64_t kPowers[] = {10000000000000000000ull,
                                           1000000000000000000ull,
                                           100000000000000000ull,
                                           10000000000000000ull,
                                           1000000000000000ull,
                                           100000000000000ull,
                                           10000000000000ull,
                                           1000000000000ull,
                                           100000000000ull,
                                           10000000000ull,
                                           1000000000ull,
                                           100000000ull,
                                           10000000ull,
                                           1000000ull,
                                           100000ull,
                                           10000ull,
                                           1000ull,
                                           100ull,
                                           10ull,
                                           1ull};
    char buf[21];
    int n = 0;
    for (uint64_t p : kPowers) {
        char digit = '0';
        while (v >= p) {
            v -= p;
            ++digit;
        }
        if (digit != '0' || n > 0 || p == 1)
            buf[n++] = digit;
    }
    buf[n] = '\0';
    print(buf);
}

void fail(const char* what, const char* detail) {
    print("keel-loader: error: ");
    print(what);
    print(detail);
    print("\nkeel-loader: cannot start the kernel; stopping\n");
    outb(kDebugExit, kLoaderFailure);
    for (;;)
        asm volatile("cli; hlt");
}

}  // namespace keel::loader
