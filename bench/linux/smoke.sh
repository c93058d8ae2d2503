#!/usr/bin/env bash
# ctest bench_linux_smoke (label qemu): builds B8's Linux guest from the package cache only
# (KEEL_LINUX_OFFLINE=1: no network in tests) and boots it once, without -icount, with every row
# at its quick size, only to prove that the guest, its /init, guestbench and the shared disk
# definition still work; then boots it once more as B10's HTTP server (keelbench=http, a FAT32
# image, QEMU's user network with a free 127.0.0.1 port forwarded to its port 80) and fetches
# the small file from the host (about 20 s more). Measures nothing (bench/run.py b8, b10 do). Skipped (status 77) when the
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

# B10: the guest as an HTTP server. It serves until stopped: the boot runs in its own process
# group in the background and that group is ended once the file came back (or after 60 s).
cp_disk="$work/http.img"
rm -f "$cp_disk"
"$top/ci/make-disk.sh" "$cp_disk" 64 32
printf 'bench_linux_smoke: B10 small file\n' >"$work/index.html"
MTOOLS_SKIP_CHECK=1 mcopy -i "$cp_disk@@1M" "$work/index.html" ::/index.html
# Two free ports on 127.0.0.1, both held while choosing so that they differ.
read -r port port2 < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
setsid "$top/ci/qemu-boot.sh" "$work/guest" --linux --batch --timeout 90 \
    --cmdline keelbench=http --disk "$cp_disk" --net \
    --net-options "hostfwd=tcp:127.0.0.1:$port-:80,hostfwd=tcp:127.0.0.1:$port2-:8080" \
    >"$work/http.log" 2>&1 </dev/null &
boot=$!
# busybox httpd on port 80, then guesthttpd on 8080 (bench/linux/init).
python3 - "$work/index.html" "$port" "$port2" <<'PY'
import sys, time, urllib.request
want = open(sys.argv[1], "rb").read()
deadline = time.monotonic() + 60
for port in sys.argv[2:]:
    while True:
        if time.monotonic() > deadline:
            sys.exit(1)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as r:
                if r.read() == want:
                    break
        except OSError:
            pass
        time.sleep(1)
PY
fetched=$?
kill -TERM -- "-$boot" 2>/dev/null
wait "$boot" 2>/dev/null
rm -f "$cp_disk"
tr -d '\r' <"$work/http.log" | grep "^linuxbench: " | grep -v " info vulnerability "
[ $fetched = 0 ] ||
    { echo "bench_linux_smoke: the B10 guest did not serve index.html on ports 80 and 8080"; exit 1; }
echo "bench_linux_smoke: the guest booted, ran every row and served a file over HTTP"
