#!/usr/bin/env bash
# qemu-net-crash.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR CRASHES SECONDS REGEX... -- [qemu-boot.sh options]
# The network server crash test around one boot (qemu_net_crash, ./keel soak): an echo server on
# the host's loopback (a thread per connection; a connection the guest's restarted server
# forgot is dropped when QEMU's user network resets or closes it), reached from the guest as
# 10.0.2.2:PORT; the net-crash image booted through qemu-check.sh with QEMU's user network and
# `netcrash CRASHES SECONDS PORT` run, with the same REGEX expectations.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4 crashes=$5 seconds=$6
shift 6
mkdir -p "$work"
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
log="$work/net-crash-echo.log"
# Emptied here, before the echo starts: the wait below must not read an earlier run's port (the
# background redirection truncates the file only when the shell behind it gets to it).
: >"$log"
python3 -u - >"$log" 2>&1 <<'PY' &
import socket, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(64)
print(server.getsockname()[1], flush=True)
def echo(c):
    with c:
        try:
            while data := c.recv(65536):
                c.sendall(data)
        except OSError:
            pass
while True:
    c, _ = server.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
PY
peer=$!
trap 'kill $peer 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$log" ] && break; sleep 0.1; done
port=$(head -1 "$log")
[[ "$port" =~ ^[0-9]+$ ]] || { echo "FAIL: the host echo did not start: $(cat "$log")" >&2; exit 1; }
"$check" "$boot" "$build" 0 "${regexes[@]}" -- --net --exec "netcrash $crashes $seconds $port" "$@"
