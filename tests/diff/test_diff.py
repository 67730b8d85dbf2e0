#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_diff.py - `costack diff` on real recordings of diff_target in its variants.

Usage: test_diff.py COSTACK LIBCOSTACK_SO LIBCOSTACK_LTTNG_SO DIFF_TARGET [BASE_RUNS]

Records diff_target (tests/diff/diff_target.c) BASE_RUNS times (default 6) as it is, and once
in each variant, each with a session of its own (tests/lttng/lttng_session.py), then checks:
  same     every pair of base recordings, one run a side: exit 0 (no false regression), and
           3 base runs against 3 others; the counts (switches per task, suspensions per task
           at each site, tasks) compared exactly and found the same;
  slow     wait_for_lock waits twice as long: exit 1, the first row of the text table and the
           first JSON regression name wait_for_lock, its change near +100% with a CI and a
           p < alpha; wait_for_io is not a regression; with --threshold 300, or --alpha
           1e-300, it is not one either (both conditions count);
  runs     5 base runs against 5 slow ones: wait_for_lock a regression by the per-run values
           (median of runs), p = 2/252, no warning;
  newsite  wait_for_disk is listed as a new wait site (text and JSON new_sites);
  switch   one switch more per task: exit 1, switches per task of worker_main exactly +1
           (statistic exact, no p), found with one run a side, and with --metric switches
           alone; --metric wait finds the extra suspension at wait_for_io exactly;
  open     a task still suspended at the trace's end (straggler): counted as an open interval
           and an unfinished task, never as a wait (no new wait site, no wait regression);
  sampled  wait_for_cache with 3 x 4096 intervals a run (burst): 4096 of them tested a side,
           two fresh runs the same, burstslow (its later three quarters slower) a regression
           named first, the same JSON twice (seeded);
  json     costack.diff/1: every field of the schema, of its type, on every row;
  per      --per worker_main: the ticker's wait per task is its total over the 4 workers;
  svg      --format svg, the differential flame graph: XML, no network; slow: exit 1 as the
           table's gate, wait_for_lock deep red and as wide as NEW's time, wait_for_io
           neutral; each side per run (3 base runs against 1 slow one: a round's worth per
           wait either way); newsite against base: wait_for_disk drawn hatched, marked
           vanished with its BASE time, and the other way round full red, new; two base runs
           (one a side, 3 a side): no frame of 1% of the graph or more strongly coloured;
           --metric run draws run time; --metric switches alone is a usage error (exit 2);
  errors   exit 2 with one line (and a Try line) for usage errors, 3 with one line for a
           trace that cannot be read or an -o FILE that cannot be written; --help tells how to
           wire it into CI.

COSTACK_DIFF_KEEP=DIR keeps the recordings in DIR; with COSTACK_DIFF_REUSE=1 too, those
already there are read again instead of recorded anew (to try mutations of the analysis). No sleep synchronises anything: the
target's own fixed waits are what is measured.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lttng'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import lttng_session  # noqa: E402
from checks import check, finish  # noqa: E402

ROUNDS = '12'
PERIOD_US = '8000'


def run(*args, cwd=None):
    r = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors='surrogateescape', timeout=600, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


class Setup:
    def __init__(self, argv):
        self.costack, self.libcostack, self.provider, self.target = [
            os.path.abspath(a) for a in argv[:4]]
        self.base_runs = max(6, int(argv[4])) if len(argv) > 4 else 6
        keep = os.environ.get('COSTACK_DIFF_KEEP')
        self.keep = bool(keep)
        if keep:
            os.makedirs(keep, exist_ok=True)
        self.work = keep or tempfile.mkdtemp(prefix='costack-diff-')

    def record(self, name, variant, channel=None):
        trace = os.path.join(self.work, name)
        if self.keep and os.environ.get('COSTACK_DIFF_REUSE') and os.path.isdir(trace):
            return trace  # a kept recording, for trying the analysis broken on purpose
        shutil.rmtree(trace, ignore_errors=True)
        r = lttng_session.record(trace, [self.target, variant, ROUNDS, PERIOD_US],
                                 self.libcostack, self.provider, channel=channel)
        check(r.returncode == 0 and r.stdout.startswith(variant + ':'),
              'recorded %s (%s)' % (name, variant), (r.returncode, r.stdout, r.stderr))
        return trace

    def diff(self, base, new, *args):
        """costack diff BASE... -- NEW... ARGS: (status, stdout, stderr)."""
        return run(self.costack, 'diff', *base, '--', *new, *args)

    def diff_json(self, base, new, *args):
        status, out, err = self.diff(base, new, *args, '--format', 'json')
        try:
            return status, json.loads(out), err
        except ValueError:
            return status, None, err + out[:2000]


