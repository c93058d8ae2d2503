#!/usr/bin/env bash
# qemu-remote-run.sh QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR: two Keel machines on one virtual link
# (two-machines.sh), booted together (qemu_remote_run; docs/remote-run.md). B (10.0.3.2) runs the agent on port 7070; A
# (10.0.3.1, a FAT disk as /mnt/disk) runs rrun against it:
#   - in /mnt/disk, `rrun 10.0.3.2 cat /etc/motd > motd.txt`: A's motd, read by the program on
#     B through A's ns, written to A's console, which the shell made A's file;
#   - `rrun 10.0.3.2 remotetest write remote.txt ...`: a file created, written and read back on
#     A by a program on B through A's cwd; `rrun 10.0.3.2 ls` lists A's directory there;
#     `rrun 10.0.3.2 upper < /etc/motd` reads A's input;
#   - `sleep 6 | rrun 10.0.3.2 upper`: the program's read of A's input blocks on A for 6 s,
#     longer than the silence rule (4 s), while B's heartbeats wait in A's socket: rrun must
#     read them then, not take B for dead (status 0, not 125);
#   - `remotetest hostile 10.0.3.2:7070`: garbage, a huge length, a silent caller, a bad image
#     and a short one each end their connection, and the agent still runs a good job; a caller
#     that leaves mid-job makes the job's console write fail, so the program ends (B's log);
#   - `rrun 10.0.3.2 remotetest linger 30`: once it runs, B's QEMU is killed; A's rrun must end
#     with its clear error ("went silent", status 125) within 10 s of the kill.
# Then the files on A's disk are read on the host (mtools) and compared.
set -euo pipefail
boot=$1 build=$2 work=$3
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$work"
rm -f "$work"/a.log "$work"/b.log "$work"/a.img
# shellcheck source=two-machines.sh
source "$top/kernel/tests/two-machines.sh"
"$top/ci/make-disk.sh" "$work/a.img" 32 16 >/dev/null
start=$(date +%s.%N)
start_b 60
# The commands are a service of A's init.conf (user/etc/test/remote-a.conf): longer than a boot
# module's string may be. The boot's own command waits for their end.
start_a "$build/user/remote-a-image/initfs.tar" "$work/a.img" "remotetest await /tmp/done 60" 60
# Kill B while the lingering job runs there.
for _ in $(seq 600); do grep -q "^remotetest: alive 1" "$work/a.log" && break; sleep 0.1; done
grep -q "^remotetest: alive 1" "$work/a.log" || fail "the lingering job never ran"
# (B's agent says when the job whose caller left ended: wait for that before killing B.)
for _ in $(seq 100); do grep -q "the caller went away" "$work/b.log" && break; sleep 0.1; done
kill -KILL -- -"$b_pid"
killed=$(date +%s.%N)
for _ in $(seq 150); do grep -q "went silent" "$work/a.log" && break; sleep 0.1; done
noticed=$(date +%s.%N)
for _ in $(seq 150); do grep -q "^linger-status" "$work/a.log" && break; sleep 0.1; done
ended=$(date +%s.%N)
echo "rrun said so $(python3 -c "print(round($noticed - $killed, 1))") s after the kill"
grep -q "^linger-status" "$work/a.log" || fail "A's rrun did not end within 15 s of B's death"
wait_a
after=$(python3 -c "print(round($ended - $killed, 1))")
echo "B killed: A's rrun ended ${after} s later; the whole test $(python3 -c "print(round($ended - $start, 1))") s"
python3 -c "import sys; sys.exit(0 if $after <= 10 else 1)" || fail "rrun took ${after} s (> 10 s) to see B gone"
# The serial console's lines end in CR LF.
tr -d '\r' <"$work/a.log" >"$work/a.txt"
tr -d '\r' <"$work/b.log" >"$work/b.txt"
for pattern in "^motd-status 0$" "^write-status 0$" "^upper-status 0$" "^slow-status 0$" "^hostile-status 0$" \
    "^linger-status 125$" "^remotetest: remote.txt: wrote and read back 13 bytes$" \
    "^motd.txt +53$" "^remote.txt +13$" "WELCOME TO KEEL" "^11 passed, 0 failed$" \
    "^rrun: 10.0.3.2: the agent went silent \\(no heartbeat\\): its machine is gone \\(timed out\\)$" \
    "^rrun: 10.0.3.2: last heard from [0-9]+ ms before$"; do
    grep -Eq "$pattern" "$work/a.txt" || fail "A's output has no line matching: $pattern"
done
for pattern in "^agent: job [0-9]+: no hello: bad magic$" "^agent: job [0-9]+: no spawn: payload over the limit$" \
    "^agent: job [0-9]+: no hello: timed out$" "^agent: job [0-9]+: junk did not start: not a program$" \
    "^agent: job [0-9]+: the image did not arrive: timed out$" \
    "^agent: job [0-9]+: the caller went away \\(.*\\); the program ran to its end$"; do
    grep -Eq "$pattern" "$work/b.txt" || fail "B's output has no line matching: $pattern"
done
# What B's programs wrote is on A's disk.
export MTOOLS_SKIP_CHECK=1
mcopy -n -i "$work/a.img@@1M" ::/motd.txt "$work/motd.txt" || fail "no motd.txt on A's disk"
mcopy -n -i "$work/a.img@@1M" ::/remote.txt "$work/remote.txt" || fail "no remote.txt on A's disk"
cmp "$work/motd.txt" "$top/user/etc/motd" || fail "motd.txt on A's disk is not A's /etc/motd"
[ "$(cat "$work/remote.txt")" = "written-on-b" ] || fail "remote.txt holds '$(cat "$work/remote.txt")'"
fsck.fat -n "$work/a.img" >/dev/null 2>&1 || true
echo "PASS"
