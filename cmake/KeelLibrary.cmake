# Keel's build environments and keel_library(): the one way to declare a library that is built
# for more than one environment (in the spirit of Zircon's zx_library). A library's sources,
# include directory and own flags are listed in its keel_library() call and nowhere else; an
# environment's flags are defined here and nowhere else.
#
# Environments, each an INTERFACE target keel_env_<env> that executables link too:
#   kernel   freestanding, kernel code model: objects linked into the higher-half kernel
#   user     freestanding, small code model: objects linked into user programs (at 4 MiB)
#   loader   freestanding, 32-bit, optimised for size: objects linked into the first-stage loader
#   host     hosted, -O2, position-independent, no sanitizers: what `cmake --install` ships
#   checked  hosted, this tree's sanitizers, warnings as errors: tests, fuzzers, proofs
# The kernel tree builds kernel, user and loader. The host tree builds host and checked, and
# kernel as well, so that host tests can inspect freestanding objects (ipc's undefined-symbol
# check, bench's lock probe) without a second tree.

# ---- the environments ----------------------------------------------------------------------
# Warnings every freestanding object is built with (kernel, user programs, the loader).
set(KEEL_FREESTANDING_WARNINGS -Wall -Wextra -Werror -Wshadow -Wno-sign-conversion)

add_library(keel_env_kernel INTERFACE)
target_link_libraries(keel_env_kernel INTERFACE keel_freestanding keel_kernel_model)
target_compile_options(keel_env_kernel INTERFACE
    -fno-omit-frame-pointer  # the exception handler's backtrace walks the rbp chain
    # A canary below the locals of every function with arrays or address-taken locals, checked
    # on return: a global one (kernel/debug/stack_guard.cpp: random at boot), since the kernel
    # has no %fs-based TLS for the default place.
    -fstack-protector-strong -mstack-protector-guard=global
    ${KEEL_FREESTANDING_WARNINGS})

add_library(keel_env_user INTERFACE)
target_link_libraries(keel_env_user INTERFACE keel_freestanding)
target_compile_options(keel_env_user INTERFACE
    -fno-stack-protector  # no __stack_chk_guard in the user runtime (yet)
    ${KEEL_FREESTANDING_WARNINGS})

add_library(keel_env_loader INTERFACE)
target_link_libraries(keel_env_loader INTERFACE keel_freestanding)
target_compile_options(keel_env_loader INTERFACE
    -fno-stack-protector  # no __stack_chk_guard in the loader
    -m32  # i386 protected mode: multiboot enters here; only built-in headers exist for it
    -Os   # small: it must fit below the modules QEMU places after it
    ${KEEL_FREESTANDING_WARNINGS} -Wconversion)

if(KEEL_TARGET STREQUAL "host")
    set(KEEL_SANITIZE "address,undefined" CACHE STRING
        "Sanitizers for host code: 'address,undefined', 'thread' or 'none'")
    add_library(keel_sanitize INTERFACE)
    if(NOT KEEL_SANITIZE STREQUAL "none" AND NOT KEEL_SANITIZE STREQUAL "")
        target_compile_options(keel_sanitize INTERFACE -fsanitize=${KEEL_SANITIZE}
                                                       -fno-omit-frame-pointer -fno-sanitize-recover=all)
        target_link_options(keel_sanitize INTERFACE -fsanitize=${KEEL_SANITIZE})
    endif()
    add_library(keel_warnings INTERFACE)
    target_compile_options(keel_warnings INTERFACE -Wall -Wextra -Werror -Wshadow -Wconversion
                                                   -Wno-sign-conversion)

    add_library(keel_env_host INTERFACE)
    target_compile_options(keel_env_host INTERFACE -O2 -Wall -Wextra -Werror)

    add_library(keel_env_checked INTERFACE)
    target_link_libraries(keel_env_checked INTERFACE keel_sanitize keel_warnings)
    set(KEEL_TREE_ENVIRONMENTS host checked kernel)
else()
    set(KEEL_TREE_ENVIRONMENTS kernel user loader)
endif()

# ---- keel_library ----------------------------------------------------------------------------
# keel_library(NAME
#     ENVIRONMENTS env...   where it may be built (see above); this tree builds those it has
#     [SOURCES file...]     none: a header-only (INTERFACE) library
#     [INCLUDE dir...]      public include directories (default: include/ if it exists)
#     [DEPENDS name...]     other keel libraries, taken in the same environment
#     [LIBS target...]      other targets it links publicly, in every environment
#     [OPTIONS flag...])    the library's own compile flags, in every environment
# Makes one target per environment, keel_<NAME>_<env>. The host variant's archive is named
# libkeel_<NAME>.a, the name it is installed under.
function(keel_library name)
    cmake_parse_arguments(ARG "" "" "ENVIRONMENTS;SOURCES;INCLUDE;DEPENDS;LIBS;OPTIONS" ${ARGN})
    if(NOT ARG_ENVIRONMENTS)
        message(FATAL_ERROR "keel_library(${name}): ENVIRONMENTS is required")
    endif()
    if(NOT ARG_INCLUDE AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
        set(ARG_INCLUDE include)
    endif()
    # Absolute, so that a harness may compile the library's own source list elsewhere (fuzz/).
    list(TRANSFORM ARG_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/ REGEX "^[^/]")
    set(includes "")
    foreach(dir IN LISTS ARG_INCLUDE)
        cmake_path(ABSOLUTE_PATH dir BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE)
        list(APPEND includes ${dir})
    endforeach()
    foreach(env IN LISTS ARG_ENVIRONMENTS)
        if(NOT env MATCHES "^(kernel|user|loader|host|checked)$")
            message(FATAL_ERROR "keel_library(${name}): unknown environment '${env}'")
        endif()
        if(NOT env IN_LIST KEEL_TREE_ENVIRONMENTS)
            continue()
        endif()
        set(t keel_${name}_${env})
        set(deps "")
        foreach(d IN LISTS ARG_DEPENDS)
            list(APPEND deps keel_${d}_${env})
        endforeach()
        if(ARG_SOURCES)
            add_library(${t} STATIC ${ARG_SOURCES})
            set(scope PUBLIC)
            # BUILD_INTERFACE: the environment's flags are this tree's, never part of an export.
            target_link_libraries(${t} PRIVATE $<BUILD_INTERFACE:keel_env_${env}>)
            target_compile_options(${t} PRIVATE ${ARG_OPTIONS})
        else()
            add_library(${t} INTERFACE)
            set(scope INTERFACE)
        endif()
        target_link_libraries(${t} ${scope} ${deps} ${ARG_LIBS})
        target_compile_features(${t} ${scope} cxx_std_20)
        foreach(dir IN LISTS includes)
            target_include_directories(${t} ${scope} $<BUILD_INTERFACE:${dir}>)
        endforeach()
        if(env STREQUAL "host")
            target_include_directories(${t} ${scope} $<INSTALL_INTERFACE:include>)
            if(ARG_SOURCES)
                set_target_properties(${t} PROPERTIES OUTPUT_NAME keel_${name}
                                                      POSITION_INDEPENDENT_CODE ON)
            endif()
        elseif(env STREQUAL "checked" AND ARG_SOURCES)
            # The sanitizer runtime must reach whatever links the library.
            target_link_libraries(${t} PUBLIC keel_sanitize)
        endif()
    endforeach()
endfunction()
