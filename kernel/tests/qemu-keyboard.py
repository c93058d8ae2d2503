#!/usr/bin/env python3
"""qemu-keyboard.py QEMU_BOOT KERNEL_BUILD_DIR WORK_DIR: the PS/2 keyboard driver end to end.

Boots the system with `--exec` running `keys` (prints the key events of /srv/kbd), then
`loadkeys /etc/keymaps/de.keymap` and `keys` again, and types into QEMU's keyboard through its
human monitor (`sendkey`, on a Unix socket): a, Shift+A, Caps Lock b Caps Lock, Up, c held
1500 ms (the driver's software repeat), Esc (ends a `keys` run); after the German layout is
loaded, y (z on a QWERTZ keyboard) and the key right of L's neighbour (ä). Each step waits for
the previous one's lines on the serial console, so nothing depends on timing but the hold.
"""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ci"))
import screen  # noqa: E402  (ci/screen.py: the one QEMU monitor client)

boot, build, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
sock = os.path.join(work, "monitor.sock")
if os.path.exists(sock):
    os.unlink(sock)
commands = "keys 100; loadkeys /etc/keymaps/de.keymap; keys 100"
proc = subprocess.Popen([boot, build, "--batch", "--exec", commands, "--monitor", sock,
                         "--timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL)
lines = []
lock = threading.Lock()


def reader():
    for raw in proc.stdout:
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        with lock:
            lines.append(text)


threading.Thread(target=reader, daemon=True).start()


def fail(why):
    with lock:
        log = "\n".join(lines)
    print(log)
    print(f"FAIL: {why}", file=sys.stderr)
    proc.kill()
    sys.exit(1)


def wait_for(pattern, after=0, timeout=20.0):
    """The index of the first line from `after` on matching pattern."""
    end = time.time() + timeout
    rx = re.compile(pattern)
    while time.time() < end:
        with lock:
            for i in range(after, len(lines)):
                if rx.search(lines[i]):
                    return i
        if proc.poll() is not None and time.time() > end - timeout + 1:
            with lock:
                if not any(rx.search(x) for x in lines[after:]):
                    break
        time.sleep(0.05)
    fail(f"no line matching {pattern!r}")


ready = wait_for(r"^keys: layout us, reading /srv/kbd$")
try:
    mon = screen.Monitor(sock, timeout=10)
except OSError:
    fail("no monitor socket")
sendkey = mon.sendkey


# Each step: the keys, then the line that shows they arrived.
steps = [
    ("a", None, r"^0x1e release - mods 0x00$"),
    ("shift-a", None, r"^0x2a release - mods 0x00$"),
    ("caps_lock", None, r"^0x3a release - mods 0x10$"),
    ("b", None, r"^0x30 release - mods 0x10$"),
    ("caps_lock", None, r"^0x3a release - mods 0x00$"),
    ("up", None, r"^0xc8 release - mods 0x00$"),
    ("c", 1500, r"^0x2e release - mods 0x00$"),
    ("esc", None, r"^loadkeys: layout de$"),
]
at = ready
for keys, hold, done in steps:
    sendkey(keys, hold)
    at = wait_for(done, at + 1)
second = wait_for(r"^keys: layout de, reading /srv/kbd$", at)
for keys, done in (("y", r"^0x15 release - mods 0x00$"), ("apostrophe", r"^0x28 release"),
                   ("esc", r"^init: exec finished with status 0$")):
    sendkey(keys)
    at = wait_for(done, at + 1)
try:
    proc.wait(timeout=20)
except subprocess.TimeoutExpired:
    fail("QEMU did not stop")
mon.sock.close()
with lock:
    log = lines[ready:]
expect = [r"^0x1e press a mods 0x00$", r"^0x2a press - mods 0x01$", r"^0x1e press A mods 0x01$",
          r"^0x3a press - mods 0x10$", r"^0x30 press B mods 0x10$", r"^0xc8 press - mods 0x00$",
          r"^0x2e press c mods 0x00$", r"^0x01 release - mods 0x00$",
          r"^0x15 press z mods 0x00$", r"^0x28 press ä mods 0x00$"]
for e in expect:
    if not any(re.search(e, x) for x in log):
        fail(f"no event line {e!r}")
repeats = sum(1 for x in log if re.search(r"^0x2e repeat c mods 0x00$", x))
# Held 1500 ms: the first repeat after 500 ms, then every 33 ms: about 30. QEMU injects the
# press and the release on its own clock; a busy host can hold up the guest's handling of
# the press for a few hundred ms (at 700 ms, 1 run in 4 under a loaded host saw none), so the
# bounds are wide: at least 2, at most 60.
if not 2 <= repeats <= 60:
    fail(f"{repeats} repeats of a key held 1500 ms")
if any(re.search(r"repeat", x) and not x.startswith("0x2e") for x in log):
    fail("a repeat of a key that was not held")
print("\n".join(log))
print(f"qemu-keyboard: letters, Shift, Caps Lock, Up, {repeats} repeats of a held key, "
      "the German layout (z, ä): all seen")
