#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_example_flame.py - the wait flame graph of a Boost example nobody here wrote.

Usage: test_example_flame.py COSTACK SOURCE -- ECHO_SERVER

ECHO_SERVER is Boost.Asio's spawn echo server (libboost1.74-doc's
asio/example/cpp11/spawn/echo_server.cpp, SOURCE, built unmodified): a coroutine accepts
connections (async_accept), and each connection gets two coroutines, one echoing what it reads
(async_read_some, then async_write) and one watching a 10 s idle timer (async_wait, woken
whenever the reader rearms the timer). Its real waits are the lines of SOURCE calling those
three.

The test records it with `costack record` while a client of its own (threads and sockets)
opens CONNECTIONS connections at once, each sending a first line, then MESSAGES lines each after
a pause of PAUSE_MS once the previous echo came back, then closing: each session then waits
in read for the pauses, and the client measures them (the oracle). Then SIGTERM ends the
server (through costack record, which passes it on), and:

  folded and speedscope (--wait, --by none): the innermost frame of SOURCE on each suspension
      stack is where the example waited (its site); the three heaviest sites are the lines
      calling async_read_some, async_wait and async_accept, and they hold nearly all the
      coroutines' wait; the read's weight is the sessions' idle time the client measured
      (at least the pauses, at most the connections' lifetimes), the timer's likewise, the
      accept's about the client's span (within 20%: it also waits while a session it spawned
      starts); folded and speedscope weigh each stack the same;
      no frame is costack's or the switch function (jump_fcontext), none is a runtime's
      between the site and the stack's top but Asio's and Boost.Coroutine's.
  --by entry: a root frame per kind of coroutine, named by the example's function it runs
      (a lambda of session::go or of main): three distinct entries, each kind's wait its
      site's.
  --run: the sessions ran for little of their lifetime (the test's sanity: the waits above
      are waits, not work).
  go tool pprof -top -lines: reads the pprof output; the three waits' lines are among its 40
      heaviest.

Runs in mount and pid namespaces of its own (tests/lttng/lttng_session.py): `costack record`
starts, and stops, a session daemon no other test sees. The client's pauses are the measured
waits; the one poll is for the server's listening socket (connect retried for up to 30 s).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lttng'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import lttng_session  # noqa: E402
from checks import check, finish, folded_weights  # noqa: E402

CONNECTIONS = 4
MESSAGES = 4
PAUSE_MS = 100
TOLERANCE = 0.20
# What a site is called here, by the Asio call on its line of SOURCE.
WAIT_CALLS = {'read': 'async_read_some', 'timer': 'async_wait', 'accept': 'async_accept'}


def run(args, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          errors='replace', timeout=600, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def connect(port, deadline):
    """A connection to the server, retried until it listens (or the deadline)."""
    while True:
        try:
            return socket.create_connection(('127.0.0.1', port), timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def echo(sock, line):
    sock.sendall(line)
    got = b''
    while len(got) < len(line):
        part = sock.recv(len(line) - len(got))
        if not part:
            raise ConnectionError('the server closed the connection')
        got += part
    if got != line:
        raise ConnectionError('echoed %r for %r' % (got, line))


def session(port, index, out):
    """One connection: a first line, MESSAGES lines after a pause each; what it measured."""
    try:
        sock = connect(port, time.monotonic() + 30)
        opened = time.monotonic()
        echo(sock, b'hello %d\n' % index)
        paused = 0.0
        for k in range(MESSAGES):
            before = time.monotonic()
            time.sleep(PAUSE_MS / 1000)
            paused += time.monotonic() - before
            echo(sock, b'connection %d line %d\n' % (index, k))
        sock.close()
        out[index] = {'opened': opened, 'closed': time.monotonic(), 'paused_ns': paused * 1e9}
    except OSError as e:
        out[index] = {'error': str(e)}


def drive(port):
    """The client: a first connection closed at once (the server listens; its first EOF, a
    first C++ throw, is slow), then CONNECTIONS sessions at once. Returns what it measured."""
    first = connect(port, time.monotonic() + 30)
    first.close()
    results = {}
    threads = [threading.Thread(target=session, args=(port, i, results))
               for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results.get(i, {'error': 'no result'}) for i in range(CONNECTIONS)]


def wait_lines(source):
    """{site: line of SOURCE} of the three waits."""
    lines = {}
    with open(source) as f:
        for number, text in enumerate(f, 1):
            for site, call in WAIT_CALLS.items():
                if call + '(' in text:
                    lines[site] = number
    return lines


def site_of(frames, source, sites):
    """The site of a stack (frames: speedscope frames, oldest first): the innermost frame of
    SOURCE, named by its line ('read', 'timer', 'accept', or 'line N'); None if none."""
    for f in reversed(frames):
        if f.get('file') == source:
            for site, line in sites.items():
                if f.get('line') == line:
                    return site
            return 'line %s' % f.get('line')
    return None


def main():
    args = sys.argv[1:]
    if len(args) != 4 or args[2] != '--':
        print(__doc__, file=sys.stderr)
        return 2
    costack, source, program = (os.path.abspath(a) for a in (args[0], args[1], args[3]))
    if not lttng_session.enter_namespaces():
        print('FAILED: cannot make mount and pid namespaces (unshare(1), as root); recording '
              'needs them')
        return 1
    lttng_session.clear_costack_env()
    work = tempfile.mkdtemp(prefix='costack-example-')
    try:
        examine(costack, source, program, work)
    finally:
        if os.environ.get('COSTACK_KEEP_WORK'):
            print('work kept in', work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return finish('test_example_flame')


def examine(costack, source, program, work):
    sites = wait_lines(source)
    if not check(set(sites) == set(WAIT_CALLS), 'SOURCE has its three waits', sites):
        return

    # Record the server while the client talks to it; SIGTERM to costack record ends it.
    trace = os.path.join(work, 'trace')
    port = free_port()
    started = time.monotonic()
    with open(os.path.join(work, 'out'), 'w+') as out, \
            open(os.path.join(work, 'err'), 'w+') as err:
        record = subprocess.Popen([costack, 'record', '-o', trace, '--', program, str(port)],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            client = drive(port)
        finally:
            record.send_signal(signal.SIGTERM)
            status = record.wait(120)
        ended = time.monotonic()
        err.seek(0)
        record_err = err.read()
    errors = [c['error'] for c in client if 'error' in c]
    check(not errors, 'the client talked to the echo server over %d connections' % CONNECTIONS,
          errors)
    check(status == -signal.SIGTERM and 'costack record: trace written to' in record_err,
          'costack record wrote the trace, and died of the SIGTERM it passed on',
          (status, record_err))
    if errors or not os.path.isdir(trace):
        return
    paused = sum(c['paused_ns'] for c in client)
    lifetimes = sum(c['closed'] - c['opened'] for c in client) * 1e9
    span = (max(c['closed'] for c in client) - min(c['opened'] for c in client)) * 1e9
    print('client: paused %.0f ms in all, connections open %.0f ms in all, over %.0f ms'
          % (paused / 1e6, lifetimes / 1e6, span / 1e6))

    # speedscope, all tasks merged: frames with their file and line, to find the sites.
    path = os.path.join(work, 'waits.speedscope.json')
    r = run([costack, 'flame', trace, '--by', 'none', '--format', 'speedscope', '-o', path])
    check(r.returncode == 0 and 'left out' not in r.stderr, 'flame --format speedscope: exit 0, '
          'nothing left out', r.stderr)
    with open(path) as f:
        doc = json.load(f)
    frames = doc['shared']['frames']
    stacks = {}
    for profile in doc['profiles']:
        for sample, weight in zip(profile['samples'], profile['weights']):
            key = tuple(sample)
            stacks[key] = stacks.get(key, 0) + weight
    totals = {}
    root_wait = 0
    for sample, weight in stacks.items():
        shown = [frames[i] for i in sample]
        if shown and shown[0]['name'] in ('_start', 'main', '__libc_start_main_impl'):
            root_wait += weight  # the main thread's own stack, waiting while a coroutine ran
            continue
        site = site_of(shown, source, sites)
        totals[site] = totals.get(site, 0) + weight
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    coroutine_wait = sum(totals.values())
    print('sites by weight (ms):', [(s, round(w / 1e6, 1)) for s, w in ranked],
          'the main thread: %.1f ms' % (root_wait / 1e6))
    check(sorted(str(s) for s, _ in ranked[:3]) == sorted(WAIT_CALLS),
          'the three heaviest sites are the lines of SOURCE calling %s'
          % ', '.join(WAIT_CALLS.values()), ranked[:5])
    top3 = sum(w for s, w in ranked[:3])
    check(coroutine_wait and top3 >= 0.97 * coroutine_wait,
          'they hold nearly all the coroutines\' wait', (top3, coroutine_wait, ranked))
    check(totals.get(None, 0) < 0.01 * coroutine_wait,
          'the coroutines\' waits have a frame of SOURCE', (totals.get(None), coroutine_wait))
    for site in ('read', 'timer'):
        got = totals.get(site, 0)
        check(0.95 * paused <= got <= lifetimes * (1 + TOLERANCE),
              '%s (line %d): the sessions waited there for the client\'s pauses (%.0f ms), at '
              'most as long as they lived (%.0f ms)' % (site, sites[site], paused / 1e6,
                                                        lifetimes / 1e6), got)
    got = totals.get('accept', 0)
    # (while the sessions start, the acceptor waits for each one it spawned instead: in
    # session::go, its other sites)
    check((1 - TOLERANCE) * span <= got <= (ended - started) * 1e9,
          'accept (line %d): the acceptor waited about while the client talked (%.0f ms), at '
          'most the run' % (sites['accept'], span / 1e6), got)
    check(ranked and ranked[0][0] in ('read', 'timer'),
          'the heaviest site is a session\'s wait (the read or its timer)', ranked[:3])
    names = {f['name'] for f in frames}
    check(not any('costack' in n.lower() or re.search(r'\b(jump|ontop|make)_fcontext\b', n)
                  for n in names), 'no frame is costack\'s or the switch function',
          [n for n in names if 'costack' in n.lower() or '_fcontext' in n])
    # Between the site and the stack's top: only Asio's and Boost.Coroutine's frames, where
    # spawn's yield_context suspends.
    inner = set()
    for sample in stacks:
        shown = [frames[i] for i in sample]
        if shown and shown[0]['name'] in ('_start', 'main', '__libc_start_main_impl'):
            continue
        last = max((k for k, f in enumerate(shown) if f.get('file') == source), default=None)
        if last is not None:
            inner.update(f['name'] for f in shown[last + 1:])
    runtime = re.compile(r'boost::(asio|coroutines)::')
    check(inner and all(runtime.search(n) for n in inner),
          'inside the site: only Asio\'s and Boost.Coroutine\'s frames',
          [n[:120] for n in inner if not runtime.search(n)])

    # folded: the same stacks, the same weights.
    r = run([costack, 'flame', trace, '--by', 'none', '--format', 'folded'])
    check(r.returncode == 0, 'flame --format folded: exit 0', r.stderr)
    folded = folded_weights(r.stdout)
    from_speedscope = {}
    for sample, weight in stacks.items():
        key = ';'.join(frames[i]['name'] for i in sample)
        from_speedscope[key] = from_speedscope.get(key, 0) + weight
    check(folded == from_speedscope, 'folded weighs each stack as speedscope does',
          (len(folded), len(from_speedscope)))

    # --by entry: a root per kind of coroutine, named by the example's function it runs.
    r = run([costack, 'flame', trace, '--by', 'entry', '--format', 'speedscope'])
    check(r.returncode == 0, 'flame --by entry: exit 0', r.stderr)
    by_entry = json.loads(r.stdout)
    entry_frames = by_entry['shared']['frames']
    kinds = {}
    for profile in by_entry['profiles']:
        for sample, weight in zip(profile['samples'], profile['weights']):
            shown = [entry_frames[i] for i in sample]
            site = site_of(shown, source, sites)
            if site in WAIT_CALLS:
                kinds.setdefault(site, {})
                kinds[site][profile['name']] = kinds[site].get(profile['name'], 0) + weight
    print('entries by site:', {s: {e[:80]: round(w / 1e6, 1) for e, w in k.items()}
                               for s, k in kinds.items()})
    # main's lambda, inlined at -O2, is named as its DWARF names it: operator() (GCC gives
    # the abstract instance of a lambda's operator() no linkage name; addr2line says the same).
    owners = {'read': r'session::go\(\)::\{lambda', 'timer': r'session::go\(\)::\{lambda',
              'accept': r'main(\(int, char\*\*\))?::\{lambda|operator\(\)$'}
    for site, pattern in owners.items():
        entries = kinds.get(site, {})
        check(len(entries) == 1 and re.match(pattern, next(iter(entries))),
              '--by entry: the %s waits under one entry, the example\'s function' % site,
              list(entries)[:3])
        check(sum(entries.values()) == totals.get(site),
              '--by entry: that entry weighs what the %s site weighs' % site,
              (sum(entries.values()), totals.get(site)))
    check(len({e for k in kinds.values() for e in k}) == 3,
          '--by entry: reader, timer and acceptor are three entries',
          {s: ['%d characters: ...%s' % (len(e), e[-60:]) for e in k] for s, k in kinds.items()})

    # The timeline names each task's track, and each wait, by the same long names: a session's
    # reader and its timer stay two (their names differ only at the end, #1 and #2).
    path = os.path.join(work, 'timeline.json')
    r = run([costack, 'timeline', trace, '-o', path])
    check(r.returncode == 0, 'timeline: exit 0', r.stderr)
    with open(path) as f:
        events = json.load(f)
    events = events['traceEvents'] if isinstance(events, dict) else events
    lambdas = re.compile(r'session::go\(\)::\{lambda')
    tracks = {re.sub(r' \(task \d+\)$', '', e['args']['name']) for e in events
              if e.get('ph') == 'M' and e.get('name') == 'thread_name'
              and lambdas.match(e['args']['name'])}
    waits = {e['name'] for e in events
             if e.get('cat') == 'suspended' and lambdas.match(e.get('name', ''))}
    check(len(tracks) == 2, 'timeline: the sessions\' tracks are named by two entries, the '
          'reader\'s and the timer\'s', ['...' + t[-40:] for t in tracks])
    check(len(waits) == 2, 'timeline: the sessions wait in two places, named apart',
          ['...' + w[-40:] for w in waits])

    # --run: the sessions' coroutines worked for little of their lifetime.
    r = run([costack, 'flame', trace, '--run', '--by', 'none', '--format', 'folded'])
    ran = sum(w for stack, w in folded_weights(r.stdout).items()
              if not stack.startswith(('_start;', 'main;')))
    check(r.returncode == 0 and ran < 0.25 * coroutine_wait,
          '--run: the coroutines ran little of what they waited', (ran, coroutine_wait))

    # go tool pprof reads the pprof output; the three waits' lines are among its heaviest.
    path = os.path.join(work, 'waits.pb.gz')
    r = run([costack, 'flame', trace, '--by', 'none', '--format', 'pprof', '-o', path])
    check(r.returncode == 0, 'flame --format pprof: exit 0', r.stderr)
    env = dict(os.environ, GOCACHE=os.path.join(work, 'gocache'), HOME=work, PPROF_TMPDIR=work,
               GOFLAGS='-mod=mod', GOTOOLCHAIN='local')
    go = shutil.which('go') or '/usr/lib/go/bin/go'
    r = run([go, 'tool', 'pprof', '-top', '-lines', '-cum', '-nodecount=40', '-symbolize=none',
             path], env=env)
    check(r.returncode == 0 and 'Type: wait' in r.stdout, 'go tool pprof -top reads it',
          r.stderr + r.stdout[:1500])
    base = os.path.basename(source)
    for site in WAIT_CALLS:
        check('%s:%d' % (base, sites[site]) in r.stdout,
              'go tool pprof -top -lines: %s:%d (%s) among the 40 heaviest'
              % (base, sites[site], site), r.stdout[:3000])


if __name__ == '__main__':
    sys.exit(main())
