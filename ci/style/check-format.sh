#!/usr/bin/env bash
# Fails if any C++ source under ROOT differs from clang-format-14's output (.clang-format at
# ROOT). Files are those git tracks or would track (build output is ignored); outside a git
# work tree, every C++ file under ROOT except build/.
set -uo pipefail
root=${1:?usage: check-format.sh ROOT}
cd "$root" || exit 2
fmt=$(command -v clang-format-14 || true)
[ -n "$fmt" ] || { echo "clang-format-14 not found"; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
        '*.cpp' '*.hpp' '*.h' '*.cc' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
else
    mapfile -t files < <(find . -path ./build -prune -o -type f \
        \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cc' \) -print)
fi
[ ${#files[@]} -gt 0 ] || { echo "no C++ files found under $root"; exit 2; }
# One clang-format for every file (starting it once a file costs a minute on CI); only when
# that finds something, a second pass names each file.
if "$fmt" --dry-run --Werror "${files[@]}" >/dev/null 2>&1; then
    echo "format: ${#files[@]} files checked, 0 not formatted"
    exit 0
fi
bad=0
for f in "${files[@]}"; do
    if ! "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f   (fix: clang-format-14 -i $f)"
        bad=$((bad + 1))
    fi
done
echo "format: ${#files[@]} files checked, $bad not formatted"
[ $bad -eq 0 ]
