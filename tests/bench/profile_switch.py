#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""profile_switch.py - instructions per switch, by function, counted by callgrind; cache lines
and pages touched per switch, traced by lackey.

Usage: profile_switch.py LIBCOSTACK BENCH_FCONTEXT BENCH_FCONTEXT_FP [--budget N] [--pages N]

Time on this 2-core VM is noisy; instruction counts are not. Each case runs a ping-pong 32
frames deep twice under callgrind, at two lengths (bench_fcontext --only bare|hooked DEPTH
ROUND_TRIPS): the difference of the two runs, over the difference of their switches, is what one
switch executes, start-up and warm-up left out. Hooked cases run under LD_PRELOAD=LIBCOSTACK;
bench_fcontext refuses to finish when costack did not see every switch and the whole stack.

Cases: bare jump_fcontext; hooked, default build; hooked, frame-pointer build with
COSTACK_UNWIND=fp. The clock read is one line of its own: callgrind runs clock_gettime as a
system call and counts none of the vDSO's instructions, which time it apart (README, Figures).

--budget N: fail when a hooked case executes more than N instructions per switch.

Footprint: where a switch is a system call (swapcontext), what it costs beyond the call is
decided less by instructions than by what they touch: the kernel's entry and exit leave the
caches and, with page-table isolation and no PCID, the TLB cold, and each cache line touched
afterwards costs a few ns, each page a page walk more (README, "pages per switch"). Valgrind's
lackey traces every access of one ping-pong per case (bare and hooked, default build); the run is
cut into switches where the jump function begins (bench_fcontext prints its address), and the
figures are medians over the second half of the switches. Under valgrind the C library's
clock_gettime is a system call: where a real run reads the vDSO's code and data page, this one
touches the C library's code and GOT and the loader's data.

