#!/usr/bin/env python3
"""Keel's screen from the outside, through QEMU's human monitor (ci/qemu-boot.sh --monitor).

A library for the console tests and `./keel screenshot`, and a command:

    screen.py shot SOCKET OUT.png --font PSF [--type TEXT] [--ready TEXT] [--timeout SECONDS]
        waits until a screen row starts with the --ready text (the shell's prompt), types TEXT
        (then Enter) on the guest's keyboard, waits until the prompt is back on the last used
        row, and saves the screen as PNG.

What it does: types text as PS/2 key presses (`sendkey`), saves the screen (`screendump`),
reads a PPM, and reads the text back off the pixels with a PC Screen Font: every character
cell is compared pixel by pixel with the font's glyphs (this file's own PSF reader, written
from the format's description, independent of lib/font), so a test can check both what the
console drew and that it drew it exactly.
"""
import argparse
import os
import socket
import sys
import time

# sendkey names for the characters a US keyboard types without Shift, and with it.
_PLAIN = {" ": "spc", "\n": "ret", "\t": "tab", "-": "minus", "=": "equal",
          "[": "bracket_left", "]": "bracket_right", "\\": "backslash", ";": "semicolon",
          "'": "apostrophe", "`": "grave_accent", ",": "comma", ".": "dot", "/": "slash"}
_SHIFTED = {"_": "minus", "+": "equal", "{": "bracket_left", "}": "bracket_right",
            "|": "backslash", ":": "semicolon", '"': "apostrophe", "~": "grave_accent",
            "<": "comma", ">": "dot", "?": "slash", "!": "1", "@": "2", "#": "3", "$": "4",
            "%": "5", "^": "6", "&": "7", "*": "8", "(": "9", ")": "0"}


def key_for(ch):
    """The sendkey argument that types ch on a US layout."""
    if "a" <= ch <= "z" or "0" <= ch <= "9":
        return ch
    if "A" <= ch <= "Z":
        return "shift-" + ch.lower()
    if ch in _PLAIN:
        return _PLAIN[ch]
    if ch in _SHIFTED:
        return "shift-" + _SHIFTED[ch]
    raise ValueError(f"no key types {ch!r}")


class Monitor:
    """QEMU's human monitor on a Unix socket: one command at a time, answered by a prompt."""

    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self._until_prompt()

    def _until_prompt(self):
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the QEMU monitor closed")
            data += chunk
        return data

    def command(self, text):
        self.sock.sendall(text.encode() + b"\n")
        return self._until_prompt()

    def sendkey(self, key, hold_ms=None):
        self.command(f"sendkey {key}" + (f" {hold_ms}" if hold_ms else ""))

    def type(self, text, delay=0.02):
        for ch in text:
            self.sendkey(key_for(ch))
            time.sleep(delay)

    def screendump(self, path, png=False):
        self.command(f"screendump {path}" + (" -f png" if png else ""))

    def quit(self):
        try:
            self.sock.sendall(b"quit\n")
        except OSError:
            pass


def read_ppm(path):
    """(width, height, rgb bytes) of a binary PPM (P6, maxval 255) as QEMU's screendump writes."""
    with open(path, "rb") as f:
        data = f.read()
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at)
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    at += 1  # the single whitespace byte after maxval
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"{path}: not a binary PPM with maxval 255")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[at:at + width * height * 3]
    if len(pixels) != width * height * 3:
        raise ValueError(f"{path}: truncated")
    return width, height, pixels


