#!/usr/bin/env bash
# qemu-jobs-remote.sh QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR: the job server with a remote machine
# (qemu_jobs_remote; docs/job-server.md). Two Keel machines on one virtual link
# (two-machines.sh): B (10.0.3.2) runs the agent on port 7070
# (user/etc/test/remote-b.conf); A (10.0.3.1, user/etc/test/jobs-remote.conf) has a FAT disk
# with 16 inputs in src/, build.sh (16 background `cksum -o` jobs and `wait`) and slow.sh, and
# two job servers that may send jobs to B: jobs (gathering in G) and jobs2 (in G2). A runs
#   1. build.sh directly in A (every job here, outputs in A);
#   2. build.sh through jobs (outputs gathered in G; some jobs must have run on B);
#   3. slow.sh through jobs2 (eight cksum jobs and four `remotetest linger 2` jobs): as soon as
#      jobs2 has sent a job to B, the host kills B's QEMU. jobs2 must say B is lost, run every
#      job B held again on A, and the script must end with status 0 within a bound.
# Then the host copies A, B, G and G2 out with mtools: A and G hold the same 16 files, each the
# host's cksum of its input; G2 holds the same bytes as A for its eight; B holds nothing.
set -euo pipefail
boot=$1 build=$2 work=$3
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
export MTOOLS_SKIP_CHECK=1
mkdir -p "$work"
rm -rf "$work"/a.log "$work"/b.log "$work"/a.img "$work"/tmp
tmp="$work/tmp"
mkdir -p "$tmp/src"
# shellcheck source=two-machines.sh
source "$top/kernel/tests/two-machines.sh"
sizes=(1 100 511 512 513 4096 10000 30000 65535 65536 65537 70000 100000 131072 150000 0)
python3 - "$tmp" "${sizes[@]}" <<'PY'
import os, sys
tmp, sizes = sys.argv[1], [int(n) for n in sys.argv[2:]]
with open(os.path.join(tmp, "build.sh"), "w") as build, open(os.path.join(tmp, "slow.sh"), "w") as slow:
    for i, n in enumerate(sizes):
        name = f"f{i:02d}"
        with open(os.path.join(tmp, "src", name), "wb") as f:
            f.write(bytes((k * 131 + i * 17 + (k >> 8)) % 256 for k in range(n)))
        build.write(f"cksum -o {name}.sum /mnt/disk/src/{name} &\n")
        if i % 2 == 0:
            slow.write(f"cksum -o {name}.sum /mnt/disk/src/{name} &\n")
        if i % 4 == 0:
            slow.write("remotetest linger 2 &\n")
    build.write("wait\n")
    slow.write("wait\n")
PY
"$top/ci/make-disk.sh" "$work/a.img" 32 16 >/dev/null
at="$work/a.img@@1M"
mmd -i "$at" ::/src ::/A ::/B ::/G ::/G2
mcopy -i "$at" "$tmp"/src/* ::/src/
mcopy -i "$at" "$tmp/build.sh" "$tmp/slow.sh" ::/
start_b 90
start_a "$build/user/jobs-remote-image/initfs.tar" "$work/a.img" "remotetest await /tmp/done 90" 90
# Phase 3: B is killed as soon as jobs2 has sent it a job (the line comes once the connection
# is made: the job's image, its operations and its end are still to come).
after_phase() { tr -d '\r' <"$work/a.log" | sed -n '/^kill-phase$/,$p'; }
for _ in $(seq 900); do after_phase | grep -q "on 10.0.3.2:7070$" && break; sleep 0.1; done
after_phase | grep -q "on 10.0.3.2:7070$" || fail "jobs2 never sent a job to B"
kill -KILL -- -"$b_pid"
killed=$(date +%s.%N)
wait "$b_pid" 2>/dev/null || true  # B's end (bash would report the kill as a job's death)
for _ in $(seq 300); do grep -q "^kill-status" "$work/a.log" && break; sleep 0.1; done
ended=$(date +%s.%N)
grep -q "^kill-status" "$work/a.log" || fail "the build through jobs2 did not end within 30 s of B's death"
wait_a
echo "qemu-jobs-remote: B killed; the build through jobs2 ended $(python3 -c "print(round($ended - $killed, 1))") s later"
tr -d '\r' <"$work/a.log" >"$work/a.txt"
before_kill=$(sed -n '/^kill-phase$/q; p' "$work/a.txt")
remote_jobs=$(printf '%s\n' "$before_kill" | grep -c "^jobs: cksum on 10.0.3.2:7070$" || true)
echo "qemu-jobs-remote: $remote_jobs of 16 jobs of the build through jobs ran on B"
[ "$remote_jobs" -ge 1 ] || fail "no job of the build through jobs ran on B"
for pattern in "^direct-status 0$" "^remote-status 0$" "^kill-status 0$" \
    "^jobs: machine 10.0.3.2:7070 lost: .+$" "^jobs: [a-z]+: running it again on local$"; do
    grep -Eq "$pattern" "$work/a.txt" || fail "A's output has no line matching: $pattern"
done
mkdir -p "$tmp/out"
for d in A B G G2; do
    mkdir -p "$tmp/out/$d"
    mcopy -n -s -i "$at" "::/$d/" "$tmp/out/$d/" 2>/dev/null || true
done
python3 - "$tmp" "${#sizes[@]}" <<'PY' || fail "the outputs differ"
import os, subprocess, sys
tmp, count = sys.argv[1], int(sys.argv[2])
def files(d):
    out = {}
    for base, _, names in os.walk(os.path.join(tmp, "out", d)):
        for n in names:
            out[n.lower()] = open(os.path.join(base, n), "rb").read()
    return out
a, b, g, g2 = files("A"), files("B"), files("G"), files("G2")
bad = []
want = {f"f{i:02d}.sum" for i in range(count)}
if set(a) != want:
    bad.append(f"A holds {sorted(a)}")
if g != a:
    bad.append(f"G differs from A: {sorted(set(g) ^ set(a)) or [n for n in a if g.get(n) != a[n]]}")
half = {f"f{i:02d}.sum" for i in range(0, count, 2)}
if set(g2) != half or any(g2[n] != a.get(n) for n in g2):
    bad.append(f"G2 is not A's {sorted(half)}: {sorted(g2)}")
if b:
    bad.append(f"B holds {sorted(b)}")
for n, data in a.items():
    src = os.path.join(tmp, "src", n[:-4])
    host = subprocess.run(["cksum", src], capture_output=True, text=True).stdout.split()
    if data.decode(errors="replace").split()[:2] != host[:2]:
        bad.append(f"{n}: {data!r}, the host's cksum {host[:2]}")
if bad:
    print("FAIL: " + "; ".join(bad[:8]), file=sys.stderr)
    sys.exit(1)
print(f"qemu-jobs-remote: A and G hold the same {len(a)} files (the host's cksum of each input), "
      f"G2 the same {len(g2)}, B nothing")
PY
