// The loader proper: read the multiboot information, validate and load the kernel ELF from the
// first boot module, build the page tables and the BootInfo, then enter long mode and jump.
// Runs in 32-bit protected mode with paging off: physical addresses are pointers.
#include <keel/boot_info.hpp>

#include <keel/elf/elf_check.hpp>
#include "bios_rsdp.hpp"
#include "loader_io.hpp"
#include "memory_map.hpp"
#include "module_string.hpp"
#include "multiboot.hpp"
#include "page_tables.hpp"

extern "C" char __loader_start[];
extern "C" char __loader_end[];

struct Handoff {
    uint64_t entry;
    uint64_t boot_info;  // kernel virtual address (direct map)
    uint32_t enable_nx;
    uint32_t reserved;
};
extern "C" [[noreturn]] void enter_long_mode(uint32_t pml4, const Handoff* handoff);

// The compiler may emit calls to these even in freestanding code (struct copies).
extern "C" void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    for (size_t i = 0; i < n; ++i)
        d[i] = s[i];
    return dst;
}
extern "C" void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    for (size_t i = 0; i < n; ++i)
        d[i] = static_cast<unsigned char>(c);
    return dst;
}

namespace keel::loader {

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t k4GiB = 4 * kGiB;
constexpr uint32_t kMaxReserved = 64;

BootSources g_sources;
boot::MemoryRange g_reserved_storage[kMaxReserved];
boot::RangeSet g_reserved(g_reserved_storage, kMaxReserved);
boot::MemoryRange g_usable_storage[boot::kMaxMemoryRanges];
boot::RangeSet g_usable(g_usable_storage, boot::kMaxMemoryRanges);
elf::Image g_kernel;
Handoff g_handoff;

void reserve(uint64_t base, uint64_t end) {
    g_reserved.add(base, end);
    if (g_reserved.truncated())
        fail("too many reserved memory ranges");
}

// Zeroed, page-aligned physical memory between 1 MiB and 4 GiB that nothing else uses.
uint64_t alloc(uint64_t size) {
    boot::build_usable_map(g_sources.raw, g_sources.raw_count, g_reserved, g_usable);
    const uint64_t base = boot::find_free(g_usable, size, kMiB, k4GiB);
    if (base == 0)
        fail("out of memory below 4 GiB while loading the kernel");
    size = boot::align_up(size, boot::kPageSize);
    reserve(base, base + size);
    memset(reinterpret_cast<void*>(static_cast<uintptr_t>(base)), 0, static_cast<size_t>(size));
    return base;
}
uint64_t alloc_page() {
    return alloc(boot::kPageSize);
}

bool cpu_has(uint32_t leaf, uint32_t edx_bit) {
    uint32_t a, b, c, d;
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf & 0x80000000u), "c"(0));
    if (a < leaf)
        return false;
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0));
    return (d & (1u << edx_bit)) != 0;
}

// Copies the validated segments to fresh physical pages and maps them at their link addresses.
void load_kernel(const uint8_t* file, PageTableBuilder& tables, boot::BootInfo* info) {
    uint64_t lowest = ~0ull, highest = 0;
    for (uint32_t i = 0; i < g_kernel.segment_count; ++i) {
        const elf::Segment& s = g_kernel.segments[i];
        const uint64_t first = boot::align_down(s.vaddr, boot::kPageSize);
        const uint64_t bytes = boot::align_up(s.vaddr + s.memsz, boot::kPageSize) - first;
        const uint64_t phys = alloc(bytes);
        auto* dst = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(phys + (s.vaddr - first)));
        memcpy(dst, file + s.file_offset, static_cast<size_t>(s.filesz));
        for (uint64_t off = 0; off < bytes; off += boot::kPageSize) {
            tables.map_page(first + off, phys + off, (s.flags & elf::kSegmentWrite) != 0,
                            (s.flags & elf::kSegmentExecute) != 0);
        }
        if (phys < lowest)
            lowest = phys;
        if (phys + bytes > highest)
            highest = phys + bytes;
    }
    info->kernel_phys_base = lowest;
    info->kernel_phys_size = highest - lowest;
}

void fill_modules(boot::BootInfo* info) {
    for (uint32_t i = 1; i < g_sources.module_count; ++i) {
        const SourceModule& src = g_sources.modules[i];
        if (src.end < src.start) {
            print("keel-loader: warning: module with a negative size ignored\n");
            continue;
        }
        boot::Module& m = info->modules[info->module_count++];
        m.base = src.start;
        m.size = src.end - src.start;
        split_module_string(src.string, m.name, boot::kModuleNameSize, m.cmdline,
                            boot::kModuleCmdlineSize);
    }
}

}  // namespace

