#!/usr/bin/env bash
# bench/run.sh (also `./keel bench`): builds the benchmarks in build/bench (Release, no
# sanitizers), runs rows B1-B6 with each comparison interleaved with its baseline in one
# process, and writes bench/results/: one JSON per row, machine.txt, summary.md (the table the
# README shows) and chart.png. B7 builds the kernel tree (build/kernel, or KEEL_KERNEL_BUILD)
# and boots user/kbench under QEMU with -icount shift=0 (guest instructions, deterministic).
#
# usage: bench/run.sh [--reps N] [--min-time SECONDS] [--quick] [ROW...]
#   ROW is b1..b7 (default: all). --quick: 3 repetitions, tiny sizes (a try-out, not a result;
#   kbench then runs with "quick", a tenth of the operations).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

reps=10
min_time=0.2
rows=()
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=$2; shift 2 ;;
        --min-time) min_time=$2; shift 2 ;;
        --quick) reps=3; min_time=0.02; export KEEL_BENCH_QUICK=1; shift ;;
        b[1-7]) rows+=("$1"); shift ;;
        *) echo "usage: $0 [--reps N] [--min-time SECONDS] [--quick] [b1..b7...]" >&2; exit 2 ;;
    esac
done
[ ${#rows[@]} -gt 0 ] || rows=(b1 b2 b3 b4 b5 b6 b7)
host_rows=0
for r in "${rows[@]}"; do [ "$r" = b7 ] || host_rows=1; done

# KEEL_BENCH_BUILD: another already-configured optimised tree (default: the bench preset's).
build=${KEEL_BENCH_BUILD:-build/bench}
out=${KEEL_BENCH_OUT:-bench/results}
mkdir -p "$out"
if [ $host_rows -eq 1 ] && [ -z "${KEEL_BENCH_BUILD:-}" ] &&
    { [ ! -f "$build/build.ninja" ] || [ CMakePresets.json -nt "$build/build.ninja" ]; }; then
    cmake --preset bench >/dev/null
fi
# A mutation-testing run elsewhere in the tree leaves a marked mutant in ipc/ for a while;
# numbers taken against it are wrong (e.g. a removed futex wake costs 20 ms per round trip).
if grep -rqs "MUTANT" ipc/src ipc/include ipc/linux/src ipc/linux/include; then
    echo "run.sh: warning: ipc/ currently contains a mutation-testing mutant (grep MUTANT);" \
        "results will not describe the real code" >&2
fi
[ $host_rows -eq 0 ] || cmake --build "$build" -j "$(nproc)" --target bench_all keel_ipc_kernel
bin=$build/bench

# machine.txt describes the host rows' run (B7 counts guest instructions: machine-independent).
[ $host_rows -eq 0 ] || {
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "kernel: $(uname -srvm)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "compiler: $(clang++-14 --version | head -1)"
    echo
    lscpu
} >"$out/machine.txt"

# Google Benchmark rows: every repetition of every benchmark in the program is shuffled
# (random interleaving), so Keel and its baseline see the same machine conditions.
gbench() { # row program
    echo "== $1: $2 ($reps repetitions, interleaved)"
    "$bin/$2" --benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true \
        --benchmark_min_time="$min_time" --benchmark_report_aggregates_only=true \
        --benchmark_out="$out/$1.json" --benchmark_out_format=json
}

# B5: callgrind counts instructions in the named functions only. Two runs with different
# operation counts; the difference divided by the extra operations removes set-up and the
# one-time cost of the first call.
b5() {
    echo "== b5: instruction counts (valgrind --tool=callgrind)"
    local tmp n1=1024 n2=11264  # multiples of 32
    tmp=$(mktemp -d)
    local variants=(
        "empty:b5_empty_a,b5_empty_b:1"
        "keel:b5_keel_submit,b5_keel_reap:1"
        "keel_submit:b5_keel_submit:1"
        "keel_reap:b5_keel_reap:1"
        "keel_owned:b5_keel_submit_buf,b5_keel_reap_buf:1"
        "keel_batch:b5_keel_submit_batch,b5_keel_reap_batch:1"
        "keel_batch_owned:b5_keel_submit_batch_buf,b5_keel_reap_batch_buf:1"
        "cycle_nop_batch:b5_cycle_nop_batch:1"
        "cycle_svc_batch:b5_cycle_svc_batch:1"
        "cycle_nop_single:b5_cycle_nop_single:1"
        "cycle_svc_single:b5_cycle_svc_single:1"
        "boost:b5_boost_push,b5_boost_pop:1"
        "keel_ring:b5_ring_push,b5_ring_pop:1"
        "server_poll:b5_server_poll:2"
    )
    {
        echo "{"
        echo "  \"ops\": $((n2 - n1)),"
        echo "  \"batches\": {"
        local bfirst=1
        for batch in 1 32; do
            [ $bfirst -eq 1 ] || echo ","
            bfirst=0
            echo "   \"$batch\": {"
            local first=1
            for v in "${variants[@]}"; do
                IFS=: read -r name fns per <<<"$v"
                local args=()
                IFS=, read -ra list <<<"$fns"
                for f in "${list[@]}"; do args+=(--toggle-collect="$f"); done
                local ir=()
                for n in $n1 $n2; do
                    valgrind --tool=callgrind --collect-atstart=no "${args[@]}" \
                        --callgrind-out-file="$tmp/$name.$n" "$bin/bench_b5_insns" "$n" "$batch" \
                        >/dev/null 2>&1
                    ir+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/$name.$n")")
                done
                local per_op
                per_op=$(awk -v a="${ir[0]}" -v b="${ir[1]}" -v d="$((n2 - n1))" -v p="$per" \
                    'BEGIN { printf "%.2f", (b - a) / d / p }')
                [ $first -eq 1 ] || echo ","
                first=0
                printf '    "%s": {"functions": "%s", "ir_per_op": %s}' "$name" "$fns" "$per_op"
            done
            echo
            printf '   }'
        done
        echo
        echo "  },"
        local lock_out lock_rc=0
        lock_out=$(bench/check_no_lock.sh "$(command -v objdump || command -v llvm-objdump-14)" \
            "$(find "$build" -name libkeel_ipc_kernel.a | head -1)" \
            "$(find "$build" -name libkeel_ipc.a | head -1)" \
            "$bin/libbench_lock_probe_kernel.a" "$bin/libbench_lock_probe_host.a" -- \
            "Client::submit" "Client::push" "Client::publish" "Client::reap_ring" \
            "Client::submit_batch" "Client::reap_batch" \
            "Server::poll" "Server::take" "Server::take_id" "Server::complete" "Server::publish" \
            "SpscProducer<.*>::stage" "SpscConsumer<.*>::pop") || lock_rc=1
        echo "  \"no_lock\": $([ $lock_rc -eq 0 ] && echo true || echo false),"
        printf '  "no_lock_output": "%s"\n' "$(tr '\n"' ' _' <<<"$lock_out")"
        echo "}"
    } >"$out/b5.json"
    rm -rf "$tmp"
    cat "$out/b5.json"
}

# B7: the kernel under QEMU with -icount shift=0, where the guest clock advances 1 ns per guest
# instruction. kbench checks that with a calibration loop of known length and prints one line
# per row; two boots must print identical numbers (determinism). Writes b7.json.
b7() {
    echo "== b7: kernel operations in guest instructions (QEMU -icount shift=0, user/kbench)"
    local kbuild=${KEEL_KERNEL_BUILD:-build/kernel} tmp
    if [ ! -f "$kbuild/build.ninja" ] && [ -z "${KEEL_KERNEL_BUILD:-}" ]; then
        cmake --preset kernel >/dev/null
    fi
    cmake --build "$kbuild" -j "$(nproc)"
    tmp=$(mktemp -d)
    local boot=(ci/qemu-boot.sh "$kbuild" --batch --user kbench -- -icount shift=0)
    if [ -n "${KEEL_BENCH_QUICK:-}" ]; then
        boot=(ci/qemu-boot.sh "$kbuild" --batch --module "$kbuild/user/kbench.elf quick"
            -- -icount shift=0)
    fi
    "${boot[@]}" >"$tmp/run1" 2>&1 || { cat "$tmp/run1"; echo "b7: boot failed" >&2; return 1; }
    "${boot[@]}" >"$tmp/run2" 2>&1 || { cat "$tmp/run2"; echo "b7: boot failed" >&2; return 1; }
    grep '^kbench: ' "$tmp/run1" | tr -d '\r'
    python3 - "$tmp/run1" "$tmp/run2" "$out/b7.json" <<'PY'
import json, re, sys
def parse(path):
    text = open(path, errors="replace").read().replace("\r", "")
    cal = re.search(r"^kbench: calibration loop (\d+) instructions, clock (\d+) ns", text, re.M)
    rows = {m[0]: {"ops": int(m[1]), "insns_per_op": float(m[2])}
            for m in re.findall(r"^kbench: row (\S+) ops (\d+) insns_per_op ([0-9.]+)$", text, re.M)}
    ok = re.search(r"^kbench: done, 0 failures$", text, re.M) is not None
    return cal, rows, ok
cal1, rows1, ok1 = parse(sys.argv[1])
cal2, rows2, ok2 = parse(sys.argv[2])
if cal1 is None or len(rows1) != 9 or not (ok1 and ok2):
    sys.exit("b7: kbench output incomplete or an operation failed")
identical = rows1 == rows2 and cal1.groups() == cal2.groups()
what = {  # target None: a reference row, not in the issue's targets
    "null_syscall": ("system call with an unknown number (the entry/exit floor)", None),
    "null_doio": ("do_io get_meta(Kind) on the console, answered by the kernel", 600),
    "queue_nop_b1": ("queue Nop, batch 1: submit, queue_poll, reap", 600),
    "queue_nop_b32": ("queue Nop, batch 32: one submit_batch, one queue_poll, one reap_batch", 150),
    "queue_nop_b32_calls": ("queue Nop, batch 32: 32 submits, one queue_poll, 32 reaps", None),
    "served_doio": ("do_io get_meta(Size) on a served object, server thread (ServePort)", 600),
    "served_queue_b1": ("same served operation queued, batch 1: submit, queue_wait, reap", None),
    "served_queue_b8": ("same served operation queued, batch 8", None),
    "served_queue_b32": ("same served operation queued, batch 32: 32 submits, queue_wait, 32 reaps", 150),
}
for name, r in rows1.items():
    r["operation"], r["target_max"] = what[name]
    r["met"] = None if r["target_max"] is None else r["insns_per_op"] <= r["target_max"]
insns, clock = int(cal1[1]), int(cal1[2])
doc = {
    "qemu": "ci/qemu-boot.sh --batch --user kbench -- -icount shift=0",
    "calibration": {"instructions": insns, "clock_ns": clock,
                    "ns_per_instruction": clock / insns},
    "deterministic": identical,
    "l4re_ipc_instructions": 587,
    "rows": rows1,
}
json.dump(doc, open(sys.argv[3], "w"), indent=1)
PY
    rm -rf "$tmp"
    cat "$out/b7.json"
}

# B7's table, appended to summary.md (summarize.py covers B1-B6).
b7_summary() {
    [ -f "$out/b7.json" ] || return 0
    python3 - "$out/b7.json" >>"$out/summary.md" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["calibration"]
print()
print("## B7: kernel under QEMU -icount shift=0 (guest instructions per operation)")
print()
print(f"Calibration: a loop of {c['instructions']} instructions took {c['clock_ns']} clock ns "
      f"({c['ns_per_instruction']:.5f} ns per instruction); two boots identical: "
      f"{'yes' if d['deterministic'] else 'no'}.")
print()
print("| row | operation | instructions/op | vs L4Re IPC (587) | target | verdict |")
print("|---|---|---|---|---|---|")
for name, r in d["rows"].items():
    verdict = "-" if r["met"] is None else "met" if r["met"] else "**missed**"
    target = "reference" if r["target_max"] is None else f"<= {r['target_max']}"
    print(f"| B7 {name} | {r['operation']} | {r['insns_per_op']:.1f} | "
          f"{r['insns_per_op'] / 587:.2f}x | {target} | {verdict} |")
PY
}

for r in "${rows[@]}"; do
    case $r in
        b1) gbench b1 bench_b1_cacheline ;;
        b2) gbench b2 bench_b2_ring ;;
        b3) gbench b3 bench_b3_queue_rtt ;;
        b4) gbench b4 bench_b4_batch ;;
        b5) b5 ;;
        b6) gbench b6 bench_b6_procs ;;
        b7) b7 ;;
    esac
done

[ $host_rows -eq 0 ] ||
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
# The README's table is the latest full run's; partial and --quick runs leave it alone.
readme=()
if [ -z "${KEEL_BENCH_QUICK:-}" ] && [ ${#rows[@]} -eq 7 ] && [ "$out" = bench/results ]; then
    readme=(bench/README.md)
fi
python3 bench/summarize.py "$out" "${readme[@]}"
b7_summary
if command -v gnuplot >/dev/null; then
    gnuplot -e "dir='$out'" bench/chart.gp && echo "chart: $out/chart.png"
fi
echo "table: $out/summary.md"