class Font:
    """A PC Screen Font (PSF1 or PSF2, uncompressed): glyph bitmaps and the Unicode table."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == b"\x36\x04":
            mode, self.height = data[2], data[3]
            self.width, count, header = 8, 512 if mode & 1 else 256, 4
            size = self.height
            table = data[header + count * size:] if mode & 6 else b""
            self.map = self._psf1_table(table, count)
        elif data[:4] == b"\x72\xb5\x4a\x86":
            word = lambda i: int.from_bytes(data[4 * i:4 * i + 4], "little")
            header, flags, count, size = word(2), word(3), word(4), word(5)
            self.height, self.width = word(6), word(7)
            table = data[header + count * size:] if flags & 1 else b""
            self.map = self._psf2_table(table, count)
        else:
            raise ValueError(f"{path}: not a PSF font")
        row = (self.width + 7) // 8
        self.glyphs = []
        for g in range(count):
            base = header + g * size
            bits = []
            for y in range(self.height):
                line = data[base + y * row:base + (y + 1) * row]
                bits.append(tuple((line[x // 8] >> (7 - x % 8)) & 1 for x in range(self.width)))
            self.glyphs.append(tuple(bits))
        # A bitmap to the character it shows (the lowest code point, so ASCII wins).
        self.by_bitmap = {}
        for cp in sorted(self.map):
            self.by_bitmap.setdefault(self.glyphs[self.map[cp]], chr(cp))

    @staticmethod
    def _psf1_table(table, count):
        mapping, glyph, seq = {}, 0, False
        for i in range(0, len(table) - 1, 2):
            v = table[i] | table[i + 1] << 8
            if v == 0xFFFF:
                glyph, seq = glyph + 1, False
            elif v == 0xFFFE:
                seq = True
            elif not seq and glyph < count:
                mapping.setdefault(v, glyph)
        return mapping

    @staticmethod
    def _psf2_table(table, count):
        mapping = {}
        for glyph, entry in enumerate(table.split(b"\xff")[:count]):
            singles = entry.split(b"\xfe")[0]
            for ch in singles.decode("utf-8", "replace"):
                mapping.setdefault(ord(ch), glyph)
        return mapping

    def glyph_of(self, ch):
        return self.glyphs[self.map.get(ord(ch), self.map.get(ord("?"), 0))]


class Cell:
    def __init__(self, ch, fg, bg):
        self.ch, self.fg, self.bg = ch, fg, bg


def read_screen(ppm_path, font):
    """The screen as rows of Cells, each read off the pixels against the font's glyphs. A cell
    whose pixels are no glyph of the font in two colours is a ValueError naming it."""
    width, height, px = read_ppm(ppm_path)
    rows = []
    for top in range(0, height - font.height + 1, font.height):
        row = []
        for left in range(0, width - font.width + 1, font.width):
            colours, cell = [], []
            for y in range(font.height):
                at = ((top + y) * width + left) * 3
                line = tuple(px[at + 3 * x:at + 3 * x + 3] for x in range(font.width))
                cell.append(line)
                for c in line:
                    if c not in colours:
                        colours.append(c)
            if len(colours) > 2:
                raise ValueError(f"cell at column {left // font.width}, row "
                                 f"{top // font.height} has {len(colours)} colours")
            if len(colours) == 1:
                row.append(Cell(" ", colours[0], colours[0]))
                continue
            found = None
            for fg, bg in ((colours[0], colours[1]), (colours[1], colours[0])):
                bits = tuple(tuple(1 if c == fg else 0 for c in line) for line in cell)
                if bits in font.by_bitmap:
                    found = Cell(font.by_bitmap[bits], fg, bg)
                    # Prefer the reading where the background is the darker colour.
                    if sum(bg) <= sum(fg):
                        break
            if found is None:
                raise ValueError(f"cell at column {left // font.width}, row {top // font.height}"
                                 " is no glyph of the font")
            row.append(found)
        rows.append(row)
    return rows


def text_of(rows):
    return ["".join(c.ch for c in row).rstrip() for row in rows]


def settled_screen(monitor, ppm_path, font, done, timeout, interval=0.3):
    """Screendumps until done(text) holds for two dumps in a row that read the same (a dump
    taken while the driver copies a rectangle may show a cell half old, half new: such a dump
    only means "not yet"). The rows of the last dump; TimeoutError with the last text."""
    deadline = time.monotonic() + timeout
    last, text = None, []
    while True:
        monitor.screendump(ppm_path)
        try:
            rows = read_screen(ppm_path, font)
            text = text_of(rows)
            if done(text) and text == last:
                return rows
            last = text if done(text) else None
        except ValueError:
            last = None
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not settle: last rows %r" % text[-4:])
        time.sleep(interval)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    shot = sub.add_parser("shot", help="type a command, then save the screen as PNG")
    shot.add_argument("socket")
    shot.add_argument("out")
    shot.add_argument("--font", required=True)
    shot.add_argument("--type", default="")
    shot.add_argument("--ready", default="/ $")
    shot.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    font = Font(args.font)
    monitor = Monitor(args.socket, timeout=args.timeout)
    ppm = args.out + ".ppm"

    prompt = args.ready.rstrip()

    def at_prompt(text):  # the last used row is a bare prompt: the shell waits for a line
        used = [r for r in text if r]
        return bool(used) and used[-1] == prompt

    try:
        before = text_of(settled_screen(monitor, ppm, font, at_prompt, args.timeout))
        if args.type:
            monitor.type(args.type + "\n")
            # Done when the screen changed and a bare prompt is back at its end.
            settled_screen(monitor, ppm, font, lambda t: t != before and at_prompt(t),
                           args.timeout)
        monitor.screendump(args.out, png=True)
    finally:
        monitor.quit()
        if os.path.exists(ppm):
            os.unlink(ppm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
