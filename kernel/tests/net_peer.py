#!/usr/bin/env python3
"""net_peer.py DIR: the host's side of Keel's network tests, on the loopback only.

Serves DIR over HTTP/1.1 on 127.0.0.1 (Keel's `fetch` downloads from it through QEMU's user
network, where 10.0.2.2 is the host's 127.0.0.1), echoes UDP datagrams, and holds a request
for /hold until the file DIR/.release exists (so a guest command can wait for the host's tests
to finish), and sends DIR/blob with chunked transfer coding, in pieces of every size from 1
byte to 64 KiB, for /chunked. Prints "http PORT" and "udp PORT" on its first two lines, then runs until killed.
"""
import http.server
import os
import socket
import sys
import threading
import time

root = sys.argv[1]


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)

    def do_GET(self):
        if self.path == "/hold":
            deadline = time.time() + 600
            while not os.path.exists(os.path.join(root, ".release")) and time.time() < deadline:
                time.sleep(0.1)
            body = b"released\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/chunked":
            with open(os.path.join(root, "blob"), "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            at, size = 0, 1
            while at < len(data):
                piece = data[at:at + size]
                self.wfile.write(b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n")
                at += len(piece)
                size = size * 3 % 65536 + 1
            self.wfile.write(b"0\r\nTrailer: yes\r\n\r\n")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def udp_echo(sock):
    while True:
        data, peer = sock.recvfrom(65536)
        sock.sendto(data, peer)


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
print("http", httpd.server_address[1], flush=True)
print("udp", udp.getsockname()[1], flush=True)
threading.Thread(target=udp_echo, args=(udp,), daemon=True).start()
httpd.serve_forever()
