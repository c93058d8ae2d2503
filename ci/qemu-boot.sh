#!/usr/bin/env bash
# ci/qemu-boot.sh: the one place that knows how to start QEMU for Keel.
#
#   ci/qemu-boot.sh <kernel-build-dir> [--interactive|--test|--batch|--gdb] [--window] [--smp N]
#                   [--mem SIZE] [--machine pc|q35] [--iso] [--kernel-module PATH]
#                   [--module "PATH ARGS"]... [--user "PROGRAM..."] [--cmdline "WORDS"]
#                   [--timeout SECONDS] [--disk IMAGE [--disk-options OPTS]]
#                   [--net [--net-options OPTS] [--net-device-options OPTS]]
#                   [--link LOCAL:REMOTE [--link-mac MAC]]
#                   [--monitor SOCKET] [--cpu MODEL] [-- extra qemu args]
#   ci/qemu-boot.sh <linux-guest-dir> --linux [--test|--batch] [--cmdline "WORDS"] [--disk IMAGE]
#                   [-- extra qemu args]
#
# --interactive (default): serial console on this terminal, no window unless --window.
# --test: kernel command line gets `test`; QEMU runs under `timeout` with stdin closed; exit
#         status 0 only when the kernel exits through isa-debug-exit with its success value
#         (QEMU status 33), 1 for the kernel's failure value, 3 when the loader refused the
#         kernel, 4 on timeout, 5 for anything else (a triple fault, a QEMU error).
# --batch: as --test without adding `test` (for boots that exit by other means, --cmdline).
# --gdb:  QEMU halted and waiting on :1234; gdb is started with the kernel's symbols.
# --iso:  boot build/kernel/keel.iso (keel-test.iso with --test) through GRUB instead of
#         QEMU's own multiboot loader. With --exec (or --image) an ISO of its own is made for
#         the run (boot/iso/make-iso.sh, a temporary file): GRUB then passes init the commands;
#         they may hold only letters, digits, blanks and . _ / = - (GRUB's configuration
#         language would read ; and quotes itself).
# --kernel-module PATH: boot PATH as the kernel module (tests use it to pass corrupt kernels);
#         `none` boots the loader with no module at all.
# --module "PATH ARGS": one more boot module after the kernel (repeatable), named after PATH.
# --user "PROGRAM...": user mode: init (<build>/user/init.elf) as the first module, told to run
#         the named programs in order, each (<build>/user/PROGRAM.elf) as a module after it;
#         PROGRAM+NAME (repeatable) also gives that program NAME from init's root ("devices");
# --system: the system: init and the initial file system image (build/user/initfs.tar); init
#         starts what its etc/init.conf says (the shell on the serial console).
# --exec "COMMANDS": the same system, but the shell runs COMMANDS (separated by ;) and init's
#         exit stops the machine with their status. No commas (QEMU's -initrd separator).
# --image PATH: another initial file system image for --system or --exec (named initfs.tar for
#         init whatever its file is called).
#         init's exit status becomes QEMU's (see docs/syscalls.md).
# --disk IMAGE: a virtio-blk disk on the raw IMAGE, as ci/qemu-disk.args defines it (the one
#         definition Keel's storage boots and the Linux anchor share): a modern-only device
#         (PCI 1af4:1042, what init.conf's virtio-blk line asks for); the guest writes to the
#         file. --disk-options adds virtio-blk-pci properties (e.g. vectors=0: no MSI-X, the
#         driver uses INTx).
# --net: a virtio-net NIC on QEMU's user network (slirp), as ci/qemu-net.args defines it (the
#         one definition; why restrict=on is not used is there): a modern-only device (PCI
#         1af4:1041) with MAC 52:54:00:12:34:56; the guest is 10.0.2.15, 10.0.2.2 the host's
#         loopback, 10.0.2.3 DNS, no IPv6. --net-options adds -netdev user options (e.g.
#         hostfwd=tcp:127.0.0.1:8080-:80: the host's 127.0.0.1:8080 reaches the guest's port
#         80); --net-device-options adds virtio-net-pci properties (e.g. vectors=0: no MSI-X,
#         the driver uses INTx).
# --link LOCAL:REMOTE: instead of --net, a virtio-net NIC on a virtual link between Keel
#         machines, as ci/qemu-link.args defines it: frames go as UDP datagrams from
#         127.0.0.1:LOCAL to 127.0.0.1:REMOTE (-netdev dgram), so two boots with crossed ports
#         (10001:10002 and 10002:10001) share one Ethernet segment on the host's loopback, with
#         no DHCP server (give the network server --address). --link-mac MAC: the NIC's MAC
#         (52:54:00:12:34:56 unless given; the two machines need different ones).
# --monitor SOCKET: QEMU's human monitor on the Unix socket SOCKET (created, not waited on),
#         for a test that types on the keyboard (sendkey) and reads the screen (screendump).
# --cpu MODEL: QEMU's CPU model, qemu64,+smep,+smap,+umip unless given: QEMU's default model
#         with the protections the kernel turns on where the CPU has them (kernel/arch/
#         protections.hpp); plain qemu64 keeps a boot on a CPU without them.
# --linux: boot a Linux guest built by bench/linux/make-guest.sh (its vmlinuz and
#         initramfs.cpio.gz in the directory given first) on the same machine (type, memory,
#         CPU model, devices) as Keel's boots; --cmdline is appended to the Linux command line.
#         The guest stops the machine through isa-debug-exit like Keel (bench/linux/).
# Always TCG: on the machines Keel is developed and tested on, /dev/kvm is a software KVM under
# which guest code runs about 1700 times slower than under TCG (and -cpu host aborts).
set -euo pipefail

