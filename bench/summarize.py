#!/usr/bin/env python3
"""Turns bench/results/*.json into summary.md and the chart_*.dat files chart.gp draws.
usage: summarize.py RESULTS_DIR [README]. With README, the headline table also replaces the
block between its "results:begin" and "results:end" markers (run.sh does this only after a
full run). Rows whose JSON is missing are left out."""
import json
import os
import re
import sys

out = sys.argv[1]
NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(row):
    path = os.path.join(out, row + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def aggregates(doc):
    """name -> {stat -> {"t": real time in ns, "ips": items/s, counters...}}"""
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


detail = []  # (row, name, median, min, max, cv%, unit)
summary = []  # (row, measure, keel, baseline, ratio, target, verdict)
charts = {}


def spread(row, name, agg, key="t", scale=1.0, unit="ns"):
    """Median, min, max, cv of one benchmark; returns the median."""
    a = agg[name]
    med = a["median"][key] * scale
    lo = a.get("min", a["median"])[key] * scale
    hi = a.get("max", a["median"])[key] * scale
    cv = a["cv"].get(key, a["cv"]["real_time"]) * 100 if "cv" in a else float("nan")
    reps = a["median"].get("repetitions", "?")
    detail.append((row, name, med, lo, hi, cv, unit, reps))
    return med


def lat(row, name, agg, per=1.0):
    """A latency row: the median of the per-repetition block medians (counter p50_ns, already
    per operation) is the headline; the mean-based time (Google Benchmark's own) goes into the
    detail table beside it."""
    a = agg[name]
    mean = spread(row, name + " (mean time)", {name + " (mean time)": a}, scale=1.0 / per,
                  unit="ns/op, repetition mean")
    if "p50_ns" not in a["median"]:
        return mean
    return spread(row, name, agg, key="p50_ns", unit="ns/op, median block")


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


# B1
d = load("b1")
if d:
    a = aggregates(d)
    rtt = lat("B1", "B1/pingpong_rtt", a)
    one = lat("B1", "B1/oneway_tsc", a)
    summary.append(("B1", "cache-line ping-pong round trip (ns)", fmt(rtt), "-", "-", "reported",
                    "-"))
    summary.append(("B1", "one-way transfer: TSC-timed / half the round trip (ns)",
                    f"{fmt(one)} / {fmt(rtt / 2)}", "-", "-", "reported", "-"))
    charts["b1"] = [("round trip", rtt, 3), ("half RTT", rtt / 2, 3), ("one-way (TSC)", one, 3)]

# B2
d = load("b2")
if d:
    a = aggregates(d)
    rows = []
    for size, want in (("16B", 1.3), ("64B", 1.0)):
        per = {}
        for impl in ("keel_ring", "boost_spsc"):
            name = f"B2/{impl}/{size}"
            spread("B2", name + " (whole repetition)", {name + " (whole repetition)": a[name]},
                   key="items_per_second", scale=1e-6, unit="M entries/s, repetition mean")
            per[impl] = spread("B2", name, a, key="p50_Mps", unit="M entries/s, median block")
        k, b = per["keel_ring"], per["boost_spsc"]
        summary.append(("B2", f"ring throughput, {size} entries (M entries/s)", fmt(k), fmt(b),
                        f"{k / b:.2f}x boost", f">= {want}x boost", verdict(k / b >= want)))
        rows += [(f"Keel {size}", k, 1), (f"boost {size}", b, 2)]
    charts["b2"] = rows

# B3
d = load("b3")
if d:
    a = aggregates(d)
    floor = lat("B3", "B3/floor_pingpong_rtt", a)
    nop = lat("B3", "B3/keel_queue_rtt/nop", a)
    svc = lat("B3", "B3/keel_queue_rtt/service_op", a)
    for label, v in (("Nop", nop), ("service op", svc)):
        summary.append(("B3", f"queue round trip, {label} (ns)", fmt(v), fmt(floor),
                        f"{v / floor:.2f}x floor", "<= 2x floor", verdict(v / floor <= 2.0)))
    charts["b3"] = [("floor", floor, 3), ("Keel Nop", nop, 1), ("Keel op", svc, 1)]

# B4
d = load("b4")
if d:
    a = aggregates(d)
    rows = []
    for batch, want in ((1, 10.0), (32, 3.0)):
        per = {}
        names = ["keel/nop", "keel/service_op", "io_uring/nop"]
        single = [n for n in ("keel_single/nop", "keel_single/service_op")
                  if f"B4/{n}/{batch}" in a]
        for name in names + single:
            per[name] = lat("B4", f"B4/{name}/{batch}", a, per=batch)
        u = per["io_uring/nop"]
        for name in ("keel/nop", "keel/service_op"):
            k = per[name]
            summary.append(("B4", f"{name} with owned buffer, batch {batch} (ns/op)", fmt(k),
                            fmt(u), f"{u / k:.1f}x (io_uring / Keel)",
                            f">= {want:g}x io_uring NOP", verdict(u / k >= want)))
        for name in single:  # the one-call-per-operation API, for reference
            k = per[name]
            summary.append(("B4", f"{name} (submit/take/reap), batch {batch} (ns/op)", fmt(k),
                            fmt(u), f"{u / k:.1f}x (io_uring / Keel)", "(reference)", "-"))
        rows += [(f"Keel Nop b{batch}", per["keel/nop"], 1),
                 (f"Keel op b{batch}", per["keel/service_op"], 1), (f"io_uring b{batch}", u, 2)]
    charts["b4"] = rows

# B5
d = load("b5")
if d:
    nets = {}
    for batch, variants in d["batches"].items():
        v = {k: x["ir_per_op"] for k, x in variants.items()}
        e = v.get("empty", 0.0)
        nets[batch] = {k: x - e for k, x in v.items()}
        for k in v:
            detail.append(("B5", f"B5/batch{batch}/{k} ({variants[k]['functions']})", v[k], v[k],
                           v[k], float("nan"), "instructions per op (raw, callgrind)",
                           "deterministic"))
    for batch in sorted(nets, key=int):
        net = nets[batch]
        how = "one at a time" if batch == "1" else f"batches of {batch}"
        apis = [("keel", "keel_owned", "submit/reap")]
        if "keel_batch" in net:
            apis.append(("keel_batch", "keel_batch_owned", "submit_batch/reap_batch"))
        for plain, owned, api in apis:
            summary.append(("B5", f"instructions per submit + reap, no buffer, {how}, {api}",
                            fmt(net[plain]), fmt(net["boost"]),
                            f"{net[plain] / net['boost']:.1f}x boost push+pop", "<= 40",
                            verdict(net[plain] <= 40)))
            extra = net[owned] - net[plain]
            summary.append(("B5", f"extra for ownership (owned buffer lent and back), {how}, "
                            f"{api}", fmt(extra), "-", "-", "<= 15", verdict(extra <= 15)))
        summary.append(("B5", f"SpscRing push + pop, {how}", fmt(net["keel_ring"]),
                        fmt(net["boost"]), f"{net['keel_ring'] / net['boost']:.2f}x boost",
                        "(reference)", "-"))
        summary.append(("B5", f"server poll per Nop, {how} (not in the target)",
                        fmt(net["server_poll"]), "-", "-", "(reference)", "-"))
        for key, what in (("cycle_nop_batch", "Nop, batched API"),
                          ("cycle_svc_batch", "service op, batched API"),
                          ("cycle_nop_single", "Nop, one call per op"),
                          ("cycle_svc_single", "service op, one call per op")):
            if key in net:
                summary.append(("B5", f"B4's whole cycle (both sides), {what}, {how}",
                                fmt(net[key]), "-", "-", "(reference)", "-"))
    summary.append(("B5", "locked instructions in ipc/ and SpscRing (objdump)",
                    "none" if d["no_lock"] else "FOUND", "-", "-", "none", verdict(d["no_lock"])))
    net = nets["1"]
    charts["b5"] = [("Keel", net["keel"], 1), ("Keel owned", net["keel_owned"], 1),
                    ("Keel ring", net["keel_ring"], 1), ("boost", net["boost"], 2),
                    ("server poll", net["server_poll"], 3)]
    if "32" in nets:
        charts["b5"] += [("Keel b32", nets["32"]["keel"], 1),
                         ("Keel owned b32", nets["32"]["keel_owned"], 1)]
        if "keel_batch" in nets["32"]:
            charts["b5"] += [("Keel batch b32", nets["32"]["keel_batch"], 1),
                             ("Keel batch owned b32", nets["32"]["keel_batch_owned"], 1)]

# B6
d = load("b6")
if d:
    a = aggregates(d)
    names = [n for n in ("B6/keel_linux/block", "B6/keel_linux/spin", "B6/keel_shm/spin", "B6/uds/spin", "B6/pipe/spin",
                         "B6/uds/block", "B6/pipe/block") if n in a]
    med = {n: lat("B6", n, a) for n in names}
    # Like against like: blocking Keel against the blocking socket and pipe, spinning
    # against spinning; the bare-library row against the transport's spin row.
    pairs = [("B6/keel_linux/block", "B6/uds/block"), ("B6/keel_linux/block", "B6/pipe/block"),
             ("B6/keel_linux/spin", "B6/uds/spin"), ("B6/keel_linux/spin", "B6/pipe/spin"),
             ("B6/keel_shm/spin", "B6/uds/spin"), ("B6/keel_shm/spin", "B6/pipe/spin")]
    for k, b in pairs:
        if k in med and b in med:
            summary.append(("B6", f"{k[3:]} vs {b[3:]} round trip (ns)", fmt(med[k]),
                            fmt(med[b]), f"{med[b] / med[k]:.2f}x (baseline / Keel)", "reported", "-"))
    charts["b6"] = [(n[3:], med[n], 1 if n.startswith("B6/keel") else 2) for n in names]

with open(os.path.join(out, "summary.md"), "w") as f:
    mpath = os.path.join(out, "machine.txt")
    if os.path.exists(mpath):
        facts = {}
        for line in open(mpath):
            k, _, v = line.partition(":")
            facts.setdefault(k.strip(), v.strip())
        f.write(f"Run {facts.get('date', '?')} on {facts.get('Model name', '?')}, "
                f"{facts.get('CPU(s)', '?')} CPUs ({facts.get('Hypervisor vendor', 'bare metal')} "
                f"guest), {facts.get('kernel', '?')}; load average "
                f"{facts.get('load average at start', '?')} at start, "
                f"{facts.get('load average at end', '?')} at end.\n\n")
    f.write("| row | measure | Keel | baseline | ratio | target | verdict |\n")
    f.write("|---|---|---|---|---|---|---|\n")
    for r in summary:
        f.write("| " + " | ".join(r) + " |\n")
    f.write("\nEvery benchmark: median of the repetitions, spread as min..max and cv.\n\n")
    f.write("| row | benchmark | median | min | max | cv | unit | reps |\n")
    f.write("|---|---|---|---|---|---|---|---|\n")
    for row, name, med, lo, hi, cv, unit, reps in detail:
        cvs = "-" if cv != cv else f"{cv:.1f}%"
        f.write(f"| {row} | {name} | {fmt(med)} | {fmt(lo)} | {fmt(hi)} | {cvs} | {unit} | {reps} |\n")

for row, items in charts.items():
    with open(os.path.join(out, f"chart_{row}.dat"), "w") as f:
        for label, value, colour in items:
            f.write(f'"{label}" {value:.3f} {colour}\n')

text = open(os.path.join(out, "summary.md")).read()
print(text)

if len(sys.argv) > 2:
    readme = sys.argv[2]
    doc = open(readme).read()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin in doc and end in doc:
        head = text.split("\nEvery benchmark:")[0].rstrip() + "\n"
        note = ("\n(Generated by `bench/run.sh`; every benchmark's median, min, max and cv: "
                "`results/summary.md`.)\n")
        doc = doc[: doc.index(begin) + len(begin)] + "\n" + head + note + doc[doc.index(end):]
        open(readme, "w").write(doc)
