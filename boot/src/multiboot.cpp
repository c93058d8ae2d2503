#include "multiboot.hpp"

namespace keel::loader {

namespace {

// Physical memory is identity-accessible: paging is off while the loader parses.
const uint8_t* phys(uint64_t addr) {
    return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(addr));
}
uint64_t rd(uint64_t addr, uint32_t bytes) {
    const uint8_t* p = phys(addr);
    uint64_t v = 0;
    for (uint32_t i = bytes; i > 0; --i) v = (v << 8) | p[i - 1];
    return v;
}
uint32_t rd32(uint64_t addr) { return static_cast<uint32_t>(rd(addr, 4)); }
uint64_t rd64(uint64_t addr) { return rd(addr, 8); }

void copy_string(char* dst, uint32_t cap, uint64_t src_addr) {
    uint32_t n = 0;
    if (src_addr != 0) {
        const char* src = reinterpret_cast<const char*>(phys(src_addr));
        for (; n + 1 < cap && src[n] != '\0'; ++n) dst[n] = src[n];
    }
    dst[n] = '\0';
}

void add_raw(BootSources* out, uint64_t base, uint64_t size, uint32_t type) {
    if (out->raw_count < kMaxRawRegions) out->raw[out->raw_count++] = {base, size, type};
}

void add_module(BootSources* out, uint64_t start, uint64_t end, uint64_t string_addr) {
    if (out->module_count == boot::kMaxModules + 1) {
        ++out->modules_dropped;
        return;
    }
    SourceModule& m = out->modules[out->module_count++];
    m.start = start;
    m.end = end;
    copy_string(m.string, kMaxStringSize, string_addr);
}

void copy_rsdp(BootSources* out, uint64_t addr, uint32_t size) {
    if (size > boot::kRsdpMaxSize) size = boot::kRsdpMaxSize;
    for (uint32_t i = 0; i < size; ++i) out->rsdp[i] = phys(addr)[i];
    out->rsdp_size = size;
}

}  // namespace

const char* read_multiboot1(uint32_t mbi, BootSources* out) {
    out->protocol = 1;
    const uint32_t flags = rd32(mbi);
    if ((flags & (1u << 6)) != 0) {  // mmap_length, mmap_addr
        const uint64_t start = rd32(mbi + 48);
        const uint64_t end = start + rd32(mbi + 44);
        for (uint64_t e = start; e + 24 <= end; e += rd32(e) + 4) {
            add_raw(out, rd64(e + 4), rd64(e + 12), rd32(e + 20));
            if (rd32(e) < 20) break;  // malformed entry size: stop rather than loop
        }
    } else if ((flags & 1u) != 0) {  // only mem_lower / mem_upper (KiB)
        add_raw(out, 0, uint64_t{rd32(mbi + 4)} << 10, boot::kRawAvailable);
        add_raw(out, 0x100000, uint64_t{rd32(mbi + 8)} << 10, boot::kRawAvailable);
    } else {
        return "the boot loader passed no memory map";
    }
    if ((flags & (1u << 2)) != 0) copy_string(out->cmdline, kMaxStringSize, rd32(mbi + 16));
    if ((flags & (1u << 3)) != 0) {
        const uint32_t count = rd32(mbi + 20);
        const uint64_t mods = rd32(mbi + 24);
        for (uint32_t i = 0; i < count; ++i) {
            const uint64_t m = mods + 16ull * i;
            add_module(out, rd32(m), rd32(m + 4), rd32(m + 8));
        }
    }
    if ((flags & (1u << 12)) != 0) {
        out->framebuffer = {rd64(mbi + 88), rd32(mbi + 96), rd32(mbi + 100), rd32(mbi + 104),
                            phys(mbi)[108], static_cast<boot::FramebufferType>(phys(mbi)[109] + 1),
                            {0, 0}};
    }
    return nullptr;
}

const char* read_multiboot2(uint32_t mbi, BootSources* out) {
    out->protocol = 2;
    const uint64_t end = uint64_t{mbi} + rd32(mbi);
    bool have_map = false;
    for (uint64_t tag = mbi + 8; tag + 8 <= end;) {
        const uint32_t type = rd32(tag);
        const uint32_t size = rd32(tag + 4);
        if (type == 0 || size < 8) break;
        switch (type) {
            case 1:  // command line
                copy_string(out->cmdline, kMaxStringSize, tag + 8);
                break;
            case 3:  // module
                add_module(out, rd32(tag + 8), rd32(tag + 12), tag + 16);
                break;
            case 6: {  // memory map
                const uint32_t entry_size = rd32(tag + 8);
                if (entry_size < 24) return "malformed multiboot2 memory map";
                for (uint64_t e = tag + 16; e + 24 <= tag + size; e += entry_size) {
                    add_raw(out, rd64(e), rd64(e + 8), rd32(e + 16));
                }
                have_map = true;
                break;
            }
            case 8:  // framebuffer
                out->framebuffer = {rd64(tag + 8), rd32(tag + 16), rd32(tag + 20),
                                    rd32(tag + 24), phys(tag)[28],
                                    static_cast<boot::FramebufferType>(phys(tag)[29] + 1),
                                    {0, 0}};
                break;
            case 14:  // ACPI 1.0 RSDP copy
            case 15:  // ACPI 2.0+ RSDP copy
                if (out->rsdp_size == 0 || type == 15) copy_rsdp(out, tag + 8, size - 8);
                break;
            default:
                break;
        }
        tag += (size + 7) & ~7u;
    }
    if (!have_map) return "the boot loader passed no memory map";
    return nullptr;
}

void find_rsdp_in_bios(BootSources* out) {
    const uint64_t ebda = uint64_t{static_cast<uint16_t>(rd(0x40e, 2))} << 4;
    const uint64_t areas[][2] = {{ebda, ebda + 1024}, {0xe0000, 0x100000}};
    for (const auto& area : areas) {
        if (area[0] == 0) continue;
        for (uint64_t p = area[0]; p + 20 <= area[1]; p += 16) {
            if (rd64(p) != 0x2052545020445352ull) continue;  // "RSD PTR "
            uint8_t sum = 0;
            for (uint32_t i = 0; i < 20; ++i) sum = static_cast<uint8_t>(sum + phys(p)[i]);
            if (sum != 0) continue;
            copy_rsdp(out, p, phys(p)[15] >= 2 ? rd32(p + 20) : 20);
            return;
        }
    }
}

}  // namespace keel::loader
