# keel_freestanding: the flags every freestanding x86-64 object is compiled with (kernel, ipc's
# kernel library, user programs). Usable from both builds, so the host build can also compile
# ipc/ the way the kernel does and inspect the result (ipc's nm test).
# Checked with Debian 12's clang 14: the host triple plus -ffreestanding (--target=x86_64-elf
# leaves clang without the C++ headers), and with these flags <cstdint> <cstddef> <type_traits>
# <concepts> <new> <bit> <utility> <optional> <array> <span> <atomic> <limits> all compile.
add_library(keel_freestanding INTERFACE)
target_compile_options(keel_freestanding INTERFACE
    -ffreestanding                   # no hosted library; the compiler may still emit memcpy/memset
    -fno-exceptions                  # no unwinder in the kernel
    -fno-rtti                        # no typeinfo, no dynamic_cast
    -fno-pic                         # absolute code: kernel and programs are linked at fixed addresses
    -fno-pie                         # (the same, for executables)
    -mno-red-zone                    # interrupts push onto the current stack below rsp
    -mno-sse                         # no FPU/SSE state is saved on kernel entry: the compiler must
    -mno-sse2                        #   never use those registers
    -mno-mmx                         #   (-mno-80387 is not used: clang then rejects <atomic>)
    -fno-asynchronous-unwind-tables  # no .eh_frame to keep
    -fno-threadsafe-statics          # no __cxa_guard_*: statics are set up before threads exist
    -fno-builtin                     # memset's own loop must not become a call to memset
)
target_compile_features(keel_freestanding INTERFACE cxx_std_20)
# Stack protection is each environment's choice (KeelLibrary.cmake: on in the kernel, off in
# user programs and the loader), not set here, where a later flag could not override it.

# The kernel code model: only for objects linked into the higher-half kernel image.
add_library(keel_kernel_model INTERFACE)
target_compile_options(keel_kernel_model INTERFACE
    -mcmodel=kernel  # kernel lives in the top 2 GiB: 32-bit sign-extended absolute addresses
)
