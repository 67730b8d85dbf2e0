#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_server.py - what costack costs a real server: requests per second of a Boost.Asio echo server.

Usage: bench_server.py COSTACK BENCH_SERVER

bench_server serve runs a Boost.Asio echo server, one spawn()ed coroutine per connection
(Boost.Coroutine on Boost.Context's jump_fcontext); bench_server client drives it over loopback
with CONNECTIONS connections, one request of SIZE bytes in flight on each, REQUESTS in all, and
times them. Each round runs the server three ways, in an order that turns from round to round:
bare, under the preload (`costack run`) and under `costack record`; the client is never under
the preload. The figures are the medians of the rounds' requests per second and of each round's
ratios to its bare run.

A run under costack counts only when costack saw the connections' switches (the server asks
costack for each connection's switches as it closes: at least one per request) and their stacks
(a watcher asks for the stack of each connection waiting for a read: three frames at least), and
a recorded run only when its trace holds every switch: none discarded, at least as many
costack:switch events as the connections' switches.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_record import trace_events  # noqa: E402

ROUNDS = 5
CONNECTIONS = 8
REQUESTS = 100000
SIZE = 64
KINDS = ('bare', 'preload', 'record')


def fail(message):
    sys.exit('bench_server: ' + message)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def run_once(kind, costack, program, trace):
    """(requests per second, the server's output) of one run of the server the given way."""
    serve = [program, 'serve', str(CONNECTIONS)]
    argv = {'bare': serve,
            'preload': [costack, 'run', '--'] + serve,
            'record': [costack, 'record', '-o', trace, '--'] + serve}[kind]
    server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    first = server.stdout.readline()
    m = re.match(r'^port ([0-9]+)$', first)
    if not m:
        server.kill()
        fail('%s: no port from the server: %r\n%s' % (kind, first, server.stderr.read()))
    client = subprocess.run([program, 'client', m.group(1), str(CONNECTIONS), str(REQUESTS),
                             str(SIZE)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=600)
    out, err = server.communicate(timeout=600)
    if client.returncode != 0 or server.returncode != 0:
        fail('%s: client %d, server %d:\n%s%s%s%s' % (kind, client.returncode, server.returncode,
                                                      client.stdout, client.stderr, out, err))
    rps = re.search(r'^requests_per_second ([0-9.]+)$', client.stdout, re.M)
    served = re.search(r'^requests ([0-9]+)$', out, re.M)
    if not rps or not served or int(served.group(1)) < REQUESTS:
        fail('%s: the client or the server did not finish:\n%s%s' % (kind, client.stdout, out))
    return float(rps.group(1)), out, err


def check_seen(kind, out):
    """The connections' switches costack saw; exits when it missed switches or stacks."""
    switches = re.search(r'^switches ([0-9]+)$', out, re.M)
    stacks = re.search(r'^stacks ([0-9]+) bad ([0-9]+)$', out, re.M)
    if not switches or not stacks:
        fail('%s: the server did not run under costack:\n%s' % (kind, out))
    seen = int(switches.group(1))
    if seen < REQUESTS or int(stacks.group(1)) == 0 or int(stacks.group(2)) != 0:
        fail('%s: costack saw %d switches for %d requests, %s stacks asked, %s without the '
             'connection\'s frames' % (kind, seen, REQUESTS, stacks.group(1), stacks.group(2)))
    return seen


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    costack, program = (os.path.abspath(p) for p in sys.argv[1:3])
    for name in ('LD_PRELOAD', 'COSTACK_TRACE'):
        os.environ.pop(name, None)
    rps = {kind: [] for kind in KINDS}
    ratios = {kind: [] for kind in KINDS[1:]}
    switches = []
    work = tempfile.mkdtemp(prefix='costack-bench-server-')
    try:
        for r in range(ROUNDS):
            this_round = {}
            for i in range(len(KINDS)):
                kind = KINDS[(i + r) % len(KINDS)]
                trace = os.path.join(work, 'trace-%d' % r)
                this_round[kind], out, err = run_once(kind, costack, program, trace)
                if kind == 'bare':
                    continue
                seen = check_seen(kind, out)
                switches.append(seen / REQUESTS)
                if kind == 'record':
                    counts, discarded = trace_events(trace)
                    if ('discarded' in err or discarded != 0 or
                            counts.get('costack:switch', 0) < seen):
                        fail('record: the trace misses events: %d connection switches, %s '
                             'costack:switch events, discarded %s\n%s' %
                             (seen, counts.get('costack:switch'), discarded, err))
                    shutil.rmtree(trace)
            for kind in KINDS:
                rps[kind].append(this_round[kind])
            for kind in KINDS[1:]:
                ratios[kind].append(this_round[kind] / this_round['bare'])
    finally:
        shutil.rmtree(work)

    print('Boost.Asio echo server, a spawn()ed coroutine per connection; %d connections over '
          'loopback,' % CONNECTIONS)
    print('%d requests of %d bytes per run, one in flight per connection; median of %d '
          'interleaved rounds:' % (REQUESTS, SIZE, ROUNDS))
    print('    %-28s %12.0f requests/s' % ('bare (no preload)', median(rps['bare'])))
    print('    %-28s %12.0f requests/s  %5.3fx' % ('preload (costack run)', median(rps['preload']),
                                                    median(ratios['preload'])))
    print('    %-28s %12.0f requests/s  %5.3fx' % ('costack record', median(rps['record']),
                                                    median(ratios['record'])))
    print('    %.2f switches into a connection\'s coroutine per request, every one seen by '
          'costack; its stacks' % median(switches))
    print('    captured while it waited; every recorded switch in its trace')
    return 0


if __name__ == '__main__':
    sys.exit(main())
