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
        if [ "$want" = 1 ]; then sed 's/^/      /' "$tmp/out" | head -n 3; fi
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

# Workflows: a sane pair (the test workflow and a ClusterFuzzLite one with its build files).
wf="$tmp/.github/workflows"
mkdir -p "$wf" "$tmp/.clusterfuzzlite"
printf 'FROM x\n' >"$tmp/.clusterfuzzlite/Dockerfile"
printf '#!/bin/bash\n' >"$tmp/.clusterfuzzlite/build.sh"
printf 'language: c++\n' >"$tmp/.clusterfuzzlite/project.yaml"
cat >"$wf/test.yml" <<'YML'
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker run --rm -v "$PWD:/keel" -w /keel debian:12 .ci/run
YML
cat >"$wf/fuzz.yml" <<'YML'
on:
  schedule:
    - cron: "0 2 * * *"
jobs:
  fuzz:
    runs-on: ubuntu-latest
    steps:
      - uses: google/clusterfuzzlite/actions/run_fuzzers@v1
        with:
          mode: batch
YML
check_wf=("$here/check-workflows.py" "$tmp")
expect 0 "clean workflows pass the workflow check" "${check_wf[@]}"
plant() { # file content: replace a workflow, expect the check to fail, restore
    cp "$wf/$1" "$tmp/saved"; printf '%s\n' "$2" >"$wf/$1"
    expect 1 "$3" "${check_wf[@]}"
    cp "$tmp/saved" "$wf/$1"
}
plant test.yml 'on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: [.ci/run' "invalid YAML fails the workflow check"
plant test.yml 'jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: .ci/run' "a workflow without \`on\` fails the workflow check"
plant test.yml 'on: [push, pull_request]
jobs:
  test:
    steps:
      - run: .ci/run' "a job without runs-on fails the workflow check"
plant test.yml 'on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest' "a job without steps fails the workflow check"
plant test.yml 'on: [push, pull-request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: .ci/run' "an unknown event fails the workflow check"
plant test.yml 'on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: cmake --build build/host' "no workflow running .ci/run fails the workflow check"
plant fuzz.yml 'on: workflow_dispatch
jobs:
  fuzz:
    runs-on: ubuntu-latest
    steps:
      - uses: google/clusterfuzzlite/actions/run_fuzzers' "an unversioned action fails the workflow check"
mv "$tmp/.clusterfuzzlite/build.sh" "$tmp/build.sh.saved"
expect 1 "ClusterFuzzLite without .clusterfuzzlite/build.sh fails the workflow check" "${check_wf[@]}"
mv "$tmp/build.sh.saved" "$tmp/.clusterfuzzlite/build.sh"
expect 0 "restored workflows pass the workflow check again" "${check_wf[@]}"
exit $fail
