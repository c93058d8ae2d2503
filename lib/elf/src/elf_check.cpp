#include <keel/bytes/le.hpp>
#include <keel/elf/elf_check.hpp>

namespace keel::elf {

namespace {

using boot::kPageSize;
// No segment may end above this (the last page of the address space stays out of reach), which
// also keeps page rounding of a segment's end from overflowing.
constexpr uint64_t kTop = ~0ull - kPageSize;

constexpr uint64_t kEhdrSize = 64;
constexpr uint64_t kPhdrSize = 56;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtDynamic = 2;
constexpr uint32_t kPtInterp = 3;

using bytes::le16;
using bytes::le32;
using bytes::le64;

uint64_t page_down(uint64_t v) {
    return v & ~(kPageSize - 1);
}

// True when [offset, offset + length) lies inside a file of `size` bytes, without overflow.
bool in_file(uint64_t offset, uint64_t length, uint64_t size) {
    return offset <= size && length <= size - offset;
}

}  // namespace

const char* validate_kernel_elf(const uint8_t* file, uint64_t size, Image* out) {
    return validate_elf_in_range(file, size, boot::kKernelBase, kTop,
                                 "segment outside the kernel's higher half", out);
}

const char* validate_elf_in_range(const uint8_t* file, uint64_t size, uint64_t lowest,
                                  uint64_t highest, const char* outside, Image* out) {
    if (file == nullptr || size < kEhdrSize)
        return "truncated: smaller than an ELF header";
    if (file[0] != 0x7f || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
        return "not an ELF file (bad magic)";
    }
    if (file[4] != 2)
        return "not a 64-bit ELF file (EI_CLASS is not ELFCLASS64)";
    if (file[5] != 1)
        return "not a little-endian ELF file";
    if (file[6] != 1 || le32(file + 20) != 1)
        return "unknown ELF version";
    if (le16(file + 18) != 62)
        return "wrong architecture: e_machine is not x86-64";
    if (le16(file + 16) != 2)
        return "not an executable (e_type is not ET_EXEC)";
    const uint64_t entry = le64(file + 24);
    const uint64_t phoff = le64(file + 32);
    const uint16_t phentsize = le16(file + 54);
    const uint16_t phnum = le16(file + 56);
    if (phentsize != kPhdrSize)
        return "bad program header entry size";
    if (phnum == 0)
        return "no program headers";
    if (!in_file(phoff, phnum * kPhdrSize, size)) {
        return "truncated: program headers lie past the end of the file";
    }

    out->entry = entry;
    out->segment_count = 0;
    bool entry_ok = false;
    for (uint32_t i = 0; i < phnum; ++i) {
        const uint8_t* ph = file + phoff + i * kPhdrSize;
        const uint32_t type = le32(ph);
        if (type == kPtDynamic || type == kPtInterp) {
            return "dynamically linked executables are not supported";
        }
        if (type != kPtLoad)
            continue;
        Segment seg{le64(ph + 16), le64(ph + 40), le64(ph + 8), le64(ph + 32), le32(ph + 4)};
        if (seg.memsz == 0)
            continue;
        if (out->segment_count == kMaxSegments)
            return "too many loadable segments";
        if (seg.filesz > seg.memsz)
            return "segment file size exceeds its memory size";
        if (!in_file(seg.file_offset, seg.filesz, size)) {
            return "truncated: segment data lies past the end of the file";
        }
        if (seg.memsz > kMaxSegmentSize)
            return "segment too large";
        if (seg.vaddr < lowest)
            return outside;
        if (seg.vaddr > kTop || seg.memsz > kTop - seg.vaddr)
            return "segment wraps the address space";
        if (seg.vaddr + seg.memsz > highest)
            return outside;
        // Both ends lie below kTop (checked above), so rounding them to pages cannot overflow.
        const uint64_t first = page_down(seg.vaddr);
        const uint64_t last = page_down(seg.vaddr + seg.memsz + kPageSize - 1);
        for (uint32_t j = 0; j < out->segment_count; ++j) {
            const Segment& o = out->segments[j];
            const uint64_t ofirst = page_down(o.vaddr);
            const uint64_t olast = page_down(o.vaddr + o.memsz + kPageSize - 1);
            if (first < olast && ofirst < last)
                return "loadable segments share a page";
        }
        if ((seg.flags & kSegmentExecute) != 0 && entry >= seg.vaddr &&
            entry - seg.vaddr < seg.memsz) {
            entry_ok = true;
        }
        out->segments[out->segment_count++] = seg;
    }
    if (out->segment_count == 0)
        return "no loadable segments";
    if (!entry_ok)
        return "entry point is not inside an executable segment";
    return nullptr;
}

}  // namespace keel::elf
