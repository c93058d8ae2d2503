#!/usr/bin/env bash
# speed.sh libfuzzer BINARY [RUNS [libFuzzer flags...]]
# speed.sh afl DIR [SECONDS]
# The speed figures of fuzz/README.md, measured the same way every time.
#   libfuzzer  BINARY (normally fuzz_differential_fast of the bench preset) from a fresh copy of
#              fuzz/corpus/differential in /dev/shm, -runs=RUNS (default 300000) -seed=1; prints
#              libFuzzer's stat::average_exec_per_sec (wall clock) and RUNS per CPU-second
#              (user + system of the whole process, from /usr/bin/time): on a shared machine the
#              CPU-second figure is the one that compares.
#   afl        DIR/differential.persistent and DIR/differential.forkserver (fuzz/afl/build.sh),
#              one after the other, afl-fuzz -V SECONDS (default 30) from the committed corpus;
#              prints execs_done / run_time of each, per CPU-second too, and the ratio.
#              afl-fuzz binds itself and its target to one free core, as by default (a
#              persistent run is bound by their round trip, much slower across cores);
#              KEEL_AFL_NO_AFFINITY=1 turns that off.
# The corpus copy lives in /dev/shm: on ext4 each new corpus file cost milliseconds of kernel
# time, which would be counted against the target.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=$top/fuzz/corpus/differential
mode=${1:?usage: speed.sh libfuzzer BINARY [RUNS [flags...]] | afl DIR [SECONDS]}
shift

if [ "$mode" = libfuzzer ]; then
    bin=$1 runs=${2:-300000}
    shift $(($# < 2 ? $# : 2))
    work=$(mktemp -d /dev/shm/keel-speed.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    mkdir "$work/corpus"
    cp "$corpus"/* "$work/corpus/"
    /usr/bin/time -f "%U %S %e" -o "$work/time" "$bin" -runs="$runs" -seed=1 \
        -print_final_stats=1 "$@" "$work/corpus" >"$work/log" 2>&1
    read -r user sys wall <"$work/time"
    avg=$(awk '/stat::average_exec_per_sec/ {print $2}' "$work/log")
    awk -v r="$runs" -v u="$user" -v s="$sys" -v w="$wall" -v a="$avg" -v f="$*" 'BEGIN {
        printf "libFuzzer %s runs=%d: average_exec_per_sec %s (wall %.1f s); %.0f exec per CPU-second (%.2f CPU s)\n",
               f, r, a, w, r / (u + s), u + s }'
    exit 0
fi

[ "$mode" = afl ] || { echo "speed.sh: unknown mode $mode" >&2; exit 2; }
dir=$1 seconds=${2:-30}
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
[ -n "${KEEL_AFL_NO_AFFINITY:-}" ] && export AFL_NO_AFFINITY=1
declare -A per_s
for variant in persistent forkserver; do
    out=$(mktemp -d /dev/shm/keel-speed-afl.XXXXXX)
    args=(-i "$corpus" -o "$out/o" -V "$seconds" -m none -t 1000 -- "$dir/differential.$variant")
    [ $variant = forkserver ] && args+=(@@)
    /usr/bin/time -f "%U %S" -o "$out/time" afl-fuzz "${args[@]}" >"$out/log" 2>&1 || true
    stats=$out/o/default/fuzzer_stats
    done_=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")
    run=$(awk -F: '/^run_time/ {gsub(/ /, "", $2); print $2}' "$stats")
    read -r user sys <"$out/time"
    per_s[$variant]=$(awk -v d="$done_" -v r="$run" 'BEGIN { printf "%.0f", d / r }')
    awk -v v=$variant -v d="$done_" -v r="$run" -v u="$user" -v s="$sys" 'BEGIN {
        printf "AFL++ %-10s %d execs in %d s: %.0f exec/s; %.0f per CPU-second (afl-fuzz + target, %.1f CPU s)\n",
               v, d, r, d / r, d / (u + s), u + s }'
    rm -rf "$out"
done
awk -v p="${per_s[persistent]}" -v f="${per_s[forkserver]}" \
    'BEGIN { printf "AFL++ persistent / fork server: %.1fx\n", p / f }'
