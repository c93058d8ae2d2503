# cmake -DIPC=<ipc dir> -DOUT=<dir> -DSCRIPT=<mutant .sed> -DFILE=<path inside ipc/> -P apply_mutant.cmake
# Copies ipc/include and ipc/src to OUT and applies the mutant's sed script to FILE. Fails if
# the script changed nothing (its pattern no longer matches ipc/): a silent no-op mutant would
# "survive" for the wrong reason.
file(REMOVE_RECURSE ${OUT})
file(COPY ${IPC}/include ${IPC}/src DESTINATION ${OUT})
execute_process(COMMAND sed -i -f ${SCRIPT} ${OUT}/${FILE} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sed failed on ${OUT}/${FILE} with ${SCRIPT}")
endif()
file(READ ${IPC}/${FILE} before)
file(READ ${OUT}/${FILE} after)
if(before STREQUAL after)
    message(FATAL_ERROR "mutant ${SCRIPT} did not change ipc/${FILE}: update its pattern")
endif()
