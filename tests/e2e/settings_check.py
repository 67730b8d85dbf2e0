#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# settings_check.py - every COSTACK_* setting, bad and edge values: the program is unchanged.
"""Run each PROGRAM without the preload, then with LIBCOSTACK preloaded under each case of
every COSTACK_* setting the preload reads (bad values: empty, words, out of range, overflows,
signs, control characters, 5000 bytes; edge values: each bound, each choice, signals that
cannot be the dump signal, paths that cannot be written or loaded), and compare: stdout and
the exit status byte for byte, stderr the same but for the lines costack adds, which must be
exactly what the case expects: none for a good value, else one line "costack: ..." naming
the variable. Every run must end within 30 s, in a working directory of its own left empty.

  settings_check.py LIBCOSTACK LIBCOSTACK_LTTNG -- PROGRAM [ARG]... [-- PROGRAM [ARG]...]...

Exit 0 when every case holds, 1 when one does not (each said), 2 on a usage error.
"""

import os
import re
import concurrent.futures
import subprocess
import sys
import tempfile

TIMEOUT = 30
LONG = 'x' * 5000

# (value, expected): expected is True when the value must be taken silently, False when it
# must cost exactly one line naming the variable.
INTEGERS = {'COSTACK_DEPTH': (1, 512), 'COSTACK_RING': (1, 1024), 'COSTACK_ENDED': (0, 1 << 24)}
CHOICES = {'COSTACK_LOG': ['error', 'warn', 'info', 'debug'],
           'COSTACK_UNWIND': ['default', 'libunwind', 'fp'],
           'COSTACK_CLOCK': ['coarse', 'precise'],
           'COSTACK_DISABLE': ['0', '1'],
           'COSTACK_DUMP_ON_CRASH': ['0', '1']}
BAD_WORDS = ['', 'bogus', ' ', '1\n2', '\u00e9', '\x1b[31m', '%s%n', LONG]


