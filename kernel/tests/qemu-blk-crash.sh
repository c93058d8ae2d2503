#!/usr/bin/env bash
# qemu-blk-crash.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR REGEX... -- [qemu-boot.sh options]
# The virtio-blk crash test around one boot (qemu_blk_crash): a fresh zeroed 16 MiB raw disk
# WORK_DIR/blk-crash.img (blkcrash expects zeros where nothing was written yet), booted through
# qemu-check.sh with `--disk IMAGE` added and the same REGEX expectations.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4
shift 4
mkdir -p "$work"
img="$work/blk-crash.img"
rm -f "$img"
truncate -s 16M "$img"
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@"
