#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the demo as `make demo` does (costack run -- demo) and compare its output,
normalised (thread ids, source directories), with the expected file."""
import re
import subprocess
import sys


def normalise(text):
    text = re.sub(r"thread=\d+", "thread=TID", text)
    return re.sub(r'File "[^"]*/([^/"]+)"', r'File "\1"', text)


def main():
    costack, demo, expected_path = sys.argv[1:4]
    run = subprocess.run([costack, "run", "--", demo], capture_output=True, text=True)
    with open(expected_path) as f:
        expected = f.read()
    got = normalise(run.stdout)
    ok = run.returncode == 0 and run.stderr == "" and got == expected
    if not ok:
        sys.stderr.write("exit status %d, stderr:\n%s\n" % (run.returncode, run.stderr))
        sys.stderr.write("--- expected\n%s--- got (normalised)\n%s" % (expected, got))
    print("demo_check: %d passed, %d failed" % (ok, not ok))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
