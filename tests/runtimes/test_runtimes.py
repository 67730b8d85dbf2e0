#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_runtimes.py - a program on a real runtime: what costack says of each of its tasks, in the
process, from outside and from a recording, against what the program knows of it.

Usage: test_runtimes.py [OPTION]... COSTACK LIBCOSTACK_SO SOURCE -- PROGRAM [ARG]...

The program (tests/runtimes/*) writes, at each quiet moment of its run (a phase: "mid", "end"),
what it knows of its tasks to the file $COSTACK_TRUTH (truth.h): each one's state, the name its
runtime gave it, the user's function it runs and the function of its own it waits in, with
costack's answer in the process (costack_task_state, costack_print_stack); with a pipe as its
input it then says "READY <phase>" on stderr and waits for a line. SOURCE is the program's source
file: a frame of it is the program's own.

Checks:
  same output   stdout and exit status without costack, under the preload, and under
                `costack record`, are the same (stderr too, but for record's own line); the
                programs print the number their next open() gets, which must be the same with
                the preload (a recorded program has LTTng-UST's descriptors too).
  in process    each task's state, name, entry (print_stack's "entry=") and WHERE (the innermost
                frame of print_stack in SOURCE) are the program's.
  from outside  at each phase, `costack ps PID --format json` (state, name, entry, where) and
                `costack stacks PID` (each block's header and frames) say the same; the
                unfinished tasks ps lists are the program's unfinished ones and the threads'
                (and --runtime-tasks N more of the runtime's own); tasks waiting in the same
                frames are one group of `costack stacks PID --group`.
  recording     `costack stacks TRACE --at TIME` at each phase's time says the same.

Options:
  --runtime-tasks N  tasks of the runtime's own (Boost.Fiber's dispatcher), not the program's
  --untracked        the program's coroutines are switched by code costack does not hook
                     (SimGrid's raw contexts): none of its tasks is checked, and it runs without
                     COSTACK_TRUTH (it asks costack nothing); at phase "end" `costack ps` says
                     that its main thread ran on a stack costack knows of no task

Runs in mount and pid namespaces of its own (tests/lttng/lttng_session.py): `costack record`
starts, and stops, a session daemon no other test sees. Synchronised through pipes: no sleeps.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lttng'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import lttng_session  # noqa: E402
from checks import check, finish  # noqa: E402


def run(args, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          errors='replace', timeout=600, **kwargs)


UNFINISHED = {'created', 'running', 'suspended'}
HEADER = re.compile(r'^(?:Stack|Traceback|No stack|Unknown stack) for <Task (\w+) id=([0-9]+)'
                    r"(?: name='(.*?)')?(?: entry=(.*)\(\)| entry=(0x[0-9a-f]+))? runtime=")
FRAME = re.compile(r'^\s*File "([^"]*)", (?:line [0-9]+|offset 0x[0-9a-f]+|address 0x[0-9a-f]+), '
                   r'in (.*?)(?: \(inlined\))?$')


def same_function(shown, truth):
    """A symbolizer's name (with its parameters, C++'s) is the function the program names."""
    if truth is None or shown is None:
        return shown == truth
    return shown == truth or shown.startswith(truth + '(')


class Block:
    """print_stack's text (in the process, and each block of `costack stacks`)."""

    def __init__(self, text, source):
        lines = text.strip('\n').split('\n')
        m = HEADER.match(lines[0])
        self.ok = bool(m)
        self.state, self.id, self.name, self.entry = (
            (m.group(1), int(m.group(2)), m.group(3), m.group(4) or m.group(5)) if m
            else (None, None, None, None))
        self.frames = [FRAME.match(line).groups() for line in lines[1:] if FRAME.match(line)]
        own = [function for file, function in self.frames
               if os.path.basename(file) == os.path.basename(source)]
        self.where = own[-1] if own else None
        self.text = text


def blocks(text, source):
    return {b.id: b for b in (Block(t, source) for t in text.split('\n\n') if t.strip()) if b.ok}


def compare(what, truth, state, name, entry, where, detail):
    """One view of a task against what the program knows."""
    role = truth['role']
    check(state == truth['state'], '%s: %s is %s' % (what, role, truth['state']),
          (state, detail))
    check((name or None) == truth['name'], '%s: %s is named %s' % (what, role, truth['name']),
          (name, detail))
    check(same_function(entry, truth['entry']),
          '%s: %s runs %s' % (what, role, truth['entry']), (entry, detail))
    if truth['state'] != 'running':  # from outside: where it was resumed from
        check(same_function(where, truth['where']),
              '%s: %s is at %s' % (what, role, truth['where']), (where, detail))


def check_in_process(phase, source):
    for t in phase['tasks']:
        api = t['api']
        if not check(api and api['print_stack'], 'in process, %s: %s has a print_stack'
                     % (phase['phase'], t['role']), t):
            continue
        b = Block(api['print_stack'], source)
        compare('in process, %s' % phase['phase'], t, api['state'], b.name, b.entry,
                b.where if t['state'] != 'running' else None, api['print_stack'])


def check_outside(tool, pid, phase, source, runtime_tasks):
    what = 'from outside, %s' % phase['phase']
    r = run([tool, 'ps', pid, '--format', 'json'])
    if not check(r.returncode == 0, '%s: costack ps succeeds' % what, r.stderr):
        return
    rows = {row['id']: row for row in json.loads(r.stdout)}
    for t in phase['tasks']:
        row = rows.get(t['id'])
        if check(row, '%s: ps lists %s' % (what, t['role']), sorted(rows)):
            compare('%s (ps)' % what, t, row['state'], row['name'],
                    (row['entry'] or {}).get('function'), (row['where'] or {}).get('function'),
                    row)
    known = {t['id'] for t in phase['tasks'] if t['state'] in UNFINISHED}
    unfinished = {i for i, row in rows.items() if row['state'] in UNFINISHED}
    threads = {i for i in unfinished if rows[i]['runtime'] == 'thread'}
    check(known <= unfinished and len(unfinished - known - threads) == runtime_tasks,
          '%s: ps lists as unfinished the program\'s unfinished tasks, its threads and %d of '
          'its runtime\'s' % (what, runtime_tasks),
          [rows[i] for i in sorted(unfinished - known - threads)])
    r = run([tool, 'stacks', pid])
    if check(r.returncode == 0, '%s: costack stacks succeeds' % what, r.stderr):
        shown = blocks(r.stdout, source)
        for t in phase['tasks']:
            b = shown.get(t['id'])
            if check(b, '%s: stacks shows %s' % (what, t['role']), r.stdout[:2000]):
                compare('%s (stacks)' % what, t, b.state, b.name, b.entry, b.where, b.text)
    r = run([tool, 'stacks', pid, '--group', '--format', 'json'])
    if check(r.returncode == 0, '%s: costack stacks --group succeeds' % what, r.stderr):
        group_of = {i: tuple(g['ids']) for g in json.loads(r.stdout)['tasks'] for i in g['ids']}
        waiting = {}
        for t in phase['tasks']:
            if t['state'] == 'suspended':
                waiting.setdefault((t['entry'], t['where']), []).append(t['id'])
        for ids in waiting.values():
            check(len({group_of.get(i) for i in ids}) == 1,
                  '%s: tasks waiting in the same frames are one group: %s' % (what, ids),
                  group_of)


def check_recording(tool, trace, phase, source):
    what = 'recorded, %s' % phase['phase']
    r = run([tool, 'stacks', trace, '--at', phase['time'], '--pid', phase['pid']])
    if not check(r.returncode == 0, '%s: costack stacks TRACE --at succeeds' % what, r.stderr):
        return
    shown = blocks(r.stdout, source)
    for t in phase['tasks']:
        b = shown.get(t['id'])
        if check(b, '%s: the trace has %s' % (what, t['role']), r.stdout[:2000]):
            compare(what, t, b.state, b.name, b.entry, b.where, b.text)


def read_truth(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    args = sys.argv[1:]
    runtime_tasks, untracked = 0, False
    while args and args[0].startswith('--') and args[0] != '--':
        option = args.pop(0)
        if option == '--runtime-tasks':
            runtime_tasks = int(args.pop(0))
        elif option == '--untracked':
            untracked = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if len(args) < 5 or args[3] != '--':
        print(__doc__, file=sys.stderr)
        return 2
    tool, library, source = (os.path.abspath(a) for a in args[:3])
    command = [os.path.abspath(args[4])] + args[5:]
    if not lttng_session.enter_namespaces():
        print('FAILED: cannot make mount and pid namespaces (unshare(1), as root); recording '
              'needs them')
        return 1
    lttng_session.clear_costack_env()
    work = tempfile.mkdtemp(prefix='costack-runtimes-')
    env = dict(os.environ)
    preloaded = dict(env, LD_PRELOAD=library)

    # The same output without costack, under the preload, and recorded.
    bare = run(command, env=env, stdin=subprocess.DEVNULL)
    # With a truth to write, the program checks some of costack's answers itself, and says so on
    # stdout when one is wrong (not in a bare run, where costack cannot answer).
    alone = run(command, env=preloaded if untracked else dict(
        preloaded, COSTACK_TRUTH=os.path.join(work, 'alone.json')), stdin=subprocess.DEVNULL)
    trace = os.path.join(work, 'trace')
    recorded_truth = os.path.join(work, 'recorded.json')
    recorded = run([tool, 'record', '-o', trace, '--'] + command,
                   env=dict(env, COSTACK_TRUTH=recorded_truth), stdin=subprocess.DEVNULL)
    record_lines = [line for line in recorded.stderr.splitlines()
                    if not line.startswith('costack record: ')]
    # A recorded program has LTTng-UST in it, whose own descriptors take the low numbers: the
    # number the program's next open() gets is compared without it only.
    def but_descriptors(text):
        return re.sub(r'(?m)^next descriptor: [0-9]+$', 'next descriptor: (LTTng-UST\'s)', text)

    for label, other, same in (('under the preload', alone, lambda text: text),
                               ('under costack record', recorded, but_descriptors)):
        check(other.returncode == bare.returncode == 0,
              'exit status 0 without costack and %s' % label, (bare.returncode, other))
        check(same(other.stdout) == same(bare.stdout), 'the same stdout %s' % label,
              'without:\n%s\nwith:\n%s' % (bare.stdout, other.stdout))
    check(alone.stderr == bare.stderr and record_lines == bare.stderr.splitlines(),
          'the same stderr under the preload, and under record but for its own line',
          'without:\n%s\npreload:\n%s\nrecord:\n%s' % (bare.stderr, alone.stderr,
                                                        recorded.stderr))

    # Read while it runs: in the process (its truth file) and from outside.
    truth_path = os.path.join(work, 'live.json')
    # Untracked: the program asks costack nothing, so that only what it sees by itself (a raise
    # on an actor's stack) can make it active and say so.
    live_env = preloaded if untracked else dict(preloaded, COSTACK_TRUTH=truth_path)
    proc = subprocess.Popen(command, env=live_env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    phases = 0
    for line in proc.stderr:
        if not line.startswith('READY '):
            continue
        phases += 1
        if untracked:
            if line.split()[1] == 'end':
                r = run([tool, 'ps', proc.pid, '--format', 'json'])
                rows = json.loads(r.stdout) if r.returncode == 0 else []
                check(r.returncode == 0 and 'ran code on a stack costack knows of no task'
                      in r.stderr and [row['untracked_stack'] for row in rows] == [True],
                      'from outside, end: ps says its thread ran on a stack costack knows of '
                      'no task', r)
        else:
            phase = read_truth(truth_path)[phases - 1]
            check_in_process(phase, source)
            check_outside(tool, proc.pid, phase, source, runtime_tasks)
        proc.stdin.write('go on\n')
        proc.stdin.flush()
    proc.stdin.close()
    live_stdout = proc.stdout.read()
    check(proc.wait(timeout=600) == 0 and phases == 2 and live_stdout == bare.stdout,
          'the program read from outside ends well, after its 2 phases, its stdout the same',
          (proc.returncode, phases, live_stdout))

    if not untracked:
        truth = read_truth(recorded_truth)
        check(len(truth) == 2, 'the recorded run wrote its 2 phases', truth)
        for phase in truth:
            check_recording(tool, trace, phase, source)
    shutil.rmtree(work)
    return finish('test_runtimes')


if __name__ == '__main__':
    sys.exit(main())
