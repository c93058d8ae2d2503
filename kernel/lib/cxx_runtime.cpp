// What the C++ compiler expects from a runtime: operator new/delete on the kernel heap, and
// the hooks for pure virtual calls and static destructors (the kernel never exits, so
// destructors of globals are not registered).
#include <cstddef>
#include <new>

#include "mm/heap.hpp"
#include "panic.hpp"

void* operator new(size_t size) {
    void* p = keel::heap::alloc(size);
    if (p == nullptr)
        keel::panic("operator new: out of memory (%zu bytes)", size);
    return p;
}
void* operator new[](size_t size) {
    return operator new(size);
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
    return keel::heap::alloc(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
    return keel::heap::alloc(size);
}
void operator delete(void* p) noexcept {
    keel::heap::free(p);
}
void operator delete[](void* p) noexcept {
    keel::heap::free(p);
}
void operator delete(void* p, size_t) noexcept {
    keel::heap::free(p);
}
void operator delete[](void* p, size_t) noexcept {
    keel::heap::free(p);
}

extern "C" {
void __cxa_pure_virtual() {
    keel::panic("pure virtual function called");
}
int __cxa_atexit(void (*)(void*), void*, void*) {
    return 0;
}
void* __dso_handle = nullptr;
}

// The tag object of `new (std::nothrow) T`: kernel objects created on behalf of user programs
// must report exhaustion as an error, not panic. (Its one global symbol is on the allow-list
// of kernel/tests/check-kernel-symbols.sh.)
namespace std {
const nothrow_t nothrow{};
}
