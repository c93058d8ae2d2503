#!/usr/bin/python3
"""Fails if a GitHub Actions workflow under ROOT/.github/workflows is invalid or not sane.

usage: check-workflows.py ROOT

Needs PyYAML: Debian's python3-yaml, hence /usr/bin/python3 (a pyenv python3 cannot import it).

Each *.yml / *.yaml must parse as a mapping with
- `on`: an event name, a list of them or a mapping keyed by them, each a GitHub event;
- `jobs`: a non-empty mapping; each job has `runs-on` and a non-empty list of `steps` (or
  calls a reusable workflow with `uses`); each step has exactly one of `uses` and `run`; a
  `uses` of another repository's action names a version (`owner/repo@ref`).
Across the workflows:
- one workflow runs on `push` and `pull_request` and has a step running the README's test
  command (`.ci/run` or `./keel test`);
- if a workflow uses ClusterFuzzLite (google/clusterfuzzlite/actions/...), ROOT/.clusterfuzzlite/
  holds Dockerfile, build.sh and project.yaml (with a `language`), and each run_fuzzers step
  has a known `mode`.

Output: FILE: problem, one per line.
"""
import os
import re
import sys

import yaml

EVENTS = {
    "branch_protection_rule", "check_run", "check_suite", "create", "delete", "deployment",
    "deployment_status", "discussion", "discussion_comment", "fork", "gollum", "issue_comment",
    "issues", "label", "merge_group", "milestone", "page_build", "public", "pull_request",
    "pull_request_review", "pull_request_review_comment", "pull_request_target", "push",
    "registry_package", "release", "repository_dispatch", "schedule", "status", "watch",
    "workflow_call", "workflow_dispatch", "workflow_run",
}
CFLITE_MODES = {"code-change", "batch", "prune", "coverage"}
TEST_COMMAND = re.compile(r"(^|[\s;&|'\"(])(\./keel test|(\./)?\.ci/run)($|[\s;&|'\")])")


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = 0
        self.test_workflows = []
        self.cflite_users = []

    def report(self, where, what):
        print(f"{where}: {what}")
        self.problems += 1

    def check_on(self, rel, on):
        if isinstance(on, str):
            events = [on]
        elif isinstance(on, list):
            events = on
        elif isinstance(on, dict):
            events = list(on)
        else:
            self.report(rel, "`on` must be an event, a list of events or a mapping")
            return set()
        for e in events:
            if e not in EVENTS:
                self.report(rel, f"`on`: unknown event {e!r}")
        if isinstance(on, dict) and "schedule" in on:
            crons = on["schedule"]
            five_fields = (lambda c: isinstance(c, dict)
                           and len(str(c.get("cron", "")).split()) == 5)
            if not isinstance(crons, list) or not all(five_fields(c) for c in crons):
                self.report(rel, "`on.schedule` must be a list of `cron:` entries with 5 fields")
        return set(events)

    def check_step(self, where, step):
        if not isinstance(step, dict):
            self.report(where, "a step must be a mapping")
            return
        if ("uses" in step) == ("run" in step):
            self.report(where, "a step needs exactly one of `uses` and `run`")
            return
        uses = step.get("uses")
        if uses is not None:
            uses = str(uses)
            local = uses.startswith(("./", "docker://"))
            if not local and not re.fullmatch(r"[\w.-]+/[\w./-]+@\S+", uses):
                self.report(where, f"`uses: {uses}` must name a version (owner/repo@ref)")
            if uses.startswith("google/clusterfuzzlite/actions/"):
                self.cflite_users.append(where)
                if "/run_fuzzers@" in uses:
                    mode = str((step.get("with") or {}).get("mode", "code-change"))
                    if "${{" not in mode and mode not in CFLITE_MODES:
                        self.report(where, f"run_fuzzers: unknown mode {mode!r}")

    def check_file(self, path):
        rel = os.path.relpath(path, self.root)
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except yaml.YAMLError as e:
            self.report(rel, f"not valid YAML: {' '.join(str(e).replace(path, rel).split())}")
            return
        if not isinstance(doc, dict):
            self.report(rel, "a workflow must be a mapping")
            return
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true; GitHub reads it as "on".
        on = doc.get("on", doc.get(True))
        if on is None:
            self.report(rel, "no `on` (triggers)")
            events = set()
        else:
            events = self.check_on(rel, on)
        jobs = doc.get("jobs")
        if not isinstance(jobs, dict) or not jobs:
            self.report(rel, "no `jobs` (or not a non-empty mapping)")
            return
        runs_tests = False
        for name, job in jobs.items():
            where = f"{rel}: job {name}"
            if not isinstance(job, dict):
                self.report(where, "a job must be a mapping")
                continue
            if "uses" in job:  # a reusable workflow: no runner and no steps of its own
                continue
            if "runs-on" not in job:
                self.report(where, "no `runs-on`")
            steps = job.get("steps")
            if not isinstance(steps, list) or not steps:
                self.report(where, "no `steps` (or not a non-empty list)")
                continue
            for i, step in enumerate(steps, 1):
                self.check_step(f"{where}, step {i}", step)
                if isinstance(step, dict) and TEST_COMMAND.search(str(step.get("run", ""))):
                    runs_tests = True
        if runs_tests and {"push", "pull_request"} <= events:
            self.test_workflows.append(rel)

    def check_cflite(self):
        base = os.path.join(self.root, ".clusterfuzzlite")
        for f in ("Dockerfile", "build.sh", "project.yaml"):
            if not os.path.isfile(os.path.join(base, f)):
                self.report(".clusterfuzzlite",
                            f"{f} missing ({self.cflite_users[0]} uses ClusterFuzzLite)")
        project = os.path.join(base, "project.yaml")
        if os.path.isfile(project):
            try:
                with open(project, encoding="utf-8") as f:
                    doc = yaml.safe_load(f)
            except yaml.YAMLError as e:
                self.report(".clusterfuzzlite/project.yaml",
                            f"not valid YAML: {' '.join(str(e).split())}")
                return
            if not isinstance(doc, dict) or not doc.get("language"):
                self.report(".clusterfuzzlite/project.yaml", "no `language`")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-workflows.py ROOT")
    root = os.path.abspath(sys.argv[1])
    c = Checker(root)
    wdir = os.path.join(root, ".github", "workflows")
    files = sorted(os.path.join(wdir, f) for f in os.listdir(wdir)
                   if f.endswith((".yml", ".yaml"))) if os.path.isdir(wdir) else []
    if not files:
        c.report(".github/workflows", "no workflow files")
    for f in files:
        c.check_file(f)
    if files and not c.test_workflows:
        c.report(".github/workflows", "no workflow runs the test command (.ci/run or "
                 "./keel test) on push and pull_request")
    if c.cflite_users:
        c.check_cflite()
    print(f"{len(files)} workflows checked, {c.problems} problems")
    return 1 if c.problems else 0


if __name__ == "__main__":
    sys.exit(main())
