// The C string functions user programs get: the kernel's tiny libc (kernel/lib/string.cpp),
// compiled into the runtime a second time.
#pragma once

#include <stddef.h>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}

namespace keel {
// The kernel's formatter (lib/format.cpp), also compiled into the runtime.
size_t snformat(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
}  // namespace keel
