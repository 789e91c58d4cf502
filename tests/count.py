"""Sums JUnit XML reports (meson's gtest log, pytest's) into one line: "N passed, N failed".

Meson's own results (testlog.json, one line per test executable) are read too: a test program
that timed out, crashed or failed outside a test case is not a failed case in the JUnit report
(meson 1.0 writes a timed-out gtest program as one passing case), so each such program counts
as one failure more.

Exits 1 when anything failed or nothing ran, so CI goes red.
"""
import argparse
import json
import sys
import xml.etree.ElementTree as ET

ap = argparse.ArgumentParser()
ap.add_argument("--extra-pass", type=int, default=0)
ap.add_argument("--extra-fail", type=int, default=0)
ap.add_argument("reports", nargs="*")
args = ap.parse_args()

passed, failed, skipped = args.extra_pass, args.extra_fail, 0
GOOD = {"OK", "SKIP", "EXPECTEDFAIL"}
for path in args.reports:
    if path.endswith(".json"):
        try:
            lines = [json.loads(line) for line in open(path) if line.strip()]
        except (OSError, ValueError) as e:
            print(f"cannot read {path}: {e}")
            failed += 1
            continue
        for test in lines:
            if test.get("result") not in GOOD:
                failed += 1
                print(f"FAILED: test program {test.get('name')}: {test.get('result')} ({path})")
        continue
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"cannot read {path}: {e}")
        failed += 1
        continue
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            print(f"FAILED: {case.get('classname')}.{case.get('name')} ({path})")
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1

line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
