#!/usr/bin/env bash
# qemu-net-http.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR [qemu-boot.sh options]
# Keel's network against real peers on the host's loopback: boots the system image with a FAT
# disk holding files of 0 B, 1 B, 1 MiB, 16 MiB and 100,001 B (made by mkfs.fat and mtools) and
# a NIC on QEMU's user network whose host port is forwarded to Keel's port 80, where init's httpd
# serves /mnt/disk. While Keel runs, the host's curl fetches every file (checksums compared),
# a HEAD, a missing file, a path climbing out of the root, 32 clients at once, keep-alive, and
# a client sending garbage, two requests in one segment (pipelining), one going away in the
# middle of the 16 MiB file (the next download is whole), and one stopping half-way through its
# request (answered 408 and closed after httpd's 10 s idle timeout) while others are served. In
# Keel, `fetch` downloads a file from a server on the host (kernel/tests/net_peer.py) onto the
# disk, whole and with chunked transfer coding, and waits on the host peer's /hold until the host
# is done; then socktest runs alone (its 32 connections at once hold a quarter of the TCP table) and
# sends UDP to the host's echo. Afterwards fsck.fat -n and the fetched file's bytes are checked
# on the image.
set -euo pipefail
check=$1 boot=$2 build=$3 work=$4
shift 4
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work"
mkdir -p "$work/files/www" "$work/peer"
export MTOOLS_SKIP_CHECK=1
img="$work/http.img"
"$top/ci/make-disk.sh" "$img" 64 32
: >"$work/files/empty"
printf 'x' >"$work/files/one"
head -c 1048576 /dev/urandom >"$work/files/1m"
head -c 16777216 /dev/urandom >"$work/files/16m"
# Streamed through httpd's queue of chunks, ending in a short one (100,001 = 3 * 32 KiB + 1,697).
head -c 100001 /dev/urandom >"$work/files/odd"
printf 'in a directory\n' >"$work/files/www/a file.txt"
at="$img@@1M"
for f in empty one 1m 16m odd; do mcopy -i "$at" "$work/files/$f" "::/$f"; done
mmd -i "$at" ::/www
mcopy -i "$at" "$work/files/www/a file.txt" "::/www/a file.txt"
head -c 4194304 /dev/urandom >"$work/peer/blob"

peer_log="$work/peer.log"
python3 "$top/kernel/tests/net_peer.py" "$work/peer" >"$peer_log" 2>&1 &
peer=$!
qemu=
cleanup() {
    touch "$work/peer/.release"
    [ -n "$qemu" ] && kill "$qemu" 2>/dev/null || true
    kill "$peer" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do [ "$(wc -l <"$peer_log")" -ge 2 ] && break; sleep 0.1; done
http_port=$(awk '$1 == "http" {print $2}' "$peer_log")
udp_port=$(awk '$1 == "udp" {print $2}' "$peer_log")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

"$check" "$boot" "$build" 0 "^[1-9][0-9]* passed, 0 failed$" "^init: exec finished with status 0$" \
    -- --batch --disk "$img" --net --net-options "hostfwd=tcp:127.0.0.1:$port-:80" \
    --exec "fetch http://10.0.2.2:$http_port/blob > /mnt/disk/blob; fetch http://10.0.2.2:$http_port/chunked > /mnt/disk/chunked; fetch http://10.0.2.2:$http_port/hold > /tmp/h; socktest $udp_port; cat /srv/net/info" \
    "$@" >"$work/keel.log" 2>&1 &
qemu=$!

fail=0
bad() { echo "qemu-net-http.sh: $*" >&2; fail=1; }
up=0
for _ in $(seq 300); do
    if curl -s -o /dev/null --max-time 2 "$base/one"; then up=1; break; fi
    if ! kill -0 "$qemu" 2>/dev/null; then break; fi
    sleep 0.2
done
if [ "$up" = 1 ]; then
    # Every file, byte for byte.
    for f in empty one 1m 16m odd; do
        curl -s --max-time 60 -o "$work/got-$f" "$base/$f" || bad "GET /$f failed"
        cmp -s "$work/files/$f" "$work/got-$f" || bad "GET /$f: other bytes than on the disk"
    done
    curl -s --max-time 10 -o "$work/got-space" "$base/www/a%20file.txt"
    cmp -s "$work/files/www/a file.txt" "$work/got-space" || bad "GET /www/a%20file.txt"
    # HEAD: the length without the body.
    head=$(curl -s --max-time 10 -I "$base/16m" | tr -d '\r')
    grep -qi '^content-length: 16777216$' <<<"$head" || bad "HEAD /16m: $head"
    # Status codes.
    code() { curl -s --max-time 10 --path-as-is -o /dev/null -w '%{http_code}' "$@"; }
    [ "$(code "$base/nothing")" = 404 ] || bad "GET /nothing is not 404"
    c=$(code "$base/../../etc/passwd"); [ "$c" = 403 ] || [ "$c" = 404 ] || bad "GET /../../etc/passwd: $c"
    c=$(code "$base/www/%2e%2e/%2e%2e/x"); [ "$c" = 403 ] || [ "$c" = 404 ] || bad "encoded ..: $c"
    [ "$(code -X DELETE "$base/one")" = 405 ] || [ "$(code -X DELETE "$base/one")" = 501 ] || bad "DELETE accepted"
    [ "$(code "$base/www/")" = 200 ] || bad "GET /www/ (a listing) is not 200"
    # A client that goes away in the middle of a streamed file; the next is served in full.
    python3 - "$port" <<'PY' || bad "a download dropped half-way"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /16m HTTP/1.1\r\nHost: k\r\n\r\n")
s.recv(100000)
s.close()
PY
    curl -s --max-time 60 -o "$work/got-again" "$base/1m" || bad "GET /1m after a dropped download"
    cmp -s "$work/files/1m" "$work/got-again" || bad "GET /1m after a dropped download: other bytes"
    # Keep-alive: the second request goes over the first connection.
    n=$(curl -s --max-time 10 -o /dev/null -o /dev/null -w '%{num_connects}\n' "$base/one" "$base/one" | tail -1)
    [ "$n" = 0 ] || bad "keep-alive: the second request opened a connection"
    # A client that stops half-way and one that sends garbage; others are still served.
    python3 - "$port" >"$work/half" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"GET /one HTTP/1.1\r\nHo")