def table_rows(text):
    """The rows of the text's first table: (verdict, what, rest of the line)."""
    rows = []
    lines = text.split('\n')
    for i, line in enumerate(lines):
        if line.startswith('  VERDICT'):
            for row in lines[i + 1:]:
                if not row.startswith('  ') or row.startswith('  VERDICT'):
                    break
                parts = row.split(None, 2)
                rows.append((parts[0], parts[1], parts[2]))
            break
    return rows


def rows_of(doc, quantity=None, level=None, site=None, kind=None):
    return [r for r in doc['rows']
            if (quantity is None or r['quantity'] == quantity) and
            (level is None or r['level'] == level) and
            (site is None or (r['site'] or '').startswith(site)) and
            (kind is None or r['kind'] == kind)]


def section_same(s, bases):
    false_regressions = []
    pairs = 0
    for i in range(len(bases)):
        for j in range(len(bases)):
            if i >= j:
                continue
            pairs += 1
            status, doc, err = s.diff_json([bases[i]], [bases[j]])
            if status != 0:
                false_regressions.append((i, j, status, err,
                                          [r for r in (doc or {}).get('rows', [])
                                           if r['verdict'] in ('regression', 'new')]))
    check(not false_regressions,
          'same: %d pairs of fresh base recordings, one run a side: no regression' % pairs,
          false_regressions)
    print('same: %d false regressions in %d pairs' % (len(false_regressions), pairs))
    half = len(bases) // 2
    status, doc, err = s.diff_json(bases[:half], bases[half:])
    check(status == 0 and doc and not doc['regression'],
          'same: %d base runs against %d others: no regression' % (half, len(bases) - half),
          (status, err, doc and [r for r in doc['rows'] if r['verdict'] != 'same']))
    status, doc, err = s.diff_json(bases[:1], bases[1:2])
    if not check(doc is not None, 'same: JSON read', err):
        return
    exact = [r for r in doc['rows'] if r['statistic'] == 'exact']
    check(exact and all(r['verdict'] == 'same' and r['change'] == 0 for r in exact) and
          {r['quantity'] for r in exact} >= {'switches', 'suspensions', 'tasks'},
          'same: the counts are compared exactly and are the same',
          [(r['quantity'], r['site'], r['verdict']) for r in exact])
    io = rows_of(doc, 'wait', 'site', 'wait_for_io', 'worker_main')
    check(len(io) == 1 and io[0]['statistic'] == 'median interval' and
          io[0]['base']['samples'] == 4 * int(ROUNDS) and
          abs(io[0]['base']['value'] - int(PERIOD_US) * 1000) < 0.25 * int(PERIOD_US) * 1000,
          'same: wait_for_io: 4 x ROUNDS intervals, the median one a round long',
          io)
    check('warning: 1 base and 1 new run: fewer than 3 a side' in err,
          'same: one run a side is warned of', err)


