// ELF validation fuzz target (lib/elf): raw bytes as an executable image, checked by
// validate_elf_in_range (or validate_kernel_elf) and, when accepted, re-read by this file's
// own oracle from the program headers at the offsets the ELF64 format fixes. An accepted image
// must describe exactly its non-empty PT_LOAD segments, in order, each inside the file and the
// range, none sharing a page, with the entry point in an executable one; a refused image gets
// a non-empty reason; the same bytes always give the same answer.
// Input: [mode][image...]  mode bit 0: the kernel's check (higher half), else the user range
// the kernel applies to programs; bit 1: a narrow range (one page) instead.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <keel/elf/elf_check.hpp>

namespace {

using keel::elf::Image;
using keel::elf::Segment;

constexpr uint64_t kPage = keel::boot::kPageSize;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "elf oracle: %s\n", what);
    std::abort();
}

uint64_t read(const uint8_t* p, size_t bytes) {
    uint64_t v = 0;
    std::memcpy(&v, p, bytes);  // the host is little-endian, as the format
    return v;
}

void check_accepted(const uint8_t* file, size_t size, uint64_t lowest, uint64_t highest,
                    const Image& img) {
    const uint64_t phoff = read(file + 32, 8);
    const uint64_t phnum = read(file + 56, 2);
    if (phoff > size || phnum * 56 > size - phoff)
        fail("accepted program headers outside the file");
    uint32_t n = 0;
    bool entry_ok = false;
    for (uint64_t i = 0; i < phnum; ++i) {
        const uint8_t* ph = file + phoff + i * 56;
        const uint32_t type = static_cast<uint32_t>(read(ph, 4));
        if (type == 2 || type == 3)
            fail("accepted a dynamic or interpreted image");
        if (type != 1 || read(ph + 40, 8) == 0)
            continue;
        if (n >= img.segment_count)
            fail("a loadable segment is missing from the result");
        const Segment& s = img.segments[n++];
        if (s.vaddr != read(ph + 16, 8) || s.file_offset != read(ph + 8, 8) ||
            s.filesz != read(ph + 32, 8) || s.memsz != read(ph + 40, 8) ||
            s.flags != read(ph + 4, 4)) {
            fail("a segment differs from its program header");
        }
        if (s.filesz > s.memsz || s.file_offset > size || s.filesz > size - s.file_offset)
            fail("accepted segment data outside the file");
        if (s.vaddr < lowest || s.memsz > highest - s.vaddr || s.memsz > keel::elf::kMaxSegmentSize)
            fail("accepted a segment outside the range");
        for (uint32_t j = 0; j + 1 < n; ++j) {
            const Segment& o = img.segments[j];
            const uint64_t a = s.vaddr / kPage, b = (s.vaddr + s.memsz - 1) / kPage;
            const uint64_t c = o.vaddr / kPage, d = (o.vaddr + o.memsz - 1) / kPage;
            if (a <= d && c <= b)
                fail("accepted two segments sharing a page");
        }
        const uint64_t entry = read(file + 24, 8);
        if ((s.flags & keel::elf::kSegmentExecute) != 0 && entry >= s.vaddr &&
            entry - s.vaddr < s.memsz) {
            entry_ok = true;
        }
    }
    if (n != img.segment_count || n == 0 || n > keel::elf::kMaxSegments)
        fail("segment count differs from the program headers");
    if (!entry_ok || img.entry != read(file + 24, 8))
        fail("accepted an entry point outside every executable segment");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    const uint8_t mode = data[0];
    // A copy of exactly the image, so ASan sees any read past its end.
    const std::vector<uint8_t> file(data + 1, data + size);
    const uint8_t* bytes = file.empty() ? nullptr : file.data();
    uint64_t lowest = 0x10000, highest = 0x40000000;  // the kernel's user image area
    if ((mode & 1) != 0) {
        lowest = keel::boot::kKernelBase;
        highest = ~0ull - kPage;
    }
    if ((mode & 2) != 0)
        highest = lowest + kPage;
    Image img{}, again{};
    const char* why = (mode & 3) == 1 ? keel::elf::validate_kernel_elf(bytes, file.size(), &img)
                                      : keel::elf::validate_elf_in_range(bytes, file.size(), lowest,
                                                                         highest, "outside", &img);
    const char* why_again =
        keel::elf::validate_elf_in_range(bytes, file.size(), lowest, highest, "outside", &again);
    if ((why == nullptr) != (why_again == nullptr))
        fail("the same image got two answers");
    if (why != nullptr) {
        if (why[0] == '\0')
            fail("refused without a reason");
        return 0;
    }
    if (bytes == nullptr)
        fail("accepted an empty image");
    check_accepted(bytes, file.size(), lowest, highest, img);
    return 0;
}
