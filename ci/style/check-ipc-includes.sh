#!/usr/bin/env bash
# Fails if a file of ipc/'s freestanding core (ROOT/ipc/include, ROOT/ipc/src) includes anything
# but ipc/ headers and the freestanding standard headers in $allowed (ipc/README.md's list; each
# compiles with the kernel's freestanding flags, cmake/KeelFreestanding.cmake). Hosted code
# (ipc/host, ipc/linux, ipc/tests, ipc/examples) is outside the core and not checked here.
set -uo pipefail
root=${1:?usage: check-ipc-includes.sh ROOT}
allowed='cstdint cstddef climits limits type_traits concepts utility new atomic bit compare array span optional'
bad=0
count=0
while IFS= read -r -d '' f; do
    count=$((count + 1))
    while IFS= read -r line; do
        inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*//' <<<"$line")
        case "$inc" in
            \<ipc/*\>) continue ;;
            \<*\>)
                name=${inc#<}; name=${name%>}
                if [[ " $allowed " == *" $name "* ]]; then continue; fi ;;
        esac
        echo "forbidden include in ${f#$root/}: $line"
        bad=$((bad + 1))
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$f")
done < <(find "$root/ipc/include" "$root/ipc/src" -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) -print0)
[ $count -gt 0 ] || { echo "no ipc sources found under $root"; exit 2; }
echo "ipc includes: $count files checked, $bad forbidden"
[ $bad -eq 0 ]
