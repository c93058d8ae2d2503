#!/usr/bin/env bash
# corrupt-kernel-test.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR KIND
# Makes a corrupt copy of the real kernel (KIND: truncated, wrong-arch, garbage, empty, elf32,
# bad-entry), boots it as the kernel module and expects the loader's readable error. KIND
# missing boots with no kernel module at all.
set -euo pipefail
check=$1 boot=$2 build=$3 kind=$4
kernel="$build/kernel/keel-kernel.elf"
[ -f "$kernel" ] || { echo "FAIL: missing $kernel: build the kernel preset first" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bad="$dir/corrupt-$kind.elf"

# Writes bytes (given as a printf escape string) into $bad at offset $1.
poke() { printf "$2" | dd of="$bad" bs=1 seek="$1" conv=notrunc status=none; }

case "$kind" in
    missing)
        exec "$check" "$boot" "$build" 3 "^keel-loader: error: no kernel: pass the kernel ELF" \
            "^keel-loader: cannot start the kernel; stopping$" -- --test --kernel-module none
        ;;
    truncated)  head -c 4000 "$kernel" >"$bad"; reason="truncated" ;;
    wrong-arch) cp "$kernel" "$bad"; poke 18 '\xb7\x00'; reason="wrong architecture" ;;
    garbage)    head -c 65536 /dev/urandom >"$bad"; poke 0 'GARBAGE!'; reason="bad magic" ;;
    empty)      : >"$bad"; reason="truncated" ;;
    elf32)      cp "$build/boot/keel-loader.elf" "$bad"; reason="not a 64-bit ELF" ;;
    bad-entry)  cp "$kernel" "$bad"; poke 24 '\x00\x00\x00\x00\x00\x00\x00\x00'; reason="entry point" ;;
    *) echo "unknown kind $kind" >&2; exit 2 ;;
esac
exec "$check" "$boot" "$build" 3 "^keel-loader: error: kernel ELF rejected: .*${reason}" \
    "^keel-loader: cannot start the kernel; stopping$" -- --test --kernel-module "$bad"
