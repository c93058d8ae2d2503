#!/usr/bin/env bash
# qemu-shell-script.sh QEMU_CHECK QEMU_BOOT KERNEL_BUILD_DIR
# The shell's scripts (user/etc/test/script.sh in the script image): runs it and checks every
# line it should print, the checksums of its background cksum jobs against the host's own
# cksum of the same files (the programs in the image, etc/motd). A malformed line runs nothing
# of itself (bad.sh's `echo one` is not run). The script ends with `exit 3`: qemu-boot.sh
# reports 1 for a status other than 0.
set -euo pipefail
check=$1 boot=$2 build=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
sum() { cksum < "$1" | awk '{print $1 " " $2}'; }
"$check" "$boot" "$build" 1 \
    "^sums 0$" \
    "^$(sum "$build/user/cat.elf") /bin/cat$" \
    "^$(sum "$build/user/ls.elf") /bin/ls$" \
    "^$(sum "$build/user/shell.elf") /bin/shell$" \
    "^$(sum "$top/user/etc/motd") /etc/motd$" \
    "^failed 1$" \
    "^echo: a background command cannot write > f \(the program can write it\)$" \
    "^redirected 2$" \
    "^cd: a built-in cannot run in the background$" \
    "^builtin 2$" \
    "^shell: /etc/nothing: not found$" \
    "^missing 127$" \
    "^bad.sh:1: unterminated '$" "^bad 2$" \
    "^\.$" "^\./sub$" \
    "^cd: \.\./\.\.: above the directory this shell started in \(its path is unknown\)$" \
    "^/etc$" "^sub/$" \
    "^ +[0-9]+ +[0-9]+ running +shell$" \
    "^init: exec finished with status 3$" \
    -- --batch --image "$build/user/script-image/initfs.tar" --exec "shell -f /etc/script.sh"