def section_slow(s, bases, slow):
    status, out, err = s.diff([bases[0]], [slow])
    rows = table_rows(out)
    check(status == 1 and 'REGRESSION' in out, 'slow: exit 1, a regression', (status, out, err))
    check(rows and rows[0][0] == 'regression' and rows[0][1] == 'wait' and
          rows[0][2].startswith('wait_for_lock'),
          'slow: the first row of the table is wait_for_lock', out)
    status, doc, err = s.diff_json([bases[0]], [slow])
    if not check(doc is not None, 'slow: JSON read', err):
        return
    regressions = [r for r in doc['rows'] if r['verdict'] == 'regression']
    check(regressions and regressions[0]['quantity'] == 'wait' and
          regressions[0]['site'].startswith('wait_for_lock'),
          'slow: the first JSON regression is wait_for_lock', regressions[:3])
    lock = rows_of(doc, 'wait', 'site', 'wait_for_lock', 'worker_main')
    check(len(lock) == 1 and 0.6 < lock[0]['change'] < 1.4 and lock[0]['p'] < 0.01 and
          lock[0]['ci'] and lock[0]['ci'][0] <= lock[0]['change'] <= lock[0]['ci'][1] and
          lock[0]['ci'][0] > 0.1,
          'slow: wait_for_lock about +100%, p < 0.01, the CI around it above the threshold',
          lock)
    io = rows_of(doc, 'wait', 'site', 'wait_for_io', 'worker_main')
    check(len(io) == 1 and io[0]['verdict'] == 'same', 'slow: wait_for_io is the same', io)
    # Both conditions: above the threshold, and significant.
    status, doc, err = s.diff_json([bases[0]], [slow], '--threshold', '300')
    lock = doc and rows_of(doc, 'wait', 'site', 'wait_for_lock', 'worker_main')
    check(status == 0 and lock and lock[0]['verdict'] == 'same' and lock[0]['p'] < 0.01,
          'slow: --threshold 300: significant but below it, no regression', (status, lock))
    status, doc, err = s.diff_json([bases[0]], [slow], '--alpha', '1e-300')
    lock = doc and rows_of(doc, 'wait', 'site', 'wait_for_lock', 'worker_main')
    check(status == 0 and lock and lock[0]['verdict'] == 'same' and lock[0]['change'] > 0.5,
          'slow: --alpha 1e-300: above the threshold but not that significant, no regression',
          (status, lock))
    # Several runs a side, pooled: the same verdict.
    status, doc, err = s.diff_json(bases[:3], [slow])
    check(status == 1 and doc and [r for r in doc['rows'] if r['verdict'] == 'regression'][0]
          ['site'].startswith('wait_for_lock'),
          'slow: 3 base runs against it: wait_for_lock first', (status, err))


def section_runs(s, bases, slows):
    """5 runs a side: each run's value is a sample (the exact test reaches p = 2/252 < 0.01)."""
    status, doc, err = s.diff_json(bases[:5], slows)
    if not check(doc is not None, 'runs: JSON read', err):
        return
    lock = rows_of(doc, 'wait', 'site', 'wait_for_lock', 'worker_main')
    io = rows_of(doc, 'wait', 'site', 'wait_for_io', 'worker_main')
    check(status == 1 and lock and lock[0]['statistic'] == 'median of runs' and
          lock[0]['verdict'] == 'regression' and abs(lock[0]['p'] - 2 / 252) < 1e-9 and
          lock[0]['change'] > 0.5 and lock[0]['base']['samples'] == 5 * 4 * int(ROUNDS),
          'runs: 5 base against 5 slow runs: wait_for_lock by its per-run values, p = 2/252',
          (status, lock))
    check(io and io[0]['statistic'] == 'median of runs' and io[0]['verdict'] == 'same',
          'runs: wait_for_io the same', io)
    check('fewer than 3' not in err, 'runs: no warning with 5 runs a side', err)
    status, doc, err = s.diff_json(bases[:3], bases[3:6])
    check(status == 0, 'runs: 3 base runs against 3 others: no regression', (status, err))


def section_newsite(s, bases, newsite):
    status, out, err = s.diff([bases[0]], [newsite])
    check(re.search(r'\nNew wait sites:\n  wait_for_disk \(diff_target\.c:\d+\) \(worker_main\)',
                    out), 'newsite: wait_for_disk listed as a new wait site', out)
    check(status == 1, 'newsite: a new wait site fails the gate', (status, err))
    status, doc, err = s.diff_json([bases[0]], [newsite])
    check(doc and [n['site'].split(' ')[0] for n in doc['new_sites']] == ['wait_for_disk'] and
          doc['vanished_sites'] == [],
          'newsite: JSON new_sites is wait_for_disk alone', doc and doc['new_sites'])
    status, doc, err = s.diff_json([newsite], [bases[0]])
    check(doc and [n['site'].split(' ')[0] for n in doc['vanished_sites']] == ['wait_for_disk']
          and status == 0, 'newsite: the other way round, it vanished (no regression)',
          (status, doc and doc['vanished_sites']))


