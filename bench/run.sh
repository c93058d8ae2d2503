#!/usr/bin/env bash
# bench/run.sh (also `./keel bench`): builds the benchmarks in build/bench (Release, no
# sanitizers), runs rows B1-B6 with each comparison interleaved with its baseline in one
# process, and writes bench/results/: one JSON per row, machine.txt, summary.md (the table the
# README shows) and chart.png.
#
# usage: bench/run.sh [--reps N] [--min-time SECONDS] [--quick] [ROW...]
#   ROW is b1..b6 (default: all). --quick: 3 repetitions, tiny sizes (a try-out, not a result).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

reps=10
min_time=0.2
rows=()
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=$2; shift 2 ;;
        --min-time) min_time=$2; shift 2 ;;
        --quick) reps=3; min_time=0.02; export KEEL_BENCH_QUICK=1; shift ;;
        b[1-6]) rows+=("$1"); shift ;;
        *) echo "usage: $0 [--reps N] [--min-time SECONDS] [--quick] [b1..b6...]" >&2; exit 2 ;;
    esac
done
[ ${#rows[@]} -gt 0 ] || rows=(b1 b2 b3 b4 b5 b6)

# KEEL_BENCH_BUILD: another already-configured optimised tree (default: the bench preset's).
build=${KEEL_BENCH_BUILD:-build/bench}
out=${KEEL_BENCH_OUT:-bench/results}
mkdir -p "$out"
if [ -z "${KEEL_BENCH_BUILD:-}" ] &&
    { [ ! -f "$build/build.ninja" ] || [ CMakePresets.json -nt "$build/build.ninja" ]; }; then
    cmake --preset bench >/dev/null
fi
# A mutation-testing run elsewhere in the tree leaves a marked mutant in ipc/ for a while;
# numbers taken against it are wrong (e.g. a removed futex wake costs 20 ms per round trip).
if grep -rqs "MUTANT" ipc/src ipc/include ipc/linux/src ipc/linux/include; then
    echo "run.sh: warning: ipc/ currently contains a mutation-testing mutant (grep MUTANT);" \
        "results will not describe the real code" >&2
fi
cmake --build "$build" -j "$(nproc)" --target bench_all keel_ipc_kernel
bin=$build/bench

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "kernel: $(uname -srvm)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "compiler: $(clang++-14 --version | head -1)"
    echo
    lscpu
} >"$out/machine.txt"

# Google Benchmark rows: every repetition of every benchmark in the program is shuffled
# (random interleaving), so Keel and its baseline see the same machine conditions.
gbench() { # row program
    echo "== $1: $2 ($reps repetitions, interleaved)"
    "$bin/$2" --benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true \
        --benchmark_min_time="$min_time" --benchmark_report_aggregates_only=true \
        --benchmark_out="$out/$1.json" --benchmark_out_format=json
}

# B5: callgrind counts instructions in the named functions only. Two runs with different
# operation counts; the difference divided by the extra operations removes set-up and the
# one-time cost of the first call.
b5() {
    echo "== b5: instruction counts (valgrind --tool=callgrind)"
    local tmp n1=1024 n2=11264  # multiples of 32
    tmp=$(mktemp -d)
    local variants=(
        "empty:b5_empty_a,b5_empty_b:1"
        "keel:b5_keel_submit,b5_keel_reap:1"
        "keel_submit:b5_keel_submit:1"
        "keel_reap:b5_keel_reap:1"
        "keel_owned:b5_keel_submit_buf,b5_keel_reap_buf:1"
        "boost:b5_boost_push,b5_boost_pop:1"
        "keel_ring:b5_ring_push,b5_ring_pop:1"
        "server_poll:b5_server_poll:2"
    )
    {
        echo "{"
        echo "  \"ops\": $((n2 - n1)),"
        echo "  \"batches\": {"
        local bfirst=1
        for batch in 1 32; do
            [ $bfirst -eq 1 ] || echo ","
            bfirst=0
            echo "   \"$batch\": {"
            local first=1
            for v in "${variants[@]}"; do
                IFS=: read -r name fns per <<<"$v"
                local args=()
                IFS=, read -ra list <<<"$fns"
                for f in "${list[@]}"; do args+=(--toggle-collect="$f"); done
                local ir=()
                for n in $n1 $n2; do
                    valgrind --tool=callgrind --collect-atstart=no "${args[@]}" \
                        --callgrind-out-file="$tmp/$name.$n" "$bin/bench_b5_insns" "$n" "$batch" \
                        >/dev/null 2>&1
                    ir+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/$name.$n")")
                done
                local per_op
                per_op=$(awk -v a="${ir[0]}" -v b="${ir[1]}" -v d="$((n2 - n1))" -v p="$per" \
                    'BEGIN { printf "%.2f", (b - a) / d / p }')
                [ $first -eq 1 ] || echo ","
                first=0
                printf '    "%s": {"functions": "%s", "ir_per_op": %s}' "$name" "$fns" "$per_op"
            done
            echo
            printf '   }'
        done
        echo
        echo "  },"
        local lock_out lock_rc=0
        lock_out=$(bench/check_no_lock.sh "$(command -v objdump || command -v llvm-objdump-14)" \
            "$(find "$build" -name libkeel_ipc_kernel.a | head -1)" \
            "$(find "$build" -name libkeel_ipc.a | head -1)" \
            "$bin/libbench_lock_probe_kernel.a" "$bin/libbench_lock_probe_host.a" -- \
            "Client::submit" "Client::push" "Client::publish" "Client::reap_ring" \
            "Server::poll" "Server::take" "Server::complete" "Server::publish" \
            "SpscProducer<.*>::stage" "SpscConsumer<.*>::pop") || lock_rc=1
        echo "  \"no_lock\": $([ $lock_rc -eq 0 ] && echo true || echo false),"
        printf '  "no_lock_output": "%s"\n' "$(tr '\n"' ' _' <<<"$lock_out")"
        echo "}"
    } >"$out/b5.json"
    rm -rf "$tmp"
    cat "$out/b5.json"
}

for r in "${rows[@]}"; do
    case $r in
        b1) gbench b1 bench_b1_cacheline ;;
        b2) gbench b2 bench_b2_ring ;;
        b3) gbench b3 bench_b3_queue_rtt ;;
        b4) gbench b4 bench_b4_batch ;;
        b5) b5 ;;
        b6) gbench b6 bench_b6_procs ;;
    esac
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
# The README's table is the latest full run's; partial and --quick runs leave it alone.
readme=()
if [ -z "${KEEL_BENCH_QUICK:-}" ] && [ ${#rows[@]} -eq 6 ] && [ "$out" = bench/results ]; then
    readme=(bench/README.md)
fi
python3 bench/summarize.py "$out" "${readme[@]}"
if command -v gnuplot >/dev/null; then
    gnuplot -e "dir='$out'" bench/chart.gp && echo "chart: $out/chart.png"
fi
echo "table: $out/summary.md"
