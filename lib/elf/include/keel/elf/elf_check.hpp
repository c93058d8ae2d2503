// Validation of an ELF64 executable before a single field of it is trusted: the loader checks
// the kernel image with it, the kernel every user program. Pure code (no allocation, no
// globals, built-in headers only), so it builds for the 32-bit loader, the kernel and the
// host's tests and fuzzer alike.
#pragma once

#include <keel/boot_info.hpp>

namespace keel::elf {

inline constexpr uint32_t kMaxSegments = 8;
inline constexpr uint64_t kMaxSegmentSize = 256ull << 20;  // sanity bound on p_memsz

// ELF p_flags bits.
inline constexpr uint32_t kSegmentExecute = 1;
inline constexpr uint32_t kSegmentWrite = 2;
inline constexpr uint32_t kSegmentRead = 4;

struct Segment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t file_offset;
    uint64_t filesz;
    uint32_t flags;
};

struct Image {
    uint64_t entry;
    uint32_t segment_count;
    Segment segments[kMaxSegments];
};

// Checks that file[0, size) is an x86-64 ELF64 executable whose loadable segments all lie in
// the higher half (>= boot::kKernelBase), inside the file, without overlapping pages, and whose
// entry point is in an executable segment. Returns nullptr and fills *out when it is; otherwise a
// static, human-readable reason and *out is unspecified. Reads only within [file, file + size).
const char* validate_kernel_elf(const uint8_t* file, uint64_t size, Image* out);

// The same checks for any ELF64 executable whose loadable segments must lie inside
// [lowest, highest) (the kernel uses it for user programs, lowest above the null page and
// highest below the kernel half); `outside` is the reason given for a segment that does not.
const char* validate_elf_in_range(const uint8_t* file, uint64_t size, uint64_t lowest,
                                  uint64_t highest, const char* outside, Image* out);

}  // namespace keel::elf
