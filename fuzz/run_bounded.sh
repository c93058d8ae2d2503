#!/usr/bin/env bash
# run_bounded.sh FUZZER REPLAY NAME SECONDS CORPUS [DICT]
# One bounded libFuzzer run from the committed corpus (ctest, label fuzz). The corpus is copied
# to a scratch directory first, so the run never writes into the repository. On a crash: the
# log tail, the input in hex, and the commands that reproduce it; the exit status is non-zero.
set -uo pipefail
fuzzer=$1 replay=$2 name=$3 seconds=$4 corpus=$5 dict=${6:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/keel-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
[ -d "$corpus" ] && cp -r "$corpus"/. "$work/corpus/" 2>/dev/null
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
[ -n "$dict" ] && args+=(-dict="$dict")
"$fuzzer" "${args[@]}" "$work/corpus" >"$work/log" 2>&1
rc=$?
grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "$work/log"
if [ $rc -eq 0 ]; then
    echo "fuzz $name: ${seconds}s, no crash"
    exit 0
fi
echo "fuzz $name: FAILED (exit $rc)"
tail -n 60 "$work/log"
keep=${KEEL_FUZZ_ARTIFACTS:-$(dirname "$fuzzer")/artifacts}
mkdir -p "$keep"
for f in "$work"/artifacts/*; do
    [ -f "$f" ] || continue
    cp "$f" "$keep/"
    echo "---- input $(basename "$f") ($(stat -c %s "$f") bytes), hex:"
    od -An -tx1 -v "$f" | head -c 8000
    echo "---- kept as $keep/$(basename "$f"); reproduce with:"
    echo "  $replay $keep/$(basename "$f")"
    echo "  $fuzzer $keep/$(basename "$f")"
    echo "---- then save it as a regression: cp $keep/$(basename "$f") fuzz/crashes/$name/"
done
exit 1
