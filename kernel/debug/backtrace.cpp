#include "debug/backtrace.hpp"

#include <keel/boot_info.hpp>

#include "debug/demangle.hpp"
#include "log/log.hpp"
#include "mm/paging.hpp"

namespace keel::debug {

namespace {

struct Symbols {
    const uint8_t* symtab = nullptr;
    uint64_t count = 0;
    const char* strtab = nullptr;
    uint64_t strtab_size = 0;
};
Symbols g_symbols;

template <typename T>
T read(const uint8_t* p) {
    T v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

bool in_image(uint64_t offset, uint64_t length, uint64_t size) {
    return offset <= size && length <= size - offset;
}

}  // namespace

void set_symbol_source(const uint8_t* image, uint64_t size) {
    // ELF64 header: e_shoff @40, e_shentsize @58, e_shnum @60. The loader validated the
    // program headers only, so every section-table field is checked here.
    if (image == nullptr || size < 64)
        return;
    const uint64_t shoff = read<uint64_t>(image + 40);
    const uint16_t shentsize = read<uint16_t>(image + 58);
    const uint16_t shnum = read<uint16_t>(image + 60);
    if (shentsize != 64 || !in_image(shoff, uint64_t{shnum} * 64, size))
        return;
    for (uint16_t i = 0; i < shnum; ++i) {
        const uint8_t* sh = image + shoff + uint64_t{i} * 64;
        if (read<uint32_t>(sh + 4) != 2)
            continue;  // SHT_SYMTAB
        const uint64_t off = read<uint64_t>(sh + 24);
        const uint64_t sz = read<uint64_t>(sh + 32);
        const uint32_t link = read<uint32_t>(sh + 40);
        if (!in_image(off, sz, size) || link >= shnum)
            return;
        const uint8_t* str = image + shoff + uint64_t{link} * 64;
        const uint64_t str_off = read<uint64_t>(str + 24);
        const uint64_t str_sz = read<uint64_t>(str + 32);
        if (!in_image(str_off, str_sz, size) || str_sz == 0)
            return;
        g_symbols = {image + off, sz / 24, reinterpret_cast<const char*>(image + str_off), str_sz};
        return;
    }
}

const char* symbolize(uint64_t addr, uint64_t* offset) {
    const char* best = nullptr;
    uint64_t best_value = 0;
    for (uint64_t i = 0; i < g_symbols.count; ++i) {
        const uint8_t* sym = g_symbols.symtab + i * 24;  // Elf64_Sym
        if ((sym[4] & 0xf) != 2)
            continue;  // STT_FUNC
        const uint32_t name = read<uint32_t>(sym);
        const uint64_t value = read<uint64_t>(sym + 8);
        const uint64_t size = read<uint64_t>(sym + 16);
        if (addr < value || name >= g_symbols.strtab_size)
            continue;
        if (size != 0 ? addr - value >= size : value <= best_value)
            continue;
        best = g_symbols.strtab + name;
        best_value = value;
        if (size != 0)
            break;
    }
    if (best != nullptr)
        *offset = addr - best_value;
    return best;
}

void print_frame(int n, uint64_t rip) {
    uint64_t off = 0;
    const char* name = symbolize(rip, &off);
    if (name != nullptr) {
        char readable[160];
        demangle(name, readable, sizeof readable);
        log::print("  [%d] 0x%016lx %s+0x%lx\n", n, rip, readable, off);
    } else {
        log::print("  [%d] 0x%016lx ?\n", n, rip);
    }
}

void print_backtrace(uint64_t rbp) {
    log::print("backtrace:\n");
    uint64_t last_rip = 0;
    int repeats = 0;
    int n = 0;
    for (int depth = 0; depth < 4096 && n < 32; ++depth) {
        // A frame pointer must be aligned, in the kernel half and mapped: the walk runs inside
        // fault handlers (a stack overflow's frames sit next to a guard page), so it must
        // never fault itself.
        if (rbp == 0 || (rbp & 7) != 0 || rbp < boot::kDirectMapBase)
            break;
        if (mm::kernel_space().pml4().value != 0 &&
            !mm::kernel_space().translate(mm::VirtAddr{rbp}).has_value()) {
            log::print("  (frame pointer 0x%lx is not mapped)\n", rbp);
            break;
        }
        const auto* frame = reinterpret_cast<const uint64_t*>(rbp);
        const uint64_t rip = frame[1];
        if (rip < boot::kKernelBase)
            break;
        if (rip == last_rip) {
            ++repeats;  // deep recursion: one line per distinct frame
        } else {
            if (repeats > 0)
                log::print("  ... the frame above %d more times\n", repeats);
            repeats = 0;
            print_frame(n++, rip);
            last_rip = rip;
        }
        rbp = frame[0];
    }
    if (repeats > 0)
        log::print("  ... the frame above %d more times\n", repeats);
}

}  // namespace keel::debug
