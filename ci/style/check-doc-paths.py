#!/usr/bin/python3
"""Fails if a Markdown file of the repository names a relative path that does not exist.

usage: check-doc-paths.py ROOT

Checked, in every *.md under ROOT (not in .git/ or build/):
- links `[text](target)` and reference definitions `[label]: target`, resolved against the
  Markdown file's folder; `#anchor` and `?query` are cut off, in-page `#anchor`s are skipped;
- paths in inline code spans (`kernel/obj/queue.cpp`, `fuzz/corpus/`) that contain a `/` and
  start with a top-level folder of ROOT, a sub-folder of the file's own folder or a folder one
  level below a top-level folder (`obj/queue.cpp` in prose about kernel/), resolved against
  ROOT, then the file's folder, then each include/ folder (header names as written in an
  #include), then each top-level folder. A `:LINE` suffix is cut off; a path without
  extension (`mm/user_copy`, a module) is found if some `mm/user_copy.*` exists.

Skipped: URLs (`scheme:`), absolute paths, build outputs (`build/...`), fenced code blocks,
and paths that are globs or placeholders (`*`, `?`, `<name>`, `{a,b}`, `...`, `$VAR`).

The repository must stand alone: a relative path that climbs out of ROOT (`../shared/...`)
is an error even if something exists there on the author's machine.

Output: FILE:LINE: missing PATH (or: outside the repository PATH), one per problem.
"""
import glob
import os
import re
import sys

SKIP_DIRS = {".git", "build"}
# [text](target "title") with an optional <...> around the target; images are links too.
LINK = re.compile(r"\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[\"'(][^)]*)?\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
PLACEHOLDER = re.compile(r"[*?<>{}$\[\]]|\.\.\.|…")


def markdown_files(root):
    for here, dirs, files in os.walk(root):
        if here == root:
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        else:
            dirs[:] = [d for d in dirs if d != ".git"]
        dirs.sort()
        for f in sorted(files):
            if f.endswith(".md"):
                yield os.path.join(here, f)


def inside(root, path):
    return os.path.commonpath([root, os.path.normpath(path)]) == root


class Checker:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.top = {d for d in os.listdir(self.root)
                    if os.path.isdir(os.path.join(self.root, d)) and d not in SKIP_DIRS}
        # `obj/queue.cpp` in prose about the kernel: heads that are folders one level down.
        self.second = {}
        for t in sorted(self.top):
            for d in sorted(os.listdir(os.path.join(self.root, t))):
                if os.path.isdir(os.path.join(self.root, t, d)):
                    self.second.setdefault(d, []).append(os.path.join(self.root, t))
        # Header names as written in #include (`ipc/abi.hpp`) resolve against include/ folders.
        self.include_dirs = []
        for here, dirs, _ in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not (here == self.root and d in SKIP_DIRS))
            if "include" in dirs:
                self.include_dirs.append(os.path.join(here, "include"))
        self.problems = 0
        self.checked = 0

    def report(self, rel, line, what, path):
        print(f"{rel}:{line}: {what} {path}")
        self.problems += 1

    def check_link(self, md_dir, rel, line, target):
        target = target.strip("<>")
        if not target or target.startswith("#") or SCHEME.match(target) or target.startswith("/"):
            return
        path = re.split(r"[#?]", target, maxsplit=1)[0]
        if not path or PLACEHOLDER.search(path):
            return
        self.check_relative(md_dir, rel, line, path, target)

    def check_relative(self, md_dir, rel, line, path, shown):
        """PATH relative to the Markdown file's folder: it must exist, inside the repository."""
        self.checked += 1
        full = os.path.normpath(os.path.join(md_dir, path))
        if not inside(self.root, full):
            self.report(rel, line, "outside the repository", shown)
        elif not os.path.exists(full):
            self.report(rel, line, "missing", shown)

    def check_code_token(self, md_dir, rel, line, token):
        if PLACEHOLDER.search(token):  # before cutting dots: `../shared/...` is a placeholder
            return
        token = token.lstrip("\"'(").rstrip("\"'),;:.")  # sentence punctuation around it
        token = token.split("=")[-1]  # VAR=path, --opt=path
        token = re.sub(r":\d+(-\d+)?$", "", token)  # file.cpp:42
        token = token.split("#")[0]
        if "/" not in token or SCHEME.match(token) or token.startswith(("/", "~")):
            return
        if token.startswith("../"):  # relative to the file; must stay in the repository
            self.check_relative(md_dir, rel, line, token, token)
            return
        first = token[2:] if token.startswith("./") else token
        head = first.split("/")[0]
        if head in SKIP_DIRS:
            return
        local = os.path.isdir(os.path.join(md_dir, head)) and md_dir != self.root
        explicit = token.startswith("./")  # `./keel`: relative on purpose
        if head not in self.top and not local and head not in self.second and not explicit:
            return  # not a repository path (a URL path, a ratio, a header name...)
        self.checked += 1
        for base in (self.root, md_dir, *self.include_dirs, *self.second.get(head, [])):
            full = os.path.join(base, first)
            # `mm/user_copy` names the module user_copy.hpp/.cpp: any extension will do.
            if os.path.exists(full) or (not first.endswith("/")
                                        and glob.glob(glob.escape(full) + ".*")):
                return
        self.report(rel, line, "missing", token)

    def check_file(self, path):
        rel = os.path.relpath(path, self.root)
        md_dir = os.path.dirname(os.path.realpath(path))
        fence = None
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, text in enumerate(f, 1):
                m = FENCE.match(text)
                if m:
                    if fence is None:
                        fence = m.group(1)
                    elif m.group(1) == fence:
                        fence = None
                    continue
                if fence is not None:
                    continue
                spans = [m.group(2) for m in CODE_SPAN.finditer(text)]
                prose = CODE_SPAN.sub("", text)
                for m in LINK.finditer(prose):
                    self.check_link(md_dir, rel, n, m.group(1))
                m = REFDEF.match(prose)
                if m:
                    self.check_link(md_dir, rel, n, m.group(1))
                for span in spans:
                    for token in span.split():
                        self.check_code_token(md_dir, rel, n, token)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-doc-paths.py ROOT")
    c = Checker(sys.argv[1])
    files = list(markdown_files(c.root))
    for f in files:
        c.check_file(f)
    print(f"{len(files)} Markdown files, {c.checked} paths checked, {c.problems} problems")
    return 1 if c.problems or not files else 0


if __name__ == "__main__":
    sys.exit(main())
