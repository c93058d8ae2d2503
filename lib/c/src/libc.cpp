// The C names of keel::c's byte loops, for freestanding code only (kernel and user programs): the
// compiler may emit calls to these five on its own. extern "C" and global by necessity; nothing
// else of the kernel is. Each is a tail call into mem.cpp.
#include <keel/c/libc.hpp>

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
    return keel::c::copy(dst, src, n);
}
void* memmove(void* dst, const void* src, size_t n) {
    return keel::c::move(dst, src, n);
}
void* memset(void* dst, int c, size_t n) {
    return keel::c::fill(dst, c, n);
}
int memcmp(const void* a, const void* b, size_t n) {
    return keel::c::compare(a, b, n);
}
size_t strlen(const char* s) {
    return keel::c::length(s);
}

}  // extern "C"
