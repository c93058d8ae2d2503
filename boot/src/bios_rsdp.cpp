#include "bios_rsdp.hpp"

namespace keel::loader {

namespace {
const uint8_t* at(uint64_t addr) {
    return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(addr));
}
uint64_t rd(uint64_t addr, uint32_t bytes) {
    uint64_t v = 0;
    for (uint32_t i = bytes; i > 0; --i)
        v = (v << 8) | at(addr)[i - 1];
    return v;
}
}  // namespace

void find_rsdp_in_bios(BootSources* out) {
    const uint64_t ebda = rd(0x40e, 2) << 4;  // real-mode segment of the EBDA
    const uint64_t areas[][2] = {{ebda, ebda + 1024}, {0xe0000, 0x100000}};
    for (const auto& area : areas) {
        if (area[0] == 0)
            continue;
        for (uint64_t p = area[0]; p + 20 <= area[1]; p += 16) {
            if (rd(p, 8) != 0x2052545020445352ull)
                continue;  // "RSD PTR "
            uint8_t sum = 0;
            for (uint32_t i = 0; i < 20; ++i)
                sum = static_cast<uint8_t>(sum + at(p)[i]);
            if (sum != 0)
                continue;
            uint64_t size = at(p)[15] >= 2 ? rd(p + 20, 4) : 20;
            if (size > boot::kRsdpMaxSize)
                size = boot::kRsdpMaxSize;
            for (uint32_t i = 0; i < size; ++i)
                out->rsdp[i] = at(p)[i];
            out->rsdp_size = static_cast<uint32_t>(size);
            return;
        }
    }
}

}  // namespace keel::loader