die() { echo "qemu-boot.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 <kernel-build-dir> [options] [-- qemu args]"
build=$1; shift
mode=interactive window=0 smp=1 cpu=qemu64,+smep,+smap,+umip mem=128M machine=pc iso=0 module="" extra_cmdline="" limit=60
qemu_extra=() modules=() user_programs="" system="" image="" disk="" disk_options="" linux=0
net=0 net_options="" net_device_options="" monitor=none link="" link_mac=52:54:00:12:34:56
while [ $# -gt 0 ]; do
    case "$1" in
        --interactive) mode=interactive ;;
        --test) mode=test ;;
        --batch) mode=batch ;;
        --gdb) mode=gdb ;;
        --window) window=1 ;;
        --smp) smp=$2; shift ;;
        --cpu) cpu=$2; shift ;;
        --mem) mem=$2; shift ;;
        --machine) machine=$2; shift ;;
        --iso) iso=1 ;;
        --kernel-module) module=$2; shift ;;
        --module) modules+=("$2"); shift ;;
        --user) user_programs=$2; shift ;;
        --system) system=system ;;
        --exec) system="exec $2"; shift ;;
        --image) image=$2; shift ;;
        --disk) disk=$2; shift ;;
        --disk-options) disk_options=$2; shift ;;
        --net) net=1 ;;
        --net-options) net_options=$2; shift ;;
        --net-device-options) net_device_options=$2; shift ;;
        --link) link=$2; shift ;;
        --link-mac) link_mac=$2; shift ;;
        --monitor) monitor="unix:$2,server=on,wait=off"; shift ;;
        --cmdline) extra_cmdline=$2; shift ;;
        --timeout) limit=$2; shift ;;
        --linux) linux=1 ;;
        --) shift; qemu_extra=("$@"); break ;;
        *) die "unknown option '$1'" ;;
    esac
    shift
done
case "$machine" in pc | q35) ;; *) die "--machine must be pc or q35" ;; esac

loader="$build/boot/keel-loader.elf"
kernel="${module:-$build/kernel/keel-kernel.elf}"
iso_file="$build/keel.iso"
[ "$mode" = test ] && iso_file="$build/keel-test.iso"
[ "$iso" = 1 ] && [ -n "$extra_cmdline" ] && die "--cmdline cannot change an ISO's command line"

