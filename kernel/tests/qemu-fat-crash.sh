#!/usr/bin/env bash
# qemu-fat-crash.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR [--clean] REGEX... -- [qemu-boot.sh options]
# The FAT server crash test around one boot (qemu_fat_crash): a 32 MiB disk with one FAT16
# partition (ci/make-disk.sh), booted through qemu-check.sh with `--disk IMAGE` added (the same
# REGEX expectations; the guest's fatcrash writes files while the server is crashed again and
# again, then lists the complete and flushed ones in manifest.txt). Then, on the host, on a copy
# of the partition: fsck.fat -n says what a crash left (reported, allowed), fsck.fat -a repairs
# it, fsck.fat -n must then find nothing, and every file of the manifest must be there with
# exactly its bytes (fatcrash's formula: the
# manifest's lines are PATH SIZE N, the file the writer wrote N-th).
# --clean (qemu_fat_blk_crash: the block driver is crashed, the FAT server hides it): the first
# fsck.fat -n must already find nothing: no crash of the file system happened.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4
shift 4
clean=0
if [ "${1:-}" = "--clean" ]; then clean=1; shift; fi
top=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
export MTOOLS_SKIP_CHECK=1
mkdir -p "$work"
img="$work/fat-crash.img"
rm -f "$img"
"$top/ci/make-disk.sh" "$img" 32 16
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dd if="$img" of="$tmp/part" bs=512 skip=2048 status=none
if fsck.fat -n "$tmp/part" >"$tmp/fsck" 2>&1; then
    echo "qemu-fat-crash: fsck.fat -n: the volume is clean"
else
    echo "qemu-fat-crash: fsck.fat -n found what the crashes left ($(grep -c . "$tmp/fsck") lines):"
    sed 's/^/  /' "$tmp/fsck" | head -20
    if [ $clean -eq 1 ]; then
        echo "FAIL: --clean: the volume must be clean without repair" >&2
        exit 1
    fi
fi
fsck.fat -a "$tmp/part" >"$tmp/repair" 2>&1 || true
if ! fsck.fat -n "$tmp/part" >"$tmp/fsck2" 2>&1; then
    echo "FAIL: fsck.fat -n still finds errors after fsck.fat -a:" >&2
    cat "$tmp/fsck2" >&2
    exit 1
fi
mcopy -n -i "$tmp/part" ::/manifest.txt "$tmp/manifest" || { echo "FAIL: no manifest.txt" >&2; exit 1; }
mkdir "$tmp/files"
python3 - "$tmp" <<'PY'
import os, subprocess, sys
tmp = sys.argv[1]
lines = [l.split() for l in open(os.path.join(tmp, "manifest")) if l.strip()]
bad = []
for name, size, n in lines:
    w, n = int(name.split("/")[-1][1:].split("-")[0]), int(n)
    want = bytes((i * 7 + w * 31 + n * 13) % 251 for i in range(int(size)))
    out = os.path.join(tmp, "files", name.replace("/", "_"))
    r = subprocess.run(["mcopy", "-n", "-i", os.path.join(tmp, "part"), "::/" + name, out],
                       capture_output=True)
    if r.returncode != 0:
        bad.append(f"{name}: missing")
    elif open(out, "rb").read() != want:
        bad.append(f"{name}: other bytes")
if not lines:
    bad.append("the manifest lists no file")
if bad:
    print("FAIL: after fsck.fat -a: " + "; ".join(bad[:10]), file=sys.stderr)
    sys.exit(1)
print(f"qemu-fat-crash: after fsck.fat -a the volume is clean and all {len(lines)} complete files "
      "of the manifest hold their bytes")
PY
