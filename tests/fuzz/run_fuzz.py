#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""run_fuzz.py - run a libFuzzer target for a while from a seed corpus, leaving the seeds as they are.

Usage: run_fuzz.py FUZZER SEED_DIR SECONDS

New inputs go to a temporary directory (libFuzzer writes to its first corpus directory), and so
would a crash's input, which is then printed in hex so that the test log holds it.
"""
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    fuzzer, seeds, seconds = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix='costack-fuzz-') as tmp:
        corpus = os.path.join(tmp, 'corpus')
        os.mkdir(corpus)
        command = [os.path.abspath(fuzzer), '-max_total_time=' + seconds,
                   '-artifact_prefix=' + tmp + '/', '-print_final_stats=1',
                   corpus, seeds]
        print(' '.join(command), flush=True)
        status = subprocess.run(command, cwd=tmp).returncode
        for name in sorted(os.listdir(tmp)):
            if name.startswith(('crash-', 'leak-', 'timeout-', 'oom-')):
                with open(os.path.join(tmp, name), 'rb') as f:
                    print(name + ':', f.read().hex(), flush=True)
        print('fuzz: %d passed, %d failed' % (status == 0, status != 0))
        return 0 if status == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
