#!/usr/bin/env bash
# bench/blk.sh [BUILD] [RUNS]: the virtio-blk driver's throughput under QEMU (TCG), through the
# block device object it serves: user/blkbench (sequential 64 KiB writes and reads, 4 KiB
# random reads, at depth 1 and 32) run RUNS times (default 3) from the blk test image against
# a fresh 64 MiB raw image in a temporary directory. Prints blkbench's lines of every run.
# Wall-clock figures of the whole emulated path; noisy on a shared 2-core machine: compare
# medians of several runs, not single lines. bench/run.py b9 makes the same boots beside the
# Linux guest's (bench/README.md, B9).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/kernel}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for run in $(seq "$runs"); do
    rm -f "$work/disk.img"
    truncate -s 64M "$work/disk.img"
    echo "--- run $run"
    "$top/ci/qemu-boot.sh" "$build" --batch --image "$build/user/blk-image/initfs.tar" \
        --exec "blkbench 67108864" --disk "$work/disk.img" --timeout 120 2>&1 |
        tr -d '\r' | grep -E '^(blkbench|virtio-blk):'
done
