#!/usr/bin/env bash
# qemu-parttest.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR REGEX... -- [qemu-boot options]
# Partitions served by the virtio-blk driver (user/parttest): makes a 16 MiB image with a GPT
# by the host's sfdisk (partition 1 at sector 2048, partition 2 at 12288, 8192 sectors each)
# and byte i = i % 241 in partition 1's first sector, boots with it, then checks on the host
# that what parttest wrote landed at the right absolute sectors and that nothing was written
# into the gap between the partitions or past partition 2.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4
shift 4
export PATH="$PATH:/usr/sbin:/sbin"
mkdir -p "$work"
img="$work/parttest.img"
rm -f "$img"
truncate -s 16M "$img"
printf 'label: gpt\nstart=2048, size=8192\nstart=12288, size=8192\n' | sfdisk -q "$img"
python3 - "$img" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(2048 * 512)
    f.write(bytes(i % 241 for i in range(512)))
PY
cp "$img" "$img.before"
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@"
python3 - "$img" "$img.before" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
before = open(sys.argv[2], "rb").read()
written = bytes((i * 5 + 3) % 256 for i in range(512))
problems = []
p1_last = (2048 + 8192 - 1) * 512
p2_first = 12288 * 512
if d[p1_last:p1_last + 512] != written:
    problems.append("partition 1's last sector is not what parttest wrote")
if d[p2_first:p2_first + 512] != written:
    problems.append("partition 2's first sector is not what parttest wrote")
for name, a, b in (("the gap", (2048 + 8192) * 512, p2_first),
                   ("after partition 2", (12288 + 8192) * 512, len(d) - 34 * 512)):
    if d[a:b] != before[a:b]:
        problems.append(f"{name} changed")
if problems:
    print("FAIL: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print("qemu-parttest: image checked on the host: both sectors where they belong, the gap untouched")
PY
