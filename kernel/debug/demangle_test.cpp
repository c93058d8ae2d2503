// Kernel tests for the backtrace demangler, on names of the shapes the kernel's symbols take.
#include "debug/demangle.hpp"
#include <keel/c/libc.hpp>
#include "test/ktest.hpp"

namespace keel::debug {
namespace {

bool demangles_to(const char* mangled, const char* expected) {
    char buf[128];
    demangle(mangled, buf, sizeof buf);
    return str_equal(buf, expected);
}

KTEST(demangle_kernel_symbol_shapes) {
    KEXPECT(demangles_to("_ZN4keel5debug11maybe_crashEPKc", "keel::debug::maybe_crash"));
    KEXPECT(demangles_to("_ZN4keel5debug12_GLOBAL__N_17recurseEm",
                         "keel::debug::(anonymous namespace)::recurse"));
    KEXPECT(demangles_to("_ZN4keel2mm12AddressSpace3mapENS0_8VirtAddrENS0_8PhysAddrEm",
                         "keel::mm::AddressSpace::map"));
    KEXPECT(demangles_to("_ZNK4keel2mm12AddressSpace9translateENS0_8VirtAddrE",
                         "keel::mm::AddressSpace::translate"));
    KEXPECT(demangles_to("_ZN4keel9LockGuardC2ERNS_8SpinLockE", "keel::LockGuard::LockGuard"));
    KEXPECT(demangles_to("_ZN4keel9LockGuardD2Ev", "keel::LockGuard::~LockGuard"));
    KEXPECT(demangles_to("_ZN4keel3ipc6ResultIjE5valueEv", "keel::ipc::Result<...>::value"));
    KEXPECT(demangles_to("_ZL6helperv", "helper"));
    KEXPECT(demangles_to("keel_kernel_main", "keel_kernel_main"));  // C names stay
    KEXPECT(demangles_to("_ZN4keel", "_ZN4keel"));                  // truncated: left mangled
    KEXPECT(demangles_to("_ZN4keel99shortE", "_ZN4keel99shortE"));  // length past the end
    char small[8];
    demangle("_ZN4keel5debug11maybe_crashEPKc", small, sizeof small);
    KEXPECT(str_equal(small, "keel::d"));
}

}  // namespace
}  // namespace keel::debug
