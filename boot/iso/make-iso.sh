#!/usr/bin/env bash
# make-iso.sh [-m "PATH ARGS"]... OUT.iso LOADER.elf KERNEL.elf [KERNEL ARGS...]
# Builds a BIOS-bootable GRUB ISO: GRUB loads the loader with multiboot2 and the kernel as its
# first module (named keel-kernel.elf, followed by the kernel command line), then each -m
# module in order (named after PATH's last component, followed by ARGS): init first, as QEMU's
# -initrd gives them (ci/qemu-boot.sh).
set -euo pipefail
extra=()
while [ "${1:-}" = -m ]; do
    extra+=("$2")
    shift 2
done
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
modules=""
for m in "${extra[@]}"; do
    path=${m%% *} rest=""
    [ "$path" = "$m" ] || rest=" ${m#* }"
    name=$(basename "$path")
    cp "$path" "$root/boot/$name"
    modules="$modules
    module2 /boot/$name $name$rest"
done
# GRUB passes module2's words after the path as the module string; the loader expects the
# first word to be the module's name, as QEMU's -initrd gives it.
# The video drivers let GRUB honour the loader's framebuffer request (1024x768, 32 bpp:
# boot/src/loader_entry.S) with the display's own linear mode; multiboot2 loads no video
# driver by itself, and without one the boot goes on in text mode.
cat >"$root/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
insmod all_video
menuentry "Keel" {
    multiboot2 /boot/keel-loader.elf keel-loader
    module2 /boot/keel-kernel.elf keel-kernel.elf${args:+ $args}$modules
    boot
}
CFG
# A private temporary name: two builds of the same tree may run this at once.
grub-mkrescue -o "$tmp/out.iso" "$root" >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
mv "$tmp/out.iso" "$out.$$.tmp" && mv "$out.$$.tmp" "$out"
