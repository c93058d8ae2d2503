// Validation of the kernel's ELF64 image before the loader trusts a single field of it. Pure
// code shared by the loader and the host unit tests (truncated and malicious headers).
#pragma once

#include <keel/boot_info.hpp>

namespace keel::boot {

inline constexpr uint32_t kMaxKernelSegments = 8;
inline constexpr uint64_t kMaxKernelSegmentSize = 256ull << 20;  // sanity bound on p_memsz

// ELF p_flags bits.
inline constexpr uint32_t kSegmentExecute = 1;
inline constexpr uint32_t kSegmentWrite = 2;
inline constexpr uint32_t kSegmentRead = 4;

struct KernelSegment {
    uint64_t vaddr;
    uint64_t memsz;
    uint64_t file_offset;
    uint64_t filesz;
    uint32_t flags;
};

struct KernelImage {
    uint64_t entry;
    uint32_t segment_count;
    KernelSegment segments[kMaxKernelSegments];
};

// Checks that file[0, size) is an x86-64 ELF64 executable whose loadable segments all lie in
// the higher half (>= kKernelBase), inside the file, without overlapping pages, and whose entry
// point is in an executable segment. Returns nullptr and fills *out when it is; otherwise a
// static, human-readable reason and *out is unspecified. Reads only within [file, file + size).
const char* validate_kernel_elf(const uint8_t* file, uint64_t size, KernelImage* out);

// The same checks for any ELF64 executable whose loadable segments must lie inside
// [lowest, highest) (the kernel uses it for user programs, lowest above the null page and
// highest below the kernel half); `outside` is the reason given for a segment that does not.
const char* validate_elf_in_range(const uint8_t* file, uint64_t size, uint64_t lowest,
                                  uint64_t highest, const char* outside, KernelImage* out);

}  // namespace keel::boot