--pages N: fail when a hooked switch touches more than N pages, code and data together.
"""
import os
import re
import subprocess
import sys
import tempfile

DEPTH = 32
SHORT, LONG = 2000, 4000  # round trips: 2 switches each
SHOWN = 14                # functions listed per case
TRACED = 200              # round trips traced by lackey


def callgrind(argv, env, out):
    r = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out] + argv,
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        sys.exit('profile_switch: %s failed (%d):\n%s%s' % (' '.join(argv), r.returncode,
                                                           r.stdout, r.stderr))
    m = re.search(r'^(bare|hooked) switches: ([0-9]+)$', r.stdout, re.M)
    if not m:
        sys.exit('profile_switch: no switch count from %s:\n%s' % (' '.join(argv), r.stdout))
    return int(m.group(2))


def self_costs(path):
    """Instructions by function ("name [object]", recursion marks merged) of a callgrind file."""
    r = subprocess.run(['callgrind_annotate', '--inclusive=no', '--auto=no', '--threshold=100', path],
                       capture_output=True, text=True, check=True)
    costs = {}
    total = None
    for line in r.stdout.splitlines():
        m = re.match(r'^\s*([0-9,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$', line)
        if not m:
            continue
        count = int(m.group(1).replace(',', ''))
        what = m.group(2)
        if what.startswith('PROGRAM TOTALS'):
            total = count
            continue
        f = re.match(r'^(?:.*?:)?([^: \[]+?)(?:\'[0-9]+)?(?: \[(.*)\])?$', what)
        if not f:
            continue
        key = '%s [%s]' % (f.group(1), os.path.basename(f.group(2) or '?'))
        costs[key] = costs.get(key, 0) + count
    if total is None:
        sys.exit('profile_switch: no totals in ' + path)
    return total, costs


def per_switch(program, which, env, work):
    """(instructions per switch, {function: instructions per switch})."""
    runs = []
    for trips in (SHORT, LONG):
        out = os.path.join(work, '%s-%s-%d' % (os.path.basename(program), which, trips))
        switches = callgrind([program, '--only', which, str(DEPTH), str(trips)], env, out)
        runs.append((switches, self_costs(out)))
    (s0, (t0, c0)), (s1, (t1, c1)) = runs
    n = s1 - s0
    by_function = {k: (c1.get(k, 0) - c0.get(k, 0)) / n for k in set(c0) | set(c1)}
    return (t1 - t0) / n, by_function


def footprint(program, which, env, work):
    """Medians per switch: (code lines, data lines, code pages, data pages)."""
    log = os.path.join(work, 'lackey-' + which)
    argv = [program, '--only', which, str(DEPTH), str(TRACED)]
    r = subprocess.run(['valgrind', '--tool=lackey', '--trace-mem=yes', '--log-file=' + log] +
                       argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=600)
    m = re.search(r'^jump function at (0x[0-9a-f]+)$', r.stdout, re.M)
    if r.returncode != 0 or not m:
        sys.exit('profile_switch: lackey %s failed (%d):\n%s%s' % (' '.join(argv), r.returncode,
                                                                  r.stdout, r.stderr))
    start = int(m.group(1), 16)
    switches, cur = [], None
    with open(log) as f:
        for line in f:
            if line.startswith('I  '):
                a = int(line[3:line.index(',')], 16)
                if a == start:
                    cur = (set(), set())
                    switches.append(cur)
                if cur is not None:
                    cur[0].add(a >> 6)
            elif cur is not None and line[:2] in (' L', ' S', ' M'):
                cur[1].add(int(line[3:line.index(',')], 16) >> 6)
    os.unlink(log)
    if len(switches) < 2 * TRACED:
        sys.exit('profile_switch: lackey saw %d switches of %d' % (len(switches), 2 * TRACED))
    steady = switches[len(switches) // 2:-1]  # the last runs on to the program's exit

    def median(values):
        values = sorted(values)
        return values[len(values) // 2]
    return (median(len(code) for code, _ in steady), median(len(data) for _, data in steady),
            median(len({line >> 6 for line in code}) for code, _ in steady),
            median(len({line >> 6 for line in data}) for _, data in steady))


def main():
    args = sys.argv[1:]
    budget = pages = None
    if '--budget' in args:
        i = args.index('--budget')
        budget = float(args[i + 1])
        del args[i:i + 2]
    if '--pages' in args:
        i = args.index('--pages')
        pages = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib, fcontext, fcontext_fp = (os.path.abspath(p) for p in args)
    base = {k: v for k, v in os.environ.items()
            if k not in ('LD_PRELOAD', 'COSTACK_UNWIND', 'COSTACK_TRACE')}
    hooked = dict(base, LD_PRELOAD=lib)
    cases = [
        ('jump_fcontext, bare', fcontext, 'bare', hooked),
        ('jump_fcontext, hooked, default build', fcontext, 'hooked', hooked),
        ('jump_fcontext, hooked, frame pointers, COSTACK_UNWIND=fp', fcontext_fp, 'hooked',
         dict(hooked, COSTACK_UNWIND='fp')),
    ]
    failed = False
    with tempfile.TemporaryDirectory(prefix='costack-profile-') as work:
        results = [(name, per_switch(program, which, env, work))
                   for name, program, which, env in cases]
        touched = [(name, footprint(program, which, env, work))
                   for name, program, which, env in cases[:2]]
    bare = results[0][1][0]
    print('instructions per switch, %d frames deep (callgrind; the difference of %d and %d '
          'round trips)' % (DEPTH, LONG, SHORT))
    for name, (total, by_function) in results:
        print('\n%s: %.1f instructions per switch%s' %
              (name, total, '' if total == bare else ' (%.2fx bare)' % (total / bare)))
        shown = sorted(((v, k) for k, v in by_function.items() if abs(v) >= 0.5), reverse=True)
        for v, k in shown[:SHOWN]:
            print('  %8.1f  %s' % (v, k))
        rest = total - sum(v for v, _ in shown[:SHOWN])
        if abs(rest) >= 0.5:
            print('  %8.1f  (the rest)' % rest)
        if budget and name != cases[0][0] and total > budget:
            print('FAILED: %.1f instructions per switch, over the budget of %.0f' %
                  (total, budget))
            failed = True
    print('\nclock_gettime: its vDSO instructions are not counted (callgrind makes it a system '
          'call)')
    if budget:
        print('budget: <= %.0f instructions per hooked switch' % budget)
    print('\ntouched per switch, %d frames deep (lackey; medians over %d switches)' %
          (DEPTH, TRACED))
    print('%-40s %10s %10s %10s %10s' % ('', 'code lines', 'data lines', 'code pages',
                                         'data pages'))
    for name, (code_lines, data_lines, code_pages, data_pages) in touched:
        print('%-40s %10d %10d %10d %10d' % (name, code_lines, data_lines, code_pages,
                                               data_pages))
    hooked_pages = touched[1][1][2] + touched[1][1][3]
    if pages:
        print('budget: <= %d pages per hooked switch (%d)' % (pages, hooked_pages))
        if hooked_pages > pages:
            print('FAILED: a hooked switch touches %d pages, over the budget of %d' %
                  (hooked_pages, pages))
            failed = True
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
