#!/usr/bin/env python3
"""bench/httpprof.py: where B10's bulk transfer spends the guest's CPU, by sampling.

usage: bench/httpprof.py [--downloads N] [--unsampled N] [--top N] [--interval-ms MS]
                         [--detail TEXT]

Boots Keel's system as `bench/run.py b10` does (the same QEMU machine, NIC, FAT32 image and
files; run.py's own functions), with QEMU's human monitor on a Unix socket. While curl on the
host downloads the 16 MiB file N times, a second thread asks the monitor for `info registers`
in a loop: every answer is one sample of the virtual CPU (RIP, CR3, whether it was halted).
Samples are grouped by address space (CR3: one per process) and resolved against the kernel's
symbols (RIP in the upper half) or, for user code, against the program that address space
runs. Every user program is linked at the same address, so the program of a CR3 is the one
whose text holds that CR3's user samples best (each user RIP must fall inside one of the
candidate's functions); the report says which it chose and how well it fitted.

Sampling through the monitor stops the virtual CPU for a moment at each sample, so the
transfer runs a little slower than in B10; the shares, not the speed, are the result. (The
monitor holds QEMU's global lock while it answers, so a sample lands more often where the
virtual CPU waits for that lock, such as a device notification: those shares are overstated.)

Before the sampled downloads, --unsampled N (default 3) downloads run without the monitor and
each reports its speed and the CPU time of QEMU's threads (named with -name debug-threads=on):
the virtual CPU thread's time per byte sent is the guest's cost per byte, which depends on the
host's load much less than wall time does (the virtual CPU thread sleeps while the guest halts
or waits for the lock).
"""
import argparse
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: the boot, the files, the disk, the symbols)

REG = re.compile(r"RIP=([0-9a-f]+).*?CR3=([0-9a-f]+)", re.S)
HALTED = re.compile(r"\bHLT=1\b")
PROGRAMS = ("servers/httpd.elf", "servers/net.elf", "servers/fat.elf",
            "drivers/virtio-net.elf", "drivers/virtio-blk.elf", "user/shell.elf",
            "user/init.elf", "user/sleep.elf")


def functions(elf):
    """[(start, end, name)] of ELF's functions with a size (llvm-nm -S)."""
    out = run.output(["llvm-nm-14", "-C", "-S", "--defined-only", "-n", elf])
    funcs = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            start, size = int(parts[0], 16), int(parts[1], 16)
            if size:
                funcs.append((start, start + size, parts[3]))
    return funcs


def instructions(elf):
    """The address of every instruction in ELF's text (llvm-objdump -d)."""
    out = run.output(["llvm-objdump-14", "-d", "--no-show-raw-insn", elf])
    return {int(m[1], 16) for m in re.finditer(r"^\s*([0-9a-f]+):", out, re.M)}


def resolve(funcs, a):
    lo, hi = 0, len(funcs)
    while lo < hi:
        mid = (lo + hi) // 2
        if funcs[mid][0] <= a:
            lo = mid + 1
        else:
            hi = mid
    if lo and funcs[lo - 1][0] <= a < funcs[lo - 1][1]:
        return funcs[lo - 1][2]
    return None


