#!/usr/bin/env bash
# qemu-check.sh QEMU_BOOT KERNEL_BUILD_DIR EXPECTED_STATUS REGEX... -- [qemu-boot.sh options...]
# Boots through ci/qemu-boot.sh, shows the serial output, and passes only when the exit status
# is EXPECTED_STATUS and, for every REGEX, a line of the kernel's (or loader's) own output
# matches it.
# Missing artefacts make qemu-boot.sh fail with a message: this test then fails, never skips.
set -uo pipefail
boot=$1 build=$2 expected=$3
shift 3
regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#regexes[@]} -gt 0 ] || { echo "usage: $0 BOOT BUILD STATUS REGEX... -- OPTIONS" >&2; exit 2; }
if [ ! -d "$build" ]; then
    echo "FAIL: kernel build directory $build does not exist: build the kernel preset first" \
         "(cmake --preset kernel && cmake --build build/kernel), or set KEEL_KERNEL_BUILD_DIR" >&2
    exit 1
fi
start=$(date +%s%N)
out=$("$boot" "$build" "$@" 2>&1)
status=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
# Serial output has \r\n line ends; firmware may add escape codes. Match on clean lines.
clean=$(printf '%s\n' "$out" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g')
printf '%s\n' "$clean"
echo "--- qemu-boot.sh $* -> status $status in ${elapsed} ms"
if [ "$status" != "$expected" ]; then
    echo "FAIL: expected status $expected, got $status" >&2
    exit 1
fi
# A here-string, not a pipe: with pipefail, `printf | grep -q` fails at random when grep exits
# at its first match while printf is still writing (SIGPIPE), which made tests flaky.
for regex in "${regexes[@]}"; do
    if ! grep -Eq -- "$regex" <<<"$clean"; then
        echo "FAIL: no output line matches /$regex/" >&2
        exit 1
    fi
done
echo "PASS"
