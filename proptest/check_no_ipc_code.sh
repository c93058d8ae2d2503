#!/bin/sh
# check_no_ipc_code.sh NM OBJECT...: fails if an object defines code of keel::ipc (a function
# of ipc/'s headers instantiated there). The mutant-adequacy builds share these objects across
# every mutant of ipc/, so code of ipc/ inside them would be the real one in every mutant
# build, and a seeded bug in it could not be caught (proptest/CMakeLists.txt).
nm=$1
shift
[ $# -gt 0 ] || { echo "no objects given" >&2; exit 2; }
# nm's own failure (a missing object, an unreadable one) fails the check rather than reading
# as "nothing found".
symbols=$("$nm" --defined-only --demangle "$@") || { echo "nm failed on $*" >&2; exit 2; }
found=$(printf '%s\n' "$symbols" | awk '$2 ~ /^[TtWw]$/' | grep 'keel::ipc::')
if [ -n "$found" ]; then
    echo "code of keel::ipc defined in the shared property objects:"
    echo "$found"
    exit 1
fi
echo "no code of keel::ipc in $# objects"
