// The kernel's stack protector (-fstack-protector-strong -mstack-protector-guard=global,
// cmake/KeelLibrary.cmake): the canary every protected function keeps below its locals and
// checks on return, and what a mismatch does. A function whose buffer overflowed over its
// canary panics on return instead of returning through an address an attacker wrote.
#include "debug/stack_guard.hpp"

#include "panic.hpp"

// Replaced at boot by init_stack_guard(); its lowest byte stays 0, as in the value here, so a
// string copy that overruns a buffer stops short of reproducing it (and a string read of it
// ends there).
extern "C" uint64_t __stack_chk_guard = 0x595e9fbd94fda700ull;

extern "C" [[noreturn]] void __stack_chk_fail() {
    keel::panic("stack smashing detected: a function's canary was overwritten");
}

namespace keel::debug {

// Called first in keel_kernel_main, whose own canary (if it has one) is never checked: it
// does not return. Nothing else is on the stack yet. The time stamp counter at boot is the
// only entropy the kernel has this early (QEMU's qemu64 has no RDRAND): it differs between
// boots, which is what keeps a canary read in one boot useless in the next.
[[clang::no_stack_protector]] void init_stack_guard() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t x = __stack_chk_guard ^ ((uint64_t{hi} << 32) | lo);
    // splitmix64's finaliser: every bit of the time stamp moves every bit of the canary.
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    __stack_chk_guard = x & ~0xffull;
}

}  // namespace keel::debug
