# Installation of ipc/ for use outside Keel (included by ipc/CMakeLists.txt in the host build,
# after ipc/linux/ has declared its targets).
#
#   cmake --install build/host --prefix P
#
# installs into P, in three components:
#   keel_ipc                  include/ipc/*.hpp (the public headers), lib/libkeel_ipc.a (the
#                             plain library, no sanitizers), lib/cmake/keel_ipc/ (the CMake
#                             package: find_package(keel_ipc) gives keel::ipc, with a version
#                             file), lib/pkgconfig/keel_ipc.pc
#   keel_ipc_host_platform    lib/libkeel_ipc_host_platform.a and include/ipc/host/
#                             host_platform.hpp: the hosted Platform (prints and aborts), as
#                             the package's optional component host_platform, target
#                             keel::ipc_host_platform; lib/pkgconfig/keel_ipc_host_platform.pc
#   keel_ipc_linux            the Linux transport (ipc/linux/: memfd + futex + Unix socket):
#                             include/ipc/linux/*.hpp, lib/libkeel_ipc_linux.a and
#                             lib/libkeel_ipc_linux_hello.a (its handshake parser), plain like
#                             keel_ipc, as the package's optional component linux, target
#                             keel::ipc_linux (it brings keel::ipc; a program still needs a
#                             Platform); lib/pkgconfig/keel_ipc_linux.pc (Requires: keel_ipc)
#
# `cmake --install ... --component keel_ipc` installs the core alone; the package then reports
# the host_platform and linux components as not found. Every path in the package and the .pc
# files is relative to where they were installed: the prefix can be moved.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KEEL_IPC_VERSION ${PROJECT_VERSION})
set(KEEL_IPC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/keel_ipc)

# The installed libraries are the `host` variants of keel_library (ipc/CMakeLists.txt): the
# same sources as the checked ones the tests use, built plain, named without the suffix.
set_target_properties(keel_ipc_host PROPERTIES EXPORT_NAME ipc)
set_target_properties(keel_ipc_host_platform_host PROPERTIES EXPORT_NAME ipc_host_platform)
# ipc/linux/ declares nothing in the ThreadSanitizer tree.
if(TARGET keel_ipc_linux_host)
    set(KEEL_IPC_INSTALL_LINUX TRUE)
    set_target_properties(keel_ipc_linux_host PROPERTIES EXPORT_NAME ipc_linux)
    set_target_properties(keel_ipc_linux_hello_host PROPERTIES EXPORT_NAME ipc_linux_hello)
else()
    set(KEEL_IPC_INSTALL_LINUX FALSE)
endif()
target_include_directories(keel_ipc_host_platform_host INTERFACE
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/ipc/host>)
target_link_libraries(keel_ipc_host_platform_host INTERFACE keel_ipc_host)

# ---- component keel_ipc: headers, library, package, pkg-config ----
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ipc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT keel_ipc FILES_MATCHING PATTERN "*.hpp")
install(TARGETS keel_ipc_host EXPORT keel_ipc_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT keel_ipc
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT keel_ipc_targets NAMESPACE keel:: FILE keel_ipc_targets.cmake
        DESTINATION ${KEEL_IPC_CMAKE_DIR} COMPONENT keel_ipc)

# The package and pkg-config templates live here rather than in files of their own so that
# everything the installation is made of sits in this one file.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc-config.cmake.in [=[
# keel_ipc CMake package. Targets: keel::ipc (always); keel::ipc_host_platform (component
# host_platform) and keel::ipc_linux (component linux, the Linux transport), each if it was
# installed. A program that links keel::ipc defines the panic hook once with
# KEEL_IPC_PLATFORM(MyPlatform), or links keel::ipc_host_platform, which does.
@PACKAGE_INIT@
include("${CMAKE_CURRENT_LIST_DIR}/keel_ipc_targets.cmake")
foreach(_keel_ipc_component host_platform linux)
    set(keel_ipc_${_keel_ipc_component}_FOUND FALSE)
    set(_keel_ipc_file "${CMAKE_CURRENT_LIST_DIR}/keel_ipc_${_keel_ipc_component}_targets.cmake")
    if(EXISTS "${_keel_ipc_file}")
        include("${_keel_ipc_file}")
        set(keel_ipc_${_keel_ipc_component}_FOUND TRUE)
    endif()
endforeach()
unset(_keel_ipc_component)
unset(_keel_ipc_file)
check_required_components(keel_ipc)
]=])
configure_package_config_file(${CMAKE_CURRENT_BINARY_DIR}/keel_ipc-config.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc-config.cmake INSTALL_DESTINATION ${KEEL_IPC_CMAKE_DIR})
# SameMajorVersion: a new major version may change the API (the shared layout has its own
# version in abi.hpp, checked at attach).
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/keel_ipc-config-version.cmake
    VERSION ${KEEL_IPC_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc-config-version.cmake
        DESTINATION ${KEEL_IPC_CMAKE_DIR} COMPONENT keel_ipc)

