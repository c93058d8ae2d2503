#!/usr/bin/env bash
# check-disk.sh IMAGE [PATH EXPECTED]...: checks the FAT partition of a disk image that
# make-disk.sh made and Keel wrote to: fsck.fat -n finds no error (it reads a copy of the
# partition: fsck.fat has no offset option), and each PATH on the volume holds exactly the
# bytes EXPECTED (printf-style escapes allowed, e.g. 'hello\n'). Exit 0 when all hold.
set -euo pipefail
image=${1:?usage: check-disk.sh IMAGE [PATH EXPECTED]...}
shift
export PATH="$PATH:/usr/sbin:/sbin"
export MTOOLS_SKIP_CHECK=1
offset_sectors=2048
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dd if="$image" of="$work/part" bs=512 skip="$offset_sectors" status=none
if ! fsck.fat -n "$work/part" >"$work/fsck" 2>&1; then
    echo "check-disk.sh: fsck.fat -n found errors:" >&2
    cat "$work/fsck" >&2
    exit 1
fi
echo "check-disk.sh: fsck.fat -n: no errors"
status=0
while [ $# -ge 2 ]; do
    path=$1 expected=$2
    shift 2
    printf "$expected" >"$work/want"
    if ! mcopy -n -i "$work/part" "::/$path" "$work/got" 2>"$work/err"; then
        echo "check-disk.sh: $path: not on the volume ($(cat "$work/err"))" >&2
        status=1
    elif ! cmp -s "$work/want" "$work/got"; then
        echo "check-disk.sh: $path: holds other bytes than expected" >&2
        status=1
    else
        echo "check-disk.sh: $path: $(stat -c %s "$work/got") bytes as expected"
    fi
    rm -f "$work/got"
done
exit $status
