#!/usr/bin/env bash
# bench/linux/make-guest.sh OUTDIR: builds the Linux guest of bench rows B8-B10 (bench/README.md)
# from Debian 12 packages, without installing them:
#
#   OUTDIR/vmlinuz            Debian's cloud kernel (linux-image-cloud-amd64's versioned package)
#   OUTDIR/initramfs.cpio.gz  busybox (busybox-static), the virtio (block, net) and vfat
#                             modules, /init, guestbench, guesthttpd
#   OUTDIR/guest.txt          what went in: package versions, modules in load order
#
# The packages are fetched with `apt-get download` into a cache (build/linux-guest-cache, or
# KEEL_LINUX_CACHE) and taken from there while they are present, so a second build needs no
# network. KEEL_LINUX_OFFLINE=1 refuses to fetch at all: a package missing from the cache then
# ends the script with status 3 (the smoke test's "not cached, skipped"); other errors exit 1.
# Needs (Debian): apt, dpkg, cpio, gzip, kmod (depmod), clang-14, libc6-dev, liburing-dev.
set -euo pipefail

die() { echo "make-guest.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache=${KEEL_LINUX_CACHE:-$top/build/linux-guest-cache}
mkdir -p "$cache"

for tool in apt-get apt-cache dpkg-deb cpio gzip depmod clang++-14; do
    command -v "$tool" >/dev/null || die "missing $tool (./keel test and ./keel bench install it)"
done
[ -f /usr/lib/x86_64-linux-gnu/liburing.a ] || die "missing liburing.a (Debian: liburing-dev)"

# fetch PACKAGE: the .deb of PACKAGE's candidate version, from the cache or apt-get download.
fetch() {
    local pkg=$1 version deb
    version=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ -n "$version" ] && [ "$version" != "(none)" ] ||
        die "apt knows no candidate for $pkg (Debian 12 sources configured? apt-get update?)"
    # apt-get download names the file PACKAGE_VERSION_ARCH.deb with ':' escaped as %3a.
    deb="$cache/${pkg}_${version//:/%3a}_amd64.deb"
    if [ ! -f "$deb" ]; then
        if [ "${KEEL_LINUX_OFFLINE:-0}" = 1 ]; then
            echo "make-guest.sh: $pkg $version not in $cache and KEEL_LINUX_OFFLINE=1" >&2
            exit 3
        fi
        echo "make-guest.sh: apt-get download $pkg ($version)" >&2
        (cd "$cache" && apt-get download "$pkg" >/dev/null 2>"$cache/apt.log") ||
            die "apt-get download $pkg failed (no Debian mirror reachable?): $(tail -n 3 "$cache/apt.log")"
        [ -f "$deb" ] || die "apt-get download $pkg did not leave $deb"
    fi
    echo "$deb"
}

# linux-image-cloud-amd64 is a metapackage; the kernel is in the versioned package it depends on.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
[ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64 to a versioned kernel package"
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)

work=$(mktemp -d "${TMPDIR:-/tmp}/keel-linux-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"
kver=$(ls "$work/kernel/lib/modules")
[ "$(echo "$kver" | wc -w)" = 1 ] || die "expected one kernel version in $kdeb, found: $kver"
mods="$work/kernel/lib/modules/$kver"

# The package ships no modules.dep (depmod writes it at install time): make it here, then take
# virtio_pci (the PCI transport) and virtio_blk with everything they depend on, each after its
# dependencies. Either may be built in (modules.builtin): then it needs no loading. Row B9's
# file rows mount the disk's FAT32 partition with vfat: fat and vfat, codepage 437 for short
# names (the default codepage) and utf8 for long names (init mounts with iocharset=utf8: this
# kernel's default iocharset is ascii, a module not taken). Row B10 serves files over the
# network: virtio_net (with failover and net_failover, its dependencies).
depmod -b "$work/kernel" "$kver"
order=()
add_module() { # path relative to $mods, as modules.dep writes it
    local m=$1 dep
    for have in "${order[@]}"; do [ "$have" = "$m" ] && return 0; done
    # modules.dep lists a module's dependencies so that the last must be loaded first.
    local deps
    deps=$(grep "^$m:" "$mods/modules.dep" | cut -d: -f2)
    for dep in $(echo "$deps" | tr ' ' '\n' | tac); do add_module "$dep"; done
    order+=("$m")
}
for want in virtio_pci virtio_blk virtio_net fat vfat nls_cp437 nls_utf8; do
    if grep -q "/$want.ko$" "$mods/modules.builtin"; then
        echo "make-guest.sh: $want is built into $kver" >&2
        continue
    fi
    path=$(grep -o "^[^:]*/$want.ko:" "$mods/modules.dep" | tr -d :)
    [ -n "$path" ] || die "$want is neither built into $kver nor a plain .ko module of it"
    add_module "$path"
done

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,bench,mnt/disk,lib/modules}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for m in "${order[@]}"; do
    case "$m" in *.ko) ;; *) die "compressed module $m: this script loads plain .ko files" ;; esac
    cp "$mods/$m" "$root/lib/modules/"
    basename "$m" >>"$root/lib/modules/load-order"
done
[ ${#order[@]} -gt 0 ] || : >"$root/lib/modules/load-order"
cp "$here/init" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
# The small file of the small_read row: 4 KiB of fixed bytes.
head -c 4096 /dev/zero | tr '\0' 'k' >"$root/bench/small.dat"

clang++-14 -std=c++20 -O2 -static -Wall -Wextra -Werror -o "$root/bin/guestbench" \
    "$here/guestbench.cpp" -luring
# Row B10's second Linux HTTP server (busybox httpd closes every connection).
clang++-14 -std=c++20 -O2 -static -Wall -Wextra -Werror -o "$root/bin/guesthttpd" \
    "$here/guesthttpd.cpp"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9n >"$work/initramfs.cpio.gz"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
mv "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
{
    echo "kernel: $(basename "$kdeb")"
    echo "busybox: $(basename "$bdeb")"
    echo "modules (load order): ${order[*]:-none}"
    echo "virtio built in: $(grep -E '/virtio[^/]*\.ko$' "$mods/modules.builtin" | tr '\n' ' ')"
} >"$out/guest.txt"
cat "$out/guest.txt"
