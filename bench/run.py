#!/usr/bin/env python3
"""bench/run.py (also `./keel bench`): runs the benchmarks and writes their raw results.

usage: bench/run.py [--reps N] [--min-time SECONDS] [--quick] [ROW...]
       bench/run.py profile ROW ROUNDS [OPS_PER_ROUND] [--top N] [--detail NAME]

Rows B1-B6 build the `bench` preset (build/bench: Release, no sanitizers; KEEL_BENCH_BUILD names
another configured optimised tree) and run each program with Keel interleaved with its
baseline; B7 builds the kernel tree (build/kernel, or KEEL_KERNEL_BUILD) and boots user/kbench
twice under QEMU with -icount shift=0 (guest instructions, deterministic); B8 builds the Linux
guest (bench/linux/make-guest.sh into build/linux-guest, or KEEL_LINUX_GUEST) and boots it in
the same QEMU machine: twice under -icount shift=0 (CPU rows), three times without (block rows
on a fresh scratch disk each, ci/qemu-disk.args); B9 boots Keel's blkbench and fsbench and the
Linux guest's block and file rows in turn on fresh disks, three rounds; B10 boots the Linux guest
(busybox httpd and guesthttpd) and Keel's system (servers/httpd, "missing" until its image has
one) with a NIC and a fresh FAT32 disk, three rounds, and loads them from the host with wrk and
curl through a free 127.0.0.1 port; B11 boots user/levelbench (the four I/O levels, docs/io-levels.md)
three times on two disks with the same bytes and once more under -icount shift=0; B12 boots the
firewall test image three times and runs user/fwbench through the firewall and directly
(bench/firewall.py); B13 boots kbench's polling mode three times under -smp 2 (the polling
queue against the system-call queue, wall clock); B14 boots user/scalebench under -smp 1, 2 and
4, three times each (1, 2 and 4 pairs at once, wall clock). ROW is b1..b14 (default: all). --quick: 3 repetitions, tiny
sizes (a try-out, not a result; kbench and the Linux guest run with "quick", a tenth of the
operations). Writes into bench/results (or KEEL_BENCH_OUT): b1..b7.json, b8_linux.json,
b9.json, b10.json, b11.json, b12.json, b13.json, b14.json and machine.txt, then runs bench/report.py on them, which writes the tables and the chart (and,
after a full run into bench/results, the README's generated blocks).

`profile` says where B7's instructions go: it boots kbench twice with only ROW, ROUNDS and
2 * ROUNDS loop iterations, under -icount shift=0 -d in_asm,exec,nochain, counts every executed
guest instruction by the kernel or kbench function holding it and prints the difference per
extra operation (boot, init and set-up cancel out). OPS_PER_ROUND: 32 for the _b32 rows, 8 for
_b8, else 1. Each boot's QEMU log is several hundred MB at ROUNDS=1000 for the served rows; keep
ROUNDS small (100-500).
"""
import argparse
import bisect
import collections
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
ROWS = ("b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11", "b12", "b13",
        "b14")
GUEST_ROWS = ("b7", "b8", "b9", "b10", "b11", "b12", "b13", "b14")  # rows that boot QEMU instead of running host programs
GBENCH = {"b1": "bench_b1_cacheline", "b2": "bench_b2_ring", "b3": "bench_b3_queue_rtt",
          "b4": "bench_b4_batch", "b6": "bench_b6_procs"}

# B5: callgrind counts instructions in the named functions only (name, functions, how many
# operations one call of them makes: server_poll answers two per call).
B5_VARIANTS = (
    ("empty", "b5_empty_a,b5_empty_b", 1),
    ("keel", "b5_keel_submit,b5_keel_reap", 1),
    ("keel_submit", "b5_keel_submit", 1),
    ("keel_reap", "b5_keel_reap", 1),
    ("keel_owned", "b5_keel_submit_buf,b5_keel_reap_buf", 1),
    ("keel_batch", "b5_keel_submit_batch,b5_keel_reap_batch", 1),
    ("keel_batch_owned", "b5_keel_submit_batch_buf,b5_keel_reap_batch_buf", 1),
    ("keel_inplace", "b5_inplace_submit,b5_inplace_reap", 1),
    ("keel_inplace_owned", "b5_inplace_submit_buf,b5_inplace_reap_buf", 1),
    ("cycle_nop_batch", "b5_cycle_nop_batch", 1),
    ("cycle_svc_batch", "b5_cycle_svc_batch", 1),
    ("cycle_nop_single", "b5_cycle_nop_single", 1),
    ("cycle_svc_single", "b5_cycle_svc_single", 1),
    ("boost", "b5_boost_push,b5_boost_pop", 1),
    ("keel_ring", "b5_ring_push,b5_ring_pop", 1),
    ("server_poll", "b5_server_poll", 2),
)
B5_OPS = (1024, 11264)  # two operation counts, multiples of 32
B5_BATCHES = (1, 32)

KBENCH_CAL = re.compile(r"^kbench: calibration loop (\d+) instructions, clock (\d+) ns", re.M)
KBENCH_ROW = re.compile(r"^kbench: row (\S+) ops (\d+) insns_per_op ([0-9.]+)$", re.M)
KBENCH_DONE = "kbench: done, 0 failures"

LINUX_CAL = re.compile(r"^linuxbench: calibration loop (\d+) instructions, clock (\d+) ns", re.M)
LINUX_ROW = re.compile(r"^linuxbench: row (\S+) ops (\d+) clock_ns_per_op ([0-9.]+)$", re.M)
LINUX_BLK = re.compile(r"^linuxbench: blk (\S+) ops (\d+) bytes (\d+) ns (\d+) "
                       r"mib_per_s ([0-9.]+) iops ([0-9.]+)$", re.M)
LINUX_INFO = re.compile(r"^linuxbench: info (.*)$", re.M)
LINUX_DONE = "linuxbench: init status 0"
LINUX_DISK_BYTES = 128 << 20  # the scratch disk (guestbench uses its first 64 MiB)
LINUX_BLK_BOOTS = 3  # block rows are wall time on a shared host: the median of three boots

# B9: blkbench's lines ("blkbench: sequential read 64K, depth 32: K KiB/s, N ops/s (C x L bytes
# in T ms)") and fsbench's ("fsbench: row NAME ops N bytes B ns T").
BLKBENCH = re.compile(r"^blkbench: (sequential write 64K|sequential read 64K copied|"
                      r"sequential read 64K|random read 4K), "
                      r"depth (\d+): (\d+) KiB/s, (\d+) ops/s \((\d+) x (\d+) bytes in (\d+) ms\)$",
                      re.M)
BLKBENCH_NAMES = {"sequential write 64K": "seq_write_64k", "sequential read 64K": "seq_read_64k",
                  "sequential read 64K copied": "seq_read_64k_copied",
                  "random read 4K": "rand_read_4k"}
FSBENCH = re.compile(r"^fsbench: row (\S+) ops (\d+) bytes (\d+) ns (\d+)$", re.M)
FSBENCH_DONE = "fsbench: done, 0 failures"
B9_BOOTS = 3  # each of the four boots (Keel and Linux, raw and file) this many times
B9_RAW_BYTES = 64 << 20  # blkbench's scratch disk (bench/blk.sh's size)
B9_DISK_MIB = 64  # the FAT32 image of the file rows (ci/make-disk.sh)
B9_FILE_BYTES = 16 << 20  # BENCH.DAT