# pkg-config: the prefix is found relative to the .pc file, so the installed tree can be moved
# (and the test can install into a scratch prefix chosen at install time). C++20 is required
# of the consumer; the flag is not forced here because a consumer may use a later standard.
file(RELATIVE_PATH KEEL_IPC_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" KEEL_IPC_PC_TO_PREFIX "${KEEL_IPC_PC_TO_PREFIX}")
# keel_ipc_pkg_config(NAME COMPONENT DESCRIPTION [REQUIRES pkg] CFLAGS flags LIBS flags):
# writes NAME.pc and installs it with COMPONENT. Flags may name ${includedir} and ${libdir}
# (pass them in [[brackets]] so that CMake leaves them alone).
function(keel_ipc_pkg_config name component description)
    cmake_parse_arguments(ARG "" "REQUIRES;CFLAGS;LIBS" "" ${ARGN})
    set(KEEL_PC_NAME ${name})
    set(KEEL_PC_DESCRIPTION ${description})
    set(KEEL_PC_REQUIRES "")
    if(ARG_REQUIRES)
        set(KEEL_PC_REQUIRES "Requires: ${ARG_REQUIRES}\n")
    endif()
    set(KEEL_PC_CFLAGS ${ARG_CFLAGS})
    set(KEEL_PC_LIBS ${ARG_LIBS})
    file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${name}.pc @ONLY CONTENT [=[
prefix=${pcfiledir}/@KEEL_IPC_PC_TO_PREFIX@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@

Name: @KEEL_PC_NAME@
Description: @KEEL_PC_DESCRIPTION@
Version: @KEEL_IPC_VERSION@
@KEEL_PC_REQUIRES@Cflags: @KEEL_PC_CFLAGS@
Libs: @KEEL_PC_LIBS@
]=])
    install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${name}.pc
            DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT ${component})
endfunction()

keel_ipc_pkg_config(keel_ipc keel_ipc
    "Keel's freestanding ring-queue and owned-buffer IPC library (C++20)"
    CFLAGS [[-I${includedir}]] LIBS [[-L${libdir} -lkeel_ipc]])

# ---- component keel_ipc_host_platform: the optional hosted Platform ----
keel_ipc_pkg_config(keel_ipc_host_platform keel_ipc_host_platform
    "The hosted Platform for keel_ipc: panic prints and aborts"
    REQUIRES "keel_ipc = ${KEEL_IPC_VERSION}" CFLAGS [[-I${includedir}/ipc/host]]
    LIBS "-L\${libdir} -Wl,--undefined=${KEEL_IPC_PANIC_SYMBOL} -lkeel_ipc_host_platform")
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/host/host_platform.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ipc/host COMPONENT keel_ipc_host_platform)
install(TARGETS keel_ipc_host_platform_host EXPORT keel_ipc_host_platform_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT keel_ipc_host_platform)
install(EXPORT keel_ipc_host_platform_targets NAMESPACE keel::
        FILE keel_ipc_host_platform_targets.cmake DESTINATION ${KEEL_IPC_CMAKE_DIR}
        COMPONENT keel_ipc_host_platform)

# ---- component keel_ipc_linux: the optional Linux transport ----
# The host variants of ipc/linux/'s keel_library declarations: the sources the tests run
# (checked), built plain. The handshake parser is a library of its own in the tree (fuzzers);
# it is installed beside the transport, which links it.
if(KEEL_IPC_INSTALL_LINUX)
    install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/linux/include/ipc
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT keel_ipc_linux
            FILES_MATCHING PATTERN "*.hpp")
    install(TARGETS keel_ipc_linux_host keel_ipc_linux_hello_host
            EXPORT keel_ipc_linux_targets
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT keel_ipc_linux)
    install(EXPORT keel_ipc_linux_targets NAMESPACE keel:: FILE keel_ipc_linux_targets.cmake
            DESTINATION ${KEEL_IPC_CMAKE_DIR} COMPONENT keel_ipc_linux)
    keel_ipc_pkg_config(keel_ipc_linux keel_ipc_linux
        "Keel's Linux transport for keel_ipc: two processes share a queue (memfd, futex, socket)"
        REQUIRES "keel_ipc = ${KEEL_IPC_VERSION}" CFLAGS [[-I${includedir}]]
        LIBS [[-L${libdir} -lkeel_ipc_linux -lkeel_ipc_linux_hello]])
endif()

# ---- the install-and-consume test ----
# Installs the three components into a prefix under the build tree, builds
# examples/consumer/ against it with find_package and again with pkg-config, and runs both.
# It installs what the build made: build keel_ipc_host, keel_ipc_host_platform_host,
# keel_ipc_linux_host and keel_ipc_linux_hello_host first (a plain `cmake --build build/host`
# does).
if(BUILD_TESTING AND NOT KEEL_TSAN_ONLY)
    add_test(NAME ipc_install_consumer
             COMMAND ${CMAKE_COMMAND}
                     -DKEEL_BUILD_DIR=${PROJECT_BINARY_DIR}
                     -DKEEL_WORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install-test
                     -DKEEL_CONSUMER_SOURCE=${CMAKE_CURRENT_SOURCE_DIR}/examples/consumer
                     -DKEEL_CXX=${CMAKE_CXX_COMPILER}
                     -DKEEL_GENERATOR=${CMAKE_GENERATOR}
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/examples/consumer/install_and_consume.cmake)
    set_tests_properties(ipc_install_consumer PROPERTIES LABELS unit TIMEOUT 240
                         RESOURCE_LOCK keel_ipc_install_prefix)
endif()