class Monitor:
    def __init__(self, path):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.s.settimeout(10)
        self.read_until_prompt()

    def read_until_prompt(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("monitor closed")
            buf += chunk
        return buf.decode(errors="replace")

    def ask(self, command):
        self.s.sendall(command.encode() + b"\n")
        return self.read_until_prompt()


def sample(mon, stop, samples, interval):
    while not stop.is_set():
        text = mon.ask("info registers")
        m = REG.search(text)
        if m:
            samples.append((int(m[1], 16), int(m[2], 16) & ~0xfff, bool(HALTED.search(text))))
        if interval:
            time.sleep(interval)


def qemu_threads(session):
    """{thread name: CPU seconds (user + system)} of the QEMU process in `session` (the process
    group run.Guest started); the virtual CPU's thread is "CPU 0/TCG"."""
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != session or "qemu-system" not in stat[:stat.rindex(")")]:
                continue
            times = {}
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    t = f.read()
                name = t[t.index("(") + 1:t.rindex(")")]
                tf = t[t.rindex(")") + 2:].split()
                times[name] = times.get(name, 0.0) + (int(tf[11]) + int(tf[12])) / tick
            return times
        except (OSError, ValueError, IndexError):
            continue
    return {}


def report(samples, kernel, progs, starts, top, detail):
    """Prints SAMPLES ([(rip, cr3, halted)]) grouped by address space, each resolved against the
    kernel's FUNCTIONS or the program whose text fits its user samples best."""
    total = len(samples)
    print(f"{total} samples")
    by_cr3 = collections.defaultdict(list)
    for rip, cr3, halted in samples:
        by_cr3[cr3].append((rip, halted))
    rows = []
    for cr3, ss in by_cr3.items():
        user = [r for r, _ in ss if r < 0xffff800000000000]
        best, fit = "?", 0.0
        for name, funcs in progs.items():
            f = sum(1 for r in user if r in starts[name]) / len(user) if user else 0.0
            if f > fit:
                best, fit = name, f
        rows.append((len(ss), cr3, best, fit, ss))
    for n, cr3, best, fit, ss in sorted(rows, reverse=True):
        halted = sum(1 for _, h in ss if h)
        user = [r for r, _ in ss if r < 0xffff800000000000]
        print(f"\n== CR3 {cr3:#x}: {100 * n / total:.1f}% of samples "
              f"({len(user)} user, {n - len(user) - halted} kernel, {halted} halted); "
              f"program {best} (fit {100 * fit:.0f}%)")
        names, where = collections.Counter(), collections.Counter()
        for r, h in ss:
            if h:
                names["(halted)"] += 1
            elif r >= 0xffff800000000000:
                names["K " + (resolve(kernel, r) or hex(r))] += 1
            else:
                names["U " + (resolve(progs.get(best, []), r) or hex(r))] += 1
            if not h and detail and detail in ((resolve(kernel, r) if r >= 0xffff800000000000
                                                else resolve(progs.get(best, []), r)) or ""):
                where[r] += 1
        for name, c in names.most_common(top):
            print(f"  {100 * c / total:5.1f}%  {name[:140]}")
        for r, c in where.most_common(top):
            print(f"    {r:#x} {100 * c / total:5.1f}%")


def main(argv):
    p = argparse.ArgumentParser(prog="bench/httpprof.py")
    p.add_argument("--downloads", type=int, default=5)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--interval-ms", type=float, default=0.0)
    p.add_argument("--unsampled", type=int, default=3,
                   help="downloads before the sampled ones, not sampled: their speed and the "
                   "virtual CPU thread's CPU time per download (less load-dependent than wall time)")
    p.add_argument("--detail", help="also each sampled address in functions matching this")
    a = p.parse_args(argv)
    os.chdir(run.TOP)
    kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    kernel = functions(f"{kbuild}/kernel/keel-kernel.elf")
    progs = {name: functions(f"{kbuild}/{name}") for name in PROGRAMS
             if os.path.exists(f"{kbuild}/{name}")}
    starts = {name: instructions(f"{kbuild}/{name}") for name in progs}
    with tempfile.TemporaryDirectory(prefix="httpprof.") as tmp:
        small_path, bulk_path = run.b10_files(tmp)
        with open(small_path, "rb") as f:
            small = f.read()
        disk = os.path.join(tmp, "disk.img")
        run.b10_disk(disk, (small_path, bulk_path))
        sock = os.path.join(tmp, "monitor.sock")
        args = ["ci/qemu-boot.sh", kbuild, "--batch", "--timeout", "900", "--disk", disk,
                "--monitor", sock, "--exec", "sleep 900"]
        # Named threads (the virtual CPU's is "CPU 0/TCG"): --unsampled's CPU times by thread.
        guest = run.Guest("keel", args, [80], os.path.join(tmp, "keel.log"),
                          ["-name", "keel,debug-threads=on"])
        try:
            guest.wait_ready(small, run.B10_READY_SECONDS["keel"])
            run.curl_bulk(guest.url(run.B10_BULK, 80))  # warm-up, as B10's check fetch
            unsampled = []
            for _ in range(a.unsampled):
                before = qemu_threads(guest.proc.pid)
                speed = run.curl_bulk(guest.url(run.B10_BULK, 80))[0]
                after = qemu_threads(guest.proc.pid)
                unsampled.append((speed, {k: after[k] - before.get(k, 0.0) for k in after}))
            mon = Monitor(sock)
            samples, stop = [], threading.Event()
            t = threading.Thread(target=sample, args=(mon, stop, samples,
                                                      a.interval_ms / 1000))
            t.start()
            speeds = [run.curl_bulk(guest.url(run.B10_BULK, 80)) for _ in range(a.downloads)]
            stop.set()
            t.join()
        finally:
            guest.stop()
    for speed, cpu in unsampled:
        vcpu = sum(v for k, v in cpu.items() if k.startswith("CPU "))
        rest = sum(v for k, v in cpu.items() if not k.startswith("CPU "))
        print(f"download (not sampled): {speed} MB/s, virtual CPU thread {vcpu:.2f} s "
              f"({1e9 * vcpu / run.B10_BULK_BYTES:.1f} ns a byte), QEMU's other threads "
              f"{rest:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in sorted(cpu.items()) if v)})")
    print(f"downloads (MB/s, sampled): {', '.join(str(s[0]) for s in speeds)}")
    print(f"load average: {run.loadavg()}")
    report(samples, kernel, progs, starts, a.top, a.detail)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