def section_switch(s, bases, switch):
    for args in ([], ['--metric', 'switches']):
        status, doc, err = s.diff_json([bases[0]], [switch], *args)
        if not check(doc is not None, 'switch: JSON read %s' % args, err):
            continue
        sw = rows_of(doc, 'switches', 'kind', kind='worker_main')
        check(status == 1 and len(sw) == 1 and sw[0]['verdict'] == 'regression' and
              sw[0]['statistic'] == 'exact' and sw[0]['p'] is None and
              sw[0]['new']['value'] == sw[0]['base']['value'] + 1,
              'switch: one switch more per worker, exactly, one run a side %s' % args,
              (status, sw))
        ticker = rows_of(doc, 'switches', 'kind', kind='ticker_main')
        check(len(ticker) == 1 and ticker[0]['verdict'] == 'same',
              'switch: the ticker switches as often %s' % args, ticker)
    status, doc, err = s.diff_json([bases[0]], [switch], '--metric', 'wait')
    io = doc and rows_of(doc, 'suspensions', 'site', 'wait_for_io', 'worker_main')
    lock = doc and rows_of(doc, 'suspensions', 'site', 'wait_for_lock', 'worker_main')
    check(status == 1 and io and io[0]['verdict'] == 'regression' and
          io[0]['new']['value'] == io[0]['base']['value'] + 1 and
          lock and lock[0]['verdict'] == 'same' and
          not rows_of(doc, 'switches'),
          'switch: --metric wait: one suspension more at wait_for_io, exactly', (status, doc))
    status, out, err = s.diff([bases[0]], [switch])
    check(status == 1 and re.search(r'regression +switches +worker_main .* exact', out),
          'switch: the text says it', out)


def section_open(s, bases, straggler):
    """A task still suspended at the trace's end: its wait has no end, so no length: it is
    counted as open and its task as unfinished, never taken as a (long) wait."""
    status, doc, err = s.diff_json([bases[0]], [straggler])
    if not check(doc is not None, 'open: JSON read', err):
        return
    check(doc['new'][0]['open_intervals'] == doc['base'][0]['open_intervals'] + 1,
          'open: the straggler\'s wait counted as open in the NEW run',
          (doc['base'], doc['new']))
    unfinished = rows_of(doc, 'unfinished', 'kind', kind='straggler_main')
    check(len(unfinished) == 1 and unfinished[0]['verdict'] == 'new' and
          unfinished[0]['new']['value'] == 1,
          'open: straggler_main counted as one task left unfinished', unfinished)
    # (the scheduler's own suspensions count one more: it resumed the straggler once)
    waits = [r for r in doc['rows'] if r['quantity'] == 'wait' and
             r['level'] in ('site', 'stack') and r['verdict'] in ('regression', 'new')]
    check(not waits and doc['new_sites'] == [],
          'open: no wait site is new or a regression (wait_for_reply has no finished wait)',
          (waits, doc['new_sites']))
    kind = rows_of(doc, 'wait', 'kind', kind='straggler_main')
    check(len(kind) == 1 and kind[0]['new']['value'] == 0 and
          kind[0]['new']['population'] == 1,
          'open: straggler_main\'s one task waited 0 ns of finished waits', kind)
    workers = [r for r in rows_of(doc, kind='worker_main') if r['verdict'] != 'same']
    check(not workers, 'open: the workers are the same', workers)
    status, out, err = s.diff([bases[0]], [straggler])
    check(status == 1 and 'New wait sites:' not in out and
          re.search(r'New task kinds:\n  straggler_main', out),
          'open: text: a new task kind, no new wait site', (status, out))


