// Frame-pointer backtraces (the kernel is built with -fno-omit-frame-pointer) symbolised with
// the kernel's own ELF symbol table, which the loader leaves in memory (BootInfo
// kernel_image_base/size).
#pragma once

#include <cstdint>

namespace keel::debug {

// Registers the kernel ELF image (kernel virtual address, size) as the source of symbols. The
// image is bounds-checked before use; without it addresses print unsymbolised.
void set_symbol_source(const uint8_t* image, uint64_t size);

// Name of the function containing addr and the offset into it, or nullptr.
const char* symbolize(uint64_t addr, uint64_t* offset);

// Walks the rbp chain starting at frame `rbp`, printing at most 32 frames. Stops at a null,
// misaligned or non-kernel frame pointer rather than faulting.
void print_backtrace(uint64_t rbp);
// Prints one "  [n] 0x... name+0x..." line.
void print_frame(int n, uint64_t rip);

}  // namespace keel::debug
