# Host-build helpers: test dependencies and a function to add GoogleTest suites (the
# sanitizer and warning flags are environments, in KeelLibrary.cmake).
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

# Property tests (RapidCheck). Every property runs at least 1000 cases in CI (RapidCheck's
# default is 100).
find_package(rapidcheck REQUIRED)
set(KEEL_RC_PARAMS "max_success=1000" CACHE STRING "RC_PARAMS for the proptest label")

# keel_add_proptest(NAME SOURCES... [LIBS ...] [PREFIX p] [RC_PARAMS params]): one
# RapidCheck/GoogleTest binary, its properties discovered into ctest under the label proptest,
# run with KEEL_RC_PARAMS (or the RC_PARAMS given: a binary whose random runs have a known open
# failure runs a fixed seed in CI, and says why where it is declared).
function(keel_add_proptest name)
    cmake_parse_arguments(ARG "" "PREFIX;RC_PARAMS" "SOURCES;LIBS" ${ARGN})
    if(NOT ARG_RC_PARAMS)
        set(ARG_RC_PARAMS ${KEEL_RC_PARAMS})
    endif()
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE rapidcheck_gtest rapidcheck GTest::gtest
                                          GTest::gtest_main keel_sanitize keel_warnings ${ARG_LIBS})
    gtest_discover_tests(${name} TEST_PREFIX "${ARG_PREFIX}" PROPERTIES LABELS proptest
                         ENVIRONMENT "RC_PARAMS=${ARG_RC_PARAMS}" DISCOVERY_TIMEOUT 60)
endfunction()
