#!/usr/bin/env bash
# bench_smoke: runs every benchmark once, with tiny sizes, only to prove each still works (and,
# in the sanitizer tree, that it is clean). Measures nothing. usage: smoke.sh BINARY_DIR
set -euo pipefail
dir=$1
export KEEL_BENCH_QUICK=1
for b in bench_b1_cacheline bench_b2_ring bench_b3_queue_rtt bench_b4_batch bench_b6_procs; do
    echo "== $b"
    "$dir/$b" --benchmark_min_time=0.001 --benchmark_repetitions=1
done
echo "== bench_b5_insns"
"$dir/bench_b5_insns" 200
echo "bench_smoke: all benchmarks ran"
