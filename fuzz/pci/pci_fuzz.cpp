// PCI fuzz target (lib/pci): a hostile configuration space and hostile BAR sizing answers.
// Whatever is accepted must be what the kernel relies on: capability offsets distinct, dword
// aligned and inside [0x40, 0xfc]; BARs with power-of-two sizes, aligned, not wrapping, I/O
// inside the 64 KiB port space; 64-bit BARs never in the last slot; a range bar_holds accepts
// lies wholly inside its memory BAR.
// Input: [256-byte configuration space][up to 6 x (probe_low, probe_high), 4 bytes each]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/pci/pci.hpp>

namespace {

namespace pci = keel::pci;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "pci oracle: %s\n", what);
    std::abort();
}

uint32_t word(const std::vector<uint8_t>& probes, size_t i) {
    uint32_t v = 0;
    if (i * 4 + 4 <= probes.size())
        std::memcpy(&v, probes.data() + i * 4, 4);
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < pci::kConfigSize)
        return 0;
    const std::vector<uint8_t> config(data, data + pci::kConfigSize);  // exact: ASan sees overruns
    const std::vector<uint8_t> probes(data + pci::kConfigSize, data + size);
    pci::Function f;
    if (const char* why = pci::parse_function(config.data(), config.size(), &f)) {
        if (why[0] == '\0')
            fail("refused without a reason");
        return 0;
    }
    if (f.capability_count > pci::kMaxCapabilities)
        fail("capability count beyond the array");
    bool seen[pci::kConfigSize] = {};
    for (uint32_t i = 0; i < f.capability_count; ++i) {
        const uint8_t at = f.capabilities[i].offset;
        if (at < 0x40 || at > 0xfc || at % 4 != 0 || seen[at])
            fail("accepted a capability offset out of range, unaligned or repeated");
        seen[at] = true;
        if (f.capabilities[i].id != config[at])
            fail("a capability's id is not the byte at its offset");
    }
    for (uint32_t i = 0; i < f.bar_count;) {
        pci::Bar bar;
        uint32_t slots = 0;
        const char* why = pci::decode_bar(f, config.data(), i, word(probes, 2 * i),
                                          word(probes, 2 * i + 1), &bar, &slots);
        if (slots != 1 && slots != 2)
            fail("a BAR took neither one nor two slots");
        if (why == nullptr && bar.kind != pci::BarKind::kNone) {
            if (bar.size == 0 || (bar.size & (bar.size - 1)) != 0 ||
                (bar.address & (bar.size - 1)) != 0 || bar.address > ~0ull - (bar.size - 1)) {
                fail("accepted a BAR with a bad size, alignment or extent");
            }
            if (bar.kind == pci::BarKind::kIo && bar.address + bar.size > 0x10000)
                fail("accepted an I/O BAR beyond the port space");
            if (bar.kind == pci::BarKind::kMemory64 && (slots != 2 || i + 1 >= f.bar_count))
                fail("accepted a 64-bit BAR without its upper slot");
            // A range (a framebuffer) from the probe words: held only when wholly inside.
            const uint64_t base = bar.address + word(probes, 12 + i) - 0x1000;
            const uint64_t bytes = word(probes, 13 + i);
            uint64_t offset = 0;
            if (pci::bar_holds(bar, base, bytes, &offset) &&
                (bar.kind == pci::BarKind::kIo || base < bar.address ||
                 offset != base - bar.address || offset > bar.size || bytes > bar.size - offset)) {
                fail("bar_holds accepted a range outside the BAR");
            }
        }
        i += slots;
    }
    return 0;
}
