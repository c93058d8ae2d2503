#!/usr/bin/env python3
"""bench/firewall.py [--requests N] [--boots B] [--build DIR] [--out FILE]: B12, the firewall's
overhead (servers/firewall, issue 20).

Serves a 1 KiB file over HTTP/1.1 on the host's loopback (a small server of this script's own,
which QEMU's user network shows the guest as 10.0.2.2: each response one send with TCP_NODELAY,
so that the host's Nagle and the guest's delayed ACKs do not decide the latencies), boots the firewall test image
(user/etc/test/firewall.conf) B times, and in each boot runs user/fwbench: N round trips of each
kind through the network server directly (/direct/net) and through the firewall (/srv/net, the
same network server behind it), interleaved one by one. Kinds: `connect` (a new connection per
request, as fetch does: connect, GET with Connection: close, the whole response, close) and
`keepalive` (requests on one open connection: the proxy's data path alone), `loopback` (as
connect, to a responder of fwbench's own on the machine's own address: no host in the loop).
Every firewall decision is one console line, part of what a connect through it costs. Then one
more boot runs the loopback kind alone under QEMU's -icount shift=0,sleep=off, where the guest
clock advances one nanosecond per guest instruction: its latencies are guest instructions per
round trip, deterministic.

Writes bench/results/b12.json (every boot's figures and the medians over boots) and prints the
table bench/README.md shows under "B12" (bench/report.py's b12 block; `bench/run.py b12` runs the
same measurement into bench/results and regenerates the report). Wall-clock figures under TCG on a shared machine: the
ratio firewall/direct, measured in the same boot, is the number to read.
"""
import argparse
import json
import os
import re
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"^fwbench: (connect|keepalive|loopback) (direct|firewall): (\d+) requests, ([0-9.]+) "
                  r"requests/s, latency us p50 (\d+) p90 (\d+) p99 (\d+) max (\d+)$", re.M)


SMALL = (b"Keel bench B12: the small file of the firewall's round trips.\n" * 20)[:1024]


class Handler(socketserver.BaseRequestHandler):
    """HTTP/1.1 GET of the small file: keep-alive unless the request says Connection: close."""

    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, data = data.split(b"\r\n\r\n", 1)
            close = b"connection: close" in head.lower()
            ok = head.startswith(b"GET /small ")
            body = SMALL if ok else b"not found\n"
            status = b"200 OK" if ok else b"404 Not Found"
            self.request.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " +
                                 str(len(body)).encode() + b"\r\n" +
                                 (b"Connection: close\r\n" if close else b"") + b"\r\n" + body)
            if close:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


ICOUNT = ["-icount", "shift=0,sleep=off"]


def boot(build, port, requests, icount=False):
    """One boot's fwbench rows; with icount, the loopback kind alone under -icount shift=0
    (the guest clock then counts guest instructions: 1 ns each)."""
    cmd = [os.path.join(TOP, "ci/qemu-boot.sh"), build, "--batch", "--net", "--timeout", "300",
           "--image", os.path.join(build, "user/firewall-image/initfs.tar"),
           "--exec", f"fwbench 10.0.2.2 {port} /small {requests}" +
           (" loopback" if icount else "")]
    if icount:
        cmd += ["--", *ICOUNT]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace").stdout.replace("\r", "")
    rows = {}
    for kind, path, n, rps, p50, p90, p99, worst in LINE.findall(out):
        rows[f"{kind}_{path}"] = {"requests": int(n), "rps": float(rps), "p50_us": int(p50),
                                  "p90_us": int(p90), "p99_us": int(p99), "max_us": int(worst)}
    refused = re.search(r"refused by the host and made again: direct (\d+), firewall (\d+)$", out,
                        re.M)
    if refused:
        rows["refused_connects"] = {"direct": int(refused[1]), "firewall": int(refused[2])}
    if len(rows) != (3 if icount else 7):
        sys.exit("firewall.py: fwbench did not report every row:\n" + out[-3000:])
    return rows


def measure(build, requests, boots):
    """B boots of N round trips of each kind: the document b12.json holds."""
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        load_start = " ".join(open("/proc/loadavg").read().split()[:3])
        runs = [boot(build, port, requests) for _ in range(boots)]
        icount = boot(build, port, requests, icount=True)
        load_end = " ".join(open("/proc/loadavg").read().split()[:3])
    finally:
        server.shutdown()
        server.server_close()
    medians = {}
    for row in ("connect_direct", "connect_firewall", "keepalive_direct", "keepalive_firewall",
                "loopback_direct", "loopback_firewall"):
        medians[row] = {k: statistics.median(b[row][k] for b in runs) for k in runs[0][row]}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": f"bench/firewall.py --requests {requests} --boots {boots}",
        "qemu": f"ci/qemu-boot.sh build/kernel --batch --net --timeout 300 --image "
                f"build/kernel/user/firewall-image/initfs.tar --exec 'fwbench 10.0.2.2 PORT "
                f"/small {requests}'",
        "load_average": {"start": load_start, "end": load_end},
        "boots": runs,
        "median": medians,
        # One boot under -icount shift=0: the loopback kind's "latencies" are guest
        # instructions (virtual ns) per round trip.
        "icount": {"qemu_extra": " ".join(ICOUNT), "rows": icount},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--boots", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(TOP, "build/kernel"))
    ap.add_argument("--out", default=os.path.join(TOP, "bench/results/b12.json"))
    args = ap.parse_args()
    doc = measure(args.build, args.requests, args.boots)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import report  # the table bench/README.md shows, made the same way
    rep = report.Report.__new__(report.Report)
    rep.b12 = doc
    print(rep.b12_table() + f"({args.out})")


if __name__ == "__main__":
    main()