extern "C" [[noreturn]] void loader_main(uint32_t magic, uint32_t mbi) {
    serial_init();
    print("\nkeel-loader: started by ");
    const char* err = nullptr;
    if (magic == kMultiboot1Magic) {
        print("multiboot\n");
        err = read_multiboot1(mbi, &g_sources);
    } else if (magic == kMultiboot2Magic) {
        print("multiboot2\n");
        err = read_multiboot2(mbi, &g_sources);
    } else {
        print("an unknown boot loader\n");
        fail("not started by a multiboot or multiboot2 boot loader");
    }
    if (err != nullptr)
        fail(err);
    if (g_sources.rsdp_size == 0)
        find_rsdp_in_bios(&g_sources);
    if (g_sources.module_count == 0) {
        fail("no kernel: pass the kernel ELF as the first boot module (QEMU -initrd)");
    }
    if (g_sources.raw_dropped != 0) {
        print("keel-loader: warning: memory map too long, some regions ignored\n");
    }
    if (g_sources.modules_dropped != 0)
        print("keel-loader: warning: too many modules, some dropped\n");

    // The kernel module: validate before trusting a single field.
    const SourceModule& km = g_sources.modules[0];
    static char kernel_name[boot::kModuleNameSize];
    static char kernel_args[boot::kCmdlineSize];
    split_module_string(km.string, kernel_name, sizeof kernel_name, kernel_args,
                        sizeof kernel_args);
    if (km.end < km.start)
        fail("kernel module has a negative size");
    const auto* file = reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(km.start));
    err = elf::validate_kernel_elf(file, km.end - km.start, &g_kernel);
    if (err != nullptr) {
        print("keel-loader: kernel module '");
        print(kernel_name);
        print("' is not a valid x86-64 kernel\n");
        fail("kernel ELF rejected: ", err);
    }
    if (!cpu_has(0x80000001, 29))
        fail("this CPU does not support 64-bit long mode");
    const bool nx = cpu_has(0x80000001, 20);

    // Nothing may be placed over the loader itself or any module.
    reserve(reinterpret_cast<uintptr_t>(__loader_start), reinterpret_cast<uintptr_t>(__loader_end));
    for (uint32_t i = 0; i < g_sources.module_count; ++i) {
        reserve(boot::align_down(g_sources.modules[i].start, boot::kPageSize),
                boot::align_up(g_sources.modules[i].end, boot::kPageSize));
    }

    auto* info =
        reinterpret_cast<boot::BootInfo*>(static_cast<uintptr_t>(alloc(sizeof(boot::BootInfo))));
    PageTableBuilder tables(alloc_page, nx);
    uint64_t top = k4GiB;  // always map the low 4 GiB: it holds the local APIC and other MMIO
    for (uint32_t i = 0; i < g_sources.raw_count; ++i) {
        const boot::RawRegion& r = g_sources.raw[i];
        const uint64_t end = boot::saturating_end(r.base, r.size);
        if (r.type == boot::kRawAvailable && end > top)
            top = end;
    }
    top = boot::align_up(top, kGiB);
    if (top > 512 * kGiB) {
        print("keel-loader: warning: only the first 512 GiB of RAM are mapped\n");
        top = 512 * kGiB;
    }
    tables.map_physical(top);
    load_kernel(file, tables, info);

    info->magic = boot::kBootInfoMagic;
    info->version = boot::kBootInfoVersion;
    info->size = sizeof(boot::BootInfo);
    info->kernel_image_base = km.start;
    info->kernel_image_size = km.end - km.start;
    info->page_tables_phys = tables.pml4();
    info->direct_map_size = top;
    info->framebuffer = g_sources.framebuffer;
    info->rsdp_size = g_sources.rsdp_size;
    memcpy(info->rsdp, g_sources.rsdp, g_sources.rsdp_size);
    append_words(info->cmdline, boot::kCmdlineSize, kernel_args);
    static char loader_name[boot::kModuleNameSize];
    static char loader_args[boot::kCmdlineSize];
    split_module_string(g_sources.cmdline, loader_name, sizeof loader_name, loader_args,
                        sizeof loader_args);
    append_words(info->cmdline, boot::kCmdlineSize, loader_args);
    fill_modules(info);

    // Last: every allocation is made, so the usable map excludes all of them (and page 0, so
    // that physical address 0 never names a free frame).
    reserve(0, boot::kPageSize);
    boot::build_usable_map(g_sources.raw, g_sources.raw_count, g_reserved, g_usable);
    for (uint32_t i = 0; i < g_usable.count(); ++i)
        info->memory_ranges[i] = g_usable[i];
    info->memory_range_count = g_usable.count();
    info->usable_bytes = g_usable.total_bytes();

    print("keel-loader: kernel '");
    print(kernel_name);
    print("' loaded, entry ");
    print_hex(g_kernel.entry);
    print(", ");
    print_dec(info->usable_bytes >> 20);
    print(" MiB usable\n");

    g_handoff.entry = g_kernel.entry;
    g_handoff.boot_info = boot::kDirectMapBase + reinterpret_cast<uintptr_t>(info);
    g_handoff.enable_nx = nx ? 1 : 0;
    enter_long_mode(static_cast<uint32_t>(tables.pml4()), &g_handoff);
}

}  // namespace keel::loader
