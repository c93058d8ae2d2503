# Installation of ipc/ for use outside Keel (included by ipc/CMakeLists.txt in the host build).
#
#   cmake --install build/host --prefix P
#
# installs into P, in two components:
#   keel_ipc                  include/ipc/*.hpp (the public headers), lib/libkeel_ipc.a (the
#                             plain library, no sanitizers), lib/cmake/keel_ipc/ (the CMake
#                             package: find_package(keel_ipc) gives keel::ipc, with a version
#                             file), lib/pkgconfig/keel_ipc.pc
#   keel_ipc_host_platform    lib/libkeel_ipc_host_platform.a and include/ipc/host/
#                             host_platform.hpp: the hosted Platform (prints and aborts), as
#                             the package's optional component host_platform, target
#                             keel::ipc_host_platform; lib/pkgconfig/keel_ipc_host_platform.pc
#
# `cmake --install ... --component keel_ipc` installs the core alone; the package then reports
# the host_platform component as not found.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KEEL_IPC_VERSION ${PROJECT_VERSION})
set(KEEL_IPC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/keel_ipc)

# The installed libraries are the `host` variants of keel_library (ipc/CMakeLists.txt): the
# same sources as the checked ones the tests use, built plain, named without the suffix.
set_target_properties(keel_ipc_host PROPERTIES EXPORT_NAME ipc)
set_target_properties(keel_ipc_host_platform_host PROPERTIES EXPORT_NAME ipc_host_platform)
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
# keel_ipc CMake package. Targets: keel::ipc (always), keel::ipc_host_platform (component
# host_platform, if it was installed). A program that links keel::ipc defines the panic hook
# once with KEEL_IPC_PLATFORM(MyPlatform), or links keel::ipc_host_platform, which does.
@PACKAGE_INIT@
include("${CMAKE_CURRENT_LIST_DIR}/keel_ipc_targets.cmake")
set(keel_ipc_host_platform_FOUND FALSE)
if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/keel_ipc_host_platform_targets.cmake")
    include("${CMAKE_CURRENT_LIST_DIR}/keel_ipc_host_platform_targets.cmake")
    set(keel_ipc_host_platform_FOUND TRUE)
endif()
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
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc.pc @ONLY CONTENT [=[
prefix=${pcfiledir}/@KEEL_IPC_PC_TO_PREFIX@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@

Name: keel_ipc
Description: Keel's freestanding ring-queue and owned-buffer IPC library (C++20)
Version: @KEEL_IPC_VERSION@
Cflags: -I${includedir}
Libs: -L${libdir} -lkeel_ipc
]=])
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT keel_ipc)

file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc_host_platform.pc @ONLY CONTENT [=[
prefix=${pcfiledir}/@KEEL_IPC_PC_TO_PREFIX@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@

Name: keel_ipc_host_platform
Description: The hosted Platform for keel_ipc: panic prints and aborts
Version: @KEEL_IPC_VERSION@
Requires: keel_ipc = @KEEL_IPC_VERSION@
Cflags: -I${includedir}/ipc/host
Libs: -L${libdir} -Wl,--undefined=@KEEL_IPC_PANIC_SYMBOL@ -lkeel_ipc_host_platform
]=])

# ---- component keel_ipc_host_platform: the optional hosted Platform ----
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/keel_ipc_host_platform.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT keel_ipc_host_platform)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/host/host_platform.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ipc/host COMPONENT keel_ipc_host_platform)
install(TARGETS keel_ipc_host_platform_host EXPORT keel_ipc_host_platform_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT keel_ipc_host_platform)
install(EXPORT keel_ipc_host_platform_targets NAMESPACE keel::
        FILE keel_ipc_host_platform_targets.cmake DESTINATION ${KEEL_IPC_CMAKE_DIR}
        COMPONENT keel_ipc_host_platform)

# ---- the install-and-consume test ----
# Installs the two components into a prefix under the build tree, builds
# examples/consumer/ against it with find_package and again with pkg-config, and runs both.
# It installs what the build made: build keel_ipc_host and keel_ipc_host_platform_host first (a
# plain `cmake --build build/host` does).
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
