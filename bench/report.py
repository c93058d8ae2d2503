#!/usr/bin/env python3
"""bench/report.py: turns the raw results bench/run.py wrote into the reports. Runs nothing.

usage: bench/report.py [RESULTS_DIR] [--out DIR] [--readme README] [--anchors FILE] [--no-chart]

Reads RESULTS_DIR (default bench/results): b1..b6.json (Google Benchmark's JSON; B5: run.py's
callgrind counts), b7.json (run.py's kbench numbers), b8_linux.json (run.py's Linux guest
numbers), b9.json (run.py's storage rows, Keel's and the Linux guest's), b10.json (HTTP from
the host, Keel's and the Linux guest's), b11.json (the four I/O levels), machine.txt. Writes into --out (default RESULTS_DIR): summary.md (the headline table,
every benchmark's spread, B7's table, the Linux anchor table, B9's "Storage, Keel vs Linux",
B10's "HTTP from the host", B11's four levels), the chart_b*.dat files chart.gp
draws and, when gnuplot is installed and --no-chart is not given, chart.png. With --readme, also
replaces README's generated blocks, each between "<!-- NAME:begin -->" and "<!-- NAME:end -->":
results (the headline table), b7 (B7's table), b8 (the Linux anchor), b9 (storage), b10 (HTTP), b11 (the I/O levels) and anchors (the anchors
and targets). Every anchor and target comes from --anchors (default
bench/anchors.json, beside this script). Rows whose JSON is missing are left out; a row whose
JSON is unreadable or not of the expected shape is an error (exit status 1).
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# B7's rows as kbench names them; a row kbench prints that is not here is an error, so that a
# new row gets a description (and, where it has one, a target `b7_<row>` in anchors.json).
B7_ROWS = {
    "null_syscall": "system call with an unknown number (the entry/exit floor)",
    "null_doio": "do_io get_meta(Kind) on the console, answered by the kernel",
    "queue_nop_b1": "queue Nop, batch 1: submit, queue_poll, reap",
    "queue_nop_b32": "queue Nop, batch 32: one submit_batch, one queue_poll, one reap_batch",
    "queue_nop_b32_in_place": "queue Nop, batch 32: 32 prepare/commit (in place), one queue_poll, one reap_batch",
    "queue_nop_b32_calls": "queue Nop, batch 32: 32 submits, one queue_poll, 32 reaps",
    "served_doio": "do_io get_meta(Size) on a served object, server thread in ServeCall "
                   "(the direct call path)",
    "served_doio_4threads": "the direct call with 4 server threads waiting in ServeCall on "
                            "the port",
    "served_doio_ring": "the same through the served port's ring, server thread in ServeSync "
                        "(the path before ServeCall)",
    "served_queue_b1": "same served operation queued, batch 1: submit, queue_wait, reap",
    "served_queue_b8": "same served operation queued, batch 8",
    "served_queue_b32":
        "same served operation queued, batch 32: 32 submits, queue_wait, 32 reaps",
    "served_create": "do_io create (TableSpawn) on a served object: image and 1 handle lent to "
                     "the server, closed after its answer, its handle given back and closed",
    "small_read": "read_at of 4 KiB from a file of the initial file system, answered by the "
                  "kernel",
    "pipe_rtt": "one byte to a child process through a pipe and back through another",
}

# B8's rows as guestbench names them (bench/linux/guestbench.cpp); an unknown row is an error.
B8_CPU_ROWS = {
    "null_syscall": "getppid through syscall()",
    "pipe_rtt": "one byte to a child process through a pipe and back through another",
    "small_read": "pread of 4 KiB from a file in the initramfs (tmpfs)",
}
B8_BLK_ROWS = {
    "seq_write": "sequential write, 1 MiB O_DIRECT pwrite, then fdatasync",
    "seq_read": "sequential read, 1 MiB O_DIRECT pread",
    "rand_read_qd1": "random 4 KiB O_DIRECT pread, queue depth 1",
    "rand_read_qd32": "random 4 KiB O_DIRECT reads through io_uring, queue depth 32",
    "seq_write_64k": "sequential write, 64 KiB O_DIRECT pwrite, then fdatasync (B9's pair)",
    "seq_read_64k": "sequential read, 64 KiB O_DIRECT pread (B9's pair)",
    "seq_read_64k_qd32": "sequential 64 KiB O_DIRECT reads through io_uring, queue depth 32",
}
# The Linux anchor's pairings: (Linux row, Keel's B7 row or None, why they are comparable).
B8_PAIRS = (
    ("null_syscall", "null_syscall",
     "both the system-call floor: entry, a trivial body, exit"),
    ("null_syscall", "null_doio",
     "Keel's smallest operation the kernel answers, against Linux's smallest system call"),
    ("pipe_rtt", "pipe_rtt",
     "the same workload: 4 system calls and 2 switches between two processes' address spaces"),
    ("pipe_rtt", "served_doio",
     "a request to another context and its answer through the kernel (Linux: 4 system calls, "
     "2 process switches; Keel: 2 system calls, 2 thread switches, one address space)"),
    ("small_read", "small_read",
     "4 KiB copied out of a file the kernel holds in memory (Linux: tmpfs, Keel: a memory "
     "object of the initial file system), by position"),
)

# B9, storage: (Keel side and row, Linux side and row, measure, target in anchors.json or None,
# what). A side is a key of b9.json: keel_raw (blkbench on srv/blk0), linux_raw (guestbench blk
# on /dev/vda, O_DIRECT), keel_file (fsbench on /mnt/disk), linux_file (guestbench file on the
# vfat mount). None: the other side has no such row.
B9_PAIRS = (
    (("keel_raw", "seq_write_64k_qd1"), ("linux_raw", "seq_write_64k"), "MiB/s", None,
     "raw sequential write 64 KiB, QD1 (Linux: then fdatasync)"),
    (("keel_raw", "seq_write_64k_qd32"), None, "MiB/s", None,
     "raw sequential write 64 KiB, QD32"),
    (("keel_raw", "seq_read_64k_qd1"), ("linux_raw", "seq_read_64k"), "MiB/s", None,
     "raw sequential read 64 KiB, QD1"),
    (("keel_raw", "seq_read_64k_qd32"), ("linux_raw", "seq_read_64k_qd32"), "MiB/s",
     "b9_raw_qd32", "raw sequential read 64 KiB, QD32"),
    (("keel_raw", "seq_read_64k_copied_qd32"), ("linux_raw", "seq_read_64k_qd32"), "MiB/s", None,
     "raw sequential read 64 KiB, QD32, an ordinary queue (Keel: the kernel copies each 64 KiB)"),
    (("keel_raw", "rand_read_4k_qd1"), ("linux_raw", "rand_read_qd1"), "IOPS", None,
     "raw random read 4 KiB, QD1"),
    (("keel_raw", "rand_read_4k_qd32"), ("linux_raw", "rand_read_qd32"), "IOPS", "b9_raw_qd32",
     "raw random read 4 KiB, QD32"),
    (None, ("linux_raw", "seq_write"), "MiB/s", None,
     "raw sequential write 1 MiB, QD1, then fdatasync (Keel: 64 KiB at most per request)"),
    (None, ("linux_raw", "seq_read"), "MiB/s", None,
     "raw sequential read 1 MiB, QD1 (Keel: 64 KiB at most per request)"),
    (("keel_file", "file_seq_read_64k_qd1"), ("linux_file", "file_seq_read_64k_qd1"), "MiB/s",
     "b9_file_read", "file sequential read 64 KiB, QD1"),
    (("keel_file", "file_seq_read_64k_qd32"), ("linux_file", "file_seq_read_64k_qd32"), "MiB/s",
     "b9_file_read", "file sequential read 64 KiB, QD32"),
    (("keel_file", "file_rand_read_4k_qd1"), ("linux_file", "file_rand_read_4k_qd1"), "IOPS",
     "b9_file_read", "file random read 4 KiB, QD1 (Keel: read_at, Linux: pread)"),
    (("keel_file", "file_rand_read_4k_qd32"), ("linux_file", "file_rand_read_4k_qd32"), "IOPS",
     "b9_file_read", "file random read 4 KiB, QD32 (one open: Keel read_at, Linux io_uring)"),
    (("keel_file", "file_seq_write_64k_qd1"), ("linux_file", "file_seq_write_64k_qd1"), "MiB/s",
     None, "file sequential write 64 KiB, QD1, then sync (Linux: fsync)"),
)
B9_SIDES = ("keel_raw", "linux_raw", "keel_file", "linux_file")
B9_TARGETS = ("b9_raw_qd32", "b9_file_read")  # required in anchors.json when b9.json is there

# B10, HTTP from the host (b10.json, bench/run.py b10): (row, figure, unit, target, what).
B10_ROWS = (
    ("small_keepalive", "rps", "requests/s", "b10_rps",
     "1 KiB file, connections kept alive (wrk, 8 connections)"),
    ("small_close", "rps", "requests/s", "b10_rps",
     "1 KiB file, a new connection per request (wrk, Connection: close)"),
    ("bulk", "mb_per_s", "MB/s", "b10_bulk", "16 MiB file (curl)"),
)
B10_TARGETS = ("b10_rps", "b10_bulk")  # required in anchors.json when b10.json is there

# What the tables below read from anchors.json (B7's targets are optional: b7_<row>).
USED_ANCHORS = ("l4re_ipc",)
USED_TARGETS = ("b2_16B", "b2_64B", "b3_floor", "b4_batch1", "b4_batch32", "b5_insns_b1",
                "b5_insns_b32", "b5_ownership")


class BadInput(Exception):
    pass


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def verdict(ok):
    return "met" if ok else "**missed**"


def bound(target, unit=""):
    """A target as the tables print it: ">= 1.3x boost", "<= 40"."""
    if "min" in target:
        return f">= {target['min']}{unit}"
    return f"<= {target['max']}{unit}"


def aggregates(doc):
    """name -> {stat -> {"t": real time in ns, counters...}} from Google Benchmark's JSON."""
    res = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") != "aggregate":
            continue
        stat = b["aggregate_name"]
        entry = dict(b)
        if stat != "cv":
            entry["t"] = b["real_time"] * NS[b["time_unit"]]
        name = re.sub(r"/(iterations:\d+|repeats:\d+|real_time|manual_time)", "", b["run_name"])
        res.setdefault(name, {})[stat] = entry
    return res


