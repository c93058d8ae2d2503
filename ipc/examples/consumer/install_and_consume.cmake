# ctest ipc_install_consumer: install keel_ipc from a build tree into a scratch prefix, then
# build and run examples/consumer/ against the installed files only, first through the CMake
# package, then through pkg-config. Any failing step fails the test.
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

# Components only: the rest of the tree's install rules are not this test's business.
step("install keel_ipc" ${CMAKE_COMMAND} --install ${KEEL_BUILD_DIR} --prefix ${prefix}
     --component keel_ipc)

# Without its component, the package must report host_platform as missing.
file(WRITE ${KEEL_WORK_DIR}/want-platform/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.20)\nproject(p LANGUAGES NONE)\n"
     "find_package(keel_ipc REQUIRED COMPONENTS host_platform)\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${KEEL_WORK_DIR}/want-platform
                -B ${KEEL_WORK_DIR}/want-platform/b -DCMAKE_PREFIX_PATH=${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
    message(FATAL_ERROR "[consumer test] host_platform found although it was not installed")
endif()

step("install keel_ipc_host_platform" ${CMAKE_COMMAND} --install ${KEEL_BUILD_DIR}
     --prefix ${prefix} --component keel_ipc_host_platform)
step("find_package(keel_ipc COMPONENTS host_platform) now succeeds" ${CMAKE_COMMAND}
     -S ${KEEL_WORK_DIR}/want-platform -B ${KEEL_WORK_DIR}/want-platform/b2
     -DCMAKE_PREFIX_PATH=${prefix})

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
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs keel_ipc RESULT_VARIABLE rc
                OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[consumer test] pkg-config --cflags --libs keel_ipc failed")
endif()
message(STATUS "[consumer test] pkg-config flags: ${flags}")
separate_arguments(flag_list UNIX_COMMAND "${flags}")
step("compile with pkg-config flags" ${KEEL_CXX} -std=c++20
     ${KEEL_CONSUMER_SOURCE}/uppercase_consumer.cpp ${flag_list}
     -o ${KEEL_WORK_DIR}/uppercase_consumer_pc)
step("run the pkg-config build" ${KEEL_WORK_DIR}/uppercase_consumer_pc)

execute_process(COMMAND ${PKG_CONFIG} --cflags --libs keel_ipc_host_platform RESULT_VARIABLE rc
                OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[consumer test] pkg-config --cflags --libs keel_ipc_host_platform failed")
endif()
message(STATUS "[consumer test] pkg-config flags (host platform): ${flags}")
separate_arguments(flag_list UNIX_COMMAND "${flags}")
step("compile nop_consumer with pkg-config flags" ${KEEL_CXX} -std=c++20
     ${KEEL_CONSUMER_SOURCE}/nop_consumer.cpp ${flag_list} -o ${KEEL_WORK_DIR}/nop_consumer_pc)
step("run the pkg-config build of nop_consumer" ${KEEL_WORK_DIR}/nop_consumer_pc)
message(STATUS "[consumer test] all steps passed")
