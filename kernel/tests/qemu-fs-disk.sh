#!/usr/bin/env bash
# qemu-fs-disk.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR NAME FAT_BITS REGEX... --
#                 [qemu-boot.sh options]
# The file system on a real disk, checked by the host's own tools on both sides: makes
# WORK_DIR/NAME.img with ci/make-disk.sh (an MBR and one FAT_BITS partition by sfdisk, mkfs.fat
# and mtools), boots the system through qemu-check.sh with `--disk IMAGE` (the virtio-blk
# driver serves the partition, servers/fat mounts it as /mnt/disk; the REGEX expectations),
# then after QEMU exited checks the image with ci/check-disk.sh: fsck.fat -n finds no error and
# the files the guest wrote hold what it wrote.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4 name=$5 bits=$6
shift 6
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
img="$work/$name.img"
rm -f "$img"
size=64
[ "$bits" = 12 ] && size=8
"$top/ci/make-disk.sh" "$img" "$size" "$bits"
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@"
"$top/ci/check-disk.sh" "$img" \
    "fstest/from keel.txt" 'written in Keel through the FAT server\n' \
    "fstest/hello.txt" 'hello, disk' \
    "shell.txt" 'made by the shell\nand appended\n'
