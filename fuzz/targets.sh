# fuzz/targets.sh: the fuzz targets and what they compile, for the builds outside CMake
# (fuzz/afl/build.sh, .clusterfuzzlite/build.sh, fuzz/campaign.sh). Sourced, with `root` set
# to the repository. fuzz/CMakeLists.txt is the same list for libFuzzer under ctest; a target
# added there is added here.
# shellcheck shell=bash
declare -A keel_fuzz_source=(
    [differential]=fuzz/differential/differential_fuzz.cpp
    [hostile]=fuzz/hostile/hostile_peer_fuzz.cpp
    [abi]=fuzz/abi/abi_decode_fuzz.cpp
    [linux_hello]=fuzz/linux_hello/linux_hello_fuzz.cpp
    [elf]=fuzz/elf/elf_fuzz.cpp
    [acpi]=fuzz/acpi/acpi_fuzz.cpp
    [pci]=fuzz/pci/pci_fuzz.cpp
    [tar]=fuzz/tar/tar_fuzz.cpp
    [initconf]=fuzz/initconf/initconf_fuzz.cpp
    [cmdline]=fuzz/cmdline/cmdline_fuzz.cpp
    [partition]=fuzz/partition/partition_fuzz.cpp
    [fat]=fuzz/fat/fat_fuzz.cpp
    [font]=fuzz/font/font_fuzz.cpp
    [virtqueue]=fuzz/virtqueue/virtqueue_fuzz.cpp
    [net]=fuzz/net/net_fuzz.cpp
    [tcp]=fuzz/tcp/tcp_fuzz.cpp
    [http]=fuzz/http/http_fuzz.cpp
    [keymap]=fuzz/keymap/keymap_fuzz.cpp
    [vt]=fuzz/vt/vt_fuzz.cpp
    [blkring]=fuzz/blkring/blkring_fuzz.cpp
    [fwrules]=fuzz/fwrules/fwrules_fuzz.cpp
    [kernel_objects]=fuzz/kernel_objects/kernel_objects_fuzz.cpp
)
# In the order campaigns take them when none is named.
keel_fuzz_targets=(differential hostile abi linux_hello elf acpi pci tar initconf cmdline
                   partition fat font virtqueue net tcp http keymap vt blkring fwrules kernel_objects)
# Compiled into every target (the linker keeps what each uses). The differential target's
# checker, proptest/model/src/system.cpp, is left to each build: AFL++ compiles it without
# instrumentation.
keel_fuzz_common=("$root/ipc/src/client.cpp" "$root/ipc/src/server.cpp"
                  "$root/ipc/host/host_platform.cpp" "$root/proptest/model/src/model.cpp"
                  "$root/ipc/linux/src/hello.cpp" "$root/lib/elf/src/elf_check.cpp"
                  "$root/lib/acpi/src/acpi.cpp" "$root/lib/pci/src/pci.cpp"
                  "$root/lib/tar/src/tar.cpp" "$root/lib/initconf/src/initconf.cpp"
                  "$root/lib/cmdline/src/cmdline.cpp" "$root/lib/partition/src/partition.cpp"
                  "$root/lib/fat/src/error.cpp" "$root/lib/fat/src/block_cache.cpp"
                  "$root/lib/fat/src/boot_sector.cpp" "$root/lib/fat/src/fat_table.cpp"
                  "$root/lib/fat/src/name.cpp" "$root/lib/fat/src/directory.cpp"
                  "$root/lib/fat/src/file_io.cpp" "$root/lib/fat/src/volume.cpp"
                  "$root/lib/virtio/src/pci.cpp" "$root/lib/virtio/src/virtqueue.cpp"
                  "$root/lib/virtio/src/blk.cpp" "$root/lib/net/src/wire.cpp"
                  "$root/lib/net/src/ethernet.cpp" "$root/lib/net/src/arp.cpp"
                  "$root/lib/net/src/ipv4.cpp" "$root/lib/net/src/icmp.cpp"
                  "$root/lib/net/src/udp.cpp" "$root/lib/net/src/dhcp.cpp"
                  "$root/lib/net/src/dns.cpp" "$root/lib/net/src/stack.cpp"
                  "$root/lib/net/src/stack_udp.cpp" "$root/lib/net/src/stack_dhcp.cpp"
                  "$root/lib/net/src/stack_dns.cpp" "$root/lib/net/src/tcp.cpp"
                  "$root/lib/net/src/tcp_segment.cpp" "$root/lib/http/src/head.cpp"
                  "$root/lib/http/src/request.cpp" "$root/lib/http/src/path.cpp"
                  "$root/lib/http/src/response.cpp" "$root/lib/http/src/chunked.cpp"
                  "$root/lib/http/src/client.cpp" "$root/lib/font/src/psf.cpp"
                  "$root/lib/keymap/src/keyboard.cpp" "$root/lib/keymap/src/keymap.cpp"
                  "$root/lib/vt/src/terminal.cpp" "$root/lib/blkring/src/blkring.cpp"
                  "$root/lib/fwrules/src/rules.cpp")
