#!/usr/bin/env bash
# ctest bench_linux_smoke (label qemu): builds B8's Linux guest from the package cache only
# (KEEL_LINUX_OFFLINE=1: no network in tests) and boots it once, without -icount, with every row
# at its quick size, only to prove that the guest, its /init, guestbench and the shared disk
# definition still work. Measures nothing (bench/run.py b8 does). Skipped (status 77) when the
# packages are not cached yet: `bench/run.py b8` or `bench/linux/make-guest.sh DIR` once fetches
# them into build/linux-guest-cache. usage: smoke.sh WORKDIR
set -uo pipefail
work=${1:?usage: smoke.sh WORKDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
mkdir -p "$work"

KEEL_LINUX_OFFLINE=1 "$here/make-guest.sh" "$work/guest" >/dev/null
status=$?
if [ $status = 3 ]; then
    echo "bench_linux_smoke: skipped: Debian packages not cached (run bench/run.py b8 once)"
    exit 77
fi
[ $status = 0 ] || { echo "bench_linux_smoke: make-guest.sh failed ($status)"; exit 1; }

disk="$work/disk.img"
rm -f "$disk"
truncate -s 16M "$disk"
out=$("$top/ci/qemu-boot.sh" "$work/guest" --linux --batch --timeout 50 \
    --cmdline "keelbench=all quick" --disk "$disk" 2>&1 | tr -d '\r')
status=$?
rm -f "$disk"
echo "$out" | grep -v " info vulnerability "
[ $status = 0 ] || { echo "bench_linux_smoke: the boot failed ($status)"; exit 1; }
for want in "^linuxbench: calibration loop [0-9]+ instructions, clock [0-9]+ ns$" \
    "^linuxbench: row null_syscall ops [0-9]+ clock_ns_per_op [0-9.]+$" \
    "^linuxbench: row pipe_rtt ops [0-9]+ clock_ns_per_op [0-9.]+$" \
    "^linuxbench: row small_read ops [0-9]+ clock_ns_per_op [0-9.]+$" \
    "^linuxbench: info disk /dev/vda 32768 sectors, queues 1," \
    "^linuxbench: blk seq_write ops [0-9]+ bytes [0-9]+ ns [0-9]+ " \
    "^linuxbench: blk rand_read_qd32 ops 2000 bytes [0-9]+ ns [0-9]+ " \
    "^linuxbench: init status 0$"; do
    echo "$out" | grep -Eq "$want" || { echo "bench_linux_smoke: no line matching $want"; exit 1; }
done
echo "bench_linux_smoke: the guest booted and ran every row"
