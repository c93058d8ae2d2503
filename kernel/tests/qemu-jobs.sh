#!/usr/bin/env bash
# qemu-jobs.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR REGEX... -- [qemu-boot.sh options]
# The job server test around one boot (qemu_jobs): a 32 MiB FAT16 disk (ci/make-disk.sh)
# holding 16 input files of different sizes (four above 64 KiB) in src/, a build script
# build.sh of 16 background `cksum -o NAME.sum /mnt/disk/src/NAME` jobs and a `wait`, and the
# empty directories A, B and G. The guest (its --exec commands) runs the script directly in A,
# then through the job server (`with /srv/jobs ...`) in B while the server gathers in G, and
# ps.sh (`ps` through the job server's table while a job of its is held). Then,
# on the host: A and G hold the same names with the same bytes, each line is the host's
# `cksum` of its input (CRC and size), B holds nothing, and the job server's last "idle" line
# before the build's end mark says more than one job ran at once.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4
shift 4
top=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
export MTOOLS_SKIP_CHECK=1
mkdir -p "$work"
img="$work/jobs.img"
rm -f "$img"
"$top/ci/make-disk.sh" "$img" 32 16
at="$img@@1M"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
sizes=(1 100 511 512 513 4096 10000 30000 65535 65536 65537 70000 100000 131072 150000 0)
# Different bytes in every file (a position-dependent pattern seeded by the file's number), and
# one background cksum job per file in the script.
python3 - "$tmp" "${sizes[@]}" <<'PY'
import os, sys
tmp, sizes = sys.argv[1], [int(n) for n in sys.argv[2:]]
with open(os.path.join(tmp, "build.sh"), "w") as script:
    for i, n in enumerate(sizes):
        name = f"f{i:02d}"
        with open(os.path.join(tmp, "src", name), "wb") as f:
            f.write(bytes((k * 131 + i * 17 + (k >> 8)) % 256 for k in range(n)))
        script.write(f"cksum -o {name}.sum /mnt/disk/src/{name} &\n")
PY
echo "wait" >>"$tmp/build.sh"
# ps through the job server's table: a job it started, still held by the shell until its wait.
printf 'cksum /mnt/disk/src/f00 &\nps\nwait\n' >"$tmp/ps.sh"
mmd -i "$at" ::/src ::/A ::/B ::/G
mcopy -i "$at" "$tmp"/src/* ::/src/
mcopy -i "$at" "$tmp/build.sh" "$tmp/ps.sh" ::/
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --disk "$img" "$@" | tee "$tmp/out"
# The job server's count: its last "idle" line before the build's end mark.
most=$(sed -n '/^jobs-build-finished/q; s/^jobs: idle: \([0-9]*\) jobs started, at most \([0-9]*\) running at once.*/\1 \2/p' \
    "$tmp/out" | tr -d '\r' | tail -1)
echo "qemu-jobs: the job server: ${most:-no idle line} (jobs started, most running at once)"
mkdir "$tmp/A" "$tmp/G" "$tmp/B"
for d in A G B; do
    mcopy -n -s -i "$at" "::/$d/" "$tmp/$d/" 2>/dev/null || true
done
python3 - "$tmp" "$most" "${#sizes[@]}" <<'PY'
import os, subprocess, sys
tmp, most, count = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
bad = []
def listing(d):
    root = os.path.join(tmp, d)
    # mcopy -s of ::/D/ into tmp/D/ may land in tmp/D/D: take the deepest level holding files.
    for base, dirs, files in os.walk(root):
        if files:
            return base, sorted(f.lower() for f in files)
    return root, []
a_dir, a = listing("A")
g_dir, g = listing("G")
_, b = listing("B")
want = sorted(f"f{i:02d}.sum" for i in range(count))
if a != want:
    bad.append(f"A holds {a}, not the {count} .sum files")
if g != a:
    bad.append(f"G holds {g}, A holds {a}")
if b:
    bad.append(f"B (the script's cwd through the job server) holds {b}")
def read(d, name):
    for f in os.listdir(d):
        if f.lower() == name:
            return open(os.path.join(d, f), "rb").read()
    return None
for name in want:
    x, y = read(a_dir, name), read(g_dir, name)
    if x is None or y is None:
        continue
    if x != y:
        bad.append(f"{name}: A and G differ ({x!r} / {y!r})")
    src = os.path.join(tmp, "src", name[:-4])
    host = subprocess.run(["cksum", src], capture_output=True, text=True).stdout.split()
    got = x.decode(errors="replace").split()
    if len(got) < 3 or got[:2] != host[:2] or not got[2].endswith("/" + name[:-4]):
        bad.append(f"{name}: {x!r}, host cksum: {' '.join(host[:2])}")
if len(most) != 2 or int(most[0]) < count or int(most[1]) < 2:
    bad.append(f"the job server ran its jobs one at a time or not at all ({most})")
if bad:
    print("FAIL: " + "; ".join(bad[:10]), file=sys.stderr)
    sys.exit(1)
print(f"qemu-jobs: A and G hold the same {len(a)} files, each the host's cksum of its input; "
      f"B holds nothing; at most {most[1]} jobs ran at once")
PY
