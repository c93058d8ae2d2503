#!/bin/sh
# check_shared_access.sh FILE...
#
# Fails if a FILE touches shared memory other than through ipc/shared_access.hpp: an atomic's
# .load( or .store(, a volatile access, or an atomic_ref. The endpoints' sources must not (the
# observed build of spec/src/shared_check.cpp sees only what goes through that header), so a
# direct access is printed as "direct shared access: FILE:LINE: TEXT". Exit status: 0 clean,
# 1 a direct access, 2 usage error (a file missing).
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 FILE..." >&2
    exit 2
fi
status=0
for f in "$@"; do
    if [ ! -f "$f" ]; then
        echo "no such file: $f" >&2
        exit 2
    fi
    # Comments are allowed to name them.
    if grep -nE '\.(load|store)\(|volatile|atomic_ref' "$f" | grep -vE '^[0-9]+:\s*//' |
        sed "s|^|direct shared access: $f:|" | grep .; then
        status=1
    fi
done
exit $status
