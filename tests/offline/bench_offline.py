#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_offline.py - the offline reader's speed: `costack stacks TRACE` vs babeltrace2 alone.

Usage: bench_offline.py COSTACK LIBCOSTACK_SO LIBCOSTACK_LTTNG_SO OFFLINE_TARGET [ROUNDS]

Records offline_target pingpong ROUNDS (two ucontext tasks switching to one another: 2 switch
events a round; default 2600000 rounds, over 5 million events) with sub-buffers large enough
to lose nothing, then times, in interleaved rounds of one run, `costack stacks TRACE` (the
whole trace read, the tasks' state at its end) against `babeltrace2 TRACE -o dummy` (the
same trace read by babeltrace2 into a sink that does nothing). Prints the medians and their
ratio; the target is <= 2x. Fails only when something does not run, or the trace holds fewer
than 5 million events.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lttng'))
import lttng_session  # noqa: E402

ROUNDS = 3


def timed(argv):
    start = time.monotonic()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - start
    if r.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(argv), r.returncode, r.stderr))
    return elapsed


def main():
    if not lttng_session.enter_namespaces():
        # Not a skip: CI runs as root, where this works; elsewhere it is a failure to see.
        print('FAILED: needs root and unshare(1) for a session daemon of its own')
        return 1
    costack, libcostack, provider, target = [os.path.abspath(a) for a in sys.argv[1:5]]
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 2600000
    work = tempfile.mkdtemp(prefix='costack-bench-offline-')
    try:
        with lttng_session.SessionDaemon():
            trace = os.path.join(work, 'trace')
            start = time.monotonic()
            r = lttng_session.record(trace, [target, 'pingpong', str(rounds)], libcostack,
                                     provider, channel={'subbuf-size': '4M', 'num-subbuf': '8'})
            recorded = time.monotonic() - start
            if r.returncode != 0:
                print('bench_offline: the recording failed: %s' % r.stderr)
                return 1
        out = subprocess.run([costack, 'report', trace, '--format', 'json'],
                             capture_output=True, text=True, check=True).stdout
        report = json.loads(out)
        events = report['events']
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(trace)
                   for f in fs)
        print('trace: offline_target pingpong %d: %d costack events (%d lost), %.0f MB, '
              'recorded in %.1f s' % (rounds, events, report['lost']['events'], size / 1e6,
                                      recorded))
        if events < 5000000:
            print('bench_offline: fewer than 5 million events in the trace')
            return 1
        ours, theirs = [], []
        for _ in range(ROUNDS):
            ours.append(timed([costack, 'stacks', trace, '--format', 'json']))
            theirs.append(timed(['babeltrace2', trace, '-o', 'dummy']))
        ours.sort()
        theirs.sort()
        a, b = ours[ROUNDS // 2], theirs[ROUNDS // 2]
        print('median of %d interleaved rounds:' % ROUNDS)
        print('%-40s %8.2f s  %6.0f ns/event' % ('costack stacks TRACE --format json', a,
                                                   a * 1e9 / events))
        print('%-40s %8.2f s  %6.0f ns/event' % ('babeltrace2 TRACE -o dummy', b,
                                                   b * 1e9 / events))
        print('%-40s %8.2fx  (target: <= 2x)' % ('ratio', a / b))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
