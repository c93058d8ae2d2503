#!/usr/bin/env bash
# B5's disassembly check: no instruction on the IPC fast path may assert the bus lock or act
# as a full fence. On x86-64 that means no `lock` prefix, no `xchg` with a memory operand
# (implicitly locked: what a seq_cst store compiles to), no mfence. Acquire loads and release
# stores are plain `mov`s, which is what the protocol relies on.
#
# usage: check_no_lock.sh OBJDUMP FILE... -- FUNCTION_REGEX...
#   Every function in each FILE is checked (the whole of ipc/, not only the fast path: none of
#   it needs a locked instruction). Each FUNCTION_REGEX must name at least one function found,
#   so that a renamed or vanished fast-path function cannot make the check pass vacuously.
set -euo pipefail
objdump=$1
shift
files=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    files+=("$1")
    shift
done
[ $# -gt 0 ] && shift
[ ${#files[@]} -gt 0 ] || { echo "usage: $0 OBJDUMP FILE... -- FUNCTION_REGEX..." >&2; exit 2; }

listing=$(mktemp)
trap 'rm -f "$listing"' EXIT
for f in "${files[@]}"; do
    "$objdump" -d --no-show-raw-insn -C "$f" >>"$listing"
done

# Functions and offending instructions in one pass: "<name>:" lines open a function.
bad=$(awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); next }
    /^ *[0-9a-f]+:\t/ {
        insn = $0; sub(/^ *[0-9a-f]+:\t/, "", insn)
        if (insn ~ /(^|[ \t])lock([ \t]|$)/ || insn ~ /^(mfence|cmpxchg|xadd)/ ||
            (insn ~ /^xchg/ && insn ~ /\(/)) print fn ": " insn
    }' "$listing")
functions=$(grep -E '^[0-9a-f]+ <.*>:$' "$listing" | sed -E 's/^[0-9a-f]+ <(.*)>:$/\1/' | sort -u)

rc=0
if [ -n "$bad" ]; then
    echo "FAIL: locked or fencing instructions found:"
    echo "$bad"
    rc=1
fi
for re in "$@"; do
    if ! grep -Eq -- "$re" <<<"$functions"; then
        echo "FAIL: no function matches '$re' (fast path renamed? update the test)"
        rc=1
    fi
done
count=$(wc -l <<<"$functions")
if [ $rc -eq 0 ]; then
    echo "no locked instruction in $count functions of ${#files[@]} file(s); fast path present: $*"
fi
exit $rc