# Missing artefacts are an error, never a silent skip.
if [ "$linux" = 1 ]; then
    [ "$iso" = 0 ] && [ -z "$module$system$user_programs" ] && [ ${#modules[@]} -eq 0 ] ||
        die "--linux goes with none of --iso --kernel-module --module --user --system --exec"
    for f in vmlinuz initramfs.cpio.gz; do
        [ -f "$build/$f" ] || die "missing $build/$f (build it: bench/linux/make-guest.sh $build)"
    done
elif [ "$iso" = 1 ] && { [ "${system%% *}" = exec ] || [ -n "$image" ]; }; then
    # (--iso --system alone is keel.iso itself.)
    [ "$mode" != test ] || die "--iso with --exec or --image goes without --test"
    [ -n "$system" ] || system=system
    case "$system" in *[!A-Za-z0-9\ ._/=-]*) die "--iso --exec: commands may hold only letters, digits, blanks and . _ / = -" ;; esac
    for f in "$loader" "$kernel" "$build/user/init.elf" "${image:-$build/user/initfs.tar}"; do
        [ -f "$f" ] || die "missing $f (build the kernel preset: cmake --build $build)"
    done
    iso_dir=$(mktemp -d)
    trap 'rm -rf "$iso_dir"' EXIT
    cp "${image:-$build/user/initfs.tar}" "$iso_dir/initfs.tar"  # init looks for that name
    iso_file="$iso_dir/keel-exec.iso"
    "$(dirname "${BASH_SOURCE[0]}")/../boot/iso/make-iso.sh" -m "$build/user/init.elf $system" \
        -m "$iso_dir/initfs.tar" "$iso_file" "$loader" "$kernel"
    system="" image=""  # on the ISO, not modules of QEMU's loader
elif [ "$iso" = 1 ]; then
    [ -f "$iso_file" ] || die "missing $iso_file (build target keel_iso in $build)"
else
    [ -f "$loader" ] || die "missing $loader (build the kernel preset: cmake --build $build)"
    [ "$kernel" = none ] || [ -f "$kernel" ] || die "missing kernel module $kernel"
    case "$kernel" in *,* | *" "*) die "QEMU -initrd cannot take a path with commas or spaces: $kernel" ;; esac
fi

if [ -n "$system" ]; then
    [ -z "$user_programs" ] || die "--user goes with neither --system nor --exec"
    modules=("$build/user/init.elf $system" "${image:-$build/user/initfs.tar}" "${modules[@]}")
fi
if [ -n "$user_programs" ]; then
    init_args=""
    user_modules=()
    for p in $user_programs; do
        program=${p%%+*}  # "PROGRAM+NAME...": init also hands it NAME from its root
        init_args="$init_args $program.elf${p#"$program"}"
        user_modules+=("$build/user/$program.elf")
    done
    modules=("$build/user/init.elf$init_args" "${user_modules[@]}" "${modules[@]}")
fi

cmdline=""
[ "$mode" = test ] && cmdline="test"
[ -n "$extra_cmdline" ] && cmdline="$cmdline $extra_cmdline"

args=(qemu-system-x86_64 -M "$machine" -m "$mem" -smp "$smp" -cpu "$cpu" -accel tcg
      -monitor "$monitor" -no-reboot
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
# --window: QEMU's default display (whichever UI this QEMU was built with).
[ "$window" = 1 ] || args+=(-display none)
# Interactive: the serial console is multiplexed so that Ctrl-A X quits (and Ctrl-A C reaches
# the monitor). Tests and gdb: plain stdio.
if [ "$mode" = interactive ]; then args+=(-serial mon:stdio); else args+=(-serial stdio); fi
if [ "$linux" = 1 ]; then
    # Serial console only, quiet; panic=-1 with -no-reboot ends the boot if /init dies.
    args+=(-kernel "$build/vmlinuz" -initrd "$build/initramfs.cpio.gz"
           -append "console=ttyS0 quiet panic=-1${cmdline:+ $cmdline}")
elif [ "$iso" = 1 ]; then
    args+=(-cdrom "$iso_file" -boot d)
else
    # The module string is "path args": the loader names the module after the path's last
    # component and passes the rest to the kernel as its command line.
    initrd="$kernel${cmdline:+ $cmdline}"
    for m in "${modules[@]}"; do
        case "$m" in *,*) die "QEMU -initrd cannot take a comma in a module string: $m" ;; esac
        [ -f "${m%% *}" ] || die "missing module file ${m%% *}"
        initrd="$initrd,$m"
    done
    if [ "$kernel" = none ]; then
        args+=(-kernel "$loader")
    else
        args+=(-kernel "$loader" -initrd "$initrd")
    fi
