#include "arch/protections.hpp"

#include "arch/cpu.hpp"
#include "log/log.hpp"

extern "C" uint8_t keel_smap_on = 0;

namespace keel::cpu {

namespace {

constexpr uint64_t kCr4Umip = 1ull << 11;
constexpr uint64_t kCr4Smep = 1ull << 20;
constexpr uint64_t kCr4Smap = 1ull << 21;

Protections g_on{};

}  // namespace

Protections enable_protections() {
    uint32_t max, b, c, d;
    asm volatile("cpuid" : "=a"(max), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    uint32_t ebx7 = 0, ecx7 = 0;
    if (max >= 7)
        asm volatile("cpuid" : "=a"(d), "=b"(ebx7), "=c"(ecx7), "=d"(d) : "a"(7), "c"(0));
    g_on = {(ebx7 & (1u << 7)) != 0, (ebx7 & (1u << 20)) != 0, (ecx7 & (1u << 2)) != 0};
    uint64_t cr4 = read_cr4();
    cr4 |= (g_on.smep ? kCr4Smep : 0) | (g_on.smap ? kCr4Smap : 0) | (g_on.umip ? kCr4Umip : 0);
    write_cr4(cr4);
    keel_smap_on = g_on.smap ? 1 : 0;
    log::info("CPU protections: SMEP %s, SMAP %s, UMIP %s", g_on.smep ? "on" : "absent",
              g_on.smap ? "on" : "absent", g_on.umip ? "on" : "absent");
    return g_on;
}

Protections protections() {
    return g_on;
}

}  // namespace keel::cpu
