#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_flame.py - costack flame and costack timeline on a recording of known waits.

Usage: test_flame.py COSTACK LIBCOSTACK_SO LIBCOSTACK_LTTNG_SO PLUGIN_DIR FLAME_TARGET
                     OFFLINE_TARGET SECTION...

flame_target (tests/offline/flame_target.c) runs 2 ucontext workers in rounds of ROUND_MS of real
time; each worker waits CYCLES times 1 round in wait_one_round() and 3 rounds in
wait_three_rounds(), timing each wait itself: its own measure is the oracle.

Sections:
  flame     folded (--by none, --by task, --by entry), speedscope, pprof and svg: each gives
            wait_one_round and wait_three_rounds the time the program measured there, within
            20% (and 1:3 rounds of the nominal time); the speedscope file against speedscope's
            published file-format schema ($COSTACK_SPEEDSCOPE_SCHEMA, jsonschema: a missing
            schema fails), its weights whole nanoseconds; `go tool pprof -top`
            and `-tags` read the pprof file (the sites' cumulative times, the task_name,
            task_id and runtime labels); the SVG parses as XML, names both sites, has its
            script and no external reference. --run: the workers ran after waking at both
            sites; --both: root frames wait and run; --task keeps one worker; --from/--to cut
            time; two traces merged weigh twice one.
  timeline  Chrome trace-event JSON (checked against the format: every event's required
            fields by phase): one track per task under the process, named by the task's
            name; a suspended slice per wait the program counted, named by its site, with
            the full stack in args, lasting what the program measured; running slices named
            by where they resumed; flow arrows between the switching tasks; task-end
            instants with their fate; the thread each slice ran on.
  sinks     babeltrace2 -c sink.costack.flame and -c sink.costack.timeline give what the
            command gives.
  lost      offline_target flood recorded with 4 KiB sub-buffers (events lost): flame says on
            stderr how many nanoseconds it left out, and the same figure in pprof's comments,
            speedscope's name and the SVG's subtitle; the timeline shows the gaps on a track
            of their own and intervals they may cut as unknown, and stays valid.
  errors    bad options, no such trace: message and exit status.

Each test runs in mount and pid namespaces of its own with its own session daemon
(tests/lttng/lttng_session.py). No sleeps as synchronisation: the program's real-time waits are
what is measured, and weights are checked within a tolerance.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lttng'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import lttng_session  # noqa: E402
from checks import check, finish, folded_weights  # noqa: E402

ROUND_MS = 25
CYCLES = 6
SITES = ['wait_one_round', 'wait_three_rounds']
ROUNDS = {'wait_one_round': 1, 'wait_three_rounds': 3}
TOLERANCE = 0.20

# speedscope's published JSON schema of its file format (draft-07, generated from its
# src/lib/file-format-spec.ts; https://www.speedscope.app/file-format-schema.json), from the npm
# package speedscope that scripts/install-deps.sh installs; tests/offline/meson.build passes its
# path. What costack promises beyond it (sampled profiles in nanoseconds, whole non-negative
# weights that add up to each profile's span, frame indexes in range) is checked by hand below.
SPEEDSCOPE_SCHEMA_ENV = 'COSTACK_SPEEDSCOPE_SCHEMA'


def check_speedscope_schema(doc, what):
    """doc against speedscope's published schema; a missing schema fails, naming the fix."""
    path = os.environ.get(SPEEDSCOPE_SCHEMA_ENV, '')
    try:
        import jsonschema
    except ImportError:
        return check(False, '%s: valid against speedscope\'s file-format schema' % what,
                     'python3-jsonschema is missing (scripts/install-deps.sh installs it)')
    if not path or not os.path.isfile(path):
        return check(False, '%s: valid against speedscope\'s file-format schema' % what,
                     'no schema at %r (%s): scripts/install-deps.sh installs it (npm install '
                     '--prefix /opt/costack-test speedscope@1.25.0)'
                     % (path, SPEEDSCOPE_SCHEMA_ENV))
    with open(path) as f:
        schema = json.load(f)
    validator = jsonschema.validators.validator_for(schema)
    try:
        validator.check_schema(schema)
        validator(schema).validate(doc)
        ok, detail = True, ''
    except jsonschema.SchemaError as e:
        ok, detail = False, 'the schema %s is not a %s schema: %s' % (
            path, validator.__name__, str(e)[:1000])
    except jsonschema.ValidationError as e:
        ok, detail = False, str(e)[:2000]
    return check(ok, '%s: valid against speedscope\'s file-format schema (%s)'
                 % (what, validator.__name__), detail)


