#!/usr/bin/env bash
# campaign.sh [SECONDS] [TARGET...]: a long AFL++ campaign (./keel fuzz). For each target in
# turn (default: all), SECONDS each (default 3600):
#   1. builds the AFL++ variants (afl/build.sh) and the libFuzzer/replay targets (build/host);
#   2. runs a main instance (-M, ASan+UBSan build) and one secondary per remaining core (-S,
#      persistent; the first secondary with cmplog), seeded from fuzz/corpus/<target>;
#   3. shows progress every 15 s (afl-whatsup summary, plus time left);
#   4. stops the instances it started, merges every instance's queue with the committed corpus
#      (libFuzzer -merge=1: only inputs that add coverage) and writes the result back to
#      fuzz/corpus/<target>;
#   5. triages crashes: replays each with fuzz_<target>_replay, groups them by the first
#      line of the failure report, minimises one per group with afl-tmin and saves it as
#      fuzz/crashes/<target>/<signature-hash>.bin with a .txt note. Saved crashes are replayed
#      by ctest (fuzz_<target>_replay) until they are fixed.
# Work directories live in build/afl-campaign/. Only processes this script started are stopped.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-3600}
shift || true
targets=("$@")
root=$top
# shellcheck source=targets.sh
source "$top/fuzz/targets.sh"
[ ${#targets[@]} -eq 0 ] && targets=("${keel_fuzz_targets[@]}")
cores=$(nproc)
afl=$top/build/afl
host=$top/build/host/fuzz
work=$top/build/afl-campaign

export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_IMPORT_FIRST=1 KEEL_REPLAY_QUIET=1

echo "campaign: building AFL++ and libFuzzer targets" >&2
KEEL_AFL_TARGETS="${targets[*]}" "$top/fuzz/afl/build.sh" "$afl" || exit 1
[ -f "$top/build/host/build.ninja" ] || cmake --preset host >/dev/null || exit 1
for t in "${targets[@]}"; do
    cmake --build "$top/build/host" -j "$cores" --target "fuzz_$t" "fuzz_${t}_replay" >/dev/null ||
        exit 1
done

pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
}
trap 'stop_all; exit 130' INT TERM

run_target() { # target
    local t=$1 out=$work/$1 in=$top/fuzz/corpus/$1
    rm -rf "$out"
    mkdir -p "$out"
    [ -n "$(ls -A "$in" 2>/dev/null)" ] || { mkdir -p "$out/seed"; printf 'seed' >"$out/seed/s"; in=$out/seed; }
    local dict=() 
    [ -f "$top/fuzz/dict/$t.dict" ] && dict=(-x "$top/fuzz/dict/$t.dict")
    echo "campaign: $t for ${seconds}s on $cores cores (main + $((cores - 1)) secondaries)" >&2
    afl-fuzz -M main -i "$in" -o "$out" "${dict[@]}" -V "$seconds" -- "$afl/$t.asan" \
        >"$out/main.log" 2>&1 &
    pids+=($!)
    for ((i = 1; i < cores; i++)); do
        local extra=()
        [ $i -eq 1 ] && extra=(-c "$afl/$t.cmplog")
        afl-fuzz -S "sec$i" -i "$in" -o "$out" "${dict[@]}" "${extra[@]}" -V "$seconds" -- \
            "$afl/$t.persistent" >"$out/sec$i.log" 2>&1 &
        pids+=($!)
    done
    local start=$SECONDS
    while [ $((SECONDS - start)) -lt "$seconds" ]; do
        sleep 15
        local left=$((seconds - (SECONDS - start)))
        [ $left -lt 0 ] && left=0
        echo "---- $t: $((SECONDS - start))s elapsed, ${left}s left"
        afl-whatsup -s "$out" 2>/dev/null | grep -E "Fuzzers alive|Total execs|Cumulative speed|Crashes saved|Hangs saved|Pending|Coverage" || true
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive -eq 1 ] || break
    done
    stop_all

    # Corpus sync: the committed corpus plus every queue, minimised by libFuzzer's merge.
    local merged=$out/merged
    mkdir -p "$merged"
    local queues=()
    for q in "$out"/*/queue; do [ -d "$q" ] && queues+=("$q"); done
    if "$host/fuzz_$t" -merge=1 "$merged" "$top/fuzz/corpus/$t" "${queues[@]}" >"$out/merge.log" 2>&1; then
        local before after
        before=$(ls "$top/fuzz/corpus/$t" 2>/dev/null | wc -l)
        rm -rf "$top/fuzz/corpus/$t"
        mkdir -p "$top/fuzz/corpus/$t"
        cp "$merged"/* "$top/fuzz/corpus/$t/" 2>/dev/null
        after=$(ls "$top/fuzz/corpus/$t" | wc -l)
        echo "campaign: $t corpus $before -> $after files ($(grep -o 'MERGE-OUTER: .*' "$out/merge.log" | tail -1))"
    else
        echo "campaign: $t merge failed (see $out/merge.log); corpus left unchanged"
    fi

    # Crash triage: one minimised input per distinct failure.
    local saved=0 seen=()
    mkdir -p "$top/fuzz/crashes/$t"
    for c in "$out"/*/crashes/id:*; do
        [ -f "$c" ] || continue
        local report sig hash
        report=$("$host/fuzz_${t}_replay" "$c" 2>&1 >/dev/null)
        sig=$(grep -m1 -E "^(differential|hostile|abi_decode|linux_hello oracle|elf oracle|acpi oracle|pci oracle|tar oracle|initconf oracle|ipc):|SUMMARY:|ERROR:" <<<"$report" |
              sed -E 's/0x[0-9a-f]+//g; s/#[0-9]+//g; s/operation [0-9]+/operation N/')
        [ -n "$sig" ] || sig="no-report-$(basename "$c")"
        hash=$(printf '%s' "$sig" | sha1sum | cut -c1-12)
        [[ " ${seen[*]} " == *" $hash "* ]] && continue
        seen+=("$hash")
        local dest=$top/fuzz/crashes/$t/$hash.bin
        [ -f "$dest" ] && continue
        if ! timeout 120 afl-tmin -i "$c" -o "$dest" -- "$afl/$t.persistent" >/dev/null 2>&1; then
            cp "$c" "$dest"
        fi
        { echo "signature: $sig"; echo "found by: $c"; echo "reproduce: $host/fuzz_${t}_replay $dest";
          echo "report:"; echo "$report" | head -40; } >"${dest%.bin}.txt"
        saved=$((saved + 1))
        echo "campaign: $t crash saved: $dest ($sig)"
    done
    echo "campaign: $t done, $saved new crash(es) saved"
}

for t in "${targets[@]}"; do run_target "$t"; done
echo "campaign: finished. Review 'git status fuzz/' and commit the corpus and any crashes."