def integer_cases(name, low, high):
    good = [str(low), str(high), str((low + high) // 2), '+%d' % high, ' %d' % low]
    bad = [str(low - 1), str(high + 1), '-1', '9' * 30, str(1 << 31), str(-(1 << 31) - 1),
           '%d ' % low, '0x10', '1.5', '1e3', str(low) + 'k'] + BAD_WORDS
    return ([({name: v}, True) for v in good] +
            [({name: v}, False) for v in bad if v not in good])


def choice_cases(name, choices):
    bad = ([c.upper() for c in choices if c.upper() != c] + [' ' + choices[0], choices[-1] + ' ',
           choices[0] + '\n', '2', '-1', 'yes', 'true'] + BAD_WORDS)
    return [({name: c}, True) for c in choices] + [({name: v}, False) for v in bad]


def dump_signal_cases():
    good = ['USR2', 'SIGUSR2', 'usr2', '12', 'USR1', 'HUP', 'INT', 'TERM', 'RTMIN', 'RTMIN+2',
            'SIGRTMAX-1', 'RTMAX', 'sigrtmin+0']
    bad = ['0', '-1', '65', '99999999999', 'KILL', 'STOP', 'SEGV', 'BUS', 'ILL', 'FPE', 'ABRT',
           'SIGCHLD', 'PIPE', 'TSTP', 'WINCH', '32', '33', 'RTMIN+99', 'RTMAX-99', 'RTMIN-1',
           'RTMAX+1', 'RTMIN+', 'SIG', 'SIGSIG', '12x', ' 12'] + BAD_WORDS
    return ([({'COSTACK_DUMP_SIGNAL': v}, True) for v in good] +
            [({'COSTACK_DUMP_SIGNAL': v}, False) for v in bad])


def dump_file_cases():
    cases = []
    for on in ({'COSTACK_DUMP_SIGNAL': 'USR2'}, {'COSTACK_DUMP_ON_CRASH': '1'}):
        cases += [(dict(on, COSTACK_DUMP_FILE='dump.txt'), True),
                  (dict(on, COSTACK_DUMP_FILE='sub/../dump.txt'), False),  # no sub/
                  (dict(on, COSTACK_DUMP_FILE='/tmp/costack-settings-dump.txt'), True),
                  (dict(on, COSTACK_DUMP_FILE=''), False),
                  (dict(on, COSTACK_DUMP_FILE='/nonexistent/dir/dump.txt'), False),
                  (dict(on, COSTACK_DUMP_FILE='/' + LONG), False),
                  (dict(on, COSTACK_DUMP_FILE=LONG), False),
                  (dict(on, COSTACK_DUMP_FILE='/proc/nothing/x'), False)]
    # No dump asked for: the file is never written, and nothing is said of it.
    cases += [({'COSTACK_DUMP_FILE': '/nonexistent/dir/dump.txt'}, True),
              ({'COSTACK_DUMP_FILE': ''}, False)]
    return cases


def trace_cases(provider):
    cases = [({'COSTACK_TRACE': '1', 'COSTACK_LTTNG_LIBRARY': provider}, True),
             ({'COSTACK_TRACE': '0', 'COSTACK_LTTNG_LIBRARY': '/nonexistent.so'}, True),
             ({'COSTACK_LTTNG_LIBRARY': LONG}, True)]
    for library in ['/nonexistent.so', '/etc/passwd', '/', 'libc.so.6', LONG, '\x01.so']:
        cases.append(({'COSTACK_TRACE': '1', 'COSTACK_LTTNG_LIBRARY': library}, False))
    return cases


def combined_cases():
    every_bad = {'COSTACK_DEPTH': 'abc', 'COSTACK_RING': '0', 'COSTACK_ENDED': '-1',
                 'COSTACK_UNWIND': 'x', 'COSTACK_CLOCK': 'x', 'COSTACK_DISABLE': 'x',
                 'COSTACK_TRACE': 'x', 'COSTACK_DUMP_SIGNAL': 'KILL', 'COSTACK_DUMP_ON_CRASH': 'x',
                 'COSTACK_DUMP_FILE': ''}
    return [
        # A log level of error silences the warnings about the others; a bad level is said.
        ({'COSTACK_LOG': 'error', 'COSTACK_DEPTH': 'abc'}, True),
        ({'COSTACK_LOG': 'error', **every_bad}, True),
        ({'COSTACK_LOG': 'x', 'COSTACK_DEPTH': '8'}, False),
        # Every one of them bad at once: one line each.
        (every_bad, sorted(every_bad)),
        # Disabled: the rest are still read, and still said.
        ({'COSTACK_DISABLE': '1', 'COSTACK_DEPTH': 'abc'}, False),
        ({'COSTACK_DISABLE': '1', 'COSTACK_DUMP_SIGNAL': 'USR2', 'COSTACK_DUMP_ON_CRASH': '1',
          'COSTACK_DEPTH': '512', 'COSTACK_RING': '1024', 'COSTACK_ENDED': '0'}, True),
        ({'COSTACK_DEPTH': '1', 'COSTACK_RING': '1', 'COSTACK_ENDED': '0',
          'COSTACK_UNWIND': 'fp', 'COSTACK_CLOCK': 'precise'}, True),
        ({'COSTACK_DEPTH': '512', 'COSTACK_RING': '1024', 'COSTACK_ENDED': str(1 << 24),
          'COSTACK_UNWIND': 'libunwind', 'COSTACK_DUMP_SIGNAL': 'RTMAX',
          'COSTACK_DUMP_ON_CRASH': '1'}, True),
    ]


def all_cases(provider):
    cases = []
    for name, (low, high) in INTEGERS.items():
        cases += integer_cases(name, low, high)
    for name, choices in CHOICES.items():
        cases += choice_cases(name, choices)
    return cases + dump_signal_cases() + dump_file_cases() + trace_cases(provider) + \
        combined_cases()


def expected_names(env, expected):
    """The variables costack must name, one line each."""
    if expected is True:
        return []
    if expected is False:
        # The one bad one: the dump file's when there is one, else the only variable.
        return ['COSTACK_DUMP_FILE' if 'COSTACK_DUMP_FILE' in env else
                'COSTACK_TRACE' if 'COSTACK_LTTNG_LIBRARY' in env else
                'COSTACK_LOG' if 'COSTACK_LOG' in env else
                'COSTACK_DEPTH' if 'COSTACK_DEPTH' in env else sorted(env)[-1]]
    return expected


def run(command, env, cwd):
    try:
        r = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT, check=False)
        return r.stdout, r.stderr, r.returncode
    except subprocess.TimeoutExpired:
        return b'', b'', 'a hang (killed after %d s)' % TIMEOUT


def show(env):
    return ' '.join('%s=%r' % (k, v if len(v) < 40 else v[:20] + '...(%d bytes)' % len(v))
                    for k, v in sorted(env.items()))


def fresh_dir(top, name):
    path = os.path.join(top, name)
    os.mkdir(path)
    return path


def run_case(command, bare, library, base, env, expected, cwd):
    """None when the case holds, else what went wrong."""
    out_bare, err_bare, status_bare = bare
    os.mkdir(cwd)
    out, err, status = run(command, dict(base, LD_PRELOAD=library, **env), cwd)
    left = os.listdir(cwd)
    names = expected_names(env, expected)
    ours = [line for line in err.split(b'\n') if line.startswith(b'costack: ')]
    rest = b'\n'.join(line for line in err.split(b'\n') if not line.startswith(b'costack: '))
    problems = []
    if status != status_bare:
        problems.append('exit %s, %s without the preload' % (status, status_bare))
    if out != out_bare:
        problems.append('stdout differs (%d bytes, %d without the preload)' %
                        (len(out), len(out_bare)))
    if rest != err_bare:
        problems.append('stderr differs beyond costack\'s lines: %r' % rest[-300:])
    # Each line of costack's names the variable it is about (the first one it mentions).
    said = sorted(m.group().decode() if m else '?' for m in
                  (re.search(rb'COSTACK_[A-Z_]+', line) for line in ours))
    if said != sorted(names):
        problems.append('costack said %d lines, want %d naming %s: %r' %
                        (len(ours), len(names), ', '.join(names) or 'nothing',
                         [line.decode(errors='replace')[:200] for line in ours]))
    if left:
        problems.append('left files in its working directory: %s' % left)
    if not problems:
        return None
    return 'FAILED: %s: %s\n  %s' % (os.path.basename(command[0]), show(env),
                                     '\n  '.join(problems))


def main():
    args = sys.argv[1:]
    if len(args) < 4 or args[2] != '--':
        print(__doc__, file=sys.stderr)
        return 2
    library, provider = (os.path.abspath(a) for a in args[:2])
    programs, current = [], None
    for arg in args[3:]:
        if arg == '--':
            current = None
        elif current is None:
            current = [os.path.abspath(arg)]
            programs.append(current)
        else:
            current.append(arg)
    base = {k: v for k, v in os.environ.items()
            if k != 'LD_PRELOAD' and not k.startswith('COSTACK_')}
    cases = all_cases(provider)
    results = []
    with tempfile.TemporaryDirectory(prefix='costack-settings-') as top, \
            concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for i, command in enumerate(programs):
            out_bare, err_bare, status_bare = run(command, base, fresh_dir(top, 'bare-%d' % i))
            bare = (out_bare, err_bare, status_bare)
            results += [pool.submit(run_case, command, bare, library, base, env, expected,
                                    os.path.join(top, '%d-%d' % (i, n)))
                        for n, (env, expected) in enumerate(cases)]
        problems = [f.result() for f in results]
    for problem in problems:
        if problem:
            print(problem)
    passed = sum(not p for p in problems)
    failed = len(problems) - passed
    print('settings: %d cases of %d settings on %d programs' %
          (len(cases), len({k for env, _ in cases for k in env}), len(programs)))
    print('settings check: %d passed, %d failed' % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main())
