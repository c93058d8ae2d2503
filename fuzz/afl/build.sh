#!/usr/bin/env bash
# afl/build.sh [OUTDIR]: builds every fuzz target with AFL++ (afl-clang-fast++), from the same
# sources as the libFuzzer targets, into OUTDIR (default build/afl):
#   <name>.persistent   persistent mode (AFL++'s libFuzzer driver, -fsanitize=fuzzer), -O2
#   <name>.asan         the same under ASan + UBSan (the campaign's main instance runs it)
#   <name>.cmplog       persistent, with comparison logging for afl-fuzz -c
#   <name>.forkserver   no persistence: replay_main.cpp runs one input per process (@@)
# Not part of ctest: the campaign (fuzz/campaign.sh) and the speed comparison use it.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$top/build/afl}
mkdir -p "$out"
export AFL_QUIET=1
root=$top
# shellcheck source=../targets.sh
source "$top/fuzz/targets.sh"
inc=("${keel_fuzz_includes[@]}")
flags=(-std=c++20 -O2 -g "${inc[@]}")
# The differential target's lock-step checker (proptest/model/src/system.cpp) is compiled
# without AFL's instrumentation, as in the libFuzzer builds (differential/coverage_ignore.txt):
# its edges are bookkeeping and only slow every execution down.
clang++-14 "${flags[@]}" -c "$top/proptest/model/src/system.cpp" -o "$out/system.o" &
clang++-14 "${flags[@]}" -fsanitize=address,undefined -c "$top/proptest/model/src/system.cpp" \
    -o "$out/system.asan.o" &
wait

declare -n source=keel_fuzz_source
targets=("${!source[@]}")
[ -n "${KEEL_AFL_TARGETS:-}" ] && read -r -a targets <<<"$KEEL_AFL_TARGETS"

build() { # name variant extra-flags...
    local name=$1 variant=$2; shift 2
    local checker=$out/system.o
    [ "$variant" = asan ] && checker=$out/system.asan.o
    keel_fuzz_parts "$name"
    [ "$name" = kernel_objects ] && checker=()  # no model in it
    echo "afl: $name.$variant" >&2
    afl-clang-fast++ "${flags[@]}" "$@" "$top/${source[$name]}" "${keel_parts[@]}" \
        ${checker[@]+"${checker[@]}"} -o "$out/$name.$variant"
}

for name in "${targets[@]}"; do
    build "$name" persistent -fsanitize=fuzzer &
    AFL_USE_ASAN=1 AFL_USE_UBSAN=1 build "$name" asan -fsanitize=fuzzer &
    wait
    AFL_LLVM_CMPLOG=1 build "$name" cmplog -fsanitize=fuzzer &
    build "$name" forkserver "$top/fuzz/replay_main.cpp" &
    wait
done
echo "afl: built into $out" >&2