start = time.time()
reply = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        reply += b
except Exception as e:
    print("error", e)
print(reply.split(b"\r\n")[0].decode(errors="replace") or "closed", round(time.time() - start))
PY
    half=$!
    # Two requests in one segment: two answers, in order.
    p=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /one HTTP/1.1\r\nHost: k\r\n\r\nHEAD /1m HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.count(b"HTTP/1.1 200"), b"\r\n\r\nxHTTP/1.1 200" in data, b"Content-Length: 1048576" in data)
PY
)
    [ "$p" = "2 True True" ] || bad "pipelining: $p"
    g=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x00\xff\xfeNOT HTTP AT ALL\r\n\r\n")
try:
    print(s.recv(64).split(b"\r\n")[0].decode(errors="replace") or "closed")
except Exception as e:
    print("error", e)
PY
)
    grep -q "^HTTP/1.[01] 400" <<<"$g" || bad "garbage got: $g"
    # Many connections one after the other (more than a process has handles): none may fail.
    n=$(python3 - "$port" <<'PY'
import socket, sys
ok = 0
for i in range(400):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"GET /one HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    ok += data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\nx")
    s.close()
print(ok)
PY
)
    [ "$n" = 400 ] || bad "400 connections one after the other: $n answered"
    # 32 clients at once, each checked.
    # Each client's exit status, HTTP code, bytes and time are kept to name what went wrong.
    seq 32 | xargs -P 32 -I{} sh -c "curl -sS --max-time 60 -o '$work/par-{}' \
        -w '%{http_code} %{size_download} B %{time_total} s port %{local_port}' '$base/1m' >'$work/par-{}.how' 2>&1;
        echo \" exit \$?\" >>'$work/par-{}.how'" || bad "32 clients: xargs failed"
    for i in $(seq 32); do
        cmp -s "$work/files/1m" "$work/par-$i" ||
            bad "client $i of 32: other bytes ($(tr '\n' ' ' <"$work/par-$i.how"))"
    done
    wait "$half" || true
    read -r h1 h2 h3 _ <"$work/half" || true
    [ "$h1 $h2 $h3" = "HTTP/1.1 408 Request" ] || bad "a half-sent request got: $(cat "$work/half")"
else
    bad "Keel's HTTP server never answered on $base"
fi
touch "$work/peer/.release"
status=0
wait "$qemu" || status=$?
qemu=
cat "$work/keel.log"
[ "$status" = 0 ] || bad "the Keel run failed (status $status)"
# What fetch wrote, on the image.
export PATH="$PATH:/usr/sbin:/sbin"
"$top/ci/check-disk.sh" "$img" || bad "fsck.fat -n found errors"
mcopy -n -i "$at" ::/blob "$work/blob-on-disk" 2>/dev/null || bad "blob: not on the disk"
cmp -s "$work/peer/blob" "$work/blob-on-disk" || bad "blob: other bytes than the host served"
mcopy -n -i "$at" ::/chunked "$work/chunked-on-disk" 2>/dev/null || bad "chunked: not on the disk"
cmp -s "$work/peer/blob" "$work/chunked-on-disk" || bad "chunked: other bytes than the host served"
[ "$fail" = 0 ] && echo "qemu-net-http.sh: all checks passed"
exit "$fail"
