#!/usr/bin/env python3
"""Enforces the seams between folders (ci/style/seams.txt) on every C/C++ file of a tree.

usage: check-includes.py ROOT [RULES]    (RULES defaults to ROOT/ci/style/seams.txt)

For each #include of each file under a rule, the header is resolved against the tree:
  - in the file's own folder or anywhere in its own component: its own, allowed;
  - under a public folder (include/ or declared public) of another component: allowed when the
    rule names that component (or `*`);
  - anywhere else in the tree: another component's private source, an error;
  - nowhere in the tree: a standard or system header, checked against the rule's STANDARD.
Prints FILE:LINE: reason for every violation and exits 1 if there was any.
"""
import os
import re
import subprocess
import sys

BUILTIN = {"stdint.h", "stddef.h", "stdarg.h"}
# The freestanding C++ headers (ipc/README.md): they compile with -ffreestanding and no library.
FREESTANDING = BUILTIN | {
    "cstdint", "cstddef", "cstdarg", "climits", "limits", "type_traits", "concepts", "utility",
    "new", "atomic", "bit", "compare", "array", "span", "optional"}
STANDARDS = {"builtin": BUILTIN, "freestanding": FREESTANDING, "any": None}
SOURCE = re.compile(r"\.(c|cc|cpp|h|hpp|inc|S)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def read_rules(path):
    rules, public = [], {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "public" and len(words) == 3:
                public[words[1].rstrip("/")] = words[2]
            elif len(words) >= 3 and words[2] in STANDARDS:
                rules.append((words[0].rstrip("/"), words[1], words[2], set(words[3:])))
            else:
                sys.exit(f"{path}:{number}: cannot read rule: {line.strip()}")
    # The most specific folder first.
    rules.sort(key=lambda r: -len(r[0]))
    return rules, public


def tree_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, text=True, check=True)
        return [p for p in out.stdout.splitlines() if os.path.isfile(os.path.join(root, p))]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".") and x != "build"]
            found += [os.path.relpath(os.path.join(d, x), root) for x in files]
        return found


def under(path, folder):
    return path == folder or path.startswith(folder + "/")


def main():
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else sys.exit(__doc__)
    rules, public = read_rules(sys.argv[2] if len(sys.argv) > 2
                               else os.path.join(root, "ci/style/seams.txt"))
    files = tree_files(root)
    file_set = set(files)
    components = sorted({r[1] for r in rules} | set(public.values()), key=len, reverse=True)

    def component_of(path):
        return next((c for c in components if under(path, c)), None)

    def public_owner(path, name):
        """The component whose public folder holds `path` as `name`, or None."""
        folder = path[: -len(name)].rstrip("/") if path.endswith(name) else None
        if folder is None:
            return None
        if folder in public:
            return public[folder]
        if folder.endswith("/include") or folder == "include":
            return component_of(folder)
        return None

    by_suffix = {}
    for p in files:
        parts = p.split("/")
        for i in range(len(parts)):
            by_suffix.setdefault("/".join(parts[i:]), []).append(p)

    checked, bad = 0, []
    for path in files:
        if not SOURCE.search(path):
            continue
        rule = next((r for r in rules if under(path, r[0])), None)
        if rule is None:
            continue
        _, own, standard, allowed = rule
        checked += 1
        with open(os.path.join(root, path), errors="replace") as f:
            lines = f.readlines()
        for number, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            quote, name = m.groups()
            where = f"{path}:{number}"
            local = os.path.normpath(os.path.join(os.path.dirname(path), name))
            if quote == '"' and local in file_set:
                candidates = [local]
            else:
                candidates = by_suffix.get(os.path.normpath(name), [])
            if any(under(c, own) for c in candidates):
                continue
            owners = {public_owner(c, os.path.normpath(name)) for c in candidates} - {None}
            if owners:
                for o in sorted(owners):
                    if "*" not in allowed and o not in allowed:
                        bad.append(f"{where}: {own}/ may not use {o}/ (<{name}>)")
                continue
            if candidates:
                holders = sorted({component_of(c) or c.split("/")[0] for c in candidates})
                bad.append(f"{where}: includes private sources of {', '.join(holders)} ({name})")
                continue
            allowed_std = STANDARDS[standard]
            if quote == '"':
                bad.append(f"{where}: \"{name}\" is not in the tree")
            elif allowed_std is not None and name not in allowed_std:
                bad.append(f"{where}: <{name}> is not a {standard} header")
    for b in bad:
        print(b)
    print(f"includes: {checked} files checked, {len(bad)} violations")
    if checked == 0:
        print("no files matched any rule")
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
