# SPDX-License-Identifier: MIT
# checks.py - what the Python tests share: counted checks, and the closing line the C ones print.
"""Counted checks for the tests' Python drivers (tests/live, tests/offline, tests/lttng):

    sys.path.insert(0, <this folder>)
    from checks import check, finish
    check(ok, 'what was checked', detail)   # prints "ok: ..." or "FAILED: ..." and the detail
    sys.exit(finish('test_live'))            # "test_live: N passed, M failed"; 1 on a failure

A run with no check at all fails too: a test that checked nothing proved nothing.
"""
import re

_counts = {'passed': 0, 'failed': 0}


def check(ok, what, detail=''):
    """Count one check and print it; the detail (cut to 3000 characters) only on a failure."""
    if ok:
        _counts['passed'] += 1
        print('ok: ' + what)
    else:
        _counts['failed'] += 1
        print('FAILED: ' + what)
        if detail:
            print('    ' + str(detail)[:3000].replace('\n', '\n    '))
    return ok


def failures():
    """The failed checks so far."""
    return _counts['failed']


def finish(name):
    """Print "NAME: N passed, M failed"; the exit status: 1 on a failure or no check."""
    print('%s: %d passed, %d failed' % (name, _counts['passed'], _counts['failed']))
    return 1 if _counts['failed'] or not _counts['passed'] else 0


def folded_weights(text):
    """{stack line: weight} of folded output (`costack flame --format folded`), checking each
    line's shape."""
    lines = {}
    for line in text.splitlines():
        m = re.fullmatch(r'(.+) (\d+)', line)
        if not check(m is not None, 'folded line shape', line):
            continue
        lines[m.group(1)] = lines.get(m.group(1), 0) + int(m.group(2))
    return lines
