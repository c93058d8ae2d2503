# Host-build helpers: sanitizers, test dependencies, a function to add GoogleTest suites.
set(KEEL_SANITIZE "address,undefined" CACHE STRING
    "Sanitizers for host code: 'address,undefined', 'thread' or 'none'")

add_library(keel_sanitize INTERFACE)
if(NOT KEEL_SANITIZE STREQUAL "none" AND NOT KEEL_SANITIZE STREQUAL "")
    target_compile_options(keel_sanitize INTERFACE -fsanitize=${KEEL_SANITIZE} -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=all)
    target_link_options(keel_sanitize INTERFACE -fsanitize=${KEEL_SANITIZE})
endif()

add_library(keel_warnings INTERFACE)
target_compile_options(keel_warnings INTERFACE -Wall -Wextra -Werror -Wshadow -Wconversion
                                               -Wno-sign-conversion)

find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
include(GoogleTest)

# keel_add_gtest(NAME LABEL SOURCES... [LIBS ...] [PREFIX p]): one GoogleTest binary, its tests
# discovered into ctest under LABEL, each named "<p>Suite.Test" (so `ctest -R ^p` selects them).
function(keel_add_gtest name label)
    cmake_parse_arguments(ARG "" "PREFIX" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main keel_sanitize keel_warnings
                                          ${ARG_LIBS})
    gtest_discover_tests(${name} TEST_PREFIX "${ARG_PREFIX}" PROPERTIES LABELS ${label}
                         DISCOVERY_TIMEOUT 60)
endfunction()
