#!/usr/bin/env bash
# coverage.sh: clang source-based line and branch coverage of ipc/ (./keel coverage), from
# ipc/'s unit tests plus a replay of the committed fuzz corpora (fuzz/corpus/*). Its own build
# directory (build/coverage: no sanitizers, instrumented with -fprofile-instr-generate
# -fcoverage-mapping). Prints the per-file table and the totals, writes an HTML report to
# build/coverage/html/index.html, and compares the totals with the targets (95% of lines, 90%
# of branches). KEEL_COVERAGE_STRICT=1 makes a shortfall an error; KEEL_BUILD_DIR=DIR builds and
# reports in DIR instead of build/coverage; KEEL_JOBS=N limits the build's parallelism.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(realpath -m "${KEEL_BUILD_DIR:-$top/build/coverage}")
jobs=${KEEL_JOBS:-$(nproc)}
line_target=95
branch_target=90

flags="-fprofile-instr-generate -fcoverage-mapping -O0 -g"
if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$top" -B "$dir" -G Ninja -DKEEL_TARGET=host -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DKEEL_SANITIZE=none \
        -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
fi
targets=(fuzz_differential_replay fuzz_hostile_replay fuzz_abi_replay)
cmake --build "$dir" -j "$jobs" --target ipc/tests/all "${targets[@]}"

prof=$dir/profiles
rm -rf "$prof"
mkdir -p "$prof"
export LLVM_PROFILE_FILE=$prof/%p-%m.profraw

# ipc/'s unit tests (their ctest names start with "ipc.").
ctest --test-dir "$dir" -R '^ipc\.' -j "$jobs" --output-on-failure >"$dir/unit.log" 2>&1 ||
    { tail -n 40 "$dir/unit.log"; echo "coverage: unit tests failed" >&2; exit 1; }
echo "coverage: unit tests: $(grep -E 'tests passed' "$dir/unit.log")"

# The fuzz corpora, replayed without an engine.
for t in differential hostile abi; do
    KEEL_REPLAY_QUIET=1 "$dir/fuzz/fuzz_${t}_replay" "$top/fuzz/corpus/$t" 2>&1 | tail -n 1
done

llvm-profdata-14 merge -sparse "$prof"/*.profraw -o "$dir/ipc.profdata"
bins=()
for b in $(find "$dir/ipc/tests" "$dir/fuzz" -maxdepth 1 -type f -perm -u+x); do
    bins+=(-object "$b")
done
sources=("$top/ipc/src" "$top/ipc/include")
llvm-cov-14 report "${bins[@]:1}" -instr-profile="$dir/ipc.profdata" "${sources[@]}" \
    | tee "$dir/report.txt"
llvm-cov-14 show "${bins[@]:1}" -instr-profile="$dir/ipc.profdata" "${sources[@]}" \
    -format=html -show-branches=count -output-dir="$dir/html" >/dev/null

# TOTAL line: Regions Missed Cover Functions Missed Executed Lines Missed Cover Branches Missed Cover
read -r lines branches < <(awk '/^TOTAL/ {print $10, $13}' "$dir/report.txt")
echo "coverage of ipc/: lines $lines (target ${line_target}%), branches $branches (target ${branch_target}%)"
echo "coverage: HTML report in $dir/html/index.html"
ok=$(awk -v l="${lines%\%}" -v b="${branches%\%}" -v lt=$line_target -v bt=$branch_target \
    'BEGIN { print (l >= lt && b >= bt) ? 1 : 0 }')
if [ "$ok" != 1 ]; then
    echo "coverage: below target" >&2
    [ "${KEEL_COVERAGE_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
