#!/usr/bin/python3
"""qemu-display.py BOOT BUILD WORKDIR NAME REGEX... -- [qemu-boot.sh options...]

Boots through ci/qemu-boot.sh with QEMU's monitor on a Unix socket; once the guest's
displaytest says "pattern drawn", takes a screendump (PPM) through the monitor and checks every
pixel: the rectangles displaytest flushed show its pattern, everything else is black (so a
refused flush copied nothing and a flush copied no more than asked). Passes only when QEMU ends
with status 0, every REGEX matches a line of the output, and the picture is right.
"""
import os
import re
import subprocess
import sys
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ci"))
import screen  # noqa: E402  (ci/screen.py: the one PPM reader and monitor client)
from screen import read_ppm  # noqa: E402

DRAWN = re.compile(r"^displaytest: pattern drawn: (\d+)x(\d+), ")


def pattern(x, y):
    # user/displaytest/displaytest.cpp: pattern()
    return (x & 0xFF, y & 0xFF, 0x80 | ((x >> 8) & 7) << 3 | ((y >> 8) & 7))


def flushed_rects(w, h):
    # user/displaytest/displaytest.cpp: flush_rectangles (the hostile ones copy nothing)
    rects = [(16, 16, 256, 128), (300, 200, 400, 300), (0, h - 1, w, 1), (w - 1, 0, 1, 1),
             (100, 400, 1, 200)]
    rects += [(8 * i, 700, 4, 8) for i in range(60)]
    return rects


def check_picture(path, w, h):
    pw, ph, pixels = read_ppm(path)
    if (pw, ph) != (w, h):
        return f"screendump is {pw}x{ph}, the mode is {w}x{h}"
    inside = bytearray(w * h)
    for x0, y0, rw, rh in flushed_rects(w, h):
        for y in range(y0, y0 + rh):
            inside[y * w + x0:y * w + x0 + rw] = b"\x01" * rw
    wrong = 0
    first = None
    shown = 0
    for y in range(h):
        row = pixels[y * w * 3:(y + 1) * w * 3]
        for x in range(w):
            want = pattern(x, y) if inside[y * w + x] else (0, 0, 0)
            got = (row[3 * x], row[3 * x + 1], row[3 * x + 2])
            if got != want:
                wrong += 1
                if first is None:
                    first = f"({x}, {y}) is {got}, expected {want}"
            elif inside[y * w + x]:
                shown += 1
    if wrong:
        return f"{wrong} pixels wrong; first {first}"
    print(f"qemu-display.py: {path}: {w}x{h}, {shown} pattern pixels and the rest black as expected")
    return None


def main():
    args = sys.argv[1:]
    split = args.index("--")
    boot, build, workdir, name = args[:4]
    regexes = args[4:split]
    options = args[split + 1:]
    os.makedirs(workdir, exist_ok=True)
    sock = os.path.join(workdir, f"{name}.monitor")
    shot = os.path.join(workdir, f"{name}.ppm")
    for f in (sock, shot):
        if os.path.exists(f):
            os.remove(f)
    proc = subprocess.Popen([boot, build, "--monitor", sock, *options], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines = []
    mode = []

    def reader():
        for raw in proc.stdout:
            line = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", raw.decode(errors="replace")).rstrip("\r\n")
            line = line.replace("\r", "")
            print(line, flush=True)
            lines.append(line)
            m = DRAWN.match(line)
            if m and not mode:
                mode.append((int(m.group(1)), int(m.group(2))))
                try:
                    print(screen.Monitor(sock, timeout=20).command(f"screendump {shot}").decode(errors="replace").strip().splitlines()[-1:])
                except OSError as e:
                    print(f"qemu-display.py: monitor: {e}")

    t = threading.Thread(target=reader)
    t.start()
    status = proc.wait()
    t.join()
    failed = []
    if status != 0:
        failed.append(f"qemu-boot.sh exited with status {status}, expected 0")
    for regex in regexes:
        if not any(re.search(regex, line) for line in lines):
            failed.append(f"no output line matches /{regex}/")
    if not mode:
        failed.append("displaytest never said it drew the pattern")
    elif not os.path.exists(shot):
        failed.append("no screendump was written")
    else:
        why = check_picture(shot, *mode[0])
        if why:
            failed.append(f"screendump {shot}: {why}")
    for why in failed:
        print(f"FAIL: {why}", file=sys.stderr)
    if not failed:
        print("PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