def section_sampled(s, bursts, burstslow):
    """wait_for_cache has 3 x 4096 intervals a run, more than a side keeps: the statistics take
    a uniform sample of 4096, and still find the regression, which only the later three
    quarters of the intervals show (a sample of the first 4096 would miss it)."""
    status, doc, err = s.diff_json([bursts[0]], [bursts[1]])
    cache = doc and rows_of(doc, 'wait', 'site', 'wait_for_cache', 'worker_main')
    check(status == 0 and cache and cache[0]['verdict'] == 'same' and
          all(r['lost_intervals'] == 0 for r in doc['base'] + doc['new']),
          'sampled: two fresh burst runs: no regression, no interval lost', (status, err, cache))
    check(cache and all(cache[0][side]['population'] == 4 * 3072 and
                        cache[0][side]['samples'] == 4096 for side in ('base', 'new')),
          'sampled: wait_for_cache: 12288 intervals a side, 4096 of them tested', cache)
    sus = doc and rows_of(doc, 'suspensions', 'site', 'wait_for_cache', 'worker_main')
    check(sus and sus[0]['statistic'] == 'exact' and sus[0]['base']['value'] == 3072 and
          sus[0]['verdict'] == 'same',
          'sampled: suspensions at wait_for_cache exact: 3072 per task', sus)
    status, out, err = s.diff([bursts[0]], [burstslow])
    rows = table_rows(out)
    check(status == 1 and rows and rows[0][0] == 'regression' and
          rows[0][2].startswith('wait_for_cache') and 'seeded uniform sample of 4096' in out,
          'sampled: burstslow: wait_for_cache the first regression, the text says it sampled',
          out)
    status, doc, err = s.diff_json([bursts[0]], [burstslow])
    cache = doc and rows_of(doc, 'wait', 'site', 'wait_for_cache', 'worker_main')
    check(cache and cache[0]['verdict'] == 'regression' and cache[0]['change'] > 1 and
          cache[0]['p'] < 1e-6 and cache[0]['new']['samples'] == 4096 and
          cache[0]['new']['population'] == 4 * 3072,
          'sampled: burstslow: wait_for_cache a regression of over +100% from 4096 samples',
          cache)
    again = s.diff_json([bursts[0]], [burstslow])[1]
    check(again == doc, 'sampled: the same traces give the same JSON (seeded)', '')


SCHEMA_ROW = {'metric': str, 'quantity': str, 'level': str, 'kind': str, 'site': (str, type(None)),
              'frames': (list, type(None)), 'unit': str, 'statistic': str, 'base': dict,
              'new': dict, 'change': (int, float, type(None)), 'ci': (list, type(None)),
              'p': (int, float, type(None)), 'verdict': str}


def section_json(s, bases, slow):
    status, doc, err = s.diff_json(bases[:2], [slow], '--metric', 'wait', '--metric', 'run',
                                   '--metric', 'switches', '--metric', 'tasks', '--metric',
                                   'raises')
    if not check(doc is not None, 'json: parsed', err):
        return
    check(doc['schema'] == 'costack.diff/1' and doc['regression'] is True and
          [r['trace'] for r in doc['base']] == bases[:2] and
          [r['trace'] for r in doc['new']] == [slow] and
          all(isinstance(r['lost_intervals'], int) and isinstance(r['open_intervals'], int)
              for r in doc['base'] + doc['new']),
          'json: schema, regression, the runs', {k: doc[k] for k in doc if k != 'rows'})
    check(doc['options'] == {'threshold': 0.1, 'alpha': 0.01, 'min_change_ns': 100000,
                             'per': None,
                             'metrics': ['wait', 'run', 'switches', 'tasks', 'raises']},
          'json: options', doc['options'])
    bad = []
    for r in doc['rows']:
        for key, kind in SCHEMA_ROW.items():
            if key not in r or not isinstance(r[key], kind):
                bad.append((key, r))
        if set(r) != set(SCHEMA_ROW):
            bad.append(('keys', r))
        if r['metric'] not in ('wait', 'run', 'switches', 'tasks', 'raises') or \
                r['level'] not in ('site', 'stack', 'kind', 'type', 'exception') or \
                r['unit'] not in ('ns', 'count') or \
                r['verdict'] not in ('regression', 'new', 'improvement', 'vanished', 'same'):
            bad.append(('enum', r))
        for side in ('base', 'new'):
            if set(r[side]) != {'value', 'per_task', 'runs_with', 'population', 'samples'} or \
                    not 0 <= r[side]['samples'] <= min(r[side]['population'], 4096):
                bad.append((side, r))
        if r['ci'] is not None and (len(r['ci']) != 2 or r['ci'][0] > r['ci'][1]):
            bad.append(('ci', r))
        if r['p'] is not None and not 0 <= r['p'] <= 1:
            bad.append(('p', r))
        for f in r['frames'] or []:
            if set(f) != {'function', 'module', 'offset', 'file', 'line', 'inlined'}:
                bad.append(('frame', f))
    check(doc['rows'] and not bad, 'json: every row has the schema\'s fields and types', bad[:5])
    check({r['metric'] for r in doc['rows']} >= {'wait', 'run', 'switches', 'tasks'},
          'json: every metric asked for is there', {r['metric'] for r in doc['rows']})
    for key in ('new_sites', 'vanished_sites', 'new_exceptions', 'vanished_exceptions'):
        check(isinstance(doc[key], list), 'json: %s is a list' % key, doc[key])


