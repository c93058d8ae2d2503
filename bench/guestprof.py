#!/usr/bin/env python3
"""bench/guestprof.py: where a guest program's run spends the virtual CPU, by sampling.

usage: bench/guestprof.py [--image TAR] [--disk-mib N | --fat-image] [--top N] [--detail TEXT]
                          [--skip-s S] -- COMMAND...

Boots Keel (KEEL_KERNEL_BUILD, default build/kernel) with `--exec COMMAND` and QEMU's human
monitor on a Unix socket, and samples the virtual CPU (`info registers`: RIP, CR3, halted) in a
loop until QEMU exits, dropping the first --skip-s seconds (the boot). The report is
bench/httpprof.py's: samples grouped by address space, resolved against the kernel's symbols
or the program that address space runs. For a row that is too short to sample, make it longer
(blkbench's ROUNDS argument repeats its sequential 64 KiB read at depth 32).

--disk-mib N attaches a fresh sparse scratch disk of N MiB (bench/blk.sh's); --fat-image
attaches bench row B9's FAT32 image with BENCH.DAT (bench/run.py's). The program's own output
lines (those starting with its name) are printed before the report.

Sampling stops the virtual CPU for a moment at each sample, so the run is slower than
unsampled; the shares are the result, not the speed (bench/httpprof.py says what is
overstated).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpprof  # noqa: E402  (the monitor, the sampler, the symbols and the report)
import run  # noqa: E402

PROGRAMS = httpprof.PROGRAMS + ("user/blkbench.elf", "user/fsbench.elf", "servers/ramdisk.elf")


def main(argv):
    p = argparse.ArgumentParser(prog="bench/guestprof.py")
    p.add_argument("--image", help="the initfs to boot (default: the system image)")
    p.add_argument("--disk-mib", type=int, default=0)
    p.add_argument("--fat-image", action="store_true")
    p.add_argument("--top", type=int, default=14)
    p.add_argument("--skip-s", type=float, default=0.8)
    p.add_argument("--detail")
    p.add_argument("command", nargs="+")
    a = p.parse_args(argv)
    os.chdir(run.TOP)
    kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    kernel = httpprof.functions(f"{kbuild}/kernel/keel-kernel.elf")
    progs = {name: httpprof.functions(f"{kbuild}/{name}") for name in PROGRAMS
             if os.path.exists(f"{kbuild}/{name}")}
    starts = {name: httpprof.instructions(f"{kbuild}/{name}") for name in progs}
    with tempfile.TemporaryDirectory(prefix="guestprof.") as tmp:
        sock = os.path.join(tmp, "monitor.sock")
        args = ["ci/qemu-boot.sh", kbuild, "--batch", "--timeout", "600", "--monitor", sock,
                "--exec", " ".join(a.command)]
        if a.image:
            args += ["--image", a.image]
        disk = os.path.join(tmp, "disk.img")
        if a.disk_mib:
            with open(disk, "wb") as f:
                f.truncate(a.disk_mib << 20)
            args += ["--disk", disk]
        elif a.fat_image:
            bench_file = os.path.join(tmp, "BENCH.DAT")
            run.splitmix64_file(bench_file, run.B9_FILE_BYTES)
            run.b9_disk(disk, bench_file)
            args += ["--disk", disk]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        out = []
        reader = threading.Thread(target=lambda: out.extend(proc.stdout))
        reader.start()
        mon = httpprof.Monitor(sock)
        samples, stop = [], threading.Event()
        started = time.monotonic()

        def sample():
            try:
                httpprof.sample(mon, stop, samples, 0)
            except (OSError, EOFError):
                pass  # QEMU exited

        t = threading.Thread(target=sample)
        t.start()
        time.sleep(a.skip_s)
        skip = len(samples)  # the boot's
        proc.wait()
        stop.set()
        t.join()
        reader.join()
        elapsed = time.monotonic() - started
    prog = os.path.basename(a.command[0])
    for line in out:
        text = line.decode(errors="replace").strip()
        if text.startswith(prog):
            print(text)
    print(f"{elapsed:.1f} s sampled, the first {skip} samples (the boot) dropped; "
          f"load average {run.loadavg()}")
    httpprof.report(samples[skip:], kernel, progs, starts, a.top, a.detail)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
