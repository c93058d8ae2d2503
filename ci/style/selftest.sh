#!/usr/bin/env bash
# The style checks must be able to fail: run each on a scratch tree with one planted defect
# and require a non-zero exit, then on the clean version and require zero.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ipc/include/ipc" "$tmp/ipc/src"
cp "$repo/.clang-format" "$tmp/"
printf '#pragma once\n\n#include <cstdint>\n\n#include <ipc/abi.hpp>\n' >"$tmp/ipc/include/ipc/good.hpp"
printf '#include <ipc/good.hpp>\n\nint f() {\n    return 1;\n}\n' >"$tmp/ipc/src/good.cpp"
fail=0
expect() { # want_rc description command...
    local want=$1 what=$2; shift 2
    "$@" >"$tmp/out" 2>&1; local rc=$?
    if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" = 1 ] && [ $rc -eq 0 ]; }; then
        echo "FAIL: $what (exit $rc)"; cat "$tmp/out"; fail=1
    else
        echo "ok: $what"
    fi
}
expect 0 "clean tree passes the format check" "$here/check-format.sh" "$tmp"
expect 0 "clean tree passes the include check" "$here/check-ipc-includes.sh" "$tmp"
printf 'int   g( ){return 2 ;}\n' >"$tmp/ipc/src/ugly.cpp"
expect 1 "a badly formatted file fails the format check" "$here/check-format.sh" "$tmp"
rm "$tmp/ipc/src/ugly.cpp"
printf '#include <cstdio>\n' >"$tmp/ipc/src/hosted.cpp"
expect 1 "<cstdio> in ipc/src fails the include check" "$here/check-ipc-includes.sh" "$tmp"
printf '#include "../../kernel/x.hpp"\n' >"$tmp/ipc/src/hosted.cpp"
expect 1 "a quoted include in ipc/src fails the include check" "$here/check-ipc-includes.sh" "$tmp"
exit $fail