def run(*args, env=None, binary=False):
    r = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=600, env=env)
    if binary:
        return r.returncode, r.stdout, r.stderr.decode(errors='replace')
    return (r.returncode, r.stdout.decode(errors='surrogateescape'),
            r.stderr.decode(errors='replace'))


def near(got, want, tolerance=TOLERANCE):
    return want > 0 and abs(got - want) <= tolerance * want


class Setup:
    def __init__(self, argv):
        (self.costack, self.libcostack, self.provider, self.plugin_dir,
         self.target, self.offline_target) = [os.path.abspath(a) for a in argv[:6]]
        self.sections = argv[6:]
        self.work = tempfile.mkdtemp(prefix='costack-flame-')

    def record(self, name, cycles=CYCLES):
        """Record flame_target: (trace dir, what the program measured)."""
        trace = os.path.join(self.work, name)
        truth = os.path.join(self.work, name + '.json')
        r = lttng_session.record(trace, [self.target, truth, str(ROUND_MS), str(cycles)],
                                 self.libcostack, self.provider)
        check(r.returncode == 0, 'flame_target %s ran' % name, r.stderr)
        with open(truth) as f:
            return trace, json.load(f)

    def flame(self, *args, binary=False):
        return run(self.costack, 'flame', *args, binary=binary)


def site_of(frames):
    """The site a stack (a list of function names, oldest first) waits at, or None."""
    for name in reversed(frames):
        if name in SITES:
            return name
    return None


def site_totals(lines):
    totals = dict.fromkeys(SITES, 0)
    for stack, weight in lines.items():
        site = site_of(stack.split(';'))
        if site:
            totals[site] += weight
    return totals


def check_sites(totals, truth, what, factor=1):
    """Each site's weight against what the program measured (and the nominal rounds)."""
    for site in SITES:
        want = truth['sites'][site]['ns'] * factor
        nominal = (truth['sites'][site]['waits'] * ROUNDS[site] * truth['round_ns'] * factor)
        check(near(totals[site], want), '%s: %s weighs what the program measured (%d ns)'
              % (what, site, want), (totals[site], want))
        check(near(totals[site], nominal), '%s: %s weighs %d rounds a wait'
              % (what, site, ROUNDS[site]), (totals[site], nominal))