class Report:
    def __init__(self, figures):
        try:
            self.anchors, self.targets = figures["anchors"], figures["targets"]
            missing = [k for k in USED_ANCHORS if k not in self.anchors] + \
                [k for k in USED_TARGETS if k not in self.targets]
        except (KeyError, TypeError) as e:
            raise BadInput(f"anchors file: no {e}") from e
        if missing:
            raise BadInput(f"anchors file: no {', '.join(missing)}")
        self.detail = []  # (row, name, median, min, max, cv%, unit, reps)
        self.summary = []  # (row, measure, keel, baseline, ratio, target, verdict)
        self.charts = {}  # row -> [(label, value, colour: 1 Keel, 2 baseline, 3 floor)]
        self.b7 = None
        self.b8 = None
        self.b9 = None
        self.b10 = None
        self.b11 = None
        self.b12 = None
        self.b13 = None
        self.b14 = None

    def spread(self, row, name, agg, key="t", scale=1.0, unit="ns"):
        """Median, min, max, cv of one benchmark into the detail table; returns the median."""
        a = agg[name]
        med = a["median"][key] * scale
        lo = a.get("min", a["median"])[key] * scale
        hi = a.get("max", a["median"])[key] * scale
        cv = a["cv"].get(key, a["cv"]["real_time"]) * 100 if "cv" in a else math.nan
        reps = a["median"].get("repetitions", "?")
        self.detail.append((row, name, med, lo, hi, cv, unit, reps))
        return med

    def lat(self, row, name, agg, per=1.0):
        """A latency: the median of the per-repetition block medians (counter p50_ns, already
        per operation) is the headline; Google Benchmark's own mean-based time goes into the
        detail table beside it."""
        a = agg[name]
        mean = self.spread(row, name + " (mean time)", {name + " (mean time)": a},
                           scale=1.0 / per, unit="ns/op, repetition mean")
        if "p50_ns" not in a["median"]:
            return mean
        return self.spread(row, name, agg, key="p50_ns", unit="ns/op, median block")

    def b1(self, d):
        a = aggregates(d)
        rtt = self.lat("B1", "B1/pingpong_rtt", a)
        one = self.lat("B1", "B1/oneway_tsc", a)
        self.summary.append(("B1", "cache-line ping-pong round trip (ns)", fmt(rtt), "-", "-",
                             "reported", "-"))
        self.summary.append(("B1", "one-way transfer: TSC-timed / half the round trip (ns)",
                             f"{fmt(one)} / {fmt(rtt / 2)}", "-", "-", "reported", "-"))
        self.charts["b1"] = [("round trip", rtt, 3), ("half RTT", rtt / 2, 3),
                             ("one-way (TSC)", one, 3)]

    def b2(self, d):
        a = aggregates(d)
        rows = []
        for size in ("16B", "64B"):
            target = self.targets[f"b2_{size}"]
            per = {}
            for impl in ("keel_ring", "boost_spsc"):
                name = f"B2/{impl}/{size}"
                whole = name + " (whole repetition)"
                self.spread("B2", whole, {whole: a[name]}, key="items_per_second", scale=1e-6,
                            unit="M entries/s, repetition mean")
                per[impl] = self.spread("B2", name, a, key="p50_Mps",
                                        unit="M entries/s, median block")
            k, b = per["keel_ring"], per["boost_spsc"]
            self.summary.append(("B2", f"ring throughput, {size} entries (M entries/s)", fmt(k),
                                 fmt(b), f"{k / b:.2f}x boost", bound(target, "x boost"),
                                 verdict(k / b >= target["min"])))
            rows += [(f"Keel {size}", k, 1), (f"boost {size}", b, 2)]
        self.charts["b2"] = rows

    def b3(self, d):
        a = aggregates(d)
        target = self.targets["b3_floor"]
        floor = self.lat("B3", "B3/floor_pingpong_rtt", a)
        nop = self.lat("B3", "B3/keel_queue_rtt/nop", a)
        svc = self.lat("B3", "B3/keel_queue_rtt/service_op", a)
        for label, v in (("Nop", nop), ("service op", svc)):
            self.summary.append(("B3", f"queue round trip, {label} (ns)", fmt(v), fmt(floor),
                                 f"{v / floor:.2f}x floor", bound(target, "x floor"),
                                 verdict(v / floor <= target["max"])))
        self.charts["b3"] = [("floor", floor, 3), ("Keel Nop", nop, 1), ("Keel op", svc, 1)]

    def b4(self, d):
        a = aggregates(d)
        rows = []
        for batch in (1, 32):
            want = self.targets[f"b4_batch{batch}"]["min"]
            per = {}
            single = [n for n in ("keel_single/nop", "keel_single/service_op")
                      if f"B4/{n}/{batch}" in a]
            for name in ["keel/nop", "keel/service_op", "io_uring/nop"] + single:
                per[name] = self.lat("B4", f"B4/{name}/{batch}", a, per=batch)
            u = per["io_uring/nop"]
            for name in ("keel/nop", "keel/service_op"):
                k = per[name]
                self.summary.append(("B4", f"{name} with owned buffer, batch {batch} (ns/op)",
                                     fmt(k), fmt(u), f"{u / k:.1f}x (io_uring / Keel)",
                                     f">= {want:g}x io_uring NOP", verdict(u / k >= want)))
            for name in single:  # the one-call-per-operation API, for reference
                k = per[name]
                self.summary.append(("B4", f"{name} (submit/take/reap), batch {batch} (ns/op)",
                                     fmt(k), fmt(u), f"{u / k:.1f}x (io_uring / Keel)",
                                     "(reference)", "-"))
            rows += [(f"Keel Nop b{batch}", per["keel/nop"], 1),
                     (f"Keel op b{batch}", per["keel/service_op"], 1),
                     (f"io_uring b{batch}", u, 2)]
        self.charts["b4"] = rows

    def b5(self, d):
        ownership = self.targets["b5_ownership"]
        nets = {}
        for batch, variants in d["batches"].items():
            v = {k: x["ir_per_op"] for k, x in variants.items()}
            e = v.get("empty", 0.0)
            nets[batch] = {k: x - e for k, x in v.items()}
            for k in v:
                self.detail.append(("B5", f"B5/batch{batch}/{k} ({variants[k]['functions']})",
                                    v[k], v[k], v[k], math.nan,
                                    "instructions per op (raw, callgrind)", "deterministic"))
        for batch in sorted(nets, key=int):
            net = nets[batch]
            how = "one at a time" if batch == "1" else f"batches of {batch}"
            # Issue 24's targets: one for a single operation, one for batches (of 32).
            insns = self.targets["b5_insns_b1" if batch == "1" else "b5_insns_b32"]
            apis = [("keel", "keel_owned", "submit/reap")]
            if "keel_batch" in net:
                apis.append(("keel_batch", "keel_batch_owned", "submit_batch/reap_batch"))
            if "keel_inplace" in net:
                apis.append(("keel_inplace", "keel_inplace_owned",
                             "prepare/commit (in place), " +
                             ("reap" if batch == "1" else "reap_batch")))
            for plain, owned, api in apis:
                self.summary.append(
                    ("B5", f"instructions per submit + reap, no buffer, {how}, {api}",
                     fmt(net[plain]), fmt(net["boost"]),
                     f"{net[plain] / net['boost']:.1f}x boost push+pop", bound(insns),
                     verdict(net[plain] <= insns["max"])))
                extra = net[owned] - net[plain]
                self.summary.append(
                    ("B5", f"extra for ownership (owned buffer lent and back), {how}, {api}",
                     fmt(extra), "-", "-", bound(ownership), verdict(extra <= ownership["max"])))
            self.summary.append(("B5", f"SpscRing push + pop, {how}", fmt(net["keel_ring"]),
                                 fmt(net["boost"]),
                                 f"{net['keel_ring'] / net['boost']:.2f}x boost", "(reference)",
                                 "-"))
            self.summary.append(("B5", f"server poll per Nop, {how} (not in the target)",
                                 fmt(net["server_poll"]), "-", "-", "(reference)", "-"))
            for key, what in (("cycle_nop_batch", "Nop, in place + batched calls"),
                              ("cycle_svc_batch", "service op, in place + batched calls"),
                              ("cycle_nop_single", "Nop, one call per op"),
                              ("cycle_svc_single", "service op, one call per op")):
                if key in net:
                    self.summary.append(("B5", f"B4's whole cycle (both sides), {what}, {how}",
                                         fmt(net[key]), "-", "-", "(reference)", "-"))
        self.summary.append(("B5", "locked instructions in ipc/ and SpscRing (objdump)",
                             "none" if d["no_lock"] else "FOUND", "-", "-", "none",
                             verdict(d["no_lock"])))
        net = nets["1"]
        chart = [("Keel", net["keel"], 1), ("Keel owned", net["keel_owned"], 1),
                 ("Keel ring", net["keel_ring"], 1), ("boost", net["boost"], 2),
                 ("server poll", net["server_poll"], 3)]
        if "32" in nets:
            chart += [("Keel b32", nets["32"]["keel"], 1),
                      ("Keel owned b32", nets["32"]["keel_owned"], 1)]
            if "keel_batch" in nets["32"]:
                chart += [("Keel batch b32", nets["32"]["keel_batch"], 1),
                          ("Keel batch owned b32", nets["32"]["keel_batch_owned"], 1)]
            if "keel_inplace" in nets["32"]:
                chart += [("Keel in place b32", nets["32"]["keel_inplace"], 1),
                          ("Keel in place owned b32", nets["32"]["keel_inplace_owned"], 1)]
        self.charts["b5"] = chart

    def b6(self, d):
        a = aggregates(d)
        names = [n for n in ("B6/keel_linux/block", "B6/keel_linux/spin", "B6/keel_shm/spin",
                             "B6/uds/spin", "B6/pipe/spin", "B6/uds/block", "B6/pipe/block")
                 if n in a]
        med = {n: self.lat("B6", n, a) for n in names}
        # Like against like: blocking Keel against the blocking socket and pipe, spinning
        # against spinning; the bare-library row against the transport's spin row.
        pairs = [("B6/keel_linux/block", "B6/uds/block"), ("B6/keel_linux/block", "B6/pipe/block"),
                 ("B6/keel_linux/spin", "B6/uds/spin"), ("B6/keel_linux/spin", "B6/pipe/spin"),
                 ("B6/keel_shm/spin", "B6/uds/spin"), ("B6/keel_shm/spin", "B6/pipe/spin")]
        for k, b in pairs:
            if k in med and b in med:
                self.summary.append(("B6", f"{k[3:]} vs {b[3:]} round trip (ns)", fmt(med[k]),
                                     fmt(med[b]), f"{med[b] / med[k]:.2f}x (baseline / Keel)",
                                     "reported", "-"))
        self.charts["b6"] = [(n[3:], med[n], 1 if n.startswith("B6/keel") else 2)
                             for n in names]

    def b7_rows(self, d):
        """B7's table rows: (name, operation, insns/op, vs anchor, target, verdict)."""
        l4re = self.anchors["l4re_ipc"]["value"]
        out = []
        for name, r in d["rows"].items():
            if name not in B7_ROWS:
                raise BadInput(f"unknown B7 row {name!r} (add it to report.py's B7_ROWS)")
            target = self.targets.get(f"b7_{name}")
            x = r["insns_per_op"]
            out.append((name, B7_ROWS[name], x, x / l4re,
                        "reference" if target is None else bound(target),
                        "-" if target is None else verdict(x <= target["max"])))
        return out

    def b7_table(self):
        d, l4re = self.b7, self.anchors["l4re_ipc"]["value"]
        c = d["calibration"]
        lines = [
            f"Calibration: a loop of {c['instructions']} instructions took {c['clock_ns']} clock "
            f"ns ({c['clock_ns'] / c['instructions']:.5f} ns per instruction); two boots "
            f"identical: {'yes' if d['deterministic'] else 'no'}.",
            "",
            f"| row | operation | instructions/op | vs L4Re IPC ({l4re}) | target | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for name, what, x, ratio, target, ok in self.b7_rows(d):
            lines.append(f"| B7 {name} | {what} | {x:.1f} | {ratio:.2f}x | {target} | {ok} |")
        return "\n".join(lines) + "\n"

    def b8_check(self, d):
        """Refuses a B8 result with an unknown row or a missing figure (before any writing)."""
        for name, r in d["cpu_rows"].items():
            if name not in B8_CPU_ROWS:
                raise BadInput(f"unknown B8 CPU row {name!r} (add it to report.py's B8_CPU_ROWS)")
            if float(r["insns_per_op"]) <= 0:
                raise BadInput(f"B8 row {name}: no instruction count")
        for name, r in d["blk_rows"].items():
            if name not in B8_BLK_ROWS:
                raise BadInput(f"unknown B8 block row {name!r} (add it to report.py's "
                               "B8_BLK_ROWS)")
            if float(r["mib_per_s"]) <= 0 or float(r["iops"]) <= 0:
                raise BadInput(f"B8 row {name}: no throughput")
        if d["calibration"]["instructions"] <= 0 or not d["guest"] or not d["date"]:
            raise BadInput("B8: no calibration or no guest description")

    def b8_chart(self):
        """The chart's Keel-against-Linux panel: each workload both systems run the same way
        (B8's pairs whose Keel row has the Linux row's name), Keel's bar beside Linux's."""
        if self.b7 is None or self.b8 is None:
            return
        keel, linux = self.b7["rows"], self.b8["cpu_rows"]
        bars = []
        for lrow, krow, _ in B8_PAIRS:
            if krow == lrow and krow in keel and lrow in linux:
                bars += [(f"{krow} Keel", keel[krow]["insns_per_op"], 1),
                         (f"{lrow} Linux", linux[lrow]["insns_per_op"], 2)]
        if bars:
            self.charts["b7"] = bars

    def b8_table(self):
        """The Linux anchor: Linux's instructions per operation beside Keel's matching B7 row
        (B7's results, when present), and the block rows (Keel's column empty until Keel has a
        block driver row)."""
        d = self.b8
        keel = self.b7["rows"] if self.b7 is not None else {}
        c = d["calibration"]
        spread = max(max(r["boots"]) - min(r["boots"]) for r in d["cpu_rows"].values())
        load = d.get("load_average", {})
        lines = [
            f"Linux guest: {'; '.join(d['guest'][:2])}. Measured {d['date']}"
            + (f" (host load average {load['start']} at start, {load['end']} at end)"
               if load else "")
            + f". Calibration: a loop of {c['instructions']} instructions took {c['clock_ns']} "
            f"clock ns ({c['clock_ns'] / c['instructions']:.5f} ns per instruction); two boots "
            f"identical: {'yes' if d['deterministic'] else 'no'} (largest difference "
            f"{spread:.1f} instructions per operation).",
            "",
            "| Linux row | operation | Linux instructions/op | Keel B7 row | Keel instructions/op "
            "| Keel / Linux | target | verdict | why this pairing |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        target = self.targets["b8_keel_vs_linux"]
        for lrow, krow, why in B8_PAIRS:
            if lrow not in d["cpu_rows"]:
                continue
            x = d["cpu_rows"][lrow]["insns_per_op"]
            k = keel.get(krow, {}).get("insns_per_op") if krow else None
            judged = "-" if k is None else verdict(k / x <= target["max"])
            lines.append(f"| B8 {lrow} | {B8_CPU_ROWS[lrow]} | {x:.1f} | "
                         f"{krow or '-'} | {'-' if k is None else f'{k:.1f}'} | "
                         f"{'-' if k is None else f'{k / x:.2f}x'} | "
                         f"{bound(target, 'x')} | {judged} | {why} |")
        lines += ["", "Block rows: the median of the boots (each boot's figure in "
                  "`b8_linux.json`), the range over the boots in brackets.", "",
                  "| Linux row | operation | requests | MiB/s | IOPS | Keel MiB/s | Keel IOPS |",
                  "|---|---|---|---|---|---|---|"]
        for name, r in d["blk_rows"].items():
            mib, iops = f"{r['mib_per_s']:.1f}", f"{r['iops']:.0f}"
            if "boots_iops" in r:
                mib += f" ({min(r['boots_mib_per_s']):.1f}-{max(r['boots_mib_per_s']):.1f})"
                iops += f" ({min(r['boots_iops']):.0f}-{max(r['boots_iops']):.0f})"
            lines.append(f"| B8 {name} | {B8_BLK_ROWS[name]} | {r['ops']} | {mib} | {iops} "
                         "| - | - |")
        return "\n".join(lines) + "\n"

    def b9_rows(self, d):
        """[(what, Keel figure or None, Linux figure or None, unit, ratio or None, target key)];
        refuses a B9 result with a missing side, row or figure, or a missing target."""
        missing = [k for k in B9_TARGETS if k not in self.targets]
        if missing:
            raise BadInput(f"anchors file: no {', '.join(missing)}")
        for side in B9_SIDES:
            for name, r in d[side].items():
                if float(r["mib_per_s"]) <= 0 or float(r["iops"]) <= 0:
                    raise BadInput(f"B9 {side} row {name}: no throughput")
        out = []
        for keel, linux, unit, target, what in B9_PAIRS:
            key = "mib_per_s" if unit == "MiB/s" else "iops"
            figures = []
            for pair in (keel, linux):
                if pair is None:
                    figures.append(None)
                    continue
                side, name = pair
                if name not in d[side]:
                    raise BadInput(f"B9: {side} has no row {name}")
                figures.append(float(d[side][name][key]))
            k, x = figures
            ratio = k / x if k is not None and x is not None else None
            out.append((what, k, x, unit, ratio, target))
        return out

    def b9_add(self, d):
        """Checks B9 and puts its targeted rows in the headline table."""
        for what, k, x, unit, ratio, target in self.b9_rows(d):
            if target is None or ratio is None:
                continue
            t = self.targets[target]
            ok = ratio >= t["min"] if "min" in t else ratio <= t["max"]
            self.summary.append(("B9", f"{what}, Keel / Linux ({unit})", fmt(k), fmt(x),
                                 f"{ratio:.2f}x", bound(t, "x"), verdict(ok)))

    def b9_table(self):
        """Storage, Keel vs Linux: each row's figures, the ratio, the target and its verdict;
        then each side's asynchronous level (QD32) over its synchronous one (QD1)."""
        d = self.b9
        load = d.get("load_average", {})
        lines = [
            f"Measured {d['date']}, the median of {d['boots']} boot(s) of each side (each "
            "boot's figure in `b9.json`)"
            + (f"; host load average {load['start']} at start, {load['end']} at end" if load
               else "") + f". Linux guest: {'; '.join(d['guest'][:1])}.",
            "",
            "| row | Keel | Linux | unit | Keel / Linux | target | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        rows = self.b9_rows(d)
        for what, k, x, unit, ratio, target in rows:
            t = self.targets[target] if target else None
            ok = None
            if t is not None and ratio is not None:
                ok = ratio >= t["min"] if "min" in t else ratio <= t["max"]
            lines.append(f"| {what} | {fmt(k)} | {fmt(x)} | {unit} | "
                         f"{'-' if ratio is None else f'{ratio:.2f}x'} | "
                         f"{bound(t, 'x') if t else '-'} | "
                         f"{'-' if ok is None else verdict(ok)} |")
        by_what = {what: (k, x) for what, k, x, _, _, _ in rows}
        lines += ["", "The asynchronous level against the synchronous one (QD32 / QD1, the same "
                  "side and row):", "", "| row | Keel QD32 / QD1 | Linux QD32 / QD1 |",
                  "|---|---|---|"]
        for qd1, qd32, label in (
                ("raw sequential read 64 KiB, QD1", "raw sequential read 64 KiB, QD32",
                 "raw sequential read 64 KiB"),
                ("raw random read 4 KiB, QD1", "raw random read 4 KiB, QD32",
                 "raw random read 4 KiB"),
                ("file sequential read 64 KiB, QD1", "file sequential read 64 KiB, QD32",
                 "file sequential read 64 KiB"),
                ("file random read 4 KiB, QD1 (Keel: read_at, Linux: pread)",
                 "file random read 4 KiB, QD32 (one open: Keel read_at, Linux io_uring)",
                 "file random read 4 KiB")):
            cells = []
            for i in (0, 1):
                a, b = by_what[qd1][i], by_what[qd32][i]
                cells.append("-" if a is None or b is None else f"{b / a:.2f}x")
            lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
        return "\n".join(lines) + "\n"

    def b10_rows(self, d):
        """[(what, Keel figure or None, Linux figure, unit, ratio or None, target key)];
        Keel's figures are None while its side is "missing". Refuses a missing row or figure,
        an unknown Keel status or a missing target."""
        missing = [k for k in B10_TARGETS if k not in self.targets]
        if missing:
            raise BadInput(f"anchors file: no {', '.join(missing)}")
        status = d["keel"]["status"]
        if status not in ("measured", "missing"):
            raise BadInput(f"B10: Keel's status is {status!r}, not measured or missing")
        out = []
        for row, key, unit, target, what in B10_ROWS:
            figures = []
            for side in ("keel", "linux"):
                if side == "keel" and status == "missing":
                    figures.append(None)
                    continue
                if row not in d[side]:
                    raise BadInput(f"B10: {side} has no row {row}")
                v = float(d[side][row][key])
                if v < 0 or (v == 0 and side == "linux"):  # Keel's may be 0: all failed
                    raise BadInput(f"B10 {side} row {row}: no throughput")
                figures.append(v)
            k, x = figures
            if "linux_keepalive" in d and float(d["linux_keepalive"][row][key]) <= 0:
                raise BadInput(f"B10 linux_keepalive row {row}: no throughput")
            out.append((what, k, x, unit, None if k is None else k / x, target))
        return out

    def b10_add(self, d):
        """Checks B10 and puts its rows in the headline table (Keel "missing" until measured)."""
        for what, k, x, unit, ratio, target in self.b10_rows(d):
            t = self.targets[target]
            if ratio is None:
                self.summary.append(("B10", f"HTTP {what}, Keel / Linux ({unit})", "missing",
                                     fmt(x), "-", bound(t, "x"), "not measured"))
                continue
            ok = ratio >= t["min"] if "min" in t else ratio <= t["max"]
            self.summary.append(("B10", f"HTTP {what}, Keel / Linux ({unit})", fmt(k), fmt(x),
                                 f"{ratio:.2f}x", bound(t, "x"), verdict(ok)))

    def b11_table(self):
        """B11: the seed's level table made real (b11.json, bench/run.py b11)."""
        d = self.b11
        levels = ("sync", "async", "shm", "integrated")
        what = {"sync": "synchronous: `do_io` on `srv/blk0`",
                "async": "asynchronous: a queue on `srv/blk0`, batched",
                "shm": "shared memory: the driver's ring (`lib/blkring`), kernel only to sleep",
                "integrated": "integrated: the driver's device half linked in, own device, polled"}
        lines = d["client_lines"]
        rows = d["rows"]
        if not isinstance(rows, dict) or not rows:
            raise BadInput("B11: no rows")
        out = [f"{d['date']}, {d['boots']} wall-clock boots (each row's median boot) on "
               f"{d['disk_mib']} MiB disks and one under -icount shift=0 on null devices, load "
               "average "
               f"{d['load_average']['start']} at the start and {d['load_average']['end']} at "
               "the end.", "",
               "| level | client code (lines) | workload | depth | ops/s | p50 µs | p99 µs | "
               "guest instructions per read, null device: mean | p50 |",
               "|---|---|---|---|---|---|---|---|---|"]
        for level in levels:
            mine = sorted((r for r in rows.values() if r["level"] == level),
                          key=lambda r: (r["workload"], r["depth"]))
            if not mine:
                raise BadInput(f"B11: no rows for {level}")
            for i, r in enumerate(mine):
                if r["ops"] <= 0 or r["ns"] <= 0:
                    raise BadInput(f"B11: {level} {r['workload']}: no operations")
                first = i == 0
                out.append(
                    f"| {what[level] if first else ''} | {lines[level] if first else ''} | "
                    f"{'4 KiB random' if r['workload'] == 'rand4k' else '64 KiB sequential'} | "
                    f"{r['depth']} | {r['ops_per_s']} | {r['p50_ns'] / 1000:.1f} | "
                    f"{r['p99_ns'] / 1000:.1f} | {r['icount_insns_per_op']} | "
                    f"{r['icount_p50']} |")
        return "\n".join(out) + "\n"

    def b10_table(self):
        """HTTP, Keel vs Linux: each row's medians, the ratio to busybox httpd with the target
        and verdict, the ratio to guesthttpd (reference); then every run's figure."""
        d = self.b10
        load = d.get("load_average", {})
        sides = [s for s in ("keel", "linux", "linux_keepalive") if s in d]
        names = {"keel": "Keel", "linux": "Linux, busybox httpd",
                 "linux_keepalive": "Linux, guesthttpd"}

        def server(side):
            x = d[side]
            if x.get("status") == "missing":
                return f"{names[side]}: missing ({x['why']})"
            closes = x["response_headers"].get("connection", "-").lower() == "close"
            return (f"{names[side]}: {x['server']}; "
                    + ("closes every connection (answers `Connection: close`)" if closes else
                       "keeps connections (no `Connection: close` in its answer)"))
        lines = [
            f"Measured {d['date']}, {d['rounds']} boot(s) of each side"
            + (f"; host load average {load['start']} at start, {load['end']} at end" if load
               else "") + f". Linux guest: {'; '.join(d['guest'][:1])}.",
            "",
        ] + [f"- {server(side)}" for side in sides] + [
            "",
            "| row | Keel | Linux, busybox httpd | unit | Keel / busybox | target | verdict | "
            "Linux, guesthttpd | Keel / guesthttpd (reference) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        ka = d.get("linux_keepalive")
        for (row, key, _, _, _), (what, k, x, unit, ratio, target) in zip(
                B10_ROWS, self.b10_rows(d)):
            t = self.targets[target]
            y = float(ka[row][key]) if ka else None
            if ratio is None:
                cells = ["missing", fmt(x), unit, "-", bound(t, "x"), "not measured"]
            else:
                ok = ratio >= t["min"] if "min" in t else ratio <= t["max"]
                cells = [fmt(k), fmt(x), unit, f"{ratio:.2f}x", bound(t, "x"), verdict(ok)]
            cells += [fmt(y), "-" if k is None or not y else f"{k / y:.2f}x"]
            lines.append(f"| {what} | " + " | ".join(cells) + " |")
        lines += ["", "Every run (requests/s: one wrk run per boot; MB/s: every download):", "",
                  "| row | " + " | ".join(names[s] for s in sides) + " |",
                  "|---|" + "---|" * len(sides)]
        for row, key, unit, _, what in B10_ROWS:
            cells = []
            for side in sides:
                if row not in d[side]:
                    cells.append("-")
                    continue
                r = d[side][row]
                text = ", ".join(fmt(v) for v in r["runs_" + key])
                bad = len(r.get("failed", ())) if row == "bulk" else \
                    int(r["socket_errors"]) + int(r["non_2xx"])
                if bad:
                    text += (f" ({bad} failed download(s))" if row == "bulk" else
                             f" ({r['socket_errors']} socket errors, {r['non_2xx']} non-2xx)")
                cells.append(text)
            lines.append(f"| {what} ({unit}) | " + " | ".join(cells) + " |")
        console = d["keel"].get("console") or {}
        if console:
            lines += ["", "Keel's httpd said, besides its request lines (times, over the boots):",
                      ""] + [f"- `{line}` ({n})" for line, n in sorted(console.items())]
        return "\n".join(lines) + "\n"

    def b13_table(self):
        """The polling queue against the system-call queue (b13.json, kbench's polling mode):
        per batch, the median over boots of each mode's operations per second, the ratio
        within each boot (medians), and the kernel entries per operation. Refuses a missing
        row or figure."""
        d = self.b13
        boots = d["boots"]
        if not boots:
            raise BadInput("B13: no boots")
        out = ("| batch | system calls (ops/s, min..max) | polling (ops/s, min..max) | "
               "polling / system calls | kernel entries per op (system calls, polling) |\n"
               "|---|---|---|---|---|\n")
        for batch in (1, 32):
            rates = {}
            entries = {}
            for mode in ("syscall", "polling"):
                row = [b[f"{mode}_b{batch}"] for b in boots]
                if any(int(x["ns"]) <= 0 or int(x["ops"]) <= 0 for x in row):
                    raise BadInput(f"B13 {mode} batch {batch}: no time")
                rates[mode] = [x["ops"] * 1e9 / x["ns"] for x in row]
                entries[mode] = statistics.median(x["syscalls"] / x["ops"] for x in row)
            ratio = statistics.median(p / s for p, s in zip(rates["polling"], rates["syscall"]))
            cells = [f"{statistics.median(v):,.0f} ({min(v):,.0f}..{max(v):,.0f})"
                     for v in (rates["syscall"], rates["polling"])]
            out += (f"| {batch} | {cells[0]} | {cells[1]} | {ratio:.2f}x | "
                    f"{entries['syscall']:.3f}, {entries['polling']:.3f} |\n")
        return out + f"\n`{d['qemu']}`, {len(boots)} boot(s), load average {d['loadavg']}.\n"

    def b14_table(self):
        """The scaling table (b14.json, user/scalebench): per row and number of pairs, the median
        over boots of the operations per second at each CPU count, and each one's ratio to
        -smp 1's. Refuses a missing row or figure."""
        d = self.b14
        cpus = sorted(d["boots"], key=int)
        if not cpus or any(not d["boots"][c] for c in cpus):
            raise BadInput("B14: no boots")
        out = ("| row | pairs | " + " | ".join(f"-smp {c} (ops/s, min..max)" for c in cpus) +
               " | " + " | ".join(f"-smp {c} / -smp {cpus[0]}" for c in cpus[1:]) + " |\n" +
               "|---|---|" + "---|" * (2 * len(cpus) - 1) + "\n")
        for row in ("spin", "pipes"):
            for pairs in (1, 2, 4):
                medians, cells = [], []
                for c in cpus:
                    got = [b.get(f"{row}_{pairs}") for b in d["boots"][c]]
                    if any(x is None or int(x["ns"]) <= 0 or int(x["ops"]) <= 0 for x in got):
                        raise BadInput(f"B14 {row} pairs {pairs} -smp {c}: no time")
                    rates = [x["ops"] * 1e9 / x["ns"] for x in got]
                    medians.append(statistics.median(rates))
                    cells.append(f"{medians[-1]:,.0f} ({min(rates):,.0f}..{max(rates):,.0f})")
                ratios = [f"{m / medians[0]:.2f}x" for m in medians[1:]]
                out += f"| {row} | {pairs} | " + " | ".join(cells + ratios) + " |\n"
        boots = len(d["boots"][cpus[0]])
        load = d.get("load_average", {})
        return out + (f"\n`{d['qemu']}`, {boots} boot(s) of each, load average "
                      f"{load.get('start')} at start, {load.get('end')} at end.\n")

    def b12_table(self):
        """The firewall's overhead (b12.json, bench/firewall.py): each kind's medians over boots
        through the network server directly and through the firewall, and the ratio. Refuses a
        missing row or figure."""
        d = self.b12
        m = d["median"]
        out = ("| round trip | path | requests/s | p50 us | p90 us | p99 us | "
               "firewall / direct (requests/s) |\n|---|---|---|---|---|---|---|\n")
        for kind in ("connect", "keepalive", "loopback"):
            direct, through = m[f"{kind}_direct"], m[f"{kind}_firewall"]
            for row in (direct, through):
                if float(row["rps"]) <= 0 or int(row["requests"]) <= 0:
                    raise BadInput(f"B12 {kind}: no throughput")
            for path, row in (("direct", direct), ("firewall", through)):
                ratio = f"{through['rps'] / direct['rps']:.2f}x" if path == "firewall" else ""
                out += (f"| {kind} | {path} | {row['rps']:,.1f} | {int(row['p50_us']):,} | "
                        f"{int(row['p90_us']):,} | {int(row['p99_us']):,} | {ratio} |\n")
        rows = d["icount"]["rows"]
        direct, through = rows["loopback_direct"], rows["loopback_firewall"]
        if int(direct["p50_us"]) <= 0 or int(through["p50_us"]) <= 0:
            raise BadInput("B12 icount: no instruction counts")
        out += ("\nGuest instructions per loopback round trip (connect, GET, the 1 KiB response, "
                f"close), one boot under `{d['icount']['qemu_extra']}` "
                f"({int(direct['requests'])} of each, interleaved):\n\n"
                "| path | p50 | p90 | p99 | firewall - direct (p50) |\n|---|---|---|---|---|\n")
        for path, row in (("direct", direct), ("firewall", through)):
            extra = (f"{(int(through['p50_us']) - int(direct['p50_us'])) * 1000:,}"
                     if path == "firewall" else "")
            out += (f"| {path} | {int(row['p50_us']) * 1000:,} | {int(row['p90_us']) * 1000:,} | "
                    f"{int(row['p99_us']) * 1000:,} | {extra} |\n")
        load = d.get("load_average", {})
        refused = [(b["refused_connects"]["direct"], b["refused_connects"]["firewall"])
                   for b in d["boots"]]
        out += (f"\nMedians of {len(d['boots'])} boots of {int(m['connect_direct']['requests'])} "
                f"round trips of each kind (`{d['command']}`, {d['date']}; load average "
                f"{load.get('start', '?')} -> {load.get('end', '?')}). Connects the host refused "
                f"and fwbench made again, (direct, firewall) per boot: {refused}.\n")
        return out

    def anchors_table(self):
        lines = ["| anchor | value | used in | source |", "|---|---|---|---|"]
        for a in self.anchors.values():
            lines.append(f"| {a['what']} | ~{a['value']} {a['unit']} | {a['used_in']} | "
                         f"{a['source']} |")
        lines += ["", "| row | target | bound |", "|---|---|---|"]
        for t in self.targets.values():
            lines.append(f"| {t['row']} | {t['what']} | {bound(t)} |")
        return "\n".join(lines) + "\n"

    def headline(self, machine):
        text = ""
        if machine:
            text += (f"Run {machine.get('date', '?')} on {machine.get('Model name', '?')}, "
                     f"{machine.get('CPU(s)', '?')} CPUs "
                     f"({machine.get('Hypervisor vendor', 'bare metal')} guest), "
                     f"{machine.get('kernel', '?')}; load average "
                     f"{machine.get('load average at start', '?')} at start, "
                     f"{machine.get('load average at end', '?')} at end.\n\n")
        text += "| row | measure | Keel | baseline | ratio | target | verdict |\n"
        text += "|---|---|---|---|---|---|---|\n"
        for r in self.summary:
            text += "| " + " | ".join(r) + " |\n"
        return text

    def detail_table(self):
        text = "| row | benchmark | median | min | max | cv | unit | reps |\n"
        text += "|---|---|---|---|---|---|---|---|\n"
        for row, name, med, lo, hi, cv, unit, reps in self.detail:
            cvs = "-" if math.isnan(cv) else f"{cv:.1f}%"
            text += (f"| {row} | {name} | {fmt(med)} | {fmt(lo)} | {fmt(hi)} | {cvs} | {unit} "
                     f"| {reps} |\n")
        return text


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: {e}") from e


def load_machine(path):
    """machine.txt's "key: value" lines (the first of each key) as a dict; {} if absent."""
    if not os.path.exists(path):
        return {}
    facts = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            facts.setdefault(k.strip(), v.strip())
    return facts


def replace_block(doc, name, text):
    """doc with the text between "<!-- NAME:begin -->" and "<!-- NAME:end -->" replaced."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in doc or end not in doc:
        raise BadInput(f"README has no {begin} ... {end} block")
    return doc[: doc.index(begin) + len(begin)] + "\n" + text + doc[doc.index(end):]


def build(results, figures):
    rep = Report(figures)
    for row in ("b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11",
                "b12", "b13", "b14"):
        path = os.path.join(results, "b8_linux.json" if row == "b8" else row + ".json")
        if not os.path.exists(path):
            continue
        doc = load_json(path)
        try:
            if row == "b7":
                rep.b7 = doc
                rep.b7_rows(doc)  # checks it before anything is written
            elif row == "b8":
                rep.b8 = doc
                rep.b8_check(doc)
            elif row == "b9":
                rep.b9 = doc
                rep.b9_add(doc)
            elif row == "b10":
                rep.b10 = doc
                rep.b10_add(doc)
                rep.b10_table()  # checks the per-run figures too
            elif row == "b11":
                rep.b11 = doc
                rep.b11_table()  # checks it before anything is written
            elif row == "b12":
                rep.b12 = doc
                rep.b12_table()
            elif row == "b13":
                rep.b13 = doc
                rep.b13_table()
            elif row == "b14":
                rep.b14 = doc
                rep.b14_table()
            else:
                getattr(rep, row)(doc)
        except BadInput as e:
            raise BadInput(f"{path}: {e}") from e
        except (KeyError, IndexError, TypeError, ValueError, AttributeError,
                ZeroDivisionError) as e:
            raise BadInput(f"{path}: not the expected shape ({type(e).__name__}: {e})") from e
    rep.b8_chart()
    return rep


def write_outputs(rep, machine, out, chart):
    os.makedirs(out, exist_ok=True)
    text = rep.headline(machine)
    text += "\nEvery benchmark: median of the repetitions, spread as min..max and cv.\n\n"
    text += rep.detail_table()
    if rep.b7 is not None:
        text += ("\n## B7: kernel under QEMU -icount shift=0 (guest instructions per operation)"
                 "\n\n" + rep.b7_table())
    if rep.b8 is not None:
        text += ("\n## B8: the Linux anchor (same QEMU machine; CPU rows in guest instructions, "
                 "block rows in guest wall time)\n\n" + rep.b8_table())
    if rep.b9 is not None:
        text += "\n## B9: storage, Keel vs Linux (guest wall time)\n\n" + rep.b9_table()
    if rep.b10 is not None:
        text += "\n## B10: HTTP from the host, Keel vs Linux\n\n" + rep.b10_table()
    if rep.b11 is not None:
        text += "\n## B11: the four I/O levels on one workload\n\n" + rep.b11_table()
    if rep.b12 is not None:
        text += "\n## B12: the firewall's overhead\n\n" + rep.b12_table()
    if rep.b13 is not None:
        text += ("\n## B13: polling queue vs system-call queue (QEMU -smp 2, wall clock)\n\n" +
                 rep.b13_table())
    if rep.b14 is not None:
        text += ("\n## B14: N pairs on 1, 2 and 4 CPUs (QEMU -smp, wall clock)\n\n" +
                 rep.b14_table())
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    for row, items in rep.charts.items():
        with open(os.path.join(out, f"chart_{row}.dat"), "w") as f:
            for label, value, colour in items:
                f.write(f'"{label}" {value:.3f} {colour}\n')
    if chart and rep.charts and shutil.which("gnuplot"):
        subprocess.run(["gnuplot", "-e", f"dir='{out}'", os.path.join(HERE, "chart.gp")],
                       check=True)
        print(f"chart: {os.path.join(out, 'chart.png')}")
    return text


def update_readme(rep, machine, readme):
    with open(readme) as f:
        doc = f.read()
    note = ("\n(Generated by `bench/report.py`; every benchmark's median, min, max and cv: "
            "`results/summary.md`.)\n")
    doc = replace_block(doc, "results", rep.headline(machine) + note)
    if rep.b7 is not None:
        doc = replace_block(doc, "b7", rep.b7_table())
    if rep.b8 is not None:
        doc = replace_block(doc, "b8", rep.b8_table())
    if rep.b9 is not None:
        doc = replace_block(doc, "b9", rep.b9_table())
    if rep.b10 is not None:
        doc = replace_block(doc, "b10", rep.b10_table())
    if rep.b11 is not None:
        doc = replace_block(doc, "b11", rep.b11_table())
    if rep.b12 is not None:
        doc = replace_block(doc, "b12", rep.b12_table())
    if rep.b13 is not None:
        doc = replace_block(doc, "b13", rep.b13_table())
    if rep.b14 is not None:
        doc = replace_block(doc, "b14", rep.b14_table())
    doc = replace_block(doc, "anchors", rep.anchors_table())
    with open(readme, "w") as f:
        f.write(doc)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="?", default=os.path.join(HERE, "results"))
    p.add_argument("--out", help="where to write (default: RESULTS)")
    p.add_argument("--readme", help="also fill this README's generated blocks")
    p.add_argument("--anchors", default=os.path.join(HERE, "anchors.json"))
    p.add_argument("--no-chart", action="store_true", help="do not run gnuplot")
    args = p.parse_args(argv)
    try:
        figures = load_json(args.anchors)
        rep = build(args.results, figures)
        machine = load_machine(os.path.join(args.results, "machine.txt"))
        print(write_outputs(rep, machine, args.out or args.results, not args.no_chart))
        if args.readme:
            update_readme(rep, machine, args.readme)
    except BadInput as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
