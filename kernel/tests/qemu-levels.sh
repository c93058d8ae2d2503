#!/usr/bin/env bash
# qemu-levels.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR SIZE_MIB REGEX... -- [qemu-boot.sh options]
# The I/O levels around one boot (user/levelbench, docs/io-levels.md): makes a raw disk image of
# SIZE_MIB MiB whose every 8-byte word at byte offset o holds o * 0x9e3779b97f4a7c15 (little-
# endian; levelbench checks each read against it) and a copy of it, attaches the image as the
# first virtio-blk device (`--disk`, ci/qemu-disk.args) and the copy as a second one of the
# same definition, boots through qemu-check.sh (the REGEX expectations), then checks on the
# host that neither image changed (every level only reads; the hostile ring client's writes
# must all have been refused). bench/run.py b11 makes its disks the same way (--make-only).
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4 mib=$5
shift 5
mkdir -p "$work"
img="$work/levels.img" copy="$work/levels-copy.img"
python3 - "$img" "$mib" <<'PY'
import array, sys
words = (int(sys.argv[2]) << 20) // 8
step = 0x9e3779b97f4a7c15
mask = (1 << 64) - 1
a = array.array("Q", ((i * 8 * step) & mask for i in range(words)))
if sys.byteorder != "little":
    a.byteswap()
with open(sys.argv[1], "wb") as f:
    f.write(a.tobytes())
PY
cp "$img" "$copy"
before=$(cat "$img" | sha256sum)
[ "${1:-}" = "--make-only" ] && exit 0
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
args="$(dirname "$0")/../../ci/qemu-disk.args"
drive=$(sed -n 's/^file=@IMAGE@,format=raw,//p' "$args" | sed 's/id=d0/id=d1/')
device=$(grep '^virtio-blk-pci,' "$args" | sed 's/drive=d0/drive=d1/')
[ -n "$drive" ] && [ -n "$device" ] || { echo "FAIL: ci/qemu-disk.args not understood" >&2; exit 1; }
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@" \
    -- -drive "file=$copy,format=raw,$drive" -device "$device"
for f in "$img" "$copy"; do
    if [ "$(sha256sum <"$f")" != "$before" ]; then
        echo "FAIL: $f changed: a level or the hostile client wrote to the disk" >&2
        exit 1
    fi
done
echo "qemu-levels: both images unchanged on the host"
