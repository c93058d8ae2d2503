#!/usr/bin/env bash
# expect_caught.sh PROPTEST-BINARY: runs the properties against a seeded mutant of ipc/ and
# passes only if they catch it (a property fails or the library's own assertion fires). Stops at
# the first failing property. Prints how it was caught.
set -uo pipefail
out=$("$1" --gtest_fail_fast --gtest_filter='IpcModel.*:IpcRegression.*' 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
    echo "$out" | tail -n 5
    echo "mutant SURVIVED: every property passed"
    exit 1
fi
how=$(grep -m1 -E "^\[  FAILED  \] Ipc|assertion failed|ERROR: AddressSanitizer|runtime error" <<<"$out")
step=$(grep -m1 -E "^step #" <<<"$out")
echo "mutant caught: ${how:-exit $rc}"
[ -n "$step" ] && echo "  $step"
grep -m1 -E "^Falsifiable" <<<"$out"
exit 0
