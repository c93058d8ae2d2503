#!/usr/bin/env python3
"""ctest bench_report: bench/report.py on the committed bench/results, into a temporary
directory. It must reproduce the committed summary.md and chart data exactly, fill the README's
generated blocks (the anchors block as committed), take every anchor from the anchors file, set
B8's Linux rows beside their B7 rows, B9's Keel storage rows and B10's HTTP rows beside Linux's,
and refuse corrupt input with a message instead of a traceback or a half-written report."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
README = os.path.join(HERE, "README.md")
ANCHORS = os.path.join(HERE, "anchors.json")


def read(path):
    with open(path) as f:
        return f.read()


def block(doc, name):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    return doc[doc.index(begin) + len(begin):doc.index(end)]


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bench_report.")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def report(self, results, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "report.py"), results,
                               "--no-chart", *args], capture_output=True, text=True)

    def copy_results(self):
        results = os.path.join(self.tmp, "results")
        shutil.copytree(RESULTS, results)
        return results

    def test_reproduces_committed_tables(self):
        out = os.path.join(self.tmp, "out")
        r = self.report(RESULTS, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        summary = read(os.path.join(out, "summary.md"))
        self.assertIn("| row | measure | Keel | baseline | ratio | target | verdict |", summary)
        self.assertIn("## B7: kernel under QEMU", summary)
        self.assertIn("## B8: the Linux anchor", summary)
        self.assertEqual(summary, read(os.path.join(RESULTS, "summary.md")),
                         "bench/results/summary.md is not what report.py makes of results/")
        for row in ("b1", "b2", "b3", "b4", "b5", "b6"):
            name = f"chart_{row}.dat"
            self.assertEqual(read(os.path.join(out, name)), read(os.path.join(RESULTS, name)))

    def test_fills_readme_blocks(self):
        readme = os.path.join(self.tmp, "README.md")
        shutil.copy(README, readme)
        r = self.report(RESULTS, "--out", os.path.join(self.tmp, "out"), "--readme", readme)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = read(readme)
        self.assertIn("| row | measure | Keel |", block(doc, "results"))
        self.assertIn("| B7 queue_nop_b1 |", block(doc, "b7"))
        self.assertIn("| B8 pipe_rtt |", block(doc, "b8"))
        self.assertIn("| B8 rand_read_qd32 |", block(doc, "b8"))
        self.assertIn("| raw random read 4 KiB, QD32 |", block(doc, "b9"))
        self.assertIn("| keepalive | firewall |", block(doc, "b12"))
        self.assertIn("| 32 |", block(doc, "b13"))
        self.assertIn("| pipes | 4 |", block(doc, "b14"))
        self.assertEqual(block(doc, "anchors"), block(read(README), "anchors"),
                         "bench/README.md's anchors block is not what anchors.json says")

    def test_anchor_comes_from_anchors_file(self):
        figures = json.loads(read(ANCHORS))
        figures["anchors"]["l4re_ipc"]["value"] = 1000
        figures["targets"]["b7_null_doio"]["max"] = 100
        anchors = os.path.join(self.tmp, "anchors.json")
        with open(anchors, "w") as f:
            json.dump(figures, f)
        out = os.path.join(self.tmp, "out")
        r = self.report(RESULTS, "--out", out, "--anchors", anchors)
        self.assertEqual(r.returncode, 0, r.stderr)
        summary = read(os.path.join(out, "summary.md"))
        self.assertIn("vs L4Re IPC (1000)", summary)
        # The committed B7 figure, whatever it is now: the row must be judged by the given target.
        b7 = json.loads(read(os.path.join(RESULTS, "b7.json")))
        v = b7["rows"]["null_doio"]["insns_per_op"]
        self.assertIn(f"| {v:.1f} | {v / 1000:.2f}x | <= 100 | **missed** |", summary)
        # No copy of the committed anchor (587) in B7's table: every ratio is against the given
        # one (a figure such as 2587.3 may contain the digits, so the ratios are checked).
        b7_table = summary.split("## B7")[1].split("## B8")[0]
        self.assertNotIn("(587)", b7_table)
        for name, row in b7["rows"].items():
            self.assertIn(f"| {row['insns_per_op']:.1f} | {row['insns_per_op'] / 1000:.2f}x |",
                          b7_table, name)

    def test_anchors_file_without_a_target_is_refused(self):
        # b9_file_read: required only because results/ holds b9.json.
        for target in ("b3_floor", "b9_file_read"):
            figures = json.loads(read(ANCHORS))
            del figures["targets"][target]
            anchors = os.path.join(self.tmp, "anchors.json")
            with open(anchors, "w") as f:
                json.dump(figures, f)
            r = self.report(RESULTS, "--out", os.path.join(self.tmp, "out"), "--anchors",
                            anchors)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(target, r.stderr)

    def report_only(self, name):
        """summary.md of a results directory holding only the committed file NAME."""
        results = os.path.join(self.tmp, "results")
        os.mkdir(results)
        shutil.copy(os.path.join(RESULTS, name), results)
        r = self.report(results)
        self.assertEqual(r.returncode, 0, r.stderr)
        return read(os.path.join(results, "summary.md"))

    def test_missing_rows_are_left_out(self):
        summary = self.report_only("b7.json")
        self.assertNotIn("| B2 |", summary)
        self.assertIn("| B7 served_doio |", summary)

    def test_linux_anchor_pairs_with_b7(self):
        """Each Linux CPU row beside its B7 row, Keel's count over Linux's as the ratio."""
        out = os.path.join(self.tmp, "out")
        r = self.report(RESULTS, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        summary = read(os.path.join(out, "summary.md")).split("## B8")[1]
        linux = json.loads(read(os.path.join(RESULTS, "b8_linux.json")))["cpu_rows"]
        keel = json.loads(read(os.path.join(RESULTS, "b7.json")))["rows"]
        for lrow, krow in (("null_syscall", "null_syscall"), ("null_syscall", "null_doio"),
                           ("pipe_rtt", "pipe_rtt"), ("pipe_rtt", "served_doio"),
                           ("small_read", "small_read")):
            x, k = linux[lrow]["insns_per_op"], keel[krow]["insns_per_op"]
            judged = "met" if k / x <= 1.0 else "**missed**"
            self.assertIn(f"| {x:.1f} | {krow} | {k:.1f} | {k / x:.2f}x | <= 1.0x | {judged} |",
                          summary)

    def test_linux_anchor_panel_in_the_chart(self):
        """The chart's seventh panel puts Keel's bar beside Linux's for each workload both run
        the same way, and only those (served_doio is not the same workload as pipe_rtt)."""
        out = os.path.join(self.tmp, "out")
        r = self.report(RESULTS, "--out", out, "--no-chart")
        self.assertEqual(r.returncode, 0, r.stderr)
        bars = read(os.path.join(out, "chart_b7.dat"))
        for name in ("null_syscall", "pipe_rtt", "small_read"):
            self.assertIn(f"{name} Keel", bars)
            self.assertIn(f"{name} Linux", bars)
        self.assertNotIn("served_doio", bars)

    def test_linux_anchor_without_b7(self):
        summary = self.report_only("b8_linux.json")
        self.assertNotIn("## B7", summary)
        self.assertIn("| null_syscall | - | - |", summary)
        self.assertIn("| B8 seq_read |", summary)

    def test_linux_anchors_are_the_measured_ones(self):
        """anchors.json's Linux figures are B8's committed measurements, not other numbers."""
        anchors = json.loads(read(ANCHORS))["anchors"]
        linux = json.loads(read(os.path.join(RESULTS, "b8_linux.json")))["cpu_rows"]
        for row, r in linux.items():
            self.assertEqual(anchors[f"linux_{row}"]["value"], r["insns_per_op"], row)
            self.assertIn("measured", anchors[f"linux_{row}"]["source"])

    def test_storage_table_sets_keel_beside_linux(self):
        """B9: each paired row's Keel and Linux figures from b9.json, Keel's over Linux's as
        the ratio, the targets' verdicts, and the targeted rows in the headline table."""
        summary = self.report_only("b9.json")
        self.assertIn("## B9: storage, Keel vs Linux", summary)
        d = json.loads(read(os.path.join(RESULTS, "b9.json")))
        figures = json.loads(read(ANCHORS))["targets"]
        for keel, linux, key, target in (
                ("seq_read_64k_qd32", "seq_read_64k_qd32", "mib_per_s", "b9_raw_qd32"),
                ("rand_read_4k_qd32", "rand_read_qd32", "iops", "b9_raw_qd32")):
            k, x = d["keel_raw"][keel][key], d["linux_raw"][linux][key]
            verdict = "met" if k / x >= figures[target]["min"] else "**missed**"
            self.assertIn(f"| {k / x:.2f}x | >= {figures[target]['min']}x | {verdict} |",
                          summary)
        k = d["keel_file"]["file_rand_read_4k_qd1"]["iops"]
        x = d["linux_file"]["file_rand_read_4k_qd1"]["iops"]
        self.assertIn(f"| file random read 4 KiB, QD1 (Keel: read_at, Linux: pread) | ", summary)
        self.assertIn(f"| IOPS | {k / x:.2f}x | >= {figures['b9_file_read']['min']}x |", summary)
        headline = summary.split("Every benchmark")[0]
        self.assertEqual(headline.count("| B9 |"), 6)  # 2 raw QD32 rows, 4 file read rows
        self.assertIn("| raw sequential write 1 MiB, QD1, then fdatasync", summary)
        self.assertIn("Keel QD32 / QD1", summary)

    def test_http_table_sets_keel_beside_both_linux_servers(self):
        """B10: Keel's medians over busybox httpd's as the ratio with the target's verdict, over
        guesthttpd's as the reference, every run, and the three rows in the headline table."""
        summary = self.report_only("b10.json")
        self.assertIn("## B10: HTTP from the host, Keel vs Linux", summary)
        d = json.loads(read(os.path.join(RESULTS, "b10.json")))
        figures = json.loads(read(ANCHORS))["targets"]
        for row, key, target in (("small_keepalive", "rps", "b10_rps"),
                                 ("small_close", "rps", "b10_rps"),
                                 ("bulk", "mb_per_s", "b10_bulk")):
            k, x = d["keel"][row][key], d["linux"][row][key]
            y = d["linux_keepalive"][row][key]
            verdict = "met" if k / x >= figures[target]["min"] else "**missed**"
            self.assertIn(f"| {k / x:.2f}x | >= {figures[target]['min']}x | {verdict} |", summary)
            self.assertIn(f"| {k / y:.2f}x |", summary)
        headline = summary.split("Every benchmark")[0]
        self.assertEqual(headline.count("| B10 |"), 3)

    def test_http_without_keel_says_missing(self):
        """B10 before Keel had an HTTP server: Keel's cells say missing, nothing is judged."""
        d = json.loads(read(os.path.join(RESULTS, "b10.json")))
        d["keel"] = {"status": "missing", "why": "no bin/httpd"}
        results = os.path.join(self.tmp, "results")
        os.mkdir(results)
        with open(os.path.join(results, "b10.json"), "w") as f:
            json.dump(d, f)
        r = self.report(results)
        self.assertEqual(r.returncode, 0, r.stderr)
        summary = read(os.path.join(results, "summary.md"))
        self.assertIn("- Keel: missing (no bin/httpd)", summary)
        self.assertEqual(summary.count("| missing |"), 6)  # headline and B10 table, 3 rows each
        self.assertNotIn("**missed**", summary)

    def test_levels_table_has_every_level_and_row(self):
        """B11: the four levels, each with its client lines, every row with its rate and both
        instruction figures."""
        summary = self.report_only("b11.json")
        self.assertIn("## B11: the four I/O levels on one workload", summary)
        d = json.loads(read(os.path.join(RESULTS, "b11.json")))
        for level in ("sync", "async", "shm", "integrated"):
            self.assertIn(f"| {d['client_lines'][level]} |", summary)
        for r in d["rows"].values():
            self.assertIn(f"| {r['depth']} | {r['ops_per_s']} | {r['p50_ns'] / 1000:.1f} | "
                          f"{r['p99_ns'] / 1000:.1f} | {r['icount_insns_per_op']} | "
                          f"{r['icount_p50']} |", summary)

    def corrupt(self, row, edit):
        results = self.copy_results()
        path = os.path.join(results, row + ".json")
        with open(path, "w") as f:
            f.write(edit(read(os.path.join(RESULTS, row + ".json"))))
        os.remove(os.path.join(results, "summary.md"))
        r = self.report(results)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(f"{row}.json", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(results, "summary.md")))

    def test_truncated_json_is_refused(self):
        self.corrupt("b3", lambda text: text[: len(text) // 2])

    def test_missing_benchmark_is_refused(self):
        self.corrupt("b2", lambda text: text.replace("B2/boost_spsc/16B", "B2/renamed/16B"))

    def test_unknown_b7_row_is_refused(self):
        self.corrupt("b7", lambda text: text.replace('"served_doio"', '"mystery_row"'))

    def test_unknown_b8_row_is_refused(self):
        self.corrupt("b8_linux", lambda text: text.replace('"pipe_rtt"', '"mystery_row"'))

    def test_b8_without_throughput_is_refused(self):
        self.corrupt("b8_linux", lambda text: text.replace('"mib_per_s"', '"mbs"'))

    def test_b9_missing_row_is_refused(self):
        self.corrupt("b9", lambda text: text.replace('"file_rand_read_4k_qd32"', '"renamed"'))

    def test_b9_without_throughput_is_refused(self):
        self.corrupt("b9", lambda text: text.replace('"iops"', '"ops_per_s"'))

    def test_b11_missing_level_is_refused(self):
        self.corrupt("b11", lambda text: text.replace('"level": "shm"', '"level": "gone"'))

    def test_b11_without_operations_is_refused(self):
        self.corrupt("b11", lambda text: text.replace('"ops": 2000', '"ops": 0'))

    def test_b10_missing_row_is_refused(self):
        self.corrupt("b10", lambda text: text.replace('"small_close"', '"renamed"'))

    def test_b10_unknown_keel_status_is_refused(self):
        self.corrupt("b10", lambda text: text.replace('"status": "measured"',
                                                      '"status": "maybe"'))

    def test_b12_missing_row_is_refused(self):
        self.corrupt("b12", lambda text: text.replace('"keepalive_firewall"', '"renamed"'))

    def test_b12_without_throughput_is_refused(self):
        self.corrupt("b12", lambda text: re.sub(r'"rps": [0-9.]+', '"rps": 0', text))

    def test_b13_missing_row_is_refused(self):
        self.corrupt("b13", lambda text: text.replace('"polling_b1"', '"renamed"'))

    def test_b13_without_time_is_refused(self):
        self.corrupt("b13", lambda text: re.sub(r'"ns": [0-9]+', '"ns": 0', text))

    def test_b14_missing_row_is_refused(self):
        self.corrupt("b14", lambda text: text.replace('"pipes_2"', '"renamed"'))

    def test_b14_without_time_is_refused(self):
        self.corrupt("b14", lambda text: re.sub(r'"ns": [0-9]+', '"ns": 0', text))

    def test_b5_without_counts_is_refused(self):
        self.corrupt("b5", lambda text: text.replace('"ir_per_op"', '"ir"'))


if __name__ == "__main__":
    unittest.main()
