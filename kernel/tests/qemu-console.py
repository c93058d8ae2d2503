#!/usr/bin/env python3
"""qemu-console.py QEMU_BOOT KERNEL_BUILD_DIR FONT WORK_DIR [qemu-boot.sh options]

The screen console seen from outside, as a person would: boots the system (the exec shell
only sleeps), waits for the console's start line, then types commands on the PS/2 keyboard
through QEMU's monitor (`sendkey`) into the shell that init runs on the screen, and reads the
screen back from a screendump (ci/screen.py: every character cell compared pixel by pixel with
the glyphs of FONT, the PSF file the image carries as etc/console.psf).

Checks: every cell of the screen is a glyph of the font in two colours (the rendering is
exact); the typed command lines appear as typed (Shift included); a line written with ANSI
colour escapes is red on black while the prompt is the default grey; output longer than the
screen scrolled it (the first command is gone, later lines are at the bottom, nothing torn);
the cursor (an inverted cell) sits after the last prompt.
"""
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ci"))
import screen  # noqa: E402

boot, build, font_path, work = sys.argv[1:5]
extra = sys.argv[5:]
os.makedirs(work, exist_ok=True)
sock = os.path.join(work, "monitor.sock")
if os.path.exists(sock):
    os.unlink(sock)
log_path = os.path.join(work, "keel.log")
failures = []


def fail(why):
    failures.append(why)
    print("qemu-console: " + why, file=sys.stderr)


qemu = subprocess.Popen([boot, build, "--batch", "--exec", "sleep 120", "--monitor", sock,
                         "--timeout", "150"] + extra,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        errors="replace")
lines = []
started = threading.Event()


def reader():
    with open(log_path, "w") as log:
        for line in qemu.stdout:
            log.write(line)
            log.flush()
            lines.append(line.rstrip("\n"))
            if line.startswith("console: srv/tty: "):
                started.set()


threading.Thread(target=reader, daemon=True).start()
try:
    if not started.wait(90):
        fail("no 'console: srv/tty:' line within 90 s (log: %s)" % log_path)
        raise SystemExit
    monitor = screen.Monitor(sock)
    font = screen.Font(font_path)

    def settle(name, done):
        try:
            return screen.settled_screen(monitor, os.path.join(work, name), font, done, 30)
        except TimeoutError as e:
            fail(str(e))
            raise SystemExit

    # The shell on the screen prints its prompt once it runs: wait for it.
    settle("start.ppm", lambda text: "/ $" in text)

    first = "ls /bin; ls /bin; ls /bin"
    coloured = "echo -e '\\e[31mRED LINE\\e[0m' plain"
    monitor.type(first + "\n")
    monitor.type(coloured + "\n")
    monitor.type("echo Done_1\n")
    # Wait until the last command's output and the prompt after it are on a settled screen.
    rows = settle("end.ppm", lambda text: "Done_1" in text and "/ $" in text[text.index("Done_1"):])
    text = screen.text_of(rows)
    with open(os.path.join(work, "screen.txt"), "w") as f:
        f.write("\n".join(text) + "\n")

    prompt = "/ $ "
    if any(row == prompt + first for row in text):
        fail("the screen did not scroll: the first command is still visible")
    # The rows above the coloured command are ls /bin's lines, three times over: every one a
    # name (and a size), and the whole run periodic with ls's line count, so a row drawn stale
    # or twice by scrolling shows up.
    first_command = next((i for i, row in enumerate(text) if row == prompt + coloured), len(text))
    listing = text[:first_command]
    if not any(row.startswith("wc ") for row in listing):
        fail("ls /bin's names are not on the screen: %r" % listing)
    if any(not re.fullmatch(r"[a-z0-9-]+(/| +[0-9]+)", row) for row in listing):
        fail("a row above the commands is not ls output: %r" % listing)
    period = next((p for p in range(10, len(listing))
                   if all(listing[i] == listing[i + p] for i in range(len(listing) - p))), None)
    if period is None or len(listing) - period < 4 or len(set(listing[:period])) != period:
        fail("ls /bin's three listings do not repeat on the screen: %r" % listing)
    command_rows = [i for i, row in enumerate(text) if row == prompt + coloured]
    if len(command_rows) != 1:
        fail("the typed coloured command is not shown once as typed: %r" % text)
    else:
        i = command_rows[0]
        if text[i + 1] != "RED LINE plain":
            fail("the coloured line reads %r" % text[i + 1])
        else:
            cells = rows[i + 1]
            red, grey = cells[0], cells[len("RED LINE ")]
            r, g, b = red.fg
            if not (r >= 0x80 and g < 0x40 and b < 0x40) or sum(red.bg) != 0:
                fail("RED LINE is drawn in %r on %r, not red on black" % (red.fg, red.bg))
            if grey.fg == red.fg or not (grey.fg[0] == grey.fg[1] == grey.fg[2] >= 0x80):
                fail("the text after the reset is %r, not the default grey" % (grey.fg,))
            if rows[i][0].fg != grey.fg:
                fail("the prompt is in %r, not the default colour" % (rows[i][0].fg,))
    last_prompt = max((i for i, row in enumerate(text) if row == prompt.rstrip()), default=None)
    if last_prompt is None or last_prompt <= text.index("Done_1"):
        fail("no prompt after the last output: %r" % text[-4:])
    else:
        cursor = rows[last_prompt][len(prompt)]
        normal = rows[last_prompt][0]
        if cursor.bg != normal.fg:
            fail("no cursor (an inverted cell) after the last prompt: %r on %r"
                 % (cursor.fg, cursor.bg))
    monitor.quit()
except SystemExit:
    pass
except Exception as e:  # a broken screen is a failure with its reason, not a traceback
    fail("%s: %s" % (type(e).__name__, e))
finally:
    try:
        qemu.wait(timeout=20)
    except subprocess.TimeoutExpired:
        qemu.kill()

if failures:
    print("qemu-console: FAILED (%d); log %s" % (len(failures), log_path), file=sys.stderr)
    sys.exit(1)
print("qemu-console: passed")
