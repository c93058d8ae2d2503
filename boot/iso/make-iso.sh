#!/usr/bin/env bash
# make-iso.sh OUT.iso LOADER.elf KERNEL.elf [KERNEL ARGS...]
# Builds a BIOS-bootable GRUB ISO: GRUB loads the loader with multiboot2 and the kernel as its
# first module (named keel-kernel.elf, followed by the kernel command line).
set -euo pipefail
out=$1 loader=$2 kernel=$3
shift 3
args="$*"
command -v grub-mkrescue >/dev/null || { echo "make-iso.sh: grub-mkrescue missing (apt-get install grub-pc-bin grub-common xorriso mtools)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir -p "$root/boot/grub"
cp "$loader" "$root/boot/keel-loader.elf"
cp "$kernel" "$root/boot/keel-kernel.elf"
# GRUB passes module2's words after the path as the module string; the loader expects the
# first word to be the module's name, as QEMU's -initrd gives it.
cat >"$root/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "Keel" {
    multiboot2 /boot/keel-loader.elf keel-loader
    module2 /boot/keel-kernel.elf keel-kernel.elf${args:+ $args}
    boot
}
CFG
# A private temporary name: two builds of the same tree may run this at once.
grub-mkrescue -o "$tmp/out.iso" "$root" >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
mv "$tmp/out.iso" "$out.$$.tmp" && mv "$out.$$.tmp" "$out"
