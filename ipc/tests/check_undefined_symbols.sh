#!/bin/sh
# check_undefined_symbols.sh NM ARCHIVE ALLOWED...
#
# Fails unless every symbol ARCHIVE (a static library or object) needs from outside itself is
# one of ALLOWED. The freestanding ipc library must link into the kernel, which provides only
# the few symbols on the allow-list.
#
# Symbols defined in one member of the archive and used by another are not needs, so they are
# subtracted. Exit status: 0 clean, 1 a symbol outside the allow-list (each printed as
# "not allowed: NAME"), 2 usage or tool error (nm failed, archive missing).
set -eu
export LC_ALL=C  # sort and comm must agree on one collation

if [ $# -lt 2 ]; then
    echo "usage: $0 NM ARCHIVE [ALLOWED...]" >&2
    exit 2
fi
nm=$1
archive=$2
shift 2

if [ ! -f "$archive" ]; then
    echo "no such file: $archive" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# -u: undefined only; -j: names only (llvm-nm and GNU nm both accept it).
if ! "$nm" -u -j "$archive" >"$tmp/undef.raw"; then
    echo "$nm -u failed on $archive" >&2
    exit 2
fi
if ! "$nm" -j --defined-only "$archive" >"$tmp/def.raw"; then
    echo "$nm --defined-only failed on $archive" >&2
    exit 2
fi
# Drop the "member.o:" headers and blank lines nm prints for archives.
grep -v -e ':$' -e '^$' "$tmp/undef.raw" | sort -u >"$tmp/undef" || true
grep -v -e ':$' -e '^$' "$tmp/def.raw" | sort -u >"$tmp/def" || true
for a in "$@"; do echo "$a"; done | sort -u >"$tmp/allowed"

# Needs from outside the archive, minus the allow-list.
comm -23 "$tmp/undef" "$tmp/def" >"$tmp/needed"
comm -23 "$tmp/needed" "$tmp/allowed" >"$tmp/bad"

echo "$archive needs: $(tr '\n' ' ' <"$tmp/needed")"
if [ -s "$tmp/bad" ]; then
    sed 's/^/not allowed: /' "$tmp/bad"
    exit 1
fi
echo "all undefined symbols are allowed"
