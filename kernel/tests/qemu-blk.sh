#!/usr/bin/env bash
# qemu-blk.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR NAME [--read-error SECTOR] REGEX...
#             -- [qemu-boot.sh options]
# The virtio-blk test around one boot: makes a 16 MiB raw disk image WORK_DIR/NAME.img whose
# first 64 KiB hold byte i = i % 251 (blktest reads them), boots through qemu-check.sh with
# `--disk IMAGE` added (the same REGEX expectations), then checks on the host what the guest
# wrote into the file: the known pattern at 1 MiB (byte i = (i * 7 + i / 512) % 256 for 8 KiB),
# the last block (written through the driver at the device's end), and the host's first 64 KiB
# untouched. --read-error SECTOR: the disk (ci/qemu-disk.args' definition, given as extra QEMU
# arguments) sits on QEMU's blkdebug driver with a rule that fails every read covering SECTOR
# with EIO (the guest sees VIRTIO_BLK_S_IOERR).
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4 name=$5
shift 5
read_error=""
if [ "${1:-}" = "--read-error" ]; then
    read_error=$2
    shift 2
fi
mkdir -p "$work"
img="$work/$name.img"
rm -f "$img"
truncate -s 16M "$img"
python3 - "$img" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.write(bytes(i % 251 for i in range(65536)))
PY
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
if [ -z "$read_error" ]; then
    "$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@"
else
    conf="$work/$name.blkdebug"
    printf '[inject-error]\nevent = "read_aio"\niotype = "read"\nerrno = "5"\nsector = "%s"\nonce = "off"\n' \
        "$read_error" >"$conf"
    drive=$(sed -n 's/^file=@IMAGE@,format=raw,/format=raw,/p' "$(dirname "$0")/../../ci/qemu-disk.args")
    device=$(grep '^virtio-blk-pci,' "$(dirname "$0")/../../ci/qemu-disk.args")
    [ -n "$drive" ] && [ -n "$device" ] || { echo "FAIL: ci/qemu-disk.args not understood" >&2; exit 1; }
    "$check" "$boot" "$build" 0 "${regexes[@]}" -- "$@" \
        -- -drive "file=blkdebug:$conf:$img,$drive" -device "$device"
fi
python3 - "$img" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
problems = []
if len(d) != 16 << 20:
    problems.append(f"image is {len(d)} bytes, not 16 MiB")
if any(d[i] != i % 251 for i in range(65536)):
    problems.append("the host's first 64 KiB changed")
known = d[1 << 20:(1 << 20) + 8192]
bad = sum(1 for i in range(8192) if known[i] != (i * 7 + i // 512) % 256)
if bad:
    problems.append(f"known pattern at 1 MiB: {bad} of 8192 bytes differ")
# blktest's pattern(99, i) in the last block.
last = d[-512:]
want = bytes(((i * 131 + 99 * 17 + (i >> 9) * 29) ^ (99 >> 3)) & 0xff for i in range(512))
if last != want:
    problems.append("last block is not what blktest wrote")
if problems:
    print("FAIL: disk image: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print("qemu-blk: image checked on the host: known pattern at 1 MiB, last block, first 64 KiB")
PY