def section_per(s, bases):
    status, plain, err = s.diff_json([bases[0]], [bases[1]])
    status2, per, err2 = s.diff_json([bases[0]], [bases[1]], '--per', 'worker_main')
    if not check(plain and per, 'per: JSON read', (err, err2)):
        return
    tick = rows_of(plain, 'wait', 'site', 'tick_wait', 'ticker_main')
    tick_per = rows_of(per, 'wait', 'site', 'tick_wait', 'ticker_main')
    check(len(tick) == 1 and len(tick_per) == 1 and
          abs(tick_per[0]['base']['per_task'] * 4 - tick[0]['base']['per_task']) <
          1e-6 * tick[0]['base']['per_task'] and per['options']['per'] == 'worker_main',
          'per: --per worker_main: the ticker\'s wait over the 4 workers', (tick, tick_per))
    status, out, err = s.diff([bases[0]], [bases[1]], '--per', 'no_such_entry')
    check(status == 2 and not out and
          err.strip() == 'costack diff: --per no_such_entry: no task of trace %s ran '
          'no_such_entry' % bases[0], 'per: an entry no task ran: exit 2, one line',
          (status, err))


SVG = '{http://www.w3.org/2000/svg}'


def svg_frames(text):
    """The frames of a differential SVG: name -> [{base, new, width, fill, rgb, title, cls}]
    (rgb None for a pattern); None when it is not XML."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    frames = {}
    for g in root.iter(SVG + 'g'):
        cls = (g.get('class') or '').split()
        if 'f' not in cls:
            continue
        rect, title = g.find(SVG + 'rect'), g.find(SVG + 'title')
        fill = rect.get('fill')
        m = re.match(r'rgb\((\d+),(\d+),(\d+)\)$', fill)
        frames.setdefault(g.get('data-n'), []).append({
            'base': int(g.get('data-b')), 'new': int(g.get('data-w')),
            'width': int(g.get('data-e')) - int(g.get('data-s')),
            'depth': int(g.get('data-d')), 'fill': fill,
            'rgb': tuple(int(x) for x in m.groups()) if m else None,
            'title': title.text if title is not None else '', 'cls': cls})
    return frames


def redness(frame):
    """How red (> 0) or blue (< 0) a frame is: 0 neutral, about 215 full."""
    r, _, b = frame['rgb']
    return r - b


def svg_of(s, base, new, *args):
    """costack diff ... --format svg -o FILE: (status, frames, text, stderr)."""
    path = os.path.join(s.work, 'diff.svg')
    if os.path.exists(path):
        os.unlink(path)
    status, out, err = s.diff(base, new, '--format', 'svg', '-o', path, *args)
    text = open(path).read() if os.path.exists(path) else ''
    return status, svg_frames(text), text, err + out


def section_svg(s, bases, slow, newsite):
    round_ns = int(PERIOD_US) * 1000
    per_run = 4 * int(ROUNDS) * round_ns  # each site's wait per run: 4 workers, ROUNDS waits
    status, frames, text, err = svg_of(s, [bases[0]], [slow])
    if not check(frames is not None, 'svg: slow: parses as XML', (status, err, text[:500])):
        return
    check(status == 1 and 'REGRESSION' in err and 'REGRESSION' in text,
          'svg: slow: exit 1, the gate\'s (on stderr and in the subtitle)', (status, err))
    check(not re.search(r'(href|src)\s*=', text) and
          'http://' not in text.replace('http://www.w3.org/2000/svg', '') and
          'mouseover' in text and 'zoom' in text and 'search' in text,
          'svg: self-contained (no external reference) and interactive')
    lock, io = frames.get('wait_for_lock', []), frames.get('wait_for_io', [])
    check(len(lock) == 1 and lock[0]['rgb'] and redness(lock[0]) > 150 and
          0.6 < lock[0]['new'] / lock[0]['base'] - 1 < 1.4 and
          re.search(r'base .*, new .* per run, \+\d+\.\d%', lock[0]['title']),
          'svg: slow: wait_for_lock (+100%) deep red, its hover tells base, new and change',
          lock)
    check(lock and lock[0]['width'] == lock[0]['new'] and abs(lock[0]['new'] - 2 * per_run) <
          0.2 * 2 * per_run, 'svg: slow: wait_for_lock as wide as NEW\'s time (its shape)', lock)
    check(len(io) == 1 and io[0]['rgb'] and abs(redness(io[0])) < 50,
          'svg: slow: wait_for_io (the same) neutral', io)
    status_text = s.diff([bases[0]], [slow])[0]
    check(status == status_text, 'svg: slow: the exit status of the text table', status_text)
    status, out, err = s.diff([bases[0]], [slow], '--format', 'svg')
    check(out == text, 'svg: to stdout without -o, the same graph', (status, err, out[:300]))

    # Per run: 3 base runs against 1 slow run, each side's time divided by its runs.
    status, frames, text, err = svg_of(s, bases[:3], [slow])
    lock = (frames or {}).get('wait_for_lock', [])
    check(len(lock) == 1 and abs(lock[0]['base'] - per_run) < 0.2 * per_run and
          abs(lock[0]['new'] - 2 * per_run) < 0.2 * 2 * per_run and redness(lock[0]) > 150 and
          'BASE' in text and '(3 runs)' in text,
          'svg: 3 base runs against 1: wait_for_lock per run, %d ms against %d ms' %
          (per_run // 1000000, 2 * per_run // 1000000), lock)

    # Vanished: newsite as BASE; and the other way round, new.
    status, frames, text, err = svg_of(s, [newsite], [bases[0]])
    disk = (frames or {}).get('wait_for_disk', [])
    want = 4 * len(range(0, int(ROUNDS), 5)) * round_ns
    check(status == 0 and len(disk) == 1 and 'vanished' in disk[0]['cls'] and
          disk[0]['new'] == 0 and disk[0]['fill'] == 'url(#vanished)' and
          abs(disk[0]['base'] - want) < 0.2 * want and disk[0]['width'] == disk[0]['base'] and
          'vanished: was' in disk[0]['title'],
          'svg: newsite against base: wait_for_disk drawn, vanished, with BASE\'s time, exit 0',
          (status, disk, err))
    check(frames and all('vanished' not in f['cls'] for n, fs in frames.items() for f in fs
                         if n != 'wait_for_disk'), 'svg: nothing else vanished',
          frames and {n: fs for n, fs in frames.items() if 'vanished' in str(fs)})
    status, frames, text, err = svg_of(s, [bases[0]], [newsite])
    disk = (frames or {}).get('wait_for_disk', [])
    check(status == 1 and len(disk) == 1 and disk[0]['base'] == 0 and disk[0]['rgb'] and
          redness(disk[0]) > 200 and 'not in BASE' in disk[0]['title'],
          'svg: base against newsite: wait_for_disk full red, new, exit 1', (status, disk))

    # Two runs of the same program: nothing that shows is strongly red or blue.
    for b, n in (([bases[0]], [bases[1]]), (bases[:3], bases[3:6])):
        status, frames, text, err = svg_of(s, b, n)
        if not check(frames, 'svg: same: parsed (%d a side)' % len(b), err):
            continue
        total = sum(f['width'] for fs in frames.values() for f in fs if f['depth'] == 0)
        strong = [(name, f) for name, fs in frames.items() for f in fs
                  if f['width'] >= 0.01 * total and (not f['rgb'] or abs(redness(f)) >= 100)]
        check(status == 0 and not strong,
              'svg: same (%d a side): no frame of 1%% or more strongly red or blue, exit 0' %
              len(b), (status, strong))

    # --metric: run time drawn with --metric run; switches alone have no graph.
    status, frames, text, err = svg_of(s, [bases[0]], [slow], '--metric', 'run')
    check(frames and 'costack diff (run)' in text and
          status == s.diff([bases[0]], [slow], '--metric', 'run')[0],
          'svg: --metric run: run time, the gate of the text table', (status, err))
    status, out, err = s.diff([bases[0]], [slow], '--format', 'svg', '--metric', 'switches')
    check(status == 2 and not out and
          re.match(r"costack diff: --format svg draws where tasks waited or ran: give "
                   r"--metric wait or run .*\nTry ", err),
          'svg: --metric switches alone: exit 2, one line', (status, err))


def section_errors(s, bases):
    empty = os.path.join(s.work, 'empty')
    os.makedirs(empty, exist_ok=True)
    missing = os.path.join(s.work, 'nonexistent')
    b = bases[0]
    cases = [
        ([b, b], 2, r"^costack diff: no -- between the BASE and the NEW traces\nTry "),
        (['--', b], 2, r"^costack diff: no BASE trace given\nTry "),
        ([b, '--'], 2, r"^costack diff: no NEW trace after -- given\nTry "),
        ([b, '--', b, '--threshold', 'x'], 2, r"^costack diff: bad --threshold 'x'"),
        ([b, '--', b, '--alpha', '2'], 2, r"^costack diff: bad --alpha '2'"),
        ([b, '--', b, '--metric', 'joy'], 2, r"^costack diff: unknown metric 'joy'"),
        ([b, '--', b, '--format', 'png'], 2, r"^costack diff: unknown format 'png'"),
        ([b, '--', b, '--min-change', '5parsecs'], 2, r"^costack diff: bad --min-change"),
        (['--frobnicate', b, '--', b], 2, r"^costack diff: unknown option '--frobnicate'"),
        ([missing, '--', b], 3,
         r"^costack diff: cannot read trace .*nonexistent: No such file or directory\n$"),
        ([b, '--', empty], 3, r"^costack diff: cannot read trace .*empty: no CTF trace in it"),
        ([b, '--', b, '--format', 'svg', '-o', os.path.join(missing, 'diff.svg')], 3,
         r"costack diff: cannot write .*nonexistent/diff\.svg: No such file or directory\n$"),
    ]
    for args, want, pattern in cases:
        status, out, err = run(s.costack, 'diff', *args)
        shown = ' '.join(os.path.basename(a) for a in args)
        check(status == want and not out and re.search(pattern, err) and
              len(err.strip().split('\n')) <= 2,
              'errors: costack diff %s: exit %d, "%s"' % (shown, want, pattern.split('\\n')[0]),
              (status, err, out[:300]))
    status, out, err = run(s.costack, 'diff', '--help')
    check(status == 0 and 'costack diff base-* -- new-*' in out and 'Exit status' in out and
          '1  A regression' in out, 'errors: --help shows how to wire it into CI', out[-800:])


def main():
    if not lttng_session.enter_namespaces():
        print('FAILED: needs root and unshare(1) for a session daemon of its own')
        return 1
    s = Setup(sys.argv[1:])
    try:
        with lttng_session.SessionDaemon():
            began = time.monotonic()
            # Interleaved, so that a machine getting busier makes neither side slower.
            bases, slows = [], []
            for i in range(s.base_runs):
                bases.append(s.record('base-%d' % i, 'base'))
                if i < 5:
                    slows.append(s.record('slow-%d' % i, 'slow'))
            slow = slows[0]
            newsite = s.record('newsite', 'newsite')
            switch = s.record('switch', 'switch')
            straggler = s.record('straggler', 'straggler')
            # tens of thousands of events in a second or two: sub-buffers that lose none
            big = {'subbuf-size': '1M', 'num-subbuf': '8'}
            bursts = [s.record('burst-%d' % i, 'burst', big) for i in range(2)]
            burstslow = s.record('burstslow', 'burstslow', big)
            print('recorded %d traces in %.1f s' % (s.base_runs + 11, time.monotonic() - began))
        section_same(s, bases)
        section_slow(s, bases, slow)
        section_runs(s, bases, slows)
        section_newsite(s, bases, newsite)
        section_switch(s, bases, switch)
        section_open(s, bases, straggler)
        section_sampled(s, bursts, burstslow)
        section_json(s, bases, slow)
        section_per(s, bases)
        section_svg(s, bases, slow, newsite)
        section_errors(s, bases)
    finally:
        if not s.keep:
            shutil.rmtree(s.work, ignore_errors=True)
    return finish('test_diff')


if __name__ == '__main__':
    sys.exit(main())