fi
if [ -n "$disk" ]; then
    [ -f "$disk" ] || die "missing disk image $disk"
    case "$disk" in *,*) die "a disk image path cannot hold a comma: $disk" ;; esac
    while IFS= read -r line; do
        case "$line" in '' | '#'*) continue ;; esac
        line=${line//@IMAGE@/$disk}
        # --disk-options: more properties of the virtio-blk-pci device.
        case "$line" in virtio-blk-pci,*) line+=${disk_options:+,$disk_options} ;; esac
        args+=("$line")
    done <"$(dirname "${BASH_SOURCE[0]}")/qemu-disk.args"
fi
if [ "$net" = 1 ]; then
    while IFS= read -r line; do
        case "$line" in '' | '#'*) continue ;; esac
        line=${line//@NETDEV_OPTIONS@/${net_options:+,$net_options}}
        line=${line//@DEVICE_OPTIONS@/${net_device_options:+,$net_device_options}}
        args+=("$line")
    done <"$(dirname "${BASH_SOURCE[0]}")/qemu-net.args"
elif [ -n "$net_options$net_device_options" ]; then
    die "--net-options and --net-device-options go with --net"
fi
if [ -n "$link" ]; then
    [ "$net" = 0 ] || die "--link goes without --net (one NIC: srv/net0)"
    [[ "$link" =~ ^([0-9]{1,5}):([0-9]{1,5})$ ]] || die "--link wants LOCAL:REMOTE (two UDP ports)"
    link_local=${BASH_REMATCH[1]} link_remote=${BASH_REMATCH[2]}
    for p in "$link_local" "$link_remote"; do
        [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "--link: port $p is not in 1..65535"
    done
    [ "$link_local" != "$link_remote" ] || die "--link: LOCAL and REMOTE must differ"
    [[ "$link_mac" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || die "--link-mac wants a MAC like 52:54:00:12:34:57"
    while IFS= read -r line; do
        case "$line" in '' | '#'*) continue ;; esac
        line=${line//@LOCAL@/$link_local}
        line=${line//@REMOTE@/$link_remote}
        line=${line//@MAC@/$link_mac}
        args+=("$line")
    done <"$(dirname "${BASH_SOURCE[0]}")/qemu-link.args"
fi
args+=("${qemu_extra[@]}")

case "$mode" in
    interactive)
        # exec, unless a temporary ISO is to be removed afterwards.
        [ -n "${iso_dir:-}" ] || exec "${args[@]}"
        "${args[@]}"
        ;;
    gdb)
        command -v gdb >/dev/null || die "gdb is not installed"
        "${args[@]}" -s -S &
        qemu_pid=$!
        trap 'kill "$qemu_pid" 2>/dev/null || true' EXIT
        # Wait (at most 5 s) until QEMU's gdb stub listens, so `target remote` cannot race it.
        for _ in $(seq 50); do
            (exec 3<>/dev/tcp/127.0.0.1/1234) 2>/dev/null && break
            sleep 0.1
        done
        gdb -q "$build/kernel/keel-kernel.elf" \
            -ex "target remote localhost:1234" \
            -ex "hbreak keel_kernel_main" \
            -ex "continue"
        ;;
    test | batch)
        set +e
        timeout --foreground -k 5 "$limit" "${args[@]}" </dev/null
        status=$?
        set -e
        case $status in
            33) exit 0 ;;  # isa-debug-exit 0x10: every kernel test passed
            35) echo "qemu-boot.sh: kernel reported failure (exit 35)" >&2; exit 1 ;;
            37) echo "qemu-boot.sh: loader refused to boot (exit 37)" >&2; exit 3 ;;
            124 | 137) echo "qemu-boot.sh: timed out after ${limit}s" >&2; exit 4 ;;
            *) echo "qemu-boot.sh: QEMU exited with status $status" >&2; exit 5 ;;
        esac
        ;;
esac
