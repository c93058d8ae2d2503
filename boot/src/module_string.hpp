// Module strings ("name args..."), as QEMU's -initrd and Keel's GRUB configuration give them.
// Pure code, unit-tested on the host.
#pragma once

#include <stdint.h>

namespace keel::loader {

// Copies the first space-separated word of src, without any directory part, to name, and the
// rest (leading spaces skipped) to args. Both outputs are NUL-terminated and cut to capacity.
void split_module_string(const char* src, char* name, uint32_t name_cap, char* args,
                         uint32_t args_cap);

// Appends src to the NUL-terminated dst, separated by one space when both are non-empty; cuts
// at capacity.
void append_words(char* dst, uint32_t cap, const char* src);

}  // namespace keel::loader
