#include "multiboot.hpp"

namespace keel::loader {

namespace {

// In the loader, physical memory is identity-accessible (paging is off while it parses); in
// the host unit tests the "physical addresses" are ordinary pointers.
const uint8_t* at(uint64_t addr) {
    return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(addr));
}
uint64_t rd(uint64_t addr, uint32_t bytes) {
    const uint8_t* p = at(addr);
    uint64_t v = 0;
    for (uint32_t i = bytes; i > 0; --i)
        v = (v << 8) | p[i - 1];
    return v;
}
uint32_t rd32(uint64_t addr) {
    return static_cast<uint32_t>(rd(addr, 4));
}
uint64_t rd64(uint64_t addr) {
    return rd(addr, 8);
}

// Copies a NUL-terminated string of at most `limit` bytes (the bytes that belong to the field)
// and at most cap - 1 characters. A missing terminator within the limit just ends the copy.
void copy_string(char* dst, uint32_t cap, uint64_t src_addr, uint64_t limit) {
    uint32_t n = 0;
    if (src_addr != 0) {
        const char* src = reinterpret_cast<const char*>(at(src_addr));
        for (; n + 1 < cap && n < limit && src[n] != '\0'; ++n)
            dst[n] = src[n];
    }
    dst[n] = '\0';
}

void add_raw(BootSources* out, uint64_t base, uint64_t size, uint32_t type) {
    if (out->raw_count < kMaxRawRegions) {
        out->raw[out->raw_count++] = {base, size, type};
    } else {
        ++out->raw_dropped;
    }
}

void add_module(BootSources* out, uint64_t start, uint64_t end, uint64_t string_addr,
                uint64_t string_limit) {
    if (out->module_count == boot::kMaxModules + 1) {
        ++out->modules_dropped;
        return;
    }
    SourceModule& m = out->modules[out->module_count++];
    m.start = start;
    m.end = end;
    copy_string(m.string, kMaxStringSize, string_addr, string_limit);
}

void copy_rsdp(BootSources* out, uint64_t addr, uint64_t size) {
    if (size > boot::kRsdpMaxSize)
        size = boot::kRsdpMaxSize;
    for (uint32_t i = 0; i < size; ++i)
        out->rsdp[i] = at(addr)[i];
    out->rsdp_size = static_cast<uint32_t>(size);
}

boot::FramebufferType framebuffer_type(uint8_t multiboot_type) {
    // Multiboot: 0 indexed, 1 direct RGB, 2 EGA text. Anything else: treat as absent.
    return multiboot_type <= 2 ? static_cast<boot::FramebufferType>(multiboot_type + 1)
                               : boot::FramebufferType::kNone;
}

constexpr uint64_t kNoLimit = ~0ull;  // multiboot (v1) strings carry no length

}  // namespace

const char* read_multiboot1(uintptr_t mbi, BootSources* out) {
    out->protocol = 1;
    const uint32_t flags = rd32(mbi);
    if ((flags & (1u << 6)) != 0) {  // mmap_length, mmap_addr
        const uint64_t start = rd32(mbi + 48);
        const uint64_t end = start + rd32(mbi + 44);
        // Each entry: u32 size (not counting itself), u64 base, u64 length, u32 type.
        for (uint64_t e = start; e + 24 <= end;) {
            const uint32_t size = rd32(e);
            if (size < 20)
                return "malformed multiboot memory map (entry size below 20)";
            add_raw(out, rd64(e + 4), rd64(e + 12), rd32(e + 20));
            e += uint64_t{size} + 4;
        }
    } else if ((flags & 1u) != 0) {  // only mem_lower / mem_upper, in KiB
        add_raw(out, 0, uint64_t{rd32(mbi + 4)} << 10, boot::kRawAvailable);
        add_raw(out, 0x100000, uint64_t{rd32(mbi + 8)} << 10, boot::kRawAvailable);
    } else {
        return "the boot loader passed no memory map";
    }
    if ((flags & (1u << 2)) != 0)
        copy_string(out->cmdline, kMaxStringSize, rd32(mbi + 16), kNoLimit);
    if ((flags & (1u << 3)) != 0) {
        const uint32_t count = rd32(mbi + 20);
        const uint64_t mods = rd32(mbi + 24);
        for (uint32_t i = 0; i < count && i <= boot::kMaxModules + 1; ++i) {
            const uint64_t m = mods + 16ull * i;
            add_module(out, rd32(m), rd32(m + 4), rd32(m + 8), kNoLimit);
        }
        if (count > boot::kMaxModules + 1)
            out->modules_dropped += count - boot::kMaxModules - 1;
    }
    if ((flags & (1u << 12)) != 0) {
        out->framebuffer = {rd64(mbi + 88),  rd32(mbi + 96), rd32(mbi + 100),
                            rd32(mbi + 104), at(mbi)[108],   framebuffer_type(at(mbi)[109]),
                            {0, 0}};
    }
    return nullptr;
}

const char* read_multiboot2(uintptr_t mbi, BootSources* out) {
    out->protocol = 2;
    const uint32_t total = rd32(mbi);
    if (total < 16)
        return "malformed multiboot2 information (too small)";
    const uint64_t end = uint64_t{mbi} + total;
    bool have_map = false;
    bool have_end = false;
    for (uint64_t tag = mbi + 8; tag + 8 <= end;) {
        const uint32_t type = rd32(tag);
        const uint32_t size = rd32(tag + 4);
        if (size < 8 || size > end - tag)
            return "malformed multiboot2 information (bad tag size)";
        const uint64_t tag_end = tag + size;
        if (type == 0) {
            have_end = true;
            break;
        }
        switch (type) {
            case 1:  // command line
                copy_string(out->cmdline, kMaxStringSize, tag + 8, tag_end - (tag + 8));
                break;
            case 3:  // module: u32 start, u32 end, string
                if (size < 16)
                    return "malformed multiboot2 module tag";
                add_module(out, rd32(tag + 8), rd32(tag + 12), tag + 16, tag_end - (tag + 16));
                break;
            case 6: {  // memory map: u32 entry_size, u32 entry_version, entries
                if (size < 16)
                    return "malformed multiboot2 memory map";
                const uint32_t entry_size = rd32(tag + 8);
                if (entry_size < 24)
                    return "malformed multiboot2 memory map (entry size)";
                for (uint64_t e = tag + 16; e + 24 <= tag_end; e += entry_size) {
                    add_raw(out, rd64(e), rd64(e + 8), rd32(e + 16));
                }
                have_map = true;
                break;
            }
            case 8:  // framebuffer
                if (size < 30)
                    return "malformed multiboot2 framebuffer tag";
                out->framebuffer = {rd64(tag + 8),  rd32(tag + 16), rd32(tag + 20),
                                    rd32(tag + 24), at(tag)[28],    framebuffer_type(at(tag)[29]),
                                    {0, 0}};
                break;
            case 14:  // ACPI 1.0 RSDP copy
            case 15:  // ACPI 2.0+ RSDP copy (preferred)
                if (out->rsdp_size == 0 || type == 15)
                    copy_rsdp(out, tag + 8, size - 8);
                break;
            default:
                break;
        }
        tag += (uint64_t{size} + 7) & ~7ull;
    }
    if (!have_end)
        return "malformed multiboot2 information (no end tag)";
    if (!have_map)
        return "the boot loader passed no memory map";
    return nullptr;
}

}  // namespace keel::loader
