# keel_ipc_mutant_library(<name>): target keel_ipc_mutant_<name>, ipc/'s sources with the
# seeded bug spec/mutants/<name>.sed applied to a copy in the build tree (ipc/ itself is never
# touched). Its PUBLIC include directory is the mutated copy of ipc/include, so code compiled
# against it sees the mutant's rules.hpp. Sets, in the caller's scope,
#   KEEL_MUTANT_<name>_INCLUDE  the mutated include directory
#   KEEL_MUTANT_<name>_FILE     the file the mutant changes (e.g. include/ipc/rules.hpp)
# Usable from proptest/ and fuzz/ as well (include this file, or call it after spec/ ran).
set(KEEL_SPEC_MUTANT_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")

# keel_mutant_build(<target>): compile a target that exists only to be refuted without
# optimisation or debug information. There are dozens of them (each mutant recompiles the
# spec model, the refinement check and the property harness against its own headers), they
# run for seconds, and at -O1/-O2 with -g they took a third of the CI's build time. Appended
# after the target's own options, so these win.
function(keel_mutant_build target)
    target_compile_options(${target} PRIVATE -O0 -g0)
endfunction()

function(keel_ipc_mutant_library name)
    set(script ${KEEL_SPEC_MUTANT_CMAKE_DIR}/../mutants/${name}.sed)
    foreach(sub endpoint shared)
        if(NOT EXISTS ${script})
            set(script ${KEEL_SPEC_MUTANT_CMAKE_DIR}/../mutants/${sub}/${name}.sed)
        endif()
    endforeach()
    if(NOT EXISTS ${script})
        message(FATAL_ERROR "no mutant ${name}: ${script} missing")
    endif()
    file(STRINGS ${script} header REGEX "^# file: ")
    list(GET header 0 header)
    string(REGEX REPLACE "^# file: *" "" file "${header}")
    set(ipc ${PROJECT_SOURCE_DIR}/ipc)
    set(out ${CMAKE_BINARY_DIR}/ipc_mutants/${name})
    file(GLOB headers ${ipc}/include/ipc/*.hpp)
    set(outputs ${out}/src/client.cpp ${out}/src/server.cpp)
    foreach(h ${headers})
        get_filename_component(n ${h} NAME)
        list(APPEND outputs ${out}/include/ipc/${n})
    endforeach()
    # Defined once (spec/ and proptest/ or fuzz/ may all ask for the same mutant): one rule
    # generates the copy, every later caller reuses the target.
    if(NOT TARGET keel_ipc_mutant_${name})
        add_custom_command(
            OUTPUT ${outputs}
            COMMAND ${CMAKE_COMMAND} -DIPC=${ipc} -DOUT=${out} -DSCRIPT=${script} -DFILE=${file}
                    -P ${KEEL_SPEC_MUTANT_CMAKE_DIR}/apply_mutant.cmake
            DEPENDS ${script} ${headers} ${ipc}/src/client.cpp ${ipc}/src/server.cpp
                    ${KEEL_SPEC_MUTANT_CMAKE_DIR}/apply_mutant.cmake
            COMMENT "ipc mutant ${name}: ${file}")
        # The mutated copy alone, for targets that compile its sources or read its headers
        # themselves (spec/'s programs) and need not build the library.
        add_custom_target(keel_ipc_mutant_${name}_sources DEPENDS ${outputs})
        add_library(keel_ipc_mutant_${name} STATIC ${out}/src/client.cpp ${out}/src/server.cpp)
        target_include_directories(keel_ipc_mutant_${name} BEFORE PUBLIC ${out}/include)
        # No -Werror: a seeded bug may leave an unused parameter behind.
        target_link_libraries(keel_ipc_mutant_${name} PUBLIC keel_sanitize)
        keel_mutant_build(keel_ipc_mutant_${name})
    endif()
    set(KEEL_MUTANT_${name}_INCLUDE ${out}/include PARENT_SCOPE)
    set(KEEL_MUTANT_${name}_FILE ${file} PARENT_SCOPE)
endfunction()

# The names of the mutant scripts in `dir`, sorted.
function(keel_ipc_mutant_names_in dir out_var)
    file(GLOB scripts ${dir}/*.sed)
    set(names "")
    foreach(s ${scripts})
        get_filename_component(n ${s} NAME_WE)
        list(APPEND names ${n})
    endforeach()
    list(SORT names)
    set(${out_var} ${names} PARENT_SCOPE)
endfunction()

# Every mutant spec/ keeps, by name.
function(keel_ipc_mutant_names out_var)
    keel_ipc_mutant_names_in(${KEEL_SPEC_MUTANT_CMAKE_DIR}/../mutants names)
    set(${out_var} ${names} PARENT_SCOPE)
endfunction()

# The endpoint mutants (spec/mutants/endpoint/*.sed), by name: bugs in client.cpp / server.cpp
# that the refinement check must refute on its own (spec.refinement.mutant.<name>). Not in
# keel_ipc_mutant_names: the property and fuzz adequacy tables keep their own set.
function(keel_ipc_endpoint_mutant_names out_var)
    keel_ipc_mutant_names_in(${KEEL_SPEC_MUTANT_CMAKE_DIR}/../mutants/endpoint names)
    set(${out_var} ${names} PARENT_SCOPE)
endfunction()
