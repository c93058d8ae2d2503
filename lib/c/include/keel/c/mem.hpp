// The byte loops behind the C library's memory and string functions, as ordinary C++ functions
// in keel::c. Freestanding code reaches them through the C names (libc.hpp); host tests call
// them directly, beside the hosted C library whose names they would otherwise collide with.
#pragma once

#include <stddef.h>

namespace keel::c {

// memcpy: [src, src + n) must not overlap [dst, dst + n). Returns dst.
void* copy(void* dst, const void* src, size_t n);
// memmove: any overlap. Returns dst.
void* move(void* dst, const void* src, size_t n);
// memset. Returns dst.
void* fill(void* dst, int c, size_t n);
// memcmp: <0, 0 or >0 as the first differing byte (unsigned) of a is below, equal or above b's.
int compare(const void* a, const void* b, size_t n);
// strlen.
size_t length(const char* s);

}  // namespace keel::c
