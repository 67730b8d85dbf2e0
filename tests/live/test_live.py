#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_live.py - `costack ps PID` and `costack stacks PID` against running programs.

Usage: test_live.py COSTACK LIBCOSTACK_SO LIVE_TARGET SECTION...

Sections:
  states  live_target states prints what the API says of a task in every state (task_info,
          get_stack with no limit and with 2, print_stack) and waits: stacks and ps from
          outside must say the same, in text, JSON, grouped, for one task, cut to a limit.
  load    live_target load switches two tasks for ever (>= 1 million switches/s): 100 reads of
          stacks and 100 of ps, each a success showing only the stacks the tasks can have,
          and, from ps, A's suspension point agreeing with its switch count (a torn read of
          its record would not).
  kill    SIGKILL: the registry was a memfd, nothing is left in /dev/shm, /tmp or the cwd;
          the zombie, then the reaped process, are told apart (exit 3).
  errors  a process without the preload, a thread id, no such process, bad arguments, a user
          not allowed to debug the target: the messages and exit statuses.
  fork    a fork child's registry is its own, and the parent's is undisturbed.
  hostile (LIVE_TARGET is hostile_target) a process pretending to run under libcostack.so: a
          registry memfd cut to a header and restored over and over while 300 reads go on
          (a mapping's reader died of SIGBUS), and a fifo (whose open waited for ever), a
          character device and a directory where the memfd would be: each read ends with
          exit 0 or 3, never a signal, in one line; the fifo and the others are not opened.
          Needs root (the impostors live in a mount namespace of their own).

Programs are synchronised through their standard input and output only: no sleeps.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from checks import check, finish  # noqa: E402


class Target:
    """live_target MODE under the preload, started and read until READY."""

    def __init__(self, target, library, mode, cwd=None):
        env = dict(os.environ, LD_PRELOAD=library)
        # Task names may hold any bytes: kept as they are (surrogate escapes).
        self.proc = subprocess.Popen([target, mode], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, cwd=cwd, text=True,
                                     errors='surrogateescape')
        self.pid = self.proc.pid
        self.lines = []
        for line in self.proc.stdout:
            line = line.rstrip('\n')
            if line == 'READY':
                break
            self.lines.append(line)
        else:
            raise RuntimeError('live_target %s ended before READY: %s' % (mode, self.lines))

    def finish(self):
        """Let it end; its exit status and the rest of its output."""
        out, _ = self.proc.communicate('exit\n', timeout=120)
        return self.proc.returncode, out


def costack(tool, *args):
    r = subprocess.run([tool] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, errors='surrogateescape', timeout=120)
    return r.returncode, r.stdout, r.stderr


def costack_json(tool, *args):
    status, out, err = costack(tool, *args)
    try:
        return status, json.loads(out) if status == 0 else None, err
    except ValueError as e:
        return -1, None, 'not JSON (%s): %s' % (e, out[:500])


def physical(frames):
    """The return addresses of a costack.stacks/1 frame list: inlined entries share one."""
    return [f['address'] for f in frames if not f['inlined']]


def functions(frames):
    return [f['function'] for f in frames if not f['inlined']]


STATE_RANK = {'running': 0, 'suspended': 1, 'created': 2, 'failed': 3, 'cancelled': 4,
              'done': 5}
RUNTIMES = ['thread', 'ucontext', 'fcontext']
TIMESTAMP = re.compile(r'^[0-9]+\.[0-9]{9}$')


def as_json(s):
    """A target's string as JSON shows it: what is not UTF-8 becomes U+FFFD."""
    return s.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def as_text(s):
    """A target's string as costack's text shows it: control characters (but the newlines
    of print_stack's text) and bytes that are not UTF-8 (surrogate escapes here) as \\xNN."""
    return re.sub(r'[\x00-\x09\x0b-\x1f\x7f\udc80-\udcff]',
                  lambda m: '\\x%02x' % (ord(m.group(0)) & 0xff), s)


def blocks(text):
    """`costack stacks` text, one block per task, by id."""
    by_id = {}
    for block in text.split('\n\n'):
        m = re.search(r'<Task \w+ id=([0-9]+)[ >]', block)
        if m:
            by_id[int(m.group(1))] = block.rstrip('\n') + '\n'
    return by_id


# --- states -------------------------------------------------------------------------------------

def section_states(tool, library, target):
    t = Target(target, library, 'states')
    view = json.loads(t.lines[0])
    pid = t.pid
    inside = {task['role']: task for task in view['tasks']}
    by_id = {task['id']: task for task in view['tasks']}
    others = [task for task in view['tasks'] if task['role'] != 'self']

    links = [os.readlink('/proc/%d/fd/%s' % (pid, fd)) for fd in os.listdir('/proc/%d/fd' % pid)]
    check('/memfd:costack-live (deleted)' in links,
          'states: the registry is a memfd (/proc/PID/fd)', links)

    # stacks, JSON: every task as the API sees it.
    status, doc, err = costack_json(tool, 'stacks', pid, '--format', 'json')
    if not check(status == 0 and doc, 'states: stacks --format json succeeds',
                 '%s %s' % (status, err)):
        t.finish()
        return
    check(doc['schema'] == 'costack.stacks/1' and TIMESTAMP.match(doc['at']) and
          list(doc) == ['schema', 'at', 'tasks'],
          'states: stacks JSON: schema costack.stacks/1, "at" is <seconds>.<9 digits>',
          {k: doc[k] for k in doc if k != 'tasks'})
    outside = {task['id']: task for task in doc['tasks']}
    check([task['id'] for task in doc['tasks']] == sorted(outside),
          'states: stacks lists tasks by id', list(outside))
    check(set(outside) == set(by_id), 'states: the same task ids inside and outside',
          '%s vs %s' % (sorted(by_id), sorted(outside)))
    for task in view['tasks']:
        o = outside.get(task['id'])
        role = task['role']
        if not o:
            continue
        check(list(o) == ['id', 'name', 'state', 'runtime', 'thread', 'since', 'exception',
                          'frames'], 'states: %s: the schema\'s fields, in order' % role, list(o))
        check(o['state'] == task['state'] and o['runtime'] == RUNTIMES[task['runtime']] and
              o['thread'] == task['thread'] and (o['name'] or '') == as_json(task['name']),
              'states: %s: state %s, runtime, thread, name as inside' % (role, task['state']),
              '%s vs %s' % (o, task))
        since = o['since'].split('.')
        since_ns = int(since[0]) * 10**9 + int(since[1])
        check(TIMESTAMP.match(o['since']) and abs(since_ns - task['since_ns']) < 5 * 10**6,
              'states: %s: since as inside (to the clock conversions)' % role,
              '%s vs %s' % (o['since'], task['since_ns']))
        if role == 'self':
            # Main asks about itself: the live stack inside; from outside, where it was last
            # resumed (its switch into the fiber).
            names = functions(o['frames'])
            check(o['state'] == 'running' and 'main' in names and
                  'target_fiber_start' in names,
                  'states: main, running, shows the stack at its last switch', names)
            continue
        check(physical(o['frames']) == task['frames'],
              'states: %s (%s): the frames of get_stack()' % (role, task['state']),
              '%s vs %s' % (physical(o['frames']), task['frames']))
        if task['state'] == 'failed':
            check(o['exception'] == {'type': task['exception_type'],
                                     'what': task['exception_what']},
                  'states: %s: the exception it died of' % role, o['exception'])
        else:
            check(o['exception'] is None, 'states: %s: no exception' % role, o['exception'])
        for f in o['frames']:
            if not (re.match(r'^0x[0-9a-f]+$', f['address']) and
                    re.match(r'^0x[0-9a-f]+$', f['offset']) and
                    list(f) == ['address', 'function', 'module', 'offset', 'file', 'line',
                                'inlined']):
                check(False, 'states: %s: frame fields' % role, f)
                break
    thrower = outside.get(inside['thrower']['id'])
    check(thrower and 'target::throw_deep(int)' in functions(thrower['frames']),
          'states: C++ names demangled (target::throw_deep(int))',
          thrower and functions(thrower['frames']))
    check(thrower and functions(thrower['frames'])[0] == 'target_thrower_entry',
          'states: a traceback starts at the task\'s outermost frame',
          thrower and functions(thrower['frames']))

    # --limit 2: the newest 2 of a stack, the oldest 2 of a traceback.
    status, doc2, err = costack_json(tool, 'stacks', pid, '--format', 'json', '--limit', '2')
    if check(status == 0 and doc2, 'states: stacks --limit 2 succeeds', err):
        limited = {task['id']: task for task in doc2['tasks']}
        for task in others:
            o = limited.get(task['id'])
            check(o and physical(o['frames']) == task['frames_limit2'],
                  'states: %s: --limit 2 keeps what get_stack(task, frames, 2) does' %
                  task['role'], o and '%s vs %s' % (physical(o['frames']),
                                                   task['frames_limit2']))

    # Text: each task's block is its print_stack() inside.
    status, text, err = costack(tool, 'stacks', pid)
    check(status == 0, 'states: stacks (text) succeeds', err)
    heir = inside['heir']
    check("name='heir\\x09\\xff'" in text,
          'states: text shows a control character and a byte not UTF-8 as \\xNN',
          text[:2000])
    got = blocks(text)
    for task in others:
        check(got.get(task['id']) == as_text(task['print_stack']),
              'states: %s: text as print_stack() prints it' % task['role'],
              'outside:\n%s\ninside:\n%s' % (got.get(task['id']), task['print_stack']))

    # One task; an unknown one.
    sleeper = inside['sleeper']['id']
    status, one, err = costack_json(tool, 'stacks', pid, '--task', sleeper, '--format', 'json')
    check(status == 0 and [task['id'] for task in one['tasks']] == [sleeper],
          'states: --task ID shows that task only', one)
    status, out, err = costack(tool, 'stacks', pid, '--task', 999999)
    check(status == 3 and 'no task 999999' in err, 'states: --task of an unknown id: exit 3',
          '%s %s' % (status, err))

    # --group: entries with count and ids, covering every task once.
    status, grouped, err = costack_json(tool, 'stacks', pid, '--group', '--format', 'json')
    if check(status == 0 and grouped, 'states: stacks --group --format json succeeds', err):
        ids = [i for entry in grouped['tasks'] for i in entry['ids']]
        check(sorted(ids) == sorted(outside) and
              all(entry['count'] == len(entry['ids']) and entry['id'] == entry['ids'][0]
                  for entry in grouped['tasks']) and
              [e['count'] for e in grouped['tasks']] ==
              sorted([e['count'] for e in grouped['tasks']], reverse=True),
              'states: --group: each task once, count = len(ids), largest first',
              grouped['tasks'])
    status, text, err = costack(tool, 'stacks', pid, '--group')
    heads = [b.split('\n')[0] for b in text.strip('\n').split('\n\n')]
    check(status == 0 and heads and
          all(re.match(r'^[0-9]+ tasks? \(ids? [0-9]+(, [0-9]+)*\):$', h) for h in heads),
          'states: --group text: each block starts "N tasks (ids a, b):"', heads)

    # ps: the same tasks and states, where each one is, in the documented order.
    status, rows, err = costack_json(tool, 'ps', pid, '--format', 'json')
    if check(status == 0 and isinstance(rows, list), 'states: ps --format json succeeds', err):
        ps = {row['id']: row for row in rows}
        check(set(ps) == set(by_id) and
              all(ps[i]['state'] == by_id[i]['state'] for i in by_id),
              'states: ps: the same tasks and states as inside', rows)
        ranks = [STATE_RANK[row['state']] for row in rows]
        check(ranks == sorted(ranks), 'states: ps: running, suspended, created, then ended',
              [row['state'] for row in rows])
        expected_where = {
            'fresh': 'fresh_entry', 'sleeper': 'task_yield', 'runner': 'task_yield',
            'thrower': 'target::throw_deep(int)', 'heir': 'heir_entry',
            'thread_root': 'run_task',
            'fiber': 'target::fiber_wait(boost::context::fiber&&)',
            'finisher': None, 'victim': None,
        }
        for role, function in expected_where.items():
            row = ps.get(inside[role]['id'], {})
            where = row.get('where')
            check((where or {}).get('function') == function and
                  (function is None) == (where is None),
                  'states: ps: %s is at %s' % (role, function), row)
        row = ps.get(inside['fresh']['id'], {})
        check(row.get('name') == inside['fresh']['name'],
              'states: ps: a name with quotes, a backslash and UTF-8 survives JSON', row)
        row = ps.get(inside['heir']['id'], {})
        check(row.get('name') == 'heir\t\ufffd',
              'states: ps: a tab is escaped, a byte that is not UTF-8 is U+FFFD in JSON', row)
        row = ps.get(inside['thrower']['id'], {})
        check(row.get('exception') == {'type': 'std::runtime_error', 'what': 'boom at depth 0'},
              'states: ps: a failed task\'s exception', row)
    status, text, err = costack(tool, 'ps', pid)
    lines = text.rstrip('\n').split('\n')
    check(status == 0 and re.match(r'^ID +NAME +STATE +RUNTIME +THREAD +IN STATE +CPU +SWITCHES '
                                   r'+ENTRY +WHERE$', lines[0]) and len(lines) == 1 + len(by_id),
          'states: ps: a header and a line per task', text)
    line = [l for l in lines if re.match(r'^%d ' % sleeper, l)]
    check(line and re.search(r' sleeper +suspended +ucontext .* sleeper_entry +task_yield '
                             r'\(tasks\.c:[0-9]+\)$', line[0]),
          'states: ps: the sleeper\'s line', line)

    status, out = t.finish()
    check(status == 0, 'states: the target ends well', out)


# --- load ---------------------------------------------------------------------------------------

A_SHAPES = (['a_entry', 'a1', 'a2', 'a_leaf_odd'], ['a_entry', 'a1', 'a2', 'a_leaf_even'])
B_SHAPE = ['b_entry', 'b1', 'b_leaf']


def section_load(tool, library, target):
    t = Target(target, library, 'load')
    reads = 100
    stacks_failed = []
    bad_shapes = []
    both_seen = 0
    for _ in range(reads):
        status, doc, err = costack_json(tool, 'stacks', t.pid, '--format', 'json')
        if status != 0:
            stacks_failed.append(err)
            continue
        seen_a = seen_b = False
        for task in doc['tasks']:
            names = functions(task['frames'])
            if task['runtime'] == 'ucontext':
                if task['state'] == 'created':
                    continue
                # running before its first suspension: it was last resumed at its entry
                if task['state'] == 'running' and names in (['a_entry'], ['b_entry']):
                    continue
                if tuple(names) in map(tuple, A_SHAPES):
                    seen_a = True
                elif names == B_SHAPE:
                    seen_b = True
                else:
                    bad_shapes.append(task)
            elif names and names[-1] != 'pingpong_thread':
                bad_shapes.append(task)
        both_seen += seen_a and seen_b
    check(not stacks_failed, 'load: %d reads of stacks succeed' % reads, stacks_failed[:3])
    check(not bad_shapes, 'load: every stack shown is one the tasks can have', bad_shapes[:3])
    check(both_seen >= reads - 5, 'load: A and B both shown in (nearly) every read (%d of %d)'
          % (both_seen, reads))

    ps_failed = []
    disagree = []
    checked = 0
    for _ in range(reads):
        status, rows, err = costack_json(tool, 'ps', t.pid, '--format', 'json')
        if status != 0:
            ps_failed.append(err)
            continue
        for row in rows:
            where = (row['where'] or {}).get('function')
            if where not in ('a_leaf_odd', 'a_leaf_even'):
                continue
            # Suspended: its n-th run (switches n) ended in a_leaf_odd when n is odd; running,
            # the stack shown is its previous run's.
            n = row['switches'] - (1 if row['state'] == 'running' else 0)
            checked += 1
            if (where == 'a_leaf_odd') != (n % 2 == 1):
                disagree.append(row)
    check(not ps_failed, 'load: %d reads of ps succeed' % reads, ps_failed[:3])
    check(checked >= reads - 5 and not disagree,
          'load: A\'s suspension point agrees with its switch count (%d reads)' % checked,
          disagree[:3])
    status, out = t.finish()
    m = re.search(r'switches ([0-9]+) seconds ([0-9.]+)', out)
    check(status == 0 and m, 'load: the target ends well', out)
    if m:
        print('load: the target made %.2f million switches/s while read' %
              (int(m.group(1)) / float(m.group(2)) / 1e6))


# --- kill ---------------------------------------------------------------------------------------

def section_kill(tool, library, target):
    def listing(path):
        try:
            return set(os.listdir(path))
        except OSError:
            return set()

    with tempfile.TemporaryDirectory(prefix='costack-live-cwd-') as cwd:
        before = {d: listing(d) for d in ('/dev/shm', '/tmp')}
        t = Target(target, library, 'states', cwd=cwd)
        pid = t.pid
        fds = [os.readlink('/proc/%d/fd/%s' % (pid, fd)) for fd in os.listdir('/proc/%d/fd' % pid)]
        with open('/proc/%d/maps' % pid) as f:
            maps = [line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6]
        check('/memfd:costack-live (deleted)' in fds, 'kill: the registry is a memfd', fds)
        check(all(m == '/memfd:costack-live (deleted)' for m in maps if 'costack-live' in m)
              and not [m for m in maps if m.startswith('/dev/shm/')],
              'kill: the registry is mapped from the memfd only, nothing from /dev/shm',
              [m for m in maps if 'costack' in m or 'shm' in m])
        os.kill(pid, signal.SIGKILL)
        # Dead but not reaped: a zombie.
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        status, out, err = costack(tool, 'ps', pid)
        check(status == 3 and 'has exited' in err, 'kill: ps of the zombie: exit 3, "has exited"',
              '%s %s' % (status, err))
        t.proc.wait()
        t.proc.stdin.close()
        t.proc.stdout.close()
        status, out, err = costack(tool, 'ps', pid)
        check(status == 3 and 'no such process' in err,
              'kill: ps after it was reaped: exit 3, "no such process"', '%s %s' % (status, err))
        status, out, err = costack(tool, 'stacks', pid)
        check(status == 3 and 'no such process' in err,
              'kill: stacks after it was reaped: exit 3, "no such process"',
              '%s %s' % (status, err))
        after = {d: listing(d) for d in ('/dev/shm', '/tmp')}
        # (Other tests may run meanwhile: only what could be the target's counts.)
        left = [os.path.join(d, name) for d in after for name in after[d] - before[d]
                if 'costack-live' in name or str(pid) in name]
        check(not left, 'kill: nothing of it left in /dev/shm or /tmp', left)
        check(os.listdir(cwd) == [], 'kill: nothing left in its cwd', os.listdir(cwd))


# --- errors -------------------------------------------------------------------------------------

def section_errors(tool, library, target):
    cat = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        for verb in ('ps', 'stacks'):
            status, out, err = costack(tool, verb, cat.pid)
            check(status == 3 and 'it is not running under libcostack.so' in err and
                  'costack run' in err and not out,
                  '%s of a process without the preload: exit 3, says to use costack run' % verb,
                  '%s %s' % (status, err))
    finally:
        cat.stdin.close()
        cat.wait()

    for args, code, message in [
            (['ps'], 2, 'no PID given'),
            (['ps', 'abc'], 2, "'abc' is not a PID"),
            (['ps', '-5'], 2, 'unknown option'),
            (['ps', '1', '2'], 2, 'unexpected argument'),
            (['ps', '1', '--format', 'xml'], 2, 'unknown format'),
            # Not a PID: a TRACE (tests/offline/ reads real ones).
            (['stacks', 'no-such-trace-dir'], 3,
             'cannot read trace no-such-trace-dir: No such file or directory'),
            (['stacks', '1', '--limit', '-1'], 2, 'bad limit'),
            (['stacks', '1', '--task', 'x'], 2, 'bad task id'),
            (['stacks', '1', '--at', '+1s'], 2, 'needs a TRACE'),
            (['ps', '2147483647'], 3, 'no such process: 2147483647'),
            (['stacks', '2147483647'], 3, 'no such process: 2147483647')]:
        status, out, err = costack(tool, *args)
        check(status == code and message in err and not out,
              'costack %s: exit %d, "%s"' % (' '.join(args), code, message),
              '%s %s' % (status, err))
    for verb in ('ps', 'stacks'):
        status, out, err = costack(tool, verb, '--help')
        check(status == 0 and out.startswith('Usage: costack %s PID' % verb) and
              'Exit status' in out, 'costack %s --help' % verb, out[:200])
        status, out2, err = costack(tool, 'help', verb)
        check(status == 0 and out2 == out, 'costack help %s is costack %s --help' % (verb, verb))

    # A thread's id is not a process's; a user not allowed to debug it is told so.
    t = Target(target, library, 'states')
    view = json.loads(t.lines[0])
    tid = [task['thread'] for task in view['tasks'] if task['role'] == 'runner'][0]
    status, out, err = costack(tool, 'ps', tid)
    check(status == 3 and 'is a thread of process %d' % t.pid in err,
          'ps of a thread id: exit 3, names its process', '%s %s' % (status, err))
    setpriv = shutil.which('setpriv')
    if os.geteuid() == 0 and setpriv:
        nobody = [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', tool]
        status, out, err = costack(nobody[0], *nobody[1:], '--version')
        if status == 0:
            status, out, err = costack(nobody[0], *nobody[1:], 'ps', t.pid)
            check(status == 3 and 'permission denied' in err and 'ptrace' in err,
                  'ps as another user: exit 3, says who may read it', '%s %s' % (status, err))
        else:
            print('skip: user nobody cannot run %s here' % tool)
    else:
        print('skip: the permission check needs root and setpriv')
    status, out = t.finish()
    check(status == 0, 'errors: the target ends well', out)


# --- fork ---------------------------------------------------------------------------------------

def section_fork(tool, library, target):
    t = Target(target, library, 'fork')
    who = {}
    for line in t.lines:
        role, pid, task = line.split()
        who[role] = (int(pid), int(task))
    child_pid, child_task = who['child']
    parent_pid, parent_task = who['parent']

    status, child, err = costack_json(tool, 'stacks', child_pid, '--format', 'json')
    check(status == 0, 'fork: stacks of the child succeeds', err)
    tasks = {task['id']: task for task in (child or {}).get('tasks', [])}
    check(child_task in tasks and 'child_wait' in functions(tasks[child_task]['frames']),
          'fork: the child shows its own task, suspended in child_wait', tasks.get(child_task))
    check(parent_task in tasks and tasks[parent_task]['state'] == 'suspended',
          'fork: the child shows the task it inherited', tasks.get(parent_task))

    status, parent, err = costack_json(tool, 'stacks', parent_pid, '--format', 'json')
    tasks = {task['id']: task for task in (parent or {}).get('tasks', [])}
    check(status == 0 and parent_task in tasks and
          'parent_wait' in functions(tasks[parent_task]['frames']) and child_task not in tasks,
          'fork: the parent\'s registry is undisturbed: its task, not the child\'s', tasks)
    status, rows, err = costack_json(tool, 'ps', child_pid, '--format', 'json')
    check(status == 0 and child_task in [row['id'] for row in rows],
          'fork: ps of the child lists its task', err)
    status, out = t.finish()
    check(status == 0, 'fork: parent and child end well', out)


# --- hostile -------------------------------------------------------------------------------------

class Hostile:
    """hostile_target ARGS, started and read until READY; it ends when its stdin closes."""

    def __init__(self, target, *args):
        self.proc = subprocess.Popen([target] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.ready = self.proc.stdout.readline() == 'READY\n'

    def finish(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=60)


def section_hostile(tool, library, target):
    seed = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz', 'corpus',
                        'seed_states')
    h = Hostile(target, 'shrink', seed)
    outcomes = {}
    bad = []
    if check(h.ready, 'hostile: a registry memfd that shrinks and grows, ready'):
        for i in range(300):
            verb = 'stacks' if i % 3 else 'ps'
            status, out, err = costack(tool, verb, h.pid)
            outcomes[status] = outcomes.get(status, 0) + 1
            lines = err.splitlines()
            if status not in (0, 3) or (status == 3 and (
                    len(lines) != 1 or not lines[0].startswith('costack %s: ' % verb))):
                bad.append((verb, status, err[-300:]))
        check(not bad, 'hostile: 300 reads of a shrinking registry: exit 0 or 3 in one line, '
              'never a signal (%s)' % ', '.join('exit %s: %d' % kv for kv in
                                                sorted(outcomes.items(), key=str)), bad[:5])
    check(h.finish() == 0, 'hostile: the shrinking one ends well')
    if os.geteuid() != 0:
        check(False, 'hostile: the impostor files need root (a mount namespace)')
        return
    for kind, shown in [('fifo', 'a fifo'), ('chardev', 'a character device'),
                        ('directory', 'a directory')]:
        h = Hostile(target, kind)
        if check(h.ready, 'hostile: %s at /memfd:costack-live (deleted), ready' % kind):
            for verb in ('stacks', 'ps'):
                try:
                    status, out, err = costack(tool, verb, h.pid)
                except subprocess.TimeoutExpired:
                    status, out, err = 'timeout', '', ''
                check(status == 3 and not out and err == 'costack %s: process %d: its '
                      'costack-live descriptor is %s, not the memfd of libcostack.so\'s '
                      'registry\n' % (verb, h.pid, shown),
                      'hostile: %s of %s for a memfd: exit 3 at once, says so' % (verb, kind),
                      (status, err))
        check(h.finish() == 0, 'hostile: the %s one ends well' % kind)


SECTIONS = {'states': section_states, 'load': section_load, 'kill': section_kill,
            'errors': section_errors, 'fork': section_fork, 'hostile': section_hostile}


def main():
    if len(sys.argv) < 5 or not all(s in SECTIONS for s in sys.argv[4:]):
        print(__doc__, file=sys.stderr)
        return 2
    tool, library, target = (os.path.abspath(p) for p in sys.argv[1:4])
    for section in sys.argv[4:]:
        SECTIONS[section](tool, library, target)
    return finish('test_live')


if __name__ == '__main__':
    sys.exit(main())
