#!/usr/bin/env bash
# bench/jobs.sh [BUILD] [RUNS] [ROUNDS]: what the job server (servers/jobs) adds to starting a
# job, under QEMU (TCG): `jobtest bench ROUNDS` (user/jobtest) spawns the same request (a copy of
# itself that exits at once, a fresh root) directly and through a job server, interleaved,
# ROUNDS times each (default 100), and prints the median and 90th percentile of spawn to exit
# status for both; RUNS boots (default 3) of the job server test image over a fresh disk.
# Wall-clock figures on a shared 2-core machine: compare medians of several runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/kernel}
runs=${2:-3}
rounds=${3:-100}
export PATH="$PATH:/usr/sbin:/sbin" MTOOLS_SKIP_CHECK=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for run in $(seq "$runs"); do
    rm -f "$work/disk.img"
    "$top/ci/make-disk.sh" "$work/disk.img" 32 16
    mmd -i "$work/disk.img@@1M" ::/G  # the image's job server gathers there
    echo "--- run $run"
    "$top/ci/qemu-boot.sh" "$build" --batch --image "$build/user/jobs-image/initfs.tar" \
        --exec "jobtest bench $rounds" --disk "$work/disk.img" --timeout 120 2>&1 |
        tr -d '\r' | grep -E '^jobtest: bench:'
done
