#!/usr/bin/env python3
"""B7 profile: guest instructions per operation, per function, for one kbench row.

Boots kbench twice under QEMU (-icount shift=0, -d in_asm,exec,nochain) running only ROW, with
ROUNDS and 2 * ROUNDS loop iterations, counts every executed guest instruction by the function
(kernel or kbench symbol) holding it, and prints the difference divided by the extra operations:
boot, init and set-up cancel out. Usage (from the repository root, after building build/kernel):

    bench/b7_profile.py ROW ROUNDS [OPS_PER_ROUND] [--top N]

OPS_PER_ROUND: 32 for the _b32 rows, 8 for _b8, else 1. Each boot's QEMU log is several hundred
MB at ROUNDS=1000 for the served rows; keep ROUNDS small (100-500).
"""
import bisect, collections, os, re, subprocess, sys, tempfile

def symbols(elf):
    out = subprocess.run(["llvm-nm-14", "-C", "--defined-only", "-n", elf],
                         capture_output=True, text=True, check=True).stdout
    addrs, names = [], []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            addrs.append(int(parts[0], 16)); names.append(parts[2])
    return addrs, names

def lookup(table, a):
    addrs, names = table
    i = bisect.bisect_right(addrs, a) - 1
    return names[i] if i >= 0 else "?"

def profile(build, row, rounds):
    log = tempfile.mktemp(prefix="b7prof.", suffix=".log")
    cmd = ["ci/qemu-boot.sh", build, "--batch", "--timeout", "300", "--module",
           f"{build}/user/kbench.elf only {row} {rounds}", "--", "-icount", "shift=0",
           "-d", "in_asm,exec,nochain", "-D", log]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if "kbench: done, 0 failures" not in r.stdout:
        if os.path.exists(log):
            os.unlink(log)
        sys.exit(f"boot failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    tbs = {}
    counts = collections.Counter()
    trace = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    insn = re.compile(r"^0x([0-9a-f]+):")
    cur = None
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("Trace"):
                m = trace.match(line)
                if m:
                    for a in tbs.get(int(m[1], 16), ()):
                        counts[a] += 1
                cur = None
            elif line.startswith("IN:"):
                cur = []
            elif cur is not None:
                m = insn.match(line)
                if m:
                    cur.append(int(m[1], 16))
                elif not line.strip() and cur:
                    tbs[cur[0]] = cur
                    cur = None
    os.unlink(log)
    return counts

def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    top = 40
    if "--top" in sys.argv:
        top = int(sys.argv[sys.argv.index("--top") + 1]); args.remove(str(top))
    detail = None  # --detail SUBSTRING: also per instruction address in matching functions
    if "--detail" in sys.argv:
        detail = sys.argv[sys.argv.index("--detail") + 1]; args.remove(detail)
    row, rounds = args[0], int(args[1])
    per = int(args[2]) if len(args) > 2 else (32 if row.endswith("_b32") else 8 if row.endswith("_b8") else 1)
    build = os.environ.get("KEEL_KERNEL_BUILD", "build/kernel")
    ktab = symbols(f"{build}/kernel/keel-kernel.elf")
    utab = symbols(f"{build}/user/kbench.elf")
    c1 = profile(build, row, rounds)
    c2 = profile(build, row, 2 * rounds)
    by = collections.Counter()
    per_address = collections.Counter()
    for c, sign in ((c2, 1), (c1, -1)):
        for a, n in c.items():
            name = ("K " + lookup(ktab, a)) if a >= 0xffff800000000000 else ("U " + lookup(utab, a))
            by[name] += sign * n
            if detail and detail in name:
                per_address[a] += sign * n
    ops = rounds * per
    total = sum(by.values())
    print(f"{row}: {total / ops:.1f} instructions per operation ({ops} extra operations)")
    for name, n in sorted(by.items(), key=lambda x: -x[1])[:top]:
        if n:
            print(f"{n / ops:9.1f}  {name[:150]}")
    for a in sorted(per_address):
        if per_address[a]:
            print(f"  {a:#x} {per_address[a] / ops:7.2f}")

main()