# B10: HTTP from the host (issue 18). Both guests serve the same FAT32 image (ci/make-disk.sh
# plus the two files below) through the same NIC (ci/qemu-boot.sh --net) with the host's
# 127.0.0.1:PORT forwarded to the guest's port 80.
B10_ROUNDS = 3  # boots of each side, alternating Linux and Keel
B10_SMALL = "index.html"  # 1 KiB of text: the requests-per-second rows
B10_SMALL_BYTES = 1024
B10_BULK = "bulk.dat"  # 16 MiB: the MB/s row
B10_BULK_BYTES = 16 << 20
B10_WRK_SECONDS = 10
B10_CONNECTIONS = 8  # wrk -c: connections kept open at once, one wrk thread
B10_CURL_RUNS = 3  # bulk downloads per boot
B10_READY_SECONDS = {"linux": 120, "keel": 180}  # boot to the first correct answer
B10_WRK = re.compile(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m), ", re.M)
B10_WRK_RPS = re.compile(r"^Requests/sec:\s+([0-9.]+)$", re.M)
B10_WRK_ERRORS = re.compile(r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), "
                            r"timeout (\d+)$", re.M)
B10_WRK_NON2XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)$", re.M)


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=TOP, check=True, **kw)


def output(cmd):
    return run(cmd, capture_output=True, text=True).stdout


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Runner:
    def __init__(self, reps, min_time, quick, out):
        self.reps, self.min_time, self.quick, self.out = reps, min_time, quick, out
        self.build = os.environ.get("KEEL_BENCH_BUILD", "build/bench")
        self.bin = os.path.join(self.build, "bench")
        self.jobs = str(os.cpu_count() or 1)

    def prepare_host(self):
        ninja = os.path.join(TOP, self.build, "build.ninja")
        if "KEEL_BENCH_BUILD" not in os.environ and (
                not os.path.exists(ninja) or
                os.path.getmtime(os.path.join(TOP, "CMakePresets.json")) > os.path.getmtime(ninja)):
            run(["cmake", "--preset", "bench"], stdout=subprocess.DEVNULL)
        # A mutation-testing run elsewhere in the tree leaves a marked mutant in ipc/ for a
        # while; numbers taken against it are wrong (a removed futex wake costs 20 ms a trip).
        if subprocess.run(["grep", "-rqs", "MUTANT", "ipc/src", "ipc/include", "ipc/linux/src",
                           "ipc/linux/include"], cwd=TOP).returncode == 0:
            print("run.py: warning: ipc/ currently contains a mutation-testing mutant (grep "
                  "MUTANT); results will not describe the real code", file=sys.stderr)
        run(["cmake", "--build", self.build, "-j", self.jobs, "--target", "bench_all",
             "keel_ipc_kernel"])
        # machine.txt describes the host rows' run (B7 counts guest instructions).
        compiler = output(["clang++-14", "--version"]).splitlines()[0]
        with open(os.path.join(self.out, "machine.txt"), "w") as f:
            f.write(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n"
                    f"kernel: {output(['uname', '-srvm']).strip()}\n"
                    f"load average at start: {loadavg()}\n"
                    f"compiler: {compiler}\n\n")
            f.write(output(["lscpu"]))

    def finish_host(self):
        with open(os.path.join(self.out, "machine.txt"), "a") as f:
            f.write(f"load average at end: {loadavg()}\n")

    def gbench(self, row):
        """Every repetition of every benchmark in the program shuffled (random interleaving),
        so that Keel and its baseline see the same machine; Google Benchmark writes the JSON."""
        print(f"== {row}: {GBENCH[row]} ({self.reps} repetitions, interleaved)", flush=True)
        run([os.path.join(self.bin, GBENCH[row]), f"--benchmark_repetitions={self.reps}",
             "--benchmark_enable_random_interleaving=true",
             f"--benchmark_min_time={self.min_time}", "--benchmark_report_aggregates_only=true",
             f"--benchmark_out={os.path.join(self.out, row + '.json')}",
             "--benchmark_out_format=json"])

    def b5(self):
        """callgrind, collecting only the named functions, twice with different operation
        counts: the difference divided by the extra operations removes set-up and the one-time
        cost of the first call. Then the disassembly check (ctest bench_no_lock)."""
        print("== b5: instruction counts (valgrind --tool=callgrind)", flush=True)
        n1, n2 = B5_OPS
        doc = {"ops": n2 - n1, "batches": {}}
        with tempfile.TemporaryDirectory() as tmp:
            for batch in B5_BATCHES:
                variants = doc["batches"][str(batch)] = {}
                for name, fns, per in B5_VARIANTS:
                    ir = [self.callgrind(tmp, name, fns, n, batch) for n in (n1, n2)]
                    variants[name] = {"functions": fns,
                                      "ir_per_op": round((ir[1] - ir[0]) / (n2 - n1) / per, 2)}
        lock = subprocess.run(["ctest", "--test-dir", self.build, "-R", "^bench_no_lock$",
                               "--output-on-failure"], cwd=TOP, capture_output=True, text=True)
        doc["no_lock"] = lock.returncode == 0
        doc["no_lock_output"] = lock.stdout
        write_json(os.path.join(self.out, "b5.json"), doc)
        print(json.dumps(doc["batches"], indent=1))

    def callgrind(self, tmp, name, fns, n, batch):
        path = os.path.join(tmp, f"{name}.{batch}.{n}")
        run(["valgrind", "--tool=callgrind", "--collect-atstart=no"] +
            [f"--toggle-collect={f}" for f in fns.split(",")] +
            [f"--callgrind-out-file={path}", os.path.join(self.bin, "bench_b5_insns"), str(n),
             str(batch)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
        raise SystemExit(f"b5: no instruction total in {path}")

    def b7(self):
        """The kernel under QEMU -icount shift=0, where the guest clock advances 1 ns per guest
        instruction. kbench checks that with a calibration loop of known length and prints one
        line per row; the two boots must print identical numbers (determinism)."""
        print("== b7: kernel operations in guest instructions (QEMU -icount shift=0, "
              "user/kbench)", flush=True)
        kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
        if "KEEL_KERNEL_BUILD" not in os.environ and \
                not os.path.exists(os.path.join(TOP, kbuild, "build.ninja")):
            run(["cmake", "--preset", "kernel"], stdout=subprocess.DEVNULL)
        run(["cmake", "--build", kbuild, "-j", self.jobs])
        boot = ["ci/qemu-boot.sh", kbuild, "--batch"]
        boot += (["--module", f"{kbuild}/user/kbench.elf quick"] if self.quick
                 else ["--user", "kbench"])
        boot += ["--", "-icount", "shift=0"]
        boots = []
        for _ in range(2):
            r = subprocess.run(boot, cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace")
            text = r.stdout.replace("\r", "")
            if r.returncode != 0:
                print(text)
                raise SystemExit("b7: boot failed")
            boots.append(text)
        parsed = [parse_kbench(t) for t in boots]
        for line in boots[0].splitlines():
            if line.startswith("kbench: "):
                print(line)
        cal, rows = parsed[0]
        if cal is None or not rows or any(KBENCH_DONE not in t for t in boots):
            raise SystemExit("b7: kbench output incomplete or an operation failed")
        write_json(os.path.join(self.out, "b7.json"), {
            "qemu": " ".join(boot),
            "calibration": {"instructions": cal[0], "clock_ns": cal[1]},
            "deterministic": parsed[0] == parsed[1],
            "rows": rows,
        })


def boot_serial(boot, done, row):
    """Runs one QEMU boot (a ci/qemu-boot.sh command line) and returns its serial output; a
    failed boot, or one whose output lacks `done`, prints the output and stops the row."""
    r = subprocess.run(boot, cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    text = r.stdout.replace("\r", "")
    if r.returncode != 0 or done not in text:
        print(text)
        raise SystemExit(f"{row}: boot failed ({' '.join(boot)})")
    return text


def linux_boot(guest, cmdline, extra, disk=None):
    """One boot of the B8 guest; its serial output (ci/qemu-boot.sh --linux)."""
    boot = ["ci/qemu-boot.sh", guest, "--linux", "--batch", "--timeout", "600",
            "--cmdline", cmdline]
    if disk:
        boot += ["--disk", disk]
    if extra:
        boot += ["--"] + extra
    return " ".join(boot), boot_serial(boot, LINUX_DONE, "b8")


def b8(runner):
    """The Linux anchor: Debian's cloud kernel and busybox in the same QEMU machine as Keel's
    boots (bench/linux/). Two boots under -icount shift=0 for the CPU rows (instructions per
    operation, kbench's method; the boots are compared), LINUX_BLK_BOOTS boots without it for the
    block rows (wall time in the guest, so noisy: each row's median and range), each on a fresh
    scratch disk defined by ci/qemu-disk.args."""
    print("== b8: the Linux anchor (bench/linux/, QEMU as Keel's boots)", flush=True)
    guest = os.environ.get("KEEL_LINUX_GUEST", "build/linux-guest")
    run(["bench/linux/make-guest.sh", guest])
    load_start = loadavg()
    quick = " quick" if runner.quick else ""
    boots = [linux_boot(guest, "keelbench=cpu" + quick, ["-icount", "shift=0"])
             for _ in range(2)]
    parsed = [parse_linuxbench(t) for _, t in boots]
    cal, rows = parsed[0]
    if cal is None or set(rows) != set(parsed[1][1]) or not rows:
        raise SystemExit("b8: guestbench's CPU output incomplete")
    disk = os.path.join(guest, "disk.img")
    blk_boots = []
    for _ in range(LINUX_BLK_BOOTS):
        if os.path.exists(disk):
            os.remove(disk)
        run(["truncate", "-s", str(LINUX_DISK_BYTES), disk])
        blk_cmd, blk_text = linux_boot(guest, "keelbench=blk" + quick, [], disk)
        os.remove(disk)
        blk_boots.append({m[0]: {"ops": int(m[1]), "bytes": int(m[2]), "ns": int(m[3]),
                                 "mib_per_s": float(m[4]), "iops": float(m[5])}
                          for m in LINUX_BLK.findall(blk_text)})
    load_end = loadavg()
    if not blk_boots[0] or any(set(b) != set(blk_boots[0]) for b in blk_boots):
        raise SystemExit("b8: guestbench's block output incomplete")
    blk = {}
    for name in blk_boots[0]:
        runs = sorted(blk_boots, key=lambda b: b[name]["ns"])
        blk[name] = dict(runs[len(runs) // 2][name])  # the median boot's figures for the row
        blk[name]["boots_mib_per_s"] = [b[name]["mib_per_s"] for b in blk_boots]
        blk[name]["boots_iops"] = [b[name]["iops"] for b in blk_boots]
    for line in (boots[0][1] + blk_text).splitlines():
        if line.startswith("linuxbench: ") and " info vulnerability " not in line:
            print(line)
    with open(os.path.join(TOP, guest, "guest.txt")) as f:
        guest_txt = f.read().splitlines()
    write_json(os.path.join(runner.out, "b8_linux.json"), {
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "guest": guest_txt,
        "info": LINUX_INFO.findall(boots[0][1]) + LINUX_INFO.findall(blk_text),
        "load_average": {"start": load_start, "end": load_end},
        "qemu_cpu": boots[0][0],
        "qemu_blk": blk_cmd,
        "calibration": {"instructions": cal[0], "clock_ns": cal[1]},
        "deterministic": parsed[0] == parsed[1],
        # Instructions per operation: the two boots' mean, each boot's figure beside it.
        "cpu_rows": {name: {"ops": r["ops"],
                            "insns_per_op": round(sum(p[1][name]["clock_ns_per_op"]
                                                      for p in parsed) / len(parsed), 1),
                            "boots": [p[1][name]["clock_ns_per_op"] for p in parsed]}
                     for name, r in rows.items()},
        "blk_rows": blk,
    })


def splitmix64_file(path, size):
    """BENCH.DAT of row B9: the 8-byte word at offset o is splitmix64(o / 8), little endian,
    so fsbench and guestbench check where each read came from."""
    mask = (1 << 64) - 1
    words = []
    for i in range(size // 8):
        z = (i * 0x9e3779b97f4a7c15 + 0x9e3779b97f4a7c15) & mask
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & mask
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & mask
        words.append(z ^ (z >> 31))
    with open(path, "wb") as f:
        f.write(b"".join(w.to_bytes(8, "little") for w in words))


def b9_disk(path, bench_file):
    """A fresh FAT32 disk (ci/make-disk.sh) with BENCH.DAT copied on by mtools."""
    if os.path.exists(path):
        os.remove(path)
    run(["ci/make-disk.sh", path, str(B9_DISK_MIB), "32"], stdout=subprocess.DEVNULL)
    run(["mcopy", "-i", f"{path}@@1M", bench_file, "::/BENCH.DAT"],
        env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))


def keel_boot(kbuild, disk, args):
    """One boot of Keel's system with DISK attached (ci/qemu-boot.sh); its serial output."""
    boot = ["ci/qemu-boot.sh", kbuild, "--batch", "--timeout", "150", "--disk", disk] + args
    return " ".join(boot), boot_serial(boot, "", "b9")


def parse_blkbench(text):
    """{row: {"ops", "bytes", "ns", "mib_per_s", "iops"}}: NAME_qdDEPTH from blkbench's lines
    (blkbench prints whole milliseconds and KiB/s: the rates come from its KiB/s and ops/s)."""
    rows = {}
    for m in BLKBENCH.findall(text):
        name = f"{BLKBENCH_NAMES[m[0]]}_qd{m[1]}"
        ops, length = int(m[4]), int(m[5])
        rows[name] = {"ops": ops, "bytes": ops * length, "ns": int(m[6]) * 1_000_000,
                      "mib_per_s": round(int(m[2]) / 1024, 1), "iops": float(m[3])}
    return rows


def parse_fsbench(text):
    rows = {}
    for m in FSBENCH.findall(text):
        ops, size, ns = int(m[1]), int(m[2]), int(m[3])
        rows["file_" + m[0]] = {"ops": ops, "bytes": size, "ns": ns,
                                "mib_per_s": round(size / (ns / 1e9) / (1 << 20), 1),
                                "iops": round(ops / (ns / 1e9))}
    return rows


def parse_linux_blk(text):
    return {m[0]: {"ops": int(m[1]), "bytes": int(m[2]), "ns": int(m[3]),
                   "mib_per_s": float(m[4]), "iops": float(m[5])}
            for m in LINUX_BLK.findall(text)}


def medians(boots, what):
    """Each row's median boot (by time) with every boot's MiB/s and IOPS beside it."""
    if not boots[0] or any(set(b) != set(boots[0]) for b in boots):
        raise SystemExit(f"b9: {what}: rows differ between boots or are missing")
    out = {}
    for name in boots[0]:
        ordered = sorted(boots, key=lambda b: b[name]["ns"])
        out[name] = dict(ordered[len(ordered) // 2][name])
        out[name]["boots_mib_per_s"] = [b[name]["mib_per_s"] for b in boots]
        out[name]["boots_iops"] = [b[name]["iops"] for b in boots]
    return out

# B11: the four I/O levels (user/levelbench, docs/io-levels.md): disk size, operations per
# 4 KiB row (the 64 KiB rows do a quarter as many), wall-clock boots.
B11_MIB = 64
B11_OPS = 2000
B11_BOOTS = 3
B11_LEVELS = ("sync", "async", "shm", "integrated")
LEVELBENCH = re.compile(r"^levelbench: row (\w+) (\w+) depth (\d+) ops (\d+) ns (\d+) "
                        r"p50 (\d+) p99 (\d+)$", re.M)
LEVELBENCH_DONE = "levelbench: done"


def client_lines(path):
    """Lines of a level's client code: neither blank nor only a comment."""
    with open(path) as f:
        return sum(1 for line in f if line.strip() and not line.strip().startswith("//"))


def b11_boot(kbuild, disk, copy, ops, icount):
    """One boot of levelbench: DISK as srv/blk0's device and COPY as the integrated level's,
    both as ci/qemu-disk.args defines a disk; with `icount`, under -icount shift=0 on two
    devices of QEMU's null-co driver instead (reads answered at once, zeros), so that the guest
    clock counts the guest's own path, not the host's file reads."""
    with open(os.path.join(TOP, "ci/qemu-disk.args")) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    device = next(x for x in lines if x.startswith("virtio-blk-pci,"))
    boot = ["ci/qemu-boot.sh", kbuild, "--batch", "--timeout", "600",
            "--image", f"{kbuild}/user/levels-image/initfs.tar",
            "--exec", f"levelbench bench {B11_MIB << 20} {ops}"]
    if icount:
        boot += ["--"]
        for node in ("n0", "n1"):
            boot += ["-blockdev",
                     f"driver=null-co,node-name={node},read-zeroes=on,size={B11_MIB << 20}",
                     "-device", device.replace("drive=d0", f"drive={node}")]
        boot += ["-icount", "shift=0"]
    else:
        drive = next(x for x in lines if x.startswith("file=@IMAGE@"))
        drive = drive.replace("@IMAGE@", copy).replace("id=d0", "id=d1")
        boot += ["--disk", disk, "--", "-drive", drive,
                 "-device", device.replace("drive=d0", "drive=d1")]
    text = boot_serial(boot, LEVELBENCH_DONE, "b11")
    rows = {}
    for m in LEVELBENCH.findall(text):
        rows[f"{m[0]} {m[1]} d{m[2]}"] = {
            "level": m[0], "workload": m[1], "depth": int(m[2]), "ops": int(m[3]),
            "ns": int(m[4]), "p50_ns": int(m[5]), "p99_ns": int(m[6])}
    for line in text.splitlines():
        if line.startswith("levelbench: "):
            print(("icount: " if icount else "") + line)
    return " ".join(boot).replace(disk, "DISK").replace(copy, "COPY"), rows


def b11(runner):
    """The seed's four I/O levels on one workload, in one boot: per level 4 KiB random reads at
    depth 1 and 32 and sequential 64 KiB reads at depth 16 (synchronous: depth 1 only), on a
    64 MiB disk and a copy of it. B11_BOOTS wall-clock boots (ops/s and latency percentiles:
    each row's median boot) and one boot under -icount shift=0 on null devices (the guest clock
    counts guest instructions, every process's and the kernel's, on both CPUs: per read the
    mean, and the p50 of the reads' own clocks; see docs/io-levels.md)."""
    print("== b11: the four I/O levels (user/levelbench: sync, async, shm, integrated)",
          flush=True)
    kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    if "KEEL_KERNEL_BUILD" not in os.environ and \
            not os.path.exists(os.path.join(TOP, kbuild, "build.ninja")):
        run(["cmake", "--preset", "kernel"], stdout=subprocess.DEVNULL)
    run(["cmake", "--build", kbuild, "-j", runner.jobs])
    ops = B11_OPS // 10 if runner.quick else B11_OPS
    boots = 1 if runner.quick else B11_BOOTS
    load_start = loadavg()
    with tempfile.TemporaryDirectory(prefix="b11.") as tmp:
        run(["kernel/tests/qemu-levels.sh", "-", "-", "-", tmp, str(B11_MIB), "--make-only"])
        disk, copy = os.path.join(tmp, "levels.img"), os.path.join(tmp, "levels-copy.img")
        wall = []
        for _ in range(boots):
            cmd, rows = b11_boot(kbuild, disk, copy, ops, False)
            wall.append(rows)
        icount_cmd, icount = b11_boot(kbuild, disk, copy, ops, True)
    load_end = loadavg()
    if not wall[0] or any(set(b) != set(wall[0]) for b in wall) or set(icount) != set(wall[0]):
        raise SystemExit("b11: rows differ between boots or are missing")
    rows = {}
    for name in wall[0]:
        ordered = sorted(wall, key=lambda b: b[name]["ns"])
        row = dict(ordered[len(ordered) // 2][name])
        row["ops_per_s"] = round(row["ops"] / (row["ns"] / 1e9))
        row["boots_ops_per_s"] = [round(b[name]["ops"] / (b[name]["ns"] / 1e9)) for b in wall]
        row["icount_insns_per_op"] = round(icount[name]["ns"] / icount[name]["ops"])
        row["icount_p50"] = icount[name]["p50_ns"]
        rows[name] = row
    write_json(os.path.join(runner.out, "b11.json"), {
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "boots": boots,
        "disk_mib": B11_MIB,
        "load_average": {"start": load_start, "end": load_end},
        "qemu": cmd,
        "qemu_icount": icount_cmd,
        "client_lines": {level: client_lines(os.path.join(
            TOP, "user/levelbench", f"{level}_level.cpp")) for level in B11_LEVELS},
        "rows": rows,
    })


def build_both(runner):
    """Builds the kernel tree (build/kernel or KEEL_KERNEL_BUILD, configured when missing) and
    the Linux guest (build/linux-guest or KEEL_LINUX_GUEST); returns both directories."""
    kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    if "KEEL_KERNEL_BUILD" not in os.environ and \
            not os.path.exists(os.path.join(TOP, kbuild, "build.ninja")):
        run(["cmake", "--preset", "kernel"], stdout=subprocess.DEVNULL)
    run(["cmake", "--build", kbuild, "-j", runner.jobs])
    guest = os.environ.get("KEEL_LINUX_GUEST", "build/linux-guest")
    run(["bench/linux/make-guest.sh", guest])
    return kbuild, guest


def b9(runner):
    """Storage, Keel against the Linux guest (issue 17): per round, four boots in turn, each
    on a fresh disk attached by ci/qemu-disk.args: Keel's blkbench on a 64 MiB scratch disk
    (the raw block object srv/blk0), the Linux guest's block rows on a 128 MiB scratch disk
    (O_DIRECT on /dev/vda), Keel's fsbench on a FAT32 image (ci/make-disk.sh) holding the 16 MiB
    BENCH.DAT, the Linux guest's file rows on an identical image mounted with vfat. B9_BOOTS
    rounds; each row's median boot."""
    print("== b9: storage, Keel and the Linux guest (raw device and file, QD1 and QD32)",
          flush=True)
    kbuild, guest = build_both(runner)
    boots = 1 if runner.quick else B9_BOOTS
    load_start = loadavg()
    got = {"keel_raw": [], "linux_raw": [], "keel_file": [], "linux_file": []}
    cmds = {}
    with tempfile.TemporaryDirectory(prefix="b9.") as tmp:
        bench_file = os.path.join(tmp, "BENCH.DAT")
        splitmix64_file(bench_file, B9_FILE_BYTES)
        disk = os.path.join(tmp, "disk.img")
        for _ in range(boots):
            for side in ("keel_raw", "linux_raw", "keel_file", "linux_file"):
                if os.path.exists(disk):
                    os.remove(disk)
                if side.endswith("_raw"):
                    size = B9_RAW_BYTES if side == "keel_raw" else LINUX_DISK_BYTES
                    run(["truncate", "-s", str(size), disk])
                else:
                    b9_disk(disk, bench_file)
                if side == "keel_raw":
                    cmd, text = keel_boot(kbuild, disk, [
                        "--image", f"{kbuild}/user/blk-image/initfs.tar",
                        "--exec", f"blkbench {B9_RAW_BYTES}"])
                    rows = parse_blkbench(text)
                    if len(rows) != 7:
                        print(text)
                        raise SystemExit("b9: blkbench's output incomplete")
                elif side == "keel_file":
                    cmd, text = keel_boot(kbuild, disk, ["--exec", "fsbench"])
                    rows = parse_fsbench(text)
                    if FSBENCH_DONE not in text:
                        print(text)
                        raise SystemExit("b9: fsbench failed")
                else:
                    mode = "keelbench=blk" if side == "linux_raw" else "keelbench=file"
                    cmd, text = linux_boot(guest, mode, [], disk)
                    rows = parse_linux_blk(text)
                cmds[side] = cmd.replace(disk, "DISK")
                got[side].append(rows)
                for line in text.splitlines():
                    if line.startswith(("blkbench: ", "fsbench: ", "linuxbench: blk")):
                        print(f"{side}: {line}")
    load_end = loadavg()
    with open(os.path.join(TOP, guest, "guest.txt")) as f:
        guest_txt = f.read().splitlines()
    write_json(os.path.join(runner.out, "b9.json"), {
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "boots": boots,
        "guest": guest_txt,
        "load_average": {"start": load_start, "end": load_end},
        "qemu": cmds,
        **{side: medians(b, side) for side, b in got.items()},
    })


def free_ports(n):
    """N distinct TCP ports on 127.0.0.1 nothing listens on now (QEMU's hostfwd takes them
    moments later); all are held while choosing, so that no two are the same."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def b10_files(tmp):
    """The two files both guests serve: 1 KiB of printable text and 16 MiB of splitmix64."""
    small = os.path.join(tmp, B10_SMALL)
    line = b"Keel bench B10: the small file of the requests-per-second rows.\n"
    with open(small, "wb") as f:
        f.write((line * (B10_SMALL_BYTES // len(line) + 1))[:B10_SMALL_BYTES])
    bulk = os.path.join(tmp, B10_BULK)
    splitmix64_file(bulk, B10_BULK_BYTES)
    return small, bulk


def b10_disk(path, files):
    """A fresh FAT32 image (ci/make-disk.sh) with FILES copied by mtools into its root and into
    /www (Keel's httpd serves /mnt/disk/www when that directory exists, else /mnt/disk; busybox
    httpd and guesthttpd serve /mnt/disk): the same bytes at the same URLs either way."""
    if os.path.exists(path):
        os.remove(path)
    run(["ci/make-disk.sh", path, str(B9_DISK_MIB), "32"], stdout=subprocess.DEVNULL)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    run(["mmd", "-i", f"{path}@@1M", "::/www"], env=env)
    for f in files:
        for where in ("::/", "::/www/"):
            run(["mcopy", "-i", f"{path}@@1M", f, where + os.path.basename(f)], env=env)


def keel_httpd_missing(kbuild):
    """None when Keel's system image has an HTTP server that init starts, else why not."""
    image = os.path.join(TOP, kbuild, "user", "initfs.tar")
    try:
        with tarfile.open(image) as tar:
            names = {m.name.lstrip("./") for m in tar.getmembers()}
            conf = tar.extractfile(next(m for m in tar.getmembers()
                                        if m.name.lstrip("./") == "etc/init.conf"))
            started = any(line.split()[1:2] == ["bin/httpd"]
                          for line in conf.read().decode(errors="replace").splitlines()
                          if line.strip() and not line.startswith("#"))
    except (OSError, tarfile.TarError, StopIteration) as e:
        return f"cannot read {image}: {e}"
    if "bin/httpd" not in names:
        return f"no bin/httpd in {os.path.relpath(image, TOP)} (servers/httpd not built yet)"
    if not started:
        return "etc/init.conf starts no bin/httpd"
    return None


class Guest:
    """One guest booted in the background by ci/qemu-boot.sh with a free port on the host's
    127.0.0.1 forwarded to each of its GUEST_PORTS; its serial output goes to a file. Stopped by
    ending the process group this started (qemu-boot.sh, timeout and QEMU)."""

    def __init__(self, side, args, guest_ports, log, qemu_extra=()):
        self.side, self.log_path = side, log
        guest_ports = list(guest_ports)
        self.ports = dict(zip(guest_ports, free_ports(len(guest_ports))))
        self.cmd = args + ["--net", "--net-options", ",".join(
            f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in self.ports.items())]
        if qemu_extra:
            self.cmd += ["--", *qemu_extra]
        self.log = open(log, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=TOP, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def serial(self):
        with open(self.log_path, errors="replace") as f:
            return f.read().replace("\r", "")

    def wait_ready(self, expect, seconds):
        """Polls GET /index.html until it answers with the file's bytes (QEMU accepts the
        host's connection before the guest listens, so early tries fail or are reset)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url(B10_SMALL, next(iter(self.ports))),
                                            timeout=5) as r:
                    if r.status == 200 and r.read() == expect:
                        return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(1)
        text = self.serial()
        self.stop()
        print(text)
        raise SystemExit(f"b10: the {self.side} guest did not serve /{B10_SMALL} within "
                         f"{seconds} s ({' '.join(self.cmd)})")

    def url(self, name, guest_port):
        return f"http://127.0.0.1:{self.ports[guest_port]}/{name}"

    def command(self, disk):
        """The command line as b10.json records it: no temporary path, no port number."""
        text = " ".join(self.cmd).replace(disk, "DISK")
        for g, h in self.ports.items():
            text = text.replace(f"127.0.0.1:{h}-:{g}", f"127.0.0.1:PORT-:{g}")
        return text

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def wrk(url, seconds, close):
    """One wrk run (one thread, B10_CONNECTIONS connections): requests per second and what
    went wrong. close: every request says Connection: close, so wrk opens a new connection for
    each (it reconnects whenever a response does not keep the connection)."""
    cmd = ["wrk", "-t1", f"-c{B10_CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append(url)
    text = output(cmd)
    rps, done = B10_WRK_RPS.search(text), B10_WRK.search(text)
    if not rps or not done:
        print(text)
        raise SystemExit(f"b10: cannot read wrk's output ({' '.join(cmd)})")
    errors = B10_WRK_ERRORS.search(text)
    non2xx = int(B10_WRK_NON2XX.search(text)[1]) if B10_WRK_NON2XX.search(text) else 0
    requests = int(done[1])
    # wrk's Requests/sec counts every response; the row counts the 200s only.
    good = float(rps[1]) * (requests - non2xx) / requests if requests else 0.0
    return {"rps": round(good, 2), "rps_all_responses": float(rps[1]), "requests": requests,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
            "non_2xx": non2xx}


def curl_bulk(url):
    """One download of the bulk file with curl: (MB/s (10^6 bytes, curl's speed_download),
    None) or, when it failed, (0.0, what went wrong): a failed download counts as nothing
    transferred, and the run goes on."""
    cmd = ["curl", "-sS", "-o", "/dev/null", "--max-time", "120", "-w",
           "%{http_code} %{size_download} %{speed_download}", url]
    r = subprocess.run(cmd, cwd=TOP, capture_output=True, text=True)
    fields = r.stdout.split()
    if r.returncode != 0 or len(fields) != 3 or fields[0] != "200" or \
            int(fields[1]) != B10_BULK_BYTES:
        return 0.0, (f"curl status {r.returncode}, HTTP {fields[0] if fields else '-'}, "
                     f"{fields[1] if len(fields) > 1 else 0} bytes: {r.stderr.strip()[:200]}")
    return round(float(fields[2]) / 1e6, 2), None


def b10_measure(guest, port, small, bulk, quick):
    """Every B10 row once against the server on a booted guest's PORT: a warm-up (each file
    fetched and checked once, not timed), then wrk keep-alive, wrk with a new connection per
    request, and B10_CURL_RUNS downloads of the bulk file."""
    with urllib.request.urlopen(guest.url(B10_BULK, port), timeout=120) as r:
        if r.read() != bulk:
            raise SystemExit(f"b10: the {guest.side} guest served a wrong {B10_BULK}")
    # http.client, not urllib (which asks to close): the answer to a plain HTTP/1.1 request
    # says whether the server keeps connections.
    conn = http.client.HTTPConnection("127.0.0.1", guest.ports[port], timeout=10)
    try:
        conn.request("GET", "/" + B10_SMALL)
        r = conn.getresponse()
        head = {k.lower(): v for k, v in r.getheaders()}
        if r.status != 200 or r.read() != small:
            raise SystemExit(f"b10: the {guest.side} guest served a wrong {B10_SMALL}")
    finally:
        conn.close()
    seconds = 2 if quick else B10_WRK_SECONDS
    # A new connection per request last: a server that leaks per connection then spoils only
    # that row (errors are recorded, not fatal).
    rows = {"small_keepalive": wrk(guest.url(B10_SMALL, port), seconds, close=False)}
    downloads = [curl_bulk(guest.url(B10_BULK, port)) for _ in range(1 if quick else
                                                                    B10_CURL_RUNS)]
    rows["bulk"] = {"mb_per_s": [mb for mb, _ in downloads],
                    "errors": [e for _, e in downloads if e]}
    rows["small_close"] = wrk(guest.url(B10_SMALL, port), seconds, close=True)
    return rows, {"server": head.get("server", "-"), "connection": head.get("connection", "-")}


def b10_summary(boots):
    """Each row's median over the boots (the bulk row over every download), with each figure."""
    out = {}
    for row in ("small_keepalive", "small_close"):
        runs = [b[row] for b in boots]
        rps = sorted(r["rps"] for r in runs)
        out[row] = {"rps": rps[len(rps) // 2], "runs_rps": [r["rps"] for r in runs],
                    "requests": [r["requests"] for r in runs],
                    "socket_errors": sum(r["socket_errors"] for r in runs),
                    "non_2xx": sum(r["non_2xx"] for r in runs)}
    mb = [x for b in boots for x in b["bulk"]["mb_per_s"]]
    ordered = sorted(mb)
    out["bulk"] = {"mb_per_s": ordered[len(ordered) // 2], "runs_mb_per_s": mb,
                   "failed": [e for b in boots for e in b["bulk"]["errors"]]}
    return out


def console_notes(text, server):
    """The server's own console lines other than its per-request log ("httpd: PEER ..."),
    each with how often it appeared: what went wrong during a boot."""
    notes = collections.Counter()
    request = re.compile(r"^httpd: \d+\.\d+\.\d+\.\d+:\d+ ")
    for line in text.splitlines():
        if line.startswith(server + ": ") and not request.match(line):
            notes[line] += 1
    return notes


def b10(runner):
    """HTTP from the host (issue 18): requests per second for a 1 KiB file with connections
    kept alive and with a new connection per request (wrk), and MB/s of a 16 MiB file (curl),
    against the Linux guest's busybox httpd (the baseline) and guesthttpd (keeps connections; a
    reference), both in one boot, and Keel's servers/httpd, each booted with the same QEMU
    machine, NIC and FAT32 image, alternating, B10_ROUNDS boots each (one with --quick).
    Keel's side is "missing" while its system image has no HTTP server."""
    print("== b10: HTTP from the host, Keel and the Linux guest (wrk, curl)", flush=True)
    for tool in ("wrk", "curl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"b10: missing {tool} (Debian package {tool}; ./keel bench "
                             "installs it)")
    kbuild, guest_dir = build_both(runner)
    missing = keel_httpd_missing(kbuild)
    if missing:
        print(f"b10: Keel's side missing: {missing}", flush=True)
    rounds = 1 if runner.quick else B10_ROUNDS
    load_start = loadavg()
    got = {"linux": [], "linux_keepalive": [], "keel": []}
    heads, cmds = {}, {}
    notes = collections.Counter()  # Keel's httpd's console lines other than requests
    with tempfile.TemporaryDirectory(prefix="b10.") as tmp:
        small_path, bulk_path = b10_files(tmp)
        with open(small_path, "rb") as f:
            small = f.read()
        with open(bulk_path, "rb") as f:
            bulk = f.read()
        disk = os.path.join(tmp, "disk.img")
        for _ in range(rounds):
            for side in ("linux", "keel"):
                if side == "keel" and missing:
                    continue
                b10_disk(disk, (small_path, bulk_path))
                if side == "linux":
                    args = ["ci/qemu-boot.sh", guest_dir, "--linux", "--batch", "--timeout",
                            "900", "--cmdline", "keelbench=http", "--disk", disk]
                else:
                    # The system as init.conf starts it (drivers, fat on /mnt/disk, net,
                    # httpd); the shell only waits.
                    args = ["ci/qemu-boot.sh", kbuild, "--batch", "--timeout", "900",
                            "--disk", disk, "--exec", "sleep 900"]
                # The Linux guest runs two servers: busybox httpd on 80, guesthttpd on 8080.
                servers = {"linux": 80, "linux_keepalive": 8080} if side == "linux" else \
                    {"keel": 80}
                guest = Guest(side, args, servers.values(), os.path.join(tmp, f"{side}.log"))
                try:
                    guest.wait_ready(small, B10_READY_SECONDS[side])
                    for server, port in servers.items():
                        rows, heads[server] = b10_measure(guest, port, small, bulk,
                                                          runner.quick)
                        got[server].append(rows)
                        print(f"{server}: keep-alive {rows['small_keepalive']['rps']:.0f} "
                              f"req/s, new connection {rows['small_close']['rps']:.0f} req/s, "
                              f"bulk {', '.join(str(x) for x in rows['bulk']['mb_per_s'])} "
                              "MB/s", flush=True)
                finally:
                    guest.stop()
                cmds[side] = guest.command(disk)
                if side == "keel":
                    notes.update(console_notes(guest.serial(), "httpd"))
    load_end = loadavg()
    with open(os.path.join(TOP, guest_dir, "guest.txt")) as f:
        guest_txt = f.read().splitlines()
    doc = {
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "rounds": rounds,
        "guest": guest_txt,
        "load_average": {"start": load_start, "end": load_end},
        "qemu": cmds,
        "load": {"wrk": f"wrk -t1 -c{B10_CONNECTIONS} -d{2 if runner.quick else B10_WRK_SECONDS}s"
                        " --timeout 5s URL (new connection: -H 'Connection: close')",
                 "curl": "curl -o /dev/null -w '%{speed_download}' URL",
                 "bulk_runs_per_boot": 1 if runner.quick else B10_CURL_RUNS},
        "files": {B10_SMALL: B10_SMALL_BYTES, B10_BULK: B10_BULK_BYTES},
        "linux": {"server": "busybox httpd -f -p 80 -h /mnt/disk (vfat, read-only)",
                  "response_headers": heads.get("linux", {}),
                  **b10_summary(got["linux"])},
        "linux_keepalive": {"server": "guesthttpd 8080 /mnt/disk (bench/linux/guesthttpd.cpp: "
                                      "one thread, epoll, keeps connections, sendfile)",
                            "response_headers": heads.get("linux_keepalive", {}),
                            **b10_summary(got["linux_keepalive"])},
    }
    if missing:
        doc["keel"] = {"status": "missing", "why": missing}
    else:
        doc["keel"] = {"status": "measured", "server": "servers/httpd (init.conf) on /mnt/disk",
                       "response_headers": heads.get("keel", {}), **b10_summary(got["keel"]),
                       "console": dict(notes)}
    write_json(os.path.join(runner.out, "b10.json"), doc)


def parse_linuxbench(text):
    """((calibration instructions, clock ns) or None, {row: {"ops", "clock_ns_per_op"}})."""
    cal = LINUX_CAL.search(text)
    rows = {m[0]: {"ops": int(m[1]), "clock_ns_per_op": float(m[2])}
            for m in LINUX_ROW.findall(text)}
    return (None if cal is None else (int(cal[1]), int(cal[2]))), rows


def parse_kbench(text):
    """((calibration instructions, clock ns) or None, {row: {"ops", "insns_per_op"}})."""
    cal = KBENCH_CAL.search(text)
    rows = {m[0]: {"ops": int(m[1]), "insns_per_op": float(m[2])}
            for m in KBENCH_ROW.findall(text)}
    return (None if cal is None else (int(cal[1]), int(cal[2]))), rows


def symbols(elf):
    out = output(["llvm-nm-14", "-C", "--defined-only", "-n", elf])
    addrs, names = [], []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            addrs.append(int(parts[0], 16))
            names.append(parts[2])
    return addrs, names


def lookup(table, a):
    addrs, names = table
    i = bisect.bisect_right(addrs, a) - 1
    return names[i] if i >= 0 else "?"


def profile_boot(build, row, rounds):
    """Guest instruction address -> times executed, for one boot running only ROW."""
    trace = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    insn = re.compile(r"^0x([0-9a-f]+):")
    with tempfile.TemporaryDirectory(prefix="b7prof.") as tmp:
        log = os.path.join(tmp, "qemu.log")
        r = subprocess.run(["ci/qemu-boot.sh", build, "--batch", "--timeout", "300", "--module",
                            f"{build}/user/kbench.elf only {row} {rounds}", "--", "-icount",
                            "shift=0", "-d", "in_asm,exec,nochain", "-D", log],
                           cwd=TOP, capture_output=True, text=True, errors="replace")
        if KBENCH_DONE not in r.stdout:
            raise SystemExit(f"boot failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
        blocks, counts, cur = {}, collections.Counter(), None
        with open(log, errors="replace") as f:
            for line in f:
                if line.startswith("Trace"):
                    m = trace.match(line)
                    if m:
                        for a in blocks.get(int(m[1], 16), ()):
                            counts[a] += 1
                    cur = None
                elif line.startswith("IN:"):
                    cur = []
                elif cur is not None:
                    m = insn.match(line)
                    if m:
                        cur.append(int(m[1], 16))
                    elif not line.strip() and cur:
                        blocks[cur[0]] = cur
                        cur = None
    return counts


def profile(argv):
    p = argparse.ArgumentParser(prog="run.py profile")
    p.add_argument("row")
    p.add_argument("rounds", type=int)
    p.add_argument("ops_per_round", type=int, nargs="?")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--detail", help="also per instruction address in functions matching this "
                   "(several: separated by commas)")
    a = p.parse_args(argv)
    per = a.ops_per_round or (32 if a.row.endswith("_b32") else
                              8 if a.row.endswith("_b8") else 1)
    build = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    ktab = symbols(f"{build}/kernel/keel-kernel.elf")
    utab = symbols(f"{build}/user/kbench.elf")
    c1 = profile_boot(build, a.row, a.rounds)
    c2 = profile_boot(build, a.row, 2 * a.rounds)
    by, per_address = collections.Counter(), collections.Counter()
    for c, sign in ((c2, 1), (c1, -1)):
        for addr, n in c.items():
            name = ("K " + lookup(ktab, addr)) if addr >= 0xffff800000000000 else \
                ("U " + lookup(utab, addr))
            by[name] += sign * n
            if a.detail and any(d in name for d in a.detail.split(",")):
                per_address[addr] += sign * n
    ops = a.rounds * per
    print(f"{a.row}: {sum(by.values()) / ops:.1f} instructions per operation "
          f"({ops} extra operations)")
    for name, n in sorted(by.items(), key=lambda x: -x[1])[:a.top]:
        if n:
            print(f"{n / ops:9.1f}  {name[:150]}")
    for addr in sorted(per_address):
        if per_address[addr]:
            print(f"  {addr:#x} {per_address[addr] / ops:7.2f}")


def b12(r):
    """B12: the firewall's overhead (bench/firewall.py; issue 20): HTTP round trips through
    servers/firewall and directly, interleaved, in each of three boots."""
    sys.path.insert(0, HERE)
    import firewall
    requests, boots = (100, 1) if r.quick else (1000, 3)
    write_json(os.path.join(r.out, "b12.json"),
               firewall.measure(os.path.join(TOP, "build/kernel"), requests, boots))


# B13: kbench's polling mode (user/kbench/polling.cpp): "kbench: polling row MODE_bB ops N ns T
# syscalls S ..." per mode and batch.
KBENCH_POLL = re.compile(
    r"^kbench: polling row (\S+) ops (\d+) ns (\d+) syscalls (\d+) ", re.M)
B13_BOOTS = 3


def b13(r):
    """B13: the polling queue (issue 22) against the system-call queue at batch 1 and 32, in
    wall-clock operations per second within one boot under -smp 2 (-icount runs every CPU on one
    host thread, so the poller could not run beside its client), B13_BOOTS boots; kernel entries
    per operation from the client thread's system-call count."""
    print("== b13: polling queue vs system-call queue (QEMU -smp 2, wall clock, "
          "user/kbench polling)", flush=True)
    kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    run(["cmake", "--build", kbuild, "-j", r.jobs])
    ops = 3200 if r.quick else 32000
    boot = ["ci/qemu-boot.sh", kbuild, "--batch", "--smp", "2",
            "--module", f"{kbuild}/user/kbench.elf polling {ops}"]
    boots = []
    for _ in range(1 if r.quick else B13_BOOTS):
        res = subprocess.run(boot, cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace")
        text = res.stdout.replace("\r", "")
        if res.returncode != 0 or "kbench: polling done, 0 failures" not in text:
            print(text)
            raise SystemExit("b13: boot failed or an operation failed")
        rows = {m[0]: {"ops": int(m[1]), "ns": int(m[2]), "syscalls": int(m[3])}
                for m in KBENCH_POLL.findall(text)}
        for line in text.splitlines():
            if line.startswith("kbench: polling"):
                print(line)
        boots.append(rows)
    write_json(os.path.join(r.out, "b13.json"), {
        "qemu": " ".join(boot), "loadavg": loadavg(), "boots": boots})


SCALEBENCH = re.compile(r"^scalebench: cpus (\d+) row (\S+) pairs (\d+) ops (\d+) ns (\d+)$",
                        re.M)
B14_CPUS = (1, 2, 4)
B14_BOOTS = 3


def b14(r):
    """B14: issue 22's scaling table. user/scalebench runs 1, 2 and 4 independent pairs at once
    (spinning threads: the machine's ceiling; client threads each with an echo child process
    through two pipes: the kernel's), in boots of -smp 1, 2 and 4 (wall clock: -icount runs
    every CPU on one host thread), B14_BOOTS boots of each in turn."""
    print("== b14: N pairs on 1, 2 and 4 CPUs (QEMU -smp, wall clock, user/scalebench)",
          flush=True)
    kbuild = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    run(["cmake", "--build", kbuild, "-j", r.jobs])
    load_start = loadavg()
    boots = {str(c): [] for c in B14_CPUS}
    for _ in range(1 if r.quick else B14_BOOTS):
        for cpus in B14_CPUS:
            boot = ["ci/qemu-boot.sh", kbuild, "--batch", "--smp", str(cpus), "--timeout", "300",
                    "--user", "scalebench+processes"]
            res = subprocess.run(boot, cwd=TOP, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, errors="replace")
            text = res.stdout.replace("\r", "")
            if res.returncode != 0 or "scalebench: done, 0 failures" not in text:
                print(text)
                raise SystemExit(f"b14: the -smp {cpus} boot failed or an operation failed")
            rows = {}
            for m in SCALEBENCH.findall(text):
                if int(m[0]) != cpus:
                    raise SystemExit(f"b14: -smp {cpus} but scalebench saw {m[0]} CPUs")
                rows[f"{m[1]}_{m[2]}"] = {"ops": int(m[3]), "ns": int(m[4])}
                print(f"-smp {cpus}: {m[1]} pairs {m[2]}: {int(m[3]) * 1e9 / int(m[4]):,.0f} "
                      "ops/s")
            boots[str(cpus)].append(rows)
    write_json(os.path.join(r.out, "b14.json"), {
        "qemu": "ci/qemu-boot.sh build/kernel --batch --smp C --user scalebench+processes",
        "load_average": {"start": load_start, "end": loadavg()}, "boots": boots})


def main(argv):
    os.chdir(TOP)
    if argv[:1] == ["profile"]:
        return profile(argv[1:])
    p = argparse.ArgumentParser(
        usage="bench/run.py [--reps N] [--min-time SECONDS] [--quick] [ROW...] | profile ...")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--min-time", default="0.2")
    p.add_argument("--quick", action="store_true")
    p.add_argument("rows", nargs="*", metavar="ROW", help="b1..b14 (default: all)")
    a = p.parse_args(argv)
    for row in a.rows:
        if row not in ROWS:
            p.error(f"unknown row {row!r}: one of {', '.join(ROWS)}")
    rows = a.rows or list(ROWS)
    if a.quick:
        a.reps, a.min_time = 3, "0.02"
        os.environ["KEEL_BENCH_QUICK"] = "1"  # the programs' tiny sizes
    out = os.environ.get("KEEL_BENCH_OUT", "bench/results")
    os.makedirs(out, exist_ok=True)
    r = Runner(a.reps, a.min_time, a.quick, out)
    host = [row for row in rows if row not in GUEST_ROWS]
    if host:
        r.prepare_host()
    for row in rows:
        if row in GBENCH:
            r.gbench(row)
        elif row == "b8":
            b8(r)
        elif row == "b9":
            b9(r)
        elif row == "b10":
            b10(r)
        elif row == "b11":
            b11(r)
        elif row == "b12":
            b12(r)
        elif row == "b13":
            b13(r)
        elif row == "b14":
            b14(r)
        else:
            getattr(r, row)()
    if host:
        r.finish_host()
    # The README shows the latest full run; partial and --quick runs leave it alone.
    report = [sys.executable, os.path.join(HERE, "report.py"), out]
    if not a.quick and set(rows) == set(ROWS) and \
            os.path.abspath(out) == os.path.join(HERE, "results"):
        report += ["--readme", os.path.join(HERE, "README.md")]
    run(report)
    print(f"table: {os.path.join(out, 'summary.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
