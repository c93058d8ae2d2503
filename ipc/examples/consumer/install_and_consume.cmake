# ctest ipc_install_consumer: install keel_ipc from a build tree into a scratch prefix, one
# component at a time (core, host_platform, linux), checking that find_package reports each
# optional component exactly when it is there; then build and run examples/consumer/ against
# the installed files only, first through the CMake package, then through pkg-config: a queue in
# one process (own Platform, packaged Platform) and one shared by two processes (the Linux
# transport). Any failing step fails the test.
#
# cmake -DKEEL_BUILD_DIR=... -DKEEL_WORK_DIR=... -DKEEL_CONSUMER_SOURCE=... -DKEEL_CXX=...
#       -DKEEL_GENERATOR=... -P install_and_consume.cmake
cmake_minimum_required(VERSION 3.20)
foreach(v KEEL_BUILD_DIR KEEL_WORK_DIR KEEL_CONSUMER_SOURCE KEEL_CXX KEEL_GENERATOR)
    if(NOT DEFINED ${v})
        message(FATAL_ERROR "install_and_consume.cmake: ${v} not set")
    endif()
endforeach()

set(prefix ${KEEL_WORK_DIR}/prefix)
set(build ${KEEL_WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${KEEL_WORK_DIR})
file(MAKE_DIRECTORY ${KEEL_WORK_DIR})

function(step what)
    message(STATUS "[consumer test] ${what}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "[consumer test] FAILED (${rc}): ${what}")
    endif()
endfunction()

# expect_component(<component> <found?>): does find_package(keel_ipc REQUIRED COMPONENTS
# <component>) succeed against the prefix as installed so far? It must fail cleanly (configure
# error, no crash) while the component is missing.
function(expect_component component found)
    set(dir ${KEEL_WORK_DIR}/want-${component})
    file(WRITE ${dir}/CMakeLists.txt
         "cmake_minimum_required(VERSION 3.20)\nproject(p LANGUAGES NONE)\n"
         "find_package(keel_ipc REQUIRED COMPONENTS ${component})\n")
    file(REMOVE_RECURSE ${dir}/b)
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${dir} -B ${dir}/b -DCMAKE_PREFIX_PATH=${prefix}
                    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(found AND NOT rc EQUAL 0)
        message(FATAL_ERROR "[consumer test] find_package(keel_ipc COMPONENTS ${component}) "
                            "failed after its component was installed")
    elseif(NOT found AND rc EQUAL 0)
        message(FATAL_ERROR "[consumer test] ${component} found although it was not installed")
    endif()
    message(STATUS "[consumer test] find_package(keel_ipc REQUIRED COMPONENTS ${component}): "
                   "${found}, as expected")
endfunction()

# Components only: the rest of the tree's install rules are not this test's business. Each
# optional component is found exactly when it was installed, independently of the other.
step("install keel_ipc" ${CMAKE_COMMAND} --install ${KEEL_BUILD_DIR} --prefix ${prefix}
     --component keel_ipc)
expect_component(host_platform FALSE)
expect_component(linux FALSE)
step("install keel_ipc_host_platform" ${CMAKE_COMMAND} --install ${KEEL_BUILD_DIR}
     --prefix ${prefix} --component keel_ipc_host_platform)
expect_component(host_platform TRUE)
expect_component(linux FALSE)
step("install keel_ipc_linux" ${CMAKE_COMMAND} --install ${KEEL_BUILD_DIR}
     --prefix ${prefix} --component keel_ipc_linux)
expect_component(linux TRUE)

# What was installed must be self-contained: no path back into the source or build tree.
file(GLOB_RECURSE installed_cmake ${prefix}/*.cmake ${prefix}/*.pc)
get_filename_component(source_root ${KEEL_CONSUMER_SOURCE}/../../.. ABSOLUTE)
foreach(f ${installed_cmake})
    file(READ ${f} text)
    foreach(forbidden ${source_root}/ipc ${KEEL_BUILD_DIR})
        string(FIND "${text}" "${forbidden}" at)
        if(NOT at EQUAL -1)
            message(FATAL_ERROR "[consumer test] ${f} refers to ${forbidden}")
        endif()
    endforeach()
endforeach()

# 1. CMake package. The registry is off so only CMAKE_PREFIX_PATH can supply keel_ipc.
step("configure consumer" ${CMAKE_COMMAND} -S ${KEEL_CONSUMER_SOURCE} -B ${build}
     -G ${KEEL_GENERATOR} -DCMAKE_CXX_COMPILER=${KEEL_CXX} -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
     -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
step("build consumer" ${CMAKE_COMMAND} --build ${build})
step("run uppercase_consumer (own Platform)" ${build}/uppercase_consumer)
step("run nop_consumer (keel::ipc_host_platform)" ${build}/nop_consumer)
step("run linux_consumer (keel::ipc_linux: two processes)" ${build}/linux_consumer)

# A version the package does not offer must be refused.
file(WRITE ${KEEL_WORK_DIR}/want-v9/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.20)\nproject(v9 LANGUAGES NONE)\n"
     "find_package(keel_ipc 9.0 REQUIRED)\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${KEEL_WORK_DIR}/want-v9 -B ${KEEL_WORK_DIR}/want-v9/b
                -DCMAKE_PREFIX_PATH=${prefix} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
    message(FATAL_ERROR "[consumer test] find_package(keel_ipc 9.0) succeeded; version file broken")
endif()

# 2. pkg-config.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB_RECURSE pc_files ${prefix}/keel_ipc.pc)  # one, wherever GNUInstallDirs put it
list(LENGTH pc_files n)
if(NOT n EQUAL 1)
    message(FATAL_ERROR "[consumer test] expected one keel_ipc.pc under ${prefix}, found ${n}")
endif()
get_filename_component(pc_dir ${pc_files} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
set(ENV{PKG_CONFIG_LIBDIR} ${pc_dir})  # nothing from the system may stand in for it
# pkg_config_build(<program> <package>...): compiles examples/consumer/<program>.cpp with the
# flags pkg-config gives for the packages, and runs it.
function(pkg_config_build program)
    list(JOIN ARGN " " packages)
    execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${ARGN} RESULT_VARIABLE rc
                    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "[consumer test] pkg-config --cflags --libs ${packages} failed")
    endif()
    message(STATUS "[consumer test] pkg-config flags (${packages}): ${flags}")
    separate_arguments(flag_list UNIX_COMMAND "${flags}")
    step("compile ${program} with pkg-config flags" ${KEEL_CXX} -std=c++20
         ${KEEL_CONSUMER_SOURCE}/${program}.cpp ${flag_list} -o ${KEEL_WORK_DIR}/${program}_pc)
    step("run the pkg-config build of ${program}" ${KEEL_WORK_DIR}/${program}_pc)
endfunction()
pkg_config_build(uppercase_consumer keel_ipc)
pkg_config_build(nop_consumer keel_ipc_host_platform)
pkg_config_build(linux_consumer keel_ipc_linux keel_ipc_host_platform)
message(STATUS "[consumer test] all steps passed")
