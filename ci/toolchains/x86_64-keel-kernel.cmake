# Toolchain for Keel's freestanding x86-64 targets: boot loader, kernel, user programs.
# Selected by the `kernel` preset. The freestanding compile flags are not here: they live in
# the keel_freestanding INTERFACE target (cmake/KeelFreestanding.cmake), one comment per flag.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(KEEL_TARGET kernel CACHE STRING "Keel build flavour: host or kernel" FORCE)

set(CMAKE_C_COMPILER clang-14)
set(CMAKE_CXX_COMPILER clang++-14)
set(CMAKE_ASM_COMPILER clang-14)
set(CMAKE_LINKER ld.lld-14)
find_program(KEEL_LLD NAMES ld.lld-14 ld.lld REQUIRED)

# Generic systems cannot link test executables during compiler detection.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Link every executable with ld.lld directly: no crt files, no libc, no dynamic loader.
set(CMAKE_CXX_LINK_EXECUTABLE "${KEEL_LLD} <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
set(CMAKE_C_LINK_EXECUTABLE "${KEEL_LLD} <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
set(CMAKE_ASM_LINK_EXECUTABLE "${KEEL_LLD} <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
