#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_offline.py - the offline reader's speed: `costack stacks|flame|timeline TRACE` vs
babeltrace2 alone.

Usage: bench_offline.py COSTACK LIBCOSTACK_SO LIBCOSTACK_LTTNG_SO OFFLINE_TARGET [ROUNDS]

Records offline_target pingpong ROUNDS (two ucontext tasks switching to one another: 2 switch
events a round; default 2600000 rounds, over 5 million events) with sub-buffers large enough
to lose nothing, then times, in interleaved rounds of one run, `costack stacks TRACE` (the
whole trace read, the tasks' state at its end) against `babeltrace2 TRACE -o dummy` (the
same trace read by babeltrace2 into a sink that does nothing). Prints the medians of the
elapsed time and of the CPU time (both processes of costack's: babeltrace2 runs in a child that
sends the model its items) and their ratios; the target is <= 1.2x elapsed. The same for
`costack flame TRACE` (target <= 1.5x) and `costack timeline TRACE` (its
output to /dev/null; a figure, no target). And `costack diff TRACE -- TRACE` (the trace against
itself: two reads, one a side) against two reads by babeltrace2 (twice the median of
`babeltrace2 TRACE -o dummy`; target <= 1.5x elapsed), after checking that diff counted every
interval of the trace and tested a sample of 4096 of them. With a second recording of half
the rounds, each view's peak RSS at both lengths. Fails when something does not run, when the
trace holds fewer than 5 million events, or when a view's peak RSS on the whole trace is more
than 1.5x its peak RSS on the half one (what a view keeps must not grow with the trace's
length).
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
FLAT = 1.5  # diff's peak RSS at full length over that at half length: at most this


def timed(argv):
    """(elapsed, CPU time of it and its children, peak RSS in MB) of argv."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - start
    if status != 0:
        raise RuntimeError('%s: wait status %d' % (' '.join(argv), status))
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


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
            half = os.path.join(work, 'half')
            r = lttng_session.record(half, [target, 'pingpong', str(rounds // 2)], libcostack,
                                     provider, channel={'subbuf-size': '4M', 'num-subbuf': '8'})
            if r.returncode != 0:
                print('bench_offline: the recording of half the rounds failed: %s' % r.stderr)
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
        # diff's work really happened: every interval counted, a sample of them tested.
        for path, want in ((trace, rounds), (half, rounds // 2)):
            doc = json.loads(subprocess.run([costack, 'diff', path, '--', path, '--format', 'json'],
                                            capture_output=True, text=True).stdout or 'null')
            leaf = [r for r in (doc or {}).get('rows', []) if r['quantity'] == 'wait' and
                    r['level'] == 'site' and r['kind'] == 'ping_entry']
            if not leaf or not all(abs(leaf[0][side]['population'] - want) <= 2 and
                                   leaf[0][side]['samples'] == 4096 for side in ('base', 'new')):
                print('bench_offline: costack diff %s -- itself: not %d intervals at ping_entry\'s '
                      'site, 4096 of them tested: %s' % (path, want, leaf or doc))
                return 1
        ours, theirs, flames, timelines, diffs, halves = [], [], [], [], [], []
        for _ in range(ROUNDS):
            ours.append(timed([costack, 'stacks', trace, '--format', 'json']))
            theirs.append(timed(['babeltrace2', trace, '-o', 'dummy']))
            flames.append(timed([costack, 'flame', trace, '-o', '/dev/null']))
            timelines.append(timed([costack, 'timeline', trace, '-o', '/dev/null']))
            diffs.append(timed([costack, 'diff', trace, '--', trace]))
            halves.append(timed([costack, 'diff', half, '--', half]))

        def median(values):
            return sorted(values)[ROUNDS // 2]

        a, b = median(t for t, _, _ in ours), median(t for t, _, _ in theirs)
        ca, cb = median(c for _, c, _ in ours), median(c for _, c, _ in theirs)
        fa, fc = median(t for t, _, _ in flames), median(c for _, c, _ in flames)
        ta, tc = median(t for t, _, _ in timelines), median(c for _, c, _ in timelines)
        print('median of %d interleaved rounds:      elapsed         CPU' % ROUNDS)
        print('%-34s %8.2f s %8.2f s  %4.0f ns/event' % ('costack stacks TRACE --format json', a,
                                                         ca, a * 1e9 / events))
        print('%-34s %8.2f s %8.2f s  %4.0f ns/event' % ('babeltrace2 TRACE -o dummy', b, cb,
                                                         b * 1e9 / events))
        print('%-34s %8.2fx  %7.2fx  (target: <= 1.2x elapsed)' % ('ratio', a / b, ca / cb))
        print('%-34s %8.2f s %8.2f s  %4.0f ns/event' % ('costack flame TRACE', fa, fc,
                                                         fa * 1e9 / events))
        print('%-34s %8.2fx  %7.2fx  (target: <= 1.5x elapsed)' % ('ratio', fa / b, fc / cb))
        print('%-34s %8.2f s %8.2f s  %4.0f ns/event' % ('costack timeline TRACE', ta, tc,
                                                         ta * 1e9 / events))
        print('%-34s %8.2fx  %7.2fx' % ('ratio', ta / b, tc / cb))
        da, dc = median(t for t, _, _ in diffs), median(c for _, c, _ in diffs)
        print('%-34s %8.2f s %8.2f s  %4.0f ns/event read' % (
            'costack diff TRACE -- TRACE', da, dc, da * 1e9 / (2 * events)))
        print('%-34s %8.2f s %8.2f s  (2 x the babeltrace2 line: one read a side)' % (
            '2 x babeltrace2 TRACE -o dummy', 2 * b, 2 * cb))
        print('%-34s %8.2fx  %7.2fx  (target: <= 1.5x elapsed)' % ('ratio', da / (2 * b),
                                                                   dc / (2 * cb)))
        # Memory flat in the trace's length: each view's peak on the full trace against its
        # peak on the half one (read once: peak RSS is no timing).
        grows = []
        for verb, full_runs, argv in (
                ('stacks', ours, lambda t: [costack, 'stacks', t, '--format', 'json']),
                ('flame', flames, lambda t: [costack, 'flame', t, '-o', '/dev/null']),
                ('timeline', timelines, lambda t: [costack, 'timeline', t, '-o', '/dev/null']),
                ('diff', diffs, None)):
            full_rss = max(m for _, _, m in full_runs)
            half_rss = (max(m for _, _, m in halves) if argv is None
                        else timed(argv(half))[2])
            print('peak RSS: costack %-8s %6.1f MB (%d rounds), %6.1f MB (%d rounds): %.2fx '
                  '(target: <= %.1fx, flat in the trace\'s length)'
                  % (verb, full_rss, rounds, half_rss, rounds // 2, full_rss / half_rss, FLAT))
            if full_rss > FLAT * half_rss:
                grows.append(verb)
        if grows:
            print('FAILED: the memory of costack %s grows with the trace\'s length'
                  % ', '.join(grows))
            return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
