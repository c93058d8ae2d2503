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
printf '#pragma once\n' >"$tmp/ipc/include/ipc/abi.hpp"
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
seams=("$here/check-includes.py" "$tmp" "$repo/ci/style/seams.txt")
expect 0 "clean tree passes the include check" "${seams[@]}"
printf 'int   g( ){return 2 ;}\n' >"$tmp/ipc/src/ugly.cpp"
expect 1 "a badly formatted file fails the format check" "$here/check-format.sh" "$tmp"
rm "$tmp/ipc/src/ugly.cpp"
printf '#include <cstdio>\n' >"$tmp/ipc/src/hosted.cpp"
expect 1 "<cstdio> in ipc/src fails the include check" "${seams[@]}"
printf '#include "../../kernel/x.hpp"\n' >"$tmp/ipc/src/hosted.cpp"
expect 1 "a quoted include out of ipc/src fails the include check" "${seams[@]}"
# Seams: a folder reaching into another's private sources, or a public header it was not
# given, fails; the same header through a public folder it may use passes.
rm "$tmp/ipc/src/hosted.cpp"
mkdir -p "$tmp/boot/src" "$tmp/kernel/proc" "$tmp/user/init" "$tmp/lib/elf/include/keel/elf"
printf 'int r();\n' >"$tmp/boot/src/range_set.hpp"
printf 'int e();\n' >"$tmp/lib/elf/include/keel/elf/elf_check.hpp"
printf '#include <keel/elf/elf_check.hpp>\n' >"$tmp/kernel/proc/spawn.cpp"
expect 0 "kernel/ using lib/elf's public header passes the include check" "${seams[@]}"
printf '#include "range_set.hpp"\n' >"$tmp/kernel/proc/spawn.cpp"
expect 1 "kernel/ including boot/'s private source fails the include check" "${seams[@]}"
printf '#include <keel/elf/elf_check.hpp>\n' | tee "$tmp/kernel/proc/spawn.cpp" >"$tmp/user/init/init.cpp"
expect 1 "user/ using lib/elf, which it was not given, fails the include check" "${seams[@]}"
rm -r "$tmp/boot" "$tmp/kernel" "$tmp/user" "$tmp/lib"

# Workflows: a sane pair (the test workflow and a ClusterFuzzLite one with its build files).
wf="$tmp/.github/workflows"
mkdir -p "$wf" "$tmp/.clusterfuzzlite"
printf 'FROM x\n' >"$tmp/.clusterfuzzlite/Dockerfile"
printf '#!/bin/bash\n' >"$tmp/.clusterfuzzlite/build.sh"
printf 'language: c++\n' >"$tmp/.clusterfuzzlite/project.yaml"
workflow() { # ON RUNS_ON STEP: a one-job workflow; an empty argument leaves its line out
    if [ -n "$1" ]; then printf 'on: %s\n' "$1"; fi
    printf 'jobs:\n  test:\n'
    if [ -n "$2" ]; then printf '    runs-on: %s\n' "$2"; fi
    if [ -n "$3" ]; then printf '    steps:\n      - %s\n' "$3"; fi
}
workflow '[push, pull_request]' ubuntu-latest 'run: docker run --rm -v "$PWD:/keel" debian:12 .ci/run' \
    >"$wf/test.yml"
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
plant() { # FILE CONTENT DESCRIPTION: replace a workflow, expect the check to fail, restore
    cp "$wf/$1" "$tmp/saved"; printf '%s\n' "$2" >"$wf/$1"
    expect 1 "$3" "${check_wf[@]}"
    cp "$tmp/saved" "$wf/$1"
}
# ON | RUNS_ON | STEP | the defect of the planted test.yml (an empty field leaves the line out)
while IFS='|' read -r -u 3 on runs step what; do
    plant test.yml "$(workflow "$on" "$runs" "$step")" "$what fails the workflow check"
done 3<<'TXT'
[push, pull_request]|ubuntu-latest|run: [.ci/run|invalid YAML
|ubuntu-latest|run: .ci/run|a workflow without `on`
[push, pull_request]||run: .ci/run|a job without runs-on
[push, pull_request]|ubuntu-latest||a job without steps
[push, pull-request]|ubuntu-latest|run: .ci/run|an unknown event
[push, pull_request]|ubuntu-latest|run: cmake --build build/host|no workflow running .ci/run
TXT
plant fuzz.yml "$(workflow workflow_dispatch ubuntu-latest \
    'uses: google/clusterfuzzlite/actions/run_fuzzers')" \
    "an unversioned action fails the workflow check"
mv "$tmp/.clusterfuzzlite/build.sh" "$tmp/build.sh.saved"
expect 1 "ClusterFuzzLite without .clusterfuzzlite/build.sh fails the workflow check" \
    "${check_wf[@]}"
mv "$tmp/build.sh.saved" "$tmp/.clusterfuzzlite/build.sh"
expect 0 "restored workflows pass the workflow check again" "${check_wf[@]}"

# Doc paths: links resolve against the Markdown file, backticked paths against the root (or
# the file's folder); URLs, build outputs, globs and placeholders are not paths.
mkdir -p "$tmp/docs"
cat >"$tmp/docs/guide.md" <<'MD'
# Guide
See [the good header](../ipc/include/ipc/good.hpp#top), [a site](https://example.org/a/b),
[the root](../README.md) and `ipc/src/good.cpp:2`, `src/good.cpp` (from ipc/), `ipc/abi.hpp`
(an include name), `build/host/ipc/x`, `ipc/include/ipc/*.hpp`, `fuzz/<name>/`, `a/b...`.
```sh
cat no/such/file  # code blocks are commands, not references
```
MD
printf '# Scratch\n[Guide](docs/guide.md)\n' >"$tmp/README.md"
touch "$tmp/ipc/include/ipc/abi.hpp"
check_doc=("$here/check-doc-paths.py" "$tmp")
expect 0 "doc paths: clean docs pass" "${check_doc[@]}"
plant_doc() { # line description: append a line to README.md, expect a failure, restore
    cp "$tmp/README.md" "$tmp/saved"; printf '%s\n' "$1" >>"$tmp/README.md"
    expect 1 "$2" "${check_doc[@]}"
    cp "$tmp/saved" "$tmp/README.md"
}
plant_doc 'See [the queue](kernel/obj/queue.cpp).' "doc paths: a link to a missing file fails"
plant_doc 'See [rule 3](docs/rules.md#rule-3).' "doc paths: a link#anchor to a missing file fails"
plant_doc 'Fuzz targets go in `ipc/targets/`.' "doc paths: a missing path in backticks fails"
plant_doc 'See [the style](../shared/STYLE.md).' "doc paths: a link out of the repository fails"
plant_doc 'As `../shared/FACTS.md` says.' "doc paths: a backticked path out of the repo fails"
expect 0 "doc paths: restored docs pass again" "${check_doc[@]}"
exit $fail