def section_flame(s):
    trace, truth = s.record('flame')
    workers = {w['name']: w for w in truth['workers']}

    # folded, all tasks merged
    status, out, err = s.flame(trace, '--by', 'none')
    check(status == 0, 'flame folded: exit 0', err)
    check('left out' not in err and 'costack flame:' in err,
          'flame: stderr says the time counted, nothing left out', err)
    lines = folded_weights(out)
    check_sites(site_totals(lines), truth, 'folded --by none')
    check(all(not re.match(r'worker\d \(task', stack) for stack in lines),
          'folded --by none: no task root frame', list(lines)[:3])
    worker_lines = [k.split(';') for k in lines if site_of(k.split(';'))]
    check(worker_lines and all(f[-1] in SITES and f.index('worker_entry') < f.index(site_of(f))
                               for f in worker_lines),
          'folded: oldest frame first, the site innermost', worker_lines)

    # folded by task: a root frame per worker, "NAME (task ID)", each half of the time
    status, out, err = s.flame(trace)
    lines = folded_weights(out)
    for name, w in workers.items():
        root = '%s (task %d)' % (name, w['id'])
        mine = {k: v for k, v in lines.items() if k.split(';')[0] == root}
        check(mine, 'folded --by task: root frame %s' % root, list(lines)[:5])
        totals = site_totals(mine)
        for site in SITES:
            want = truth['sites'][site]['ns'] / len(workers)
            check(near(totals[site], want), 'folded --by task: %s waited at %s half the time'
                  % (name, site), (totals[site], want))
    check(any(k.startswith('[thread ') or '(task %d)' % truth['main'] in k.split(';')[0]
              for k in lines), 'folded --by task: the main thread\'s root task too',
          list(lines)[:5])

    # --by entry: the workers merged under their entry function
    status, out, err = s.flame(trace, '--by', 'entry')
    lines = folded_weights(out)
    entry_lines = {k: v for k, v in lines.items() if k.split(';')[0] == 'worker_entry'}
    check_sites(site_totals(entry_lines), truth, 'folded --by entry (worker_entry)')

    # speedscope, a profile per task
    path = os.path.join(s.work, 'flame.speedscope.json')
    status, out, err = s.flame(trace, '--format', 'speedscope', '-o', path)
    check(status == 0 and out == '', 'speedscope: exit 0, written to -o FILE', err)
    with open(path) as f:
        doc = json.load(f)
    check_speedscope_schema(doc, 'speedscope')
    frames = doc['shared']['frames']
    totals = dict.fromkeys(SITES, 0)
    names = []
    for p in doc['profiles']:
        names.append(p['name'])
        check(p['unit'] == 'nanoseconds' and p['type'] == 'sampled',
              'speedscope: %s sampled in nanoseconds' % p['name'], p['unit'])
        check(all(isinstance(w, int) and w >= 0 for w in p['weights']),
              'speedscope: %s weights are whole nanoseconds' % p['name'], p['weights'][:10])
        check(len(p['samples']) == len(p['weights']) and
              p.get('endValue', -1) - p.get('startValue', 0) == sum(p['weights']),
              'speedscope: %s samples, weights and span agree' % p['name'])
        check(all(0 <= i < len(frames) for st in p['samples'] for i in st),
              'speedscope: %s frame indexes in range' % p['name'])
        for st, weight in zip(p['samples'], p['weights']):
            site = site_of([frames[i]['name'] for i in st])
            if site:
                totals[site] += weight
    for name, w in workers.items():
        check('%s (task %d)' % (name, w['id']) in names, 'speedscope: a profile for %s' % name,
              names)
    check_sites(totals, truth, 'speedscope')
    check(any(f.get('file', '').endswith('flame_target.c') and f.get('line', 0) > 0
              for f in frames), 'speedscope: frames have file and line', frames[:5])

    # pprof, read by go tool pprof
    path = os.path.join(s.work, 'flame.pb.gz')
    status, out, err = s.flame(trace, '--format', 'pprof', '-o', path)
    check(status == 0, 'pprof: exit 0', err)
    with open(path, 'rb') as f:
        raw = f.read()
    check(raw[:2] == b'\x1f\x8b', 'pprof: gzip-compressed', raw[:4])
    gocache = os.path.join(s.work, 'gocache')
    env = dict(os.environ, GOCACHE=gocache, HOME=s.work, PPROF_TMPDIR=s.work,
               GOFLAGS='-mod=mod', GOTOOLCHAIN='local')
    go = shutil.which('go') or '/usr/lib/go/bin/go'
    status, out, err = run(go, 'tool', 'pprof', '-top', '-unit=ns', '-nodecount=1000',
                           '-symbolize=none', path, env=env)
    check(status == 0, 'go tool pprof -top reads it', err + out[:2000])
    check('Type: wait' in out, 'go tool pprof: sample type wait', out[:500])
    cum = {}
    for line in out.splitlines():
        m = re.match(r'\s*(\d+)(?:ns)?\s+[\d.]+%\s+[\d.]+%\s+(\d+)(?:ns)?\s+[\d.]+%\s+(.+?)\s*$',
                     line)
        if m:
            cum[m.group(3)] = int(m.group(2))
    check_sites({site: cum.get(site, 0) for site in SITES}, truth, 'go tool pprof -top')
    status, out, err = run(go, 'tool', 'pprof', '-tags', '-symbolize=none', path, env=env)
    check(status == 0, 'go tool pprof -tags reads the labels', err)
    for name, w in workers.items():
        check(re.search(r'\b%s\b' % name, out), 'pprof label task_name: %s' % name, out[:1500])
        check(re.search(r'\b%d\b' % w['id'], out), 'pprof label task_id: %d' % w['id'],
              out[:1500])
    check('runtime' in out and 'ucontext' in out, 'pprof label runtime: ucontext', out[:1500])
    status, out, err = run(go, 'tool', 'pprof', '-raw', '-symbolize=none', path, env=env)
    check(status == 0 and 'wait/nanoseconds' in out, 'pprof -raw: sample type wait/nanoseconds',
          out[:800])

    # SVG: XML, both sites named with their time, interactive, self-contained
    path = os.path.join(s.work, 'flame.svg')
    status, out, err = s.flame(trace, '--format', 'svg', '-o', path)
    check(status == 0, 'svg: exit 0', err)
    try:
        root = ET.parse(path).getroot()
        parsed = True
    except ET.ParseError as e:
        root, parsed = None, False
        check(False, 'svg: parses as XML', e)
    if parsed:
        ns = '{http://www.w3.org/2000/svg}'
        check(root.tag == ns + 'svg', 'svg: an <svg> document', root.tag)
        totals = dict.fromkeys(SITES, 0)
        titles = []
        for g in root.iter(ns + 'g'):
            if g.get('class') != 'f':
                continue
            name = g.get('data-n')
            title = g.find(ns + 'title')
            titles.append(title.text if title is not None else '')
            if name in SITES:
                totals[name] += int(g.get('data-e')) - int(g.get('data-s'))
        check_sites(totals, truth, 'svg')
        for site in SITES:
            check(any(t.startswith(site + ' (') and '%)' in t for t in titles),
                  'svg: %s has a title with its time and share' % site, titles[:5])
        scripts = ''.join(x.text or '' for x in root.iter(ns + 'script'))
        check('mouseover' in scripts and 'zoom' in scripts and 'search' in scripts,
              'svg: its script hovers, zooms and searches')
    with open(path) as f:
        text = f.read()
    check(not re.search(r'(href|src)\s*=', text) and 'http://' not in
          text.replace('http://www.w3.org/2000/svg', ''),
          'svg: no external reference (no network)')

    # --run: the workers ran after waking at both sites
    status, out, err = s.flame(trace, '--run', '--by', 'none')
    lines = folded_weights(out)
    ran = site_totals(lines)
    check(status == 0 and all(ran[site] > 0 for site in SITES),
          '--run: time after waking at each site', ran)
    check(sum(ran.values()) < sum(truth['sites'][x]['ns'] for x in SITES) / 10,
          '--run: the workers ran much less than they waited (they do little)', ran)
    main_ran = sum(v for k, v in lines.items() if site_of(k.split(';')) is None)
    # (and before and after the rounds, to the trace's end: it is running then)
    check(main_ran >= 0.7 * (truth['end_ns'] - truth['begin_ns']),
          '--run: the scheduler (main\'s root task) ran all along, sleeping its rounds',
          (main_ran, truth['end_ns'] - truth['begin_ns']))

    # --both: wait and run root frames
    status, out, err = s.flame(trace, '--both', '--by', 'none')
    lines = folded_weights(out)
    roots = {k.split(';')[0] for k in lines}
    check(roots == {'wait', 'run'}, '--both: root frames wait and run', roots)
    check_sites(site_totals({k: v for k, v in lines.items() if k.startswith('wait;')}), truth,
                '--both (wait)')

    # --task: one worker; --pid of another process: nothing
    w0 = workers['worker0']
    status, out, err = s.flame(trace, '--task', str(w0['id']))
    lines = folded_weights(out)
    check(lines and all(k.startswith('worker0 (task') for k in lines),
          '--task: only that task', list(lines)[:3])
    status, out, err = s.flame(trace, '--pid', '1')
    check(status == 0 and out == '', '--pid of no recorded process: empty profile', out[:300])

    # --from/--to: the workers' waits before and after the middle of the rounds (an epoch
    # TIME), each about half, adding up to the whole; --from +0s is the whole trace
    def waited(*args):
        return sum(site_totals(folded_weights(s.flame(trace, '--by', 'none', *args)[1])).values())
    total = waited()
    mid = (truth['begin_ns'] + truth['end_ns']) // 2
    mid_arg = '%d.%09d' % (mid // 10**9, mid % 10**9)
    first, last = waited('--to', mid_arg), waited('--from', mid_arg)
    want_first = (mid - truth['begin_ns']) * len(workers)
    check(near(first + last, total, 0.001), '--from/--to: the halves add up to the whole',
          (first, last, total))
    check(near(first, want_first), '--to: the first half holds the waits before it',
          (first, want_first))
    check(waited('--from', '+0s') == total, '--from +0s: the whole trace')

    # two traces merged weigh twice one
    trace2, truth2 = s.record('flame2')
    status, out, err = s.flame(trace, trace2, '--by', 'none')
    check(status == 0 and 'in 2 traces' in err, 'two traces read', err)
    merged = site_totals(folded_weights(out))
    for site in SITES:
        want = truth['sites'][site]['ns'] + truth2['sites'][site]['ns']
        check(near(merged[site], want), 'two traces: %s weighs both runs' % site,
              (merged[site], want))


# The trace-event format (Google's "Trace Event Format" document, the JSON Object Format):
# what each phase costack writes requires.
TRACE_EVENT_SCHEMA = {
    '$schema': 'http://json-schema.org/draft-07/schema#',
    'type': 'object',
    'required': ['traceEvents'],
    'properties': {
        'traceEvents': {'type': 'array', 'items': {'$ref': '#/definitions/event'}},
        'displayTimeUnit': {'enum': ['ms', 'ns']},
        'otherData': {'type': 'object'},
    },
    'definitions': {
        'event': {
            'type': 'object',
            'required': ['ph', 'name', 'pid', 'tid', 'ts'],
            'properties': {
                'ph': {'enum': ['X', 'i', 's', 'f', 'M']},
                'name': {'type': 'string'}, 'cat': {'type': 'string'},
                'pid': {'type': 'integer'}, 'tid': {'type': 'integer'},
                'ts': {'type': 'number', 'minimum': 0}, 'args': {'type': 'object'},
            },
            'allOf': [
                {'if': {'properties': {'ph': {'const': 'X'}}},
                 'then': {'required': ['dur'], 'properties': {
                     'dur': {'type': 'number', 'minimum': 0}}}},
                {'if': {'properties': {'ph': {'const': 'i'}}},
                 'then': {'required': ['s'], 'properties': {'s': {'enum': ['g', 'p', 't']}}}},
                {'if': {'properties': {'ph': {'enum': ['s', 'f']}}},
                 'then': {'required': ['id', 'cat']}},
                {'if': {'properties': {'ph': {'const': 'f'}}},
                 'then': {'properties': {'bp': {'const': 'e'}}}},
                {'if': {'properties': {'ph': {'const': 'M'}}},
                 'then': {'required': ['args'], 'properties': {
                     'name': {'enum': ['process_name', 'thread_name', 'process_sort_index',
                                       'thread_sort_index']}}}},
            ],
        },
    },
}


def check_trace_events(doc, what):
    try:
        import jsonschema
        jsonschema.validate(doc, TRACE_EVENT_SCHEMA)
        ok, detail = True, ''
    except ImportError:
        ok, detail = False, 'python3-jsonschema is missing (scripts/install-deps.sh)'
    except jsonschema.ValidationError as e:
        ok, detail = False, str(e)[:2000]
    check(ok, '%s: valid trace-event JSON' % what, detail)


def section_timeline(s):
    trace, truth = s.record('timeline')
    path = os.path.join(s.work, 'timeline.json')
    status, out, err = run(s.costack, 'timeline', trace, '-o', path)
    check(status == 0 and out == '', 'timeline: exit 0, written to -o FILE', err)
    with open(path) as f:
        doc = json.load(f)
    check_timeline(doc, truth, 'timeline')
    check(doc['otherData'].get('schema') == 'costack.timeline/1' and
          doc['otherData'].get('lost_events') == 0, 'timeline: otherData', doc['otherData'])
    # a window: only what overlaps it, cut to it
    mid = (truth['begin_ns'] + truth['end_ns']) // 2
    mid_arg = '%d.%09d' % (mid // 10**9, mid % 10**9)
    status, out, err = run(s.costack, 'timeline', trace, '--from', mid_arg)
    late = json.loads(out)
    origin = doc['otherData']['start_ns']
    starts = [e['ts'] for e in late['traceEvents'] if e['ph'] == 'X']
    check(status == 0 and starts and min(starts) * 1000 + origin >= mid - 1000,
          'timeline --from: nothing before it', (min(starts) * 1000 + origin, mid) if starts
          else err)
    # one task
    w0 = truth['workers'][0]
    status, out, err = run(s.costack, 'timeline', trace, '--task', str(w0['id']))
    one = json.loads(out)
    tracks = {(e['pid'], e['tid']) for e in one['traceEvents'] if e['ph'] != 'M'}
    check(status == 0 and {t for _, t in tracks} == {w0['id']},
          'timeline --task: one track', tracks)
    status, out, err = run(s.costack, 'timeline', trace, '--help')
    check(status == 0 and re.search(r'bytes per (interval|event|switch)', out) is not None and 'Perfetto' in out,
          'timeline --help: says how big the output gets per event', out[:200])
    return doc


def check_timeline(doc, truth, what):
    """A timeline of flame_target against what the program measured."""
    check_trace_events(doc, what)
    events = doc['traceEvents']
    workers = {w['id']: w for w in truth['workers']}
    names = {(e['pid'], e['tid']): e['args']['name'] for e in events
             if e['ph'] == 'M' and e['name'] == 'thread_name'}
    pids = {pid for pid, _ in names}
    check(len(pids) == 1, '%s: one process' % what, pids)
    pid = pids.pop() if len(pids) == 1 else None
    check(set(t for _, t in names) == set(workers) | {truth['main']},
          '%s: one track per task (2 workers, main)' % what, names)
    for wid, w in workers.items():
        check(names.get((pid, wid)) == '%s (task %d)' % (w['name'], wid),
              '%s: track of %s named by its name' % (what, w['name']), names)
    procs = [e for e in events if e['ph'] == 'M' and e['name'] == 'process_name']
    check(len(procs) == 1 and procs[0]['args']['name'] == 'flame_target',
          '%s: the process is named' % what, procs)
    slices = [e for e in events if e['ph'] == 'X']
    check(all(e['args'].get('thread') == pid for e in slices),
          '%s: every slice says its thread' % what, slices[:2])
    for wid, w in workers.items():
        mine = [e for e in slices if e['tid'] == wid]
        for site in SITES:
            waits = [e for e in mine if e['cat'] == 'suspended' and e['name'] == site]
            check(len(waits) == truth['cycles'], '%s: %s waited %d times at %s'
                  % (what, w['name'], truth['cycles'], site), len(waits))
            total = sum(e['dur'] for e in waits) * 1000
            want = truth['sites'][site]['ns'] / len(workers)
            check(near(total, want), '%s: %s\'s waits at %s last what it measured'
                  % (what, w['name'], site), (total, want))
            check(all(any(f.startswith(site + ' (') for f in e['args']['stack']) and
                      any(f.startswith('worker_entry') for f in e['args']['stack'])
                      for e in waits), '%s: the full stack in args' % what,
                  waits[0]['args'] if waits else None)
            runs = [e for e in mine if e['cat'] == 'running' and e['name'] == 'run after ' + site]
            # (after the last wait_three_rounds it runs into wait_before_raise)
            check(len(runs) == truth['cycles'], '%s: %s ran %d times after %s'
                  % (what, w['name'], truth['cycles'], site), len(runs))
        running = [e for e in mine if e['cat'] == 'running']
        check(len(running) == w['resumes'], '%s: %s has a running slice per resume (%d)'
              % (what, w['name'], w['resumes']), len(running))
        check(sum(e['name'] == 'run from worker_entry' for e in running) == 1,
              '%s: %s\'s first run from its entry' % (what, w['name']),
              [e['name'] for e in running][:3])
        check(not any(e['cat'] == 'unknown' for e in mine), '%s: nothing unknown' % what)
        instants = [e for e in events if e['ph'] == 'i' and e['tid'] == wid]
        raises = [e for e in instants if e['name'] == 'raise std::runtime_error']
        check(len(raises) == 1 and raises[0]['args']['what'] == 'flame_target raise',
              '%s: %s\'s raise, with type and what' % (what, w['name']), instants)
        ends = [e for e in instants if e['name'].startswith('end: ')]
        check(len(ends) == 1 and ends[0]['args']['fate'] == 'done',
              '%s: %s ended done' % (what, w['name']), ends)
    starts = {e['id']: e for e in events if e['ph'] == 's'}
    finishes = {e['id']: e for e in events if e['ph'] == 'f'}
    check(starts and set(starts) == set(finishes), '%s: flow arrows paired' % what,
          (len(starts), len(finishes)))
    resumes = sum(w['resumes'] for w in workers.values())
    to_workers = [i for i, e in finishes.items() if e['tid'] in workers]
    check(len(to_workers) == resumes and
          all(starts[i]['tid'] == truth['main'] for i in to_workers),
          '%s: an arrow from main to a worker per resume' % what, (len(to_workers), resumes))
    back = [i for i, e in finishes.items() if e['tid'] == truth['main']]
    # (a worker's last return to main, through uc_link, may be told as its end and main's
    # resume: no arrow then)
    check(len(back) in (resumes - len(workers), resumes) and
          all(starts[i]['tid'] in workers for i in back),
          '%s: an arrow back to main per suspension' % what, (len(back), resumes))


def section_sinks(s):
    trace, truth = s.record('sinks')

    def babeltrace(*args):
        return run('babeltrace2', '--plugin-path=' + s.plugin_dir, trace, *args)

    for by in ['task', 'entry', 'none']:
        status, sink_out, err = babeltrace('-c', 'sink.costack.flame', '-p', 'by="%s"' % by)
        check(status == 0, 'sink.costack.flame by=%s: exit 0' % by, err)
        _, cli_out, _ = s.flame(trace, '--by', by)
        check(sorted(sink_out.splitlines()) == sorted(cli_out.splitlines()) and cli_out,
              'sink.costack.flame by=%s: what costack flame gives' % by,
              (sink_out[:500], cli_out[:500]))
    # task and pid: the sink selects what --task and --pid select (one worker; no process)
    w0 = {w['name']: w for w in truth['workers']}['worker0']
    for param, args, some in [('task=%d' % w0['id'], ['--task', str(w0['id'])], True),
                              ('pid=1', ['--pid', '1'], False)]:
        status, sink_out, err = babeltrace('-c', 'sink.costack.flame', '-p', param)
        _, cli_out, _ = s.flame(trace, *args)
        check(status == 0 and sorted(sink_out.splitlines()) == sorted(cli_out.splitlines()) and
              bool(cli_out) == some, 'sink.costack.flame %s: what costack flame %s gives' %
              (param, ' '.join(args)), (err[-300:], sink_out[:300], cli_out[:300]))
    path = os.path.join(s.work, 'sink-timeline-task.json')
    status, _, err = babeltrace('-c', 'sink.costack.timeline',
                                '-p', 'task=%d,output="%s"' % (w0['id'], path))
    _, cli_out, _ = run(s.costack, 'timeline', trace, '--task', str(w0['id']))
    with open(path) as f:
        sink_text = f.read()
    check(status == 0 and sink_text == cli_out and '"worker0' in cli_out and
          '"worker1' not in cli_out,
          'sink.costack.timeline task=: what costack timeline --task gives', err[-300:])
    status, sink_out, err = babeltrace('-c', 'sink.costack.flame', '-p', 'kind="both",by="none"')
    _, cli_out, _ = s.flame(trace, '--both', '--by', 'none')
    check(status == 0 and sorted(sink_out.splitlines()) == sorted(cli_out.splitlines()),
          'sink.costack.flame kind=both: what --both gives', err)
    check_sites(site_totals(folded_weights(sink_out)), truth, 'sink.costack.flame')
    path = os.path.join(s.work, 'sink.pb.gz')
    status, _, err = babeltrace('-c', 'sink.costack.flame',
                                '-p', 'format="pprof",output="%s"' % path)
    env = dict(os.environ, GOCACHE=os.path.join(s.work, 'gocache'), HOME=s.work,
               PPROF_TMPDIR=s.work)
    go = shutil.which('go') or '/usr/lib/go/bin/go'
    status, out, err = run(go, 'tool', 'pprof', '-top', '-symbolize=none', path, env=env)
    check(status == 0 and all(site in out for site in SITES),
          'sink.costack.flame format=pprof: go tool pprof reads it', err + out[:1000])
    status, _, err = babeltrace('-c', 'sink.costack.flame', '-p', 'format="png"')
    check(status != 0 and 'format' in err, 'sink.costack.flame format=png: refused', err[-500:])

    path = os.path.join(s.work, 'sink-timeline.json')
    status, _, err = babeltrace('-c', 'sink.costack.timeline', '-p', 'output="%s"' % path)
    check(status == 0, 'sink.costack.timeline: exit 0', err)
    status, cli_out, err = run(s.costack, 'timeline', trace)
    with open(path) as f:
        sink_text = f.read()
    check(sink_text == cli_out, 'sink.costack.timeline: what costack timeline gives',
          (sink_text[:300], cli_out[:300]))
    check_timeline(json.loads(sink_text), truth, 'sink.costack.timeline')


def section_lost(s):
    trace = os.path.join(s.work, 'flood')
    r = lttng_session.record(trace, [s.offline_target, 'flood', os.path.join(s.work, 'v.json'),
                                     '5000'], s.libcostack, s.provider,
                             channel={'subbuf-size': '4096', 'num-subbuf': '2'})
    check(r.returncode == 0, 'lost: recorded the flood', r.stderr)
    status, out, err = s.flame(trace, '--by', 'none')
    m = re.search(r'; (\d+) ns \(\S+\) in (\d+) intervals left out: lost events', err)
    check(status == 0 and m and int(m.group(1)) > 0 and int(m.group(2)) > 0,
          'lost: flame says on stderr the nanoseconds it left out', err)
    left_out = int(m.group(1)) if m else -1
    check(sum(folded_weights(out).values()) > 0, 'lost: the rest is still counted', out[:300])
    path = os.path.join(s.work, 'lost.pb.gz')
    s.flame(trace, '--by', 'none', '--format', 'pprof', '-o', path)
    env = dict(os.environ, GOCACHE=os.path.join(s.work, 'gocache'), HOME=s.work,
               PPROF_TMPDIR=s.work)
    go = shutil.which('go') or '/usr/lib/go/bin/go'
    status, out, err = run(go, 'tool', 'pprof', '-comments', path, env=env)
    check(status == 0 and ('%d ns' % left_out) in out, 'lost: pprof comments say it', out)
    status, out, err = s.flame(trace, '--by', 'none', '--format', 'speedscope')
    doc = json.loads(out)
    check('unknown' in doc.get('name', ''), 'lost: speedscope\'s name says it', out[:300])
    check_speedscope_schema(doc, 'lost: speedscope')
    status, out, err = s.flame(trace, '--by', 'none', '--format', 'svg')
    check(re.search(r'\S+ unknown \(intervals cut by lost events, left out\)', out),
          'lost: the SVG\'s subtitle says it')
    path = os.path.join(s.work, 'lost-timeline.json')
    status, out, err = run(s.costack, 'timeline', trace, '-o', path)
    check(status == 0, 'lost: timeline exit 0', err)
    with open(path) as f:
        doc = json.load(f)
    check_trace_events(doc, 'lost timeline')
    events = doc['traceEvents']
    gaps = [e for e in events if e['ph'] == 'X' and e.get('cat') == 'lost']
    check(gaps and all(e['pid'] == 0 for e in gaps) and doc['otherData']['lost_events'] > 0,
          'lost: the timeline shows the gaps on their own track', len(gaps))
    check(any(e['ph'] == 'X' and e.get('cat') == 'unknown' for e in events),
          'lost: intervals the gaps may cut are unknown slices')


def section_errors(s):
    status, out, err = s.flame()
    check(status == 2 and 'no TRACE given' in err, 'flame without TRACE: usage', err)
    status, out, err = s.flame(os.path.join(s.work, 'nothing'))
    check(status == 3, 'flame of no such directory: exit 3', (status, err))
    for args, word in [(['--format', 'png'], 'unknown format'), (['--by', 'cpu'], 'bad --by'),
                       (['--wait', '--run'], 'one of'), (['--from', 'soon'], 'bad --from'),
                       (['--task', 'x'], 'bad --task'), (['--pid', '-1'], 'bad --pid'),
                       (['--from', '+2s', '--to', '+1s'], '--from must come before --to')]:
        status, out, err = s.flame(s.work, *args)
        check(status == 2 and word in err, 'flame %s: usage error' % ' '.join(args), err)
    status, out, err = run(s.costack, 'flame', '--help')
    check(status == 0 and '--format' in out and 'nanoseconds' in out, 'flame --help', out[:200])
    status, out, err = run(s.costack, 'timeline')
    check(status == 2 and 'no TRACE given' in err, 'timeline without TRACE: usage', err)
    status, out, err = run(s.costack, 'timeline', s.work, s.work)
    check(status == 2 and 'unexpected argument' in err, 'timeline takes one TRACE', err)
    out_path = os.path.join(s.work, 'none.json')
    status, out, err = run(s.costack, 'timeline', os.path.join(s.work, 'nothing'), '-o', out_path)
    check(status == 3 and not os.path.exists(out_path),
          'timeline of no such trace: exit 3, no file left', (status, err))
    status, out, err = run(s.costack, 'timeline', s.work, '--to', 'later')
    check(status == 2 and 'bad --to' in err, 'timeline --to later: usage error', err)
    status, out, err = run(s.costack, 'timeline', s.work, '--from', '+1s', '--to', '+1s')
    check(status == 2 and '--from must come before --to' in err,
          'timeline --from not before --to: usage error', err)


def main():
    if not lttng_session.enter_namespaces():
        print('test_flame: needs root and unshare(1) for a session daemon of its own')
        return 1
    s = Setup(sys.argv[1:])
    sections = {'flame': section_flame, 'timeline': section_timeline,
                'sinks': section_sinks, 'lost': section_lost, 'errors': section_errors}
    try:
        with lttng_session.SessionDaemon():
            for name in s.sections:
                if name in sections:
                    sections[name](s)
                else:
                    check(False, 'section %s exists' % name)
    finally:
        if os.environ.get('COSTACK_KEEP_WORK'):
            print('work kept in', s.work)
        else:
            shutil.rmtree(s.work, ignore_errors=True)
    return finish('test_flame')


if __name__ == '__main__':
    sys.exit(main())
