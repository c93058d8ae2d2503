#!/usr/bin/env bash
# make-disk.sh IMAGE [SIZE_MIB] [FAT_BITS]: a disk image for Keel made by the host's own tools
# (sfdisk, mkfs.fat, mtools): an MBR with one FAT partition from 1 MiB to the end (type 0x0c
# for FAT32, 0x0e for FAT16, 0x01 for FAT12), labelled KEEL, holding a few files to read.
# `./keel run` and the storage tests attach it as a virtio-blk disk; afterwards the same tools
# read back what Keel wrote (MTOOLS_SKIP_CHECK=1 mcopy -i IMAGE@@1M ::/file -) and check it
# (fsck.fat -n on the partition: see check-disk.sh).
set -euo pipefail
image=${1:?usage: make-disk.sh IMAGE [SIZE_MIB] [FAT_BITS]}
size_mib=${2:-64}
bits=${3:-32}
export PATH="$PATH:/usr/sbin:/sbin"
case $bits in
    32) type=0c ;;
    16) type=0e ;;
    12) type=01 ;;
    *) echo "make-disk.sh: FAT_BITS is 12, 16 or 32" >&2; exit 2 ;;
esac
offset_sectors=2048  # 1 MiB: where partitioning tools put the first partition
tmp="$image.tmp"
rm -f "$tmp"
truncate -s "${size_mib}M" "$tmp"
printf 'label: dos\nstart=%s, type=%s\n' "$offset_sectors" "$type" | sfdisk -q "$tmp"
part_kib=$(( size_mib * 1024 - offset_sectors / 2 ))
# FAT32 needs at least 65525 clusters: one sector per cluster keeps a small image FAT32.
cluster=()
[ "$bits" = 32 ] && cluster=(-s 1)
mkfs.fat -F "$bits" "${cluster[@]}" -n KEEL --offset "$offset_sectors" "$tmp" "$part_kib" >/dev/null
at="$tmp@@$(( offset_sectors * 512 ))"
export MTOOLS_SKIP_CHECK=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'This disk was made on the host by sfdisk, mkfs.fat and mtools.\nKeel reads it through its virtio-blk driver and its FAT server.\n' >"$work/README.TXT"
printf 'A file with a long name, in a directory.\n' >"$work/A long file name.txt"
mcopy -i "$at" "$work/README.TXT" ::/README.TXT
mmd -i "$at" ::/docs
mcopy -i "$at" "$work/A long file name.txt" "::/docs/A long file name.txt"
mv "$tmp" "$image"