keel_fuzz_includes=(-I"$root/ipc/include" -I"$root/ipc/host" -I"$root/proptest/model/include"
                    -I"$root/ipc/linux/include" -I"$root/lib/elf/include"
                    -I"$root/lib/boot_abi/include" -I"$root/lib/acpi/include"
                    -I"$root/lib/pci/include" -I"$root/lib/bytes/include"
                    -I"$root/lib/tar/include" -I"$root/lib/initconf/include"
                    -I"$root/lib/cmdline/include" -I"$root/lib/partition/include"
                    -I"$root/lib/fat/include" -I"$root/lib/virtio/include"
                    -I"$root/lib/net/include" -I"$root/lib/http/include"
                    -I"$root/lib/font/include" -I"$root/lib/keymap/include"
                    -I"$root/lib/vt/include" -I"$root/lib/blkring/include"
                    -I"$root/lib/fwrules/include")
# kernel_objects compiles none of the shared sources: the kernel's own files over its host
# simulation (fuzz/kernel_objects/README.md), the simulation's headers first on the include
# path, and the linker sending mm::map_window/unmap_window through the simulation.
keel_fuzz_kernel_objects=()
for f in obj/object.cpp obj/root.cpp obj/pipe.cpp obj/message_pipe.cpp obj/memory.cpp \
         obj/timer.cpp obj/queue.cpp obj/queue_geometry.cpp obj/queue_region.cpp obj/served.cpp \
         obj/served_spawn.cpp obj/perform.cpp proc/handle_table.cpp proc/process.cpp \
         proc/spawn_args.cpp mm/paging.cpp sched/deadline.cpp \
         sched/wait_queue.cpp ipc_glue/ipc_platform.cpp lib/lock_order.cpp; do
    keel_fuzz_kernel_objects+=("$root/kernel/$f")
done
keel_fuzz_kernel_objects+=("$root/ipc/src/client.cpp" "$root/ipc/src/server.cpp"
                           "$root/fuzz/kernel_objects/sim/sim.cpp"
                           -I"$root/fuzz/kernel_objects/sim" -I"$root/kernel"
                           -I"$root/lib/c/include" -I"$root/lib/abi/include"
                           -Wl,--wrap=_ZN4keel2mm10map_windowEPKNS0_8PhysAddrEm
                           -Wl,--wrap=_ZN4keel2mm12unmap_windowENS0_8VirtAddrEm)
# keel_fuzz_parts NAME: sets keel_parts to what NAME compiles and links besides its own source.
keel_fuzz_parts() {
    if [ "$1" = kernel_objects ]; then
        keel_parts=("${keel_fuzz_kernel_objects[@]}")
    else
        keel_parts=("${keel_fuzz_common[@]}")
    fi
}
