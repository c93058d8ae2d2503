// The C library of freestanding Keel code (kernel and user programs): the five functions the
// compiler may emit calls to on its own, with their C names, plus the string helpers.
// Hosted code must not include this (the host's C library owns these names): use mem.hpp.
#pragma once

#include <stddef.h>

#include <keel/c/string.hpp>

extern "C" {
void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
}
