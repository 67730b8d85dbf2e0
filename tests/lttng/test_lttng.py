#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_lttng.py - `costack record` and the traced preload, with a real lttng-sessiond.

Usage: test_lttng.py COSTACK LIBCOSTACK_SO LIBCOSTACK_LTTNG_SO RECORD_TARGET SECTION...

The session daemon: each run of this script lives in a mount and a pid namespace of its own
(unshare(1); as root, else in a user namespace too), with an empty tmpfs on /run and /dev/shm.
The root session daemon lttng(1) and the programs see there is the one this script starts (the
test setup, for the sections that want a daemon running) or the one `costack record` starts
(the sections about record's own): tests that run in parallel never see, use or stop each
other's daemon, nor a daemon of the machine, and whatever runs in the namespace dies with it
(the kernel kills a pid namespace's processes when its first one ends), so that no daemon is
left behind even by a test that was killed. The setup stops the daemon it started, and checks
that no recording session is left.

Sections:
  maps         a program under libcostack.so alone never maps liblttng-ust (its
               /proc/PID/maps, read while it runs); with COSTACK_TRACE=1 it does.
  passthrough  record_target passthrough, with and without `costack record`: stdout, stdin,
               fd 3 and stderr (plus record's one line) byte-identical, exit status 0, 7, and
               death by SIGUSR1 passed through; the trace directory (named after the program
               without -o) reads with babeltrace2, without a discarded event, and holds
               task_create, switch, task_end with the vpid, vtid and procname contexts, and
               lttng_ust_statedump:bin_info; ~/.lttngrc is as it was.
  sigint       record_target block, SIGINT to record's process group once it is READY: the
               program's handler runs and its status (5) is record's; without a handler record
               dies of SIGINT; SIGTERM to record alone reaches the program, and record dies of
               it; each trace holds every task_create, switch and task_end.
  fork         a fork child is traced too (liblttng-ust-fork), under its own vpid, and every
               stack a process's switch refers to is defined in that process's events.
  errors       no COMMAND, bad options, -o on a trace or a non-empty directory, COMMAND not
               found, lttng not in PATH, no session daemon and lttng-sessiond not in PATH: the
               messages and exit statuses, and nothing left behind.
  daemon       with none running, record starts a session daemon and stops it; two records
               at once share one, each trace holds its own program only, the first to end
               leaves the daemon to the second, which stops it; a record killed by SIGKILL
               leaves its session, which the next record destroys before it stops the daemon;
               a daemon running already (the setup's) is left running.

Programs are synchronised through pipes only: no sleeps.
"""
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import lttng_session  # noqa: E402
from checks import check, finish  # noqa: E402

# --- the namespaces and the daemon ---------------------------------------------------------------

def processes(names):
    """pid -> name of the live (not zombie) processes of the namespace named in names."""
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        state = stat[stat.rindex(')') + 2]
        if name in names and state != 'Z':
            found[int(entry)] = name
    return found


LTTNG_DAEMONS = ('lttng-sessiond', 'lttng-consumerd', 'lttng-runas')


def lttng(*args):
    r = subprocess.run(['lttng', '--no-sessiond'] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def sessions():
    """The recording sessions of the daemon, None when there is no daemon."""
    status, out = lttng('--mi', 'xml', 'list')
    if status != 0:
        return None
    return re.findall(r'<session><name>([^<]*)</name>', out)


class Setup:
    """The test setup's session daemon: started here when a section wants one running, and
    stopped here."""

    def __init__(self):
        self.pid = None

    def start(self):
        r = subprocess.run(['lttng-sessiond', '--daemonize', '--no-kernel'],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError('lttng-sessiond: %s' % (r.stdout + r.stderr))
        with open('/run/lttng/lttng-sessiond.pid') as f:
            self.pid = int(f.read())

    def alive(self):
        return self.pid is not None and self.pid in processes(LTTNG_DAEMONS)

    def stop(self):
        if self.pid is None:
            return
        # Orphaned by --daemonize, it is a child of this namespace's first process: ours.
        os.kill(self.pid, signal.SIGTERM)
        os.waitpid(self.pid, 0)
        self.pid = None


def no_session_left(what):
    left = sessions()
    check(not left, '%s: no recording session left (lttng list)' % what, left)


# --- running things --------------------------------------------------------------------------------

class Run:
    def __init__(self, argv, stdin=b'', env=None, fd3=False, cwd=None):
        """argv to its end with stdin; stdout, stderr (and fd 3 if fd3) captured as bytes."""
        pass_fds = ()
        fd3_read = preexec = None
        if fd3:
            fd3_read, write = os.pipe()
            # Above 3, so that the child's dup2 to 3 makes a descriptor it inherits.
            fd3_write = fcntl.fcntl(write, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(write)
            pass_fds = (3,)

            def preexec():
                os.dup2(fd3_write, 3)
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, cwd=cwd, pass_fds=pass_fds,
                             preexec_fn=preexec)
        if fd3:
            os.close(fd3_write)
        self.stdout, self.stderr = p.communicate(stdin, timeout=300)
        self.status = p.returncode
        self.fd3 = b''
        if fd3_read is not None:
            with os.fdopen(fd3_read, 'rb') as f:
                self.fd3 = f.read()

    def __repr__(self):
        return 'status %s\nstdout %r\nstderr %r\nfd3 %r' % (self.status, self.stdout[:500],
                                                           self.stderr[:1500], self.fd3[:200])


# costack record's traces are per process: babeltrace2 shows the trace's procname and vpid
# (from its environment) before the event's name, as HOST:PROCNAME:(VPID).
TRACE_LINE = re.compile(r'^\[[^\]]*\] \([^)]*\) (\S+) (\w+:\w+): (.*)$')
TRACE_PROCESS = re.compile(r'(?:^|:)([^:]*):\(([0-9]+)\)$')
FIELD = re.compile(r'(\w+) = (0x[0-9A-Fa-f]+|-?[0-9]+|"(?:[^"\\]|\\.)*")')


def read_trace(path):
    """babeltrace2's reading of the trace at path: (status, stderr, events), each event a dict of
    its name ('event') and every scalar field and context."""
    r = subprocess.run(['babeltrace2', path], capture_output=True, text=True, timeout=300)
    events = []
    for line in r.stdout.splitlines():
        m = TRACE_LINE.match(line)
        if not m:
            continue
        event = {'event': m.group(2)}
        process = TRACE_PROCESS.search(m.group(1))
        if process:
            event['procname'] = process.group(1)
            event['vpid'] = int(process.group(2))
        for key, value in FIELD.findall(m.group(3)):
            if key in event:
                continue  # array elements ([0] = ...) are not scalars
            if value.startswith('"'):
                event[key] = value[1:-1]
            else:
                event[key] = int(value, 0)
        events.append(event)
    return r.returncode, r.stderr, events


def count(events, name, **where):
    return sum(1 for e in events if e['event'] == name and
               all(e.get(k) == v for k, v in where.items()))


def check_trace(what, path, pid, procname,
                names=('costack:task_create', 'costack:switch', 'costack:task_end')):
    """The trace at path reads, and holds the costack events names of pid with their thread
    (context vtid) and process (the per-process trace's vpid and procname),
    and the statedump of its objects. Returns its events."""
    status, err, events = read_trace(path)
    check(status == 0 and 'discarded' not in err.lower() and events,
          '%s: babeltrace2 reads the trace, with no event discarded' % what,
          'status %s, %d events, stderr %s' % (status, len(events), err[:1500]))
    mine = [e for e in events if e.get('vpid') == pid]
    for name in names:
        with_contexts = [e for e in mine if e['event'] == name and e.get('vtid') and
                         e.get('procname') == procname[:15]]
        check(with_contexts and len(with_contexts) == count(events, name, vpid=pid),
              '%s: %s events of the program, with vpid, vtid and procname' % (what, name),
              [e for e in events if e['event'] == name][:3])
    bin_info = [e for e in mine if e['event'] == 'lttng_ust_statedump:bin_info']
    check(any(os.path.basename(e.get('path', '')) == procname for e in bin_info) and
          any('libcostack.so' in e.get('path', '') for e in bin_info),
          '%s: lttng_ust_statedump:bin_info of the program and of libcostack.so' % what,
          [e.get('path') for e in bin_info])
    return events


# --- sections ------------------------------------------------------------------------------------

def section_maps(tool, library, target, provider, setup):
    for traced in (False, True):
        env = dict(os.environ, LD_PRELOAD=library)
        env.pop('COSTACK_TRACE', None)
        if traced:
            env.update(COSTACK_TRACE='1', COSTACK_LTTNG_LIBRARY=provider)
        p = subprocess.Popen([target, 'maps'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env, text=True)
        line = p.stdout.readline()
        m = re.match(r'^READY pid=([0-9]+)$', line.strip())
        maps = ''
        if m:
            with open('/proc/%s/maps' % m.group(1)) as f:
                maps = f.read()
        out, _ = p.communicate('done\n', timeout=120)
        objects = {os.path.basename(l.split()[-1]) for l in maps.splitlines()
                   if len(l.split()) > 5}
        mapped = sorted(o for o in objects if 'lttng' in o and o != os.path.basename(target))
        if traced:
            check(m and 'liblttng-ust.so.1' in ' '.join(mapped) and
                  'libcostack-lttng.so' in mapped and p.returncode == 0,
                  'maps: with COSTACK_TRACE=1, liblttng-ust and libcostack-lttng.so are mapped',
                  mapped)
        else:
            check(m and 'libcostack.so' in maps and not mapped and p.returncode == 0,
                  'maps: without tracing, nothing of LTTng is mapped', mapped or line)


def section_passthrough(tool, library, target, provider, setup):
    home = os.environ['LTTNG_HOME']
    rc = 'session=someone-elses\n'
    with open(os.path.join(home, '.lttngrc'), 'w') as f:
        f.write(rc)
    stdin = bytes(range(256)) * 64 + b'last line\n'
    work = tempfile.mkdtemp(prefix='costack-passthrough-')
    env = dict(os.environ)
    env.pop('LD_PRELOAD', None)
    for end, status in (('0', 0), ('7', 7), ('signal', -signal.SIGUSR1)):
        what = 'passthrough %s' % end
        bare = Run([target, 'passthrough', end], stdin, env, fd3=True, cwd=work)
        before = set(os.listdir(work))
        rec = Run([tool, 'record', '--', target, 'passthrough', end], stdin, env, fd3=True,
                  cwd=work)
        made = sorted(set(os.listdir(work)) - before)
        check(bare.status == status and rec.status == status,
              '%s: exit status %s, with record as without' % (what, status),
              'bare: %s\nrecord: %s' % (bare, rec))
        check(rec.stdout == bare.stdout and rec.stdout.startswith(stdin),
              '%s: stdout byte-identical (stdin passed through)' % what,
              'bare: %s\nrecord: %s' % (bare, rec))
        check(rec.fd3 == bare.fd3 == b'fd 3\n', '%s: inherited fd 3 passed through' % what,
              'bare: %s\nrecord: %s' % (bare, rec))
        lines = rec.stderr.decode(errors='replace').splitlines()
        name = os.path.basename(target)
        trace = os.path.join(work, made[0]) if len(made) == 1 else None
        check(bare.stderr == b'stderr\n' and lines[:1] == ['stderr'] and len(lines) == 2 and
              trace and lines[1] == 'costack record: trace written to %s' % trace,
              '%s: stderr is the program\'s, then where the trace is' % what, rec)
        check(trace and re.match(re.escape(name) + r'-[0-9]{8}-[0-9]{6}(-[0-9]+)?$', made[0]),
              '%s: the trace directory is named after the program and the time' % what, made)
        if trace:
            _, _, events = read_trace(trace)
            pids = {e.get('vpid') for e in events if e['event'] == 'costack:task_create'}
            check(len(pids) == 1, '%s: one process traced' % what, pids)
            if len(pids) == 1:
                events = check_trace(what, trace, pids.pop(), name)
                check(count(events, 'costack:task_create') == 3 and
                      count(events, 'costack:task_end') == 2,
                      '%s: 3 tasks made (the root and 2), 2 ended' % what,
                      [e for e in events if e['event'].startswith('costack:task')])
        no_session_left(what)
    with open(os.path.join(home, '.lttngrc')) as f:
        check(f.read() == rc, 'passthrough: ~/.lttngrc is as it was (lttng create changes it)')
    shutil.rmtree(work)


def read_ready(p):
    line = p.stdout.readline().decode()
    m = re.match(r'^READY pid=([0-9]+) tasks=([0-9]+) switches=([0-9]+)$', line.strip())
    return [int(x) for x in m.groups()] if m else None


def section_sigint(tool, library, target, provider, setup):
    work = tempfile.mkdtemp(prefix='costack-sigint-')
    # (how the program takes SIGINT, the signal, sent to the group or to record alone, status)
    for how, sig, group, status in (('handler', signal.SIGINT, True, 5),
                                    ('default', signal.SIGINT, True, -signal.SIGINT),
                                    ('default', signal.SIGTERM, False, -signal.SIGTERM)):
        what = 'sigint %s' % how if sig == signal.SIGINT else 'SIGTERM to record'
        trace = os.path.join(work, '%s-%d' % (how, sig))
        # A process group of its own, as a shell's job: the terminal's Ctrl-C goes to all of it.
        p = subprocess.Popen([tool, 'record', '-o', trace, '--', target, 'block', how],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        ready = read_ready(p)
        if not check(ready, '%s: the program is READY under record' % what):
            p.kill()
            p.communicate()
            continue
        pid, tasks, switches = ready
        if group:
            os.killpg(p.pid, sig)
        else:
            os.kill(p.pid, sig)  # record passes it on
        out, err = p.communicate(timeout=300)
        check(p.returncode == status,
              '%s: record ends as the program did (%s)' % (what, status),
              'status %s, stdout %r, stderr %r' % (p.returncode, out, err))
        if how == 'handler':
            check(out == b'interrupted\n', '%s: the program\'s handler ran' % what, out)
        check(b'trace written to ' + trace.encode() in err,
              '%s: record names the trace on stderr' % what, err)
        ended = tasks if how == 'handler' else 0
        events = check_trace(what, trace, pid, os.path.basename(target),
                             ('costack:task_create', 'costack:switch') +
                             (('costack:task_end',) if ended else ()))
        check(count(events, 'costack:task_create', vpid=pid) == tasks + 1 and
              count(events, 'costack:switch', vpid=pid) == switches + ended and
              count(events, 'costack:task_end', vpid=pid) == ended,
              '%s: every task_create (%d), switch (%d) and task_end (%d) is in the trace' %
              (what, tasks + 1, switches + ended, ended),
              {n: count(events, n, vpid=pid) for n in ('costack:task_create', 'costack:switch',
                                                      'costack:task_end')})
        no_session_left(what)
    shutil.rmtree(work)


def section_fork(tool, library, target, provider, setup):
    work = tempfile.mkdtemp(prefix='costack-fork-')
    trace = os.path.join(work, 'trace')
    r = Run([tool, 'record', '-o', trace, target, 'fork'])
    m = re.search(rb'child pid=([0-9]+)', r.stdout)
    check(r.status == 0 and m, 'fork: record of a forking program succeeds', r)
    status, err, events = read_trace(trace)
    by_pid = {}
    for e in events:
        if e['event'].startswith('costack:'):
            by_pid.setdefault(e['vpid'], []).append(e)
    child = int(m.group(1)) if m else None
    check(child in by_pid and len(by_pid) == 2,
          'fork: the child\'s events are traced, under its own vpid', list(by_pid))
    if child in by_pid:
        # The root task and 2 tasks inherited, announced first, then one of its own.
        made = [(e['task'], e['state']) for e in by_pid[child]
                if e['event'] == 'costack:task_create']
        check(made == [(1, 1), (2, 2), (3, 2), (4, 0)] and
              by_pid[child][0]['event'] == 'costack:task_create' and
              count(by_pid[child], 'costack:switch') >= 9,
              'fork: the child announces the tasks it inherited (running main, 2 suspended) '
              'first, then makes its own and switches', by_pid[child][:6])
        # Each inherited suspended task is told with the stack it waited at in the parent
        # when it forked: a switch from it to no task, naming that stack.
        costack = [e for e in events if e['event'].startswith('costack:')]
        forked_at = next(i for i, e in enumerate(costack) if e['vpid'] == child)
        told = {e['prev']: e['stack'] for e in by_pid[child]
                if e['event'] == 'costack:switch' and e['next'] == 0}
        for task in (2, 3):
            waited = [e['stack'] for e in costack[:forked_at]
                      if e['event'] == 'costack:switch' and e['prev'] == task]
            check(waited and told.get(task) == waited[-1],
                  'fork: the child tells inherited task %d suspended at the stack it had in '
                  'the parent' % task, (told, waited[-1:]))
    for pid, mine in sorted(by_pid.items()):
        who = 'child' if pid == child else 'parent'
        defined, created = set(), set()
        undefined, unknown = [], []
        for e in mine:
            if e['event'] == 'costack:stack':
                defined.add(e['id'])
            elif e['event'] == 'costack:task_create':
                created.add(e['task'])
            if e['event'] == 'costack:switch' and e['stack'] and e['stack'] not in defined:
                undefined.append(e)
            for key in ('prev', 'next', 'task'):
                if e['event'] != 'costack:task_create' and e.get(key) and \
                        e[key] not in created:
                    unknown.append(e)
        check(not undefined, 'fork: every stack the %s\'s switches name is defined in its '
              'own events first' % who, undefined[:3])
        check(not unknown, 'fork: every task the %s\'s events name is created in its own '
              'events first' % who, unknown[:3])
    no_session_left('fork')
    shutil.rmtree(work)


def section_errors(tool, library, target, provider, setup):
    work = tempfile.mkdtemp(prefix='costack-errors-')

    def record(*args, env=None):
        return Run([tool, 'record'] + list(args), env=env, cwd=work)

    r = record()
    check(r.status == 2 and not r.stdout and b'no command given' in r.stderr,
          'errors: no COMMAND: exit 2, a message', r)
    for bad in (['--subbuf-size', '3000', 'true'], ['--num-subbuf=3', 'true'], ['--bogus', 'x'],
                ['-o']):
        r = record(*bad)
        check(r.status == 2 and not r.stdout and b"Try 'costack record --help'" in r.stderr,
              'errors: %s: exit 2, a message' % ' '.join(bad), r)
    r = record('--help')
    check(r.status == 0 and b'Usage: costack record' in r.stdout and not r.stderr,
          'errors: --help on stdout, exit 0', r)

    existing = os.path.join(work, 'existing')
    r = record('-o', existing, target, 'passthrough', '0')
    check(r.status == 0 and os.path.isdir(os.path.join(existing, 'ust')),
          'errors: a first record into -o DIR', r)
    r = record('-o', existing, target, 'passthrough', '0')
    check(r.status == 3 and not r.stdout and b'already holds a trace' in r.stderr,
          'errors: -o on a trace: exit 3, "already holds a trace"', r)
    other = os.path.join(work, 'other')
    os.makedirs(os.path.join(other, 'keep'))
    r = record('-o', other, target, 'passthrough', '0')
    check(r.status == 3 and b'is not empty' in r.stderr and
          os.listdir(other) == ['keep'], 'errors: -o on a non-empty directory: exit 3, kept', r)
    empty = os.path.join(work, 'empty')
    os.mkdir(empty)
    r = record('-o', empty, target, 'passthrough', '0')
    check(r.status == 0 and os.path.isdir(os.path.join(empty, 'ust')),
          'errors: -o on an existing empty directory records into it', r)
    r = record('-o', os.path.join(work, 'nothing'), 'no-such-command-costack')
    check(r.status == 127 and b"cannot run 'no-such-command-costack'" in r.stderr and
          not os.path.exists(os.path.join(work, 'nothing')),
          'errors: COMMAND not found: exit 127, no trace directory left', r)

    # lttng not installed: a PATH without it.
    bare_path = os.path.join(work, 'bin')
    os.mkdir(bare_path)
    env = dict(os.environ, PATH=bare_path)
    r = record('-o', os.path.join(work, 'nolttng'), '/bin/true', env=env)
    check(r.status == 3 and b'cannot run lttng: not found in PATH' in r.stderr and
          b'install' in r.stderr and not os.path.exists(os.path.join(work, 'nolttng')),
          'errors: lttng not in PATH: exit 3, says to install lttng-tools', r)

    # No daemon, and none to be started: a PATH with lttng, without lttng-sessiond.
    setup.stop()
    os.symlink(shutil.which('lttng'), os.path.join(bare_path, 'lttng'))
    r = record('-o', os.path.join(work, 'nosessiond'), '/bin/true', env=env)
    check(r.status == 3 and b'no LTTng session daemon is running' in r.stderr and
          b'lttng-sessiond cannot be started' in r.stderr and
          not os.path.exists(os.path.join(work, 'nosessiond')),
          'errors: no session daemon, lttng-sessiond not in PATH: exit 3, a message', r)
    check(not processes(LTTNG_DAEMONS), 'errors: no daemon runs after that',
          processes(LTTNG_DAEMONS))
    shutil.rmtree(work)


def section_daemon(tool, library, target, provider, setup):
    work = tempfile.mkdtemp(prefix='costack-daemon-')
    check(not processes(LTTNG_DAEMONS), 'daemon: none runs at first', processes(LTTNG_DAEMONS))

    r = Run([tool, 'record', '-o', os.path.join(work, 'alone'), target, 'passthrough', '0'])
    check(r.status == 0 and b'trace written' in r.stderr, 'daemon: record with no daemon', r)
    check(not processes(LTTNG_DAEMONS) and not os.path.exists('/run/lttng/lttng-sessiond.pid'),
          'daemon: record stopped the daemon it started (and its consumer daemons)',
          processes(LTTNG_DAEMONS))

    # Two at once: A starts the daemon, B uses it; A ends first and leaves it to B.
    def start(name):
        p = subprocess.Popen([tool, 'record', '-o', os.path.join(work, name), target, 'maps'],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        line = p.stdout.readline()
        m = re.match(rb'READY pid=(\d+)', line)
        return p, bool(m), int(m.group(1)) if m else None

    a, a_ready, a_pid = start('a')
    b, b_ready, b_pid = start('b')
    check(a_ready and b_ready, 'daemon: two records at once run their programs')
    running = processes(LTTNG_DAEMONS)
    check(list(running.values()).count('lttng-sessiond') >= 1 and len(sessions() or []) == 2,
          'daemon: they share one daemon, with a session each', (running, sessions()))
    out, err = a.communicate(b'done\n', timeout=300)
    check(a.returncode == 0, 'daemon: the first record ends', err)
    check(processes(LTTNG_DAEMONS) == running and len(sessions() or []) == 1,
          'daemon: the daemon stays while the second record runs', processes(LTTNG_DAEMONS))
    out, err = b.communicate(b'done\n', timeout=300)
    check(b.returncode == 0 and b'trace written' in err, 'daemon: the second record ends', err)
    status, err_a, events_a = read_trace(os.path.join(work, 'a'))
    status, err_b, events_b = read_trace(os.path.join(work, 'b'))
    check(count(events_a, 'costack:switch') and count(events_b, 'costack:switch'),
          'daemon: both traces hold their switches')
    # Each session records its own COMMAND's processes: the other's were running meanwhile.
    check({e.get('vpid') for e in events_a} == {a_pid} and
          {e.get('vpid') for e in events_b} == {b_pid},
          'daemon: each of two records at once holds its own program only',
          ({e.get('vpid') for e in events_a}, a_pid, {e.get('vpid') for e in events_b}, b_pid))
    check(not processes(LTTNG_DAEMONS), 'daemon: the last record out stopped the daemon',
          processes(LTTNG_DAEMONS))

    # A record killed by SIGKILL cannot destroy its session: the next record does, and then,
    # the last one out, stops the daemon.
    k, k_ready, k_pid = start('killed')
    check(k_ready, 'daemon: a record runs its program')
    k.kill()
    k.wait()
    left = sessions() or []
    if k_pid:
        os.kill(k_pid, signal.SIGKILL)  # its program, now ours (we are the namespace's init)
        os.waitpid(k_pid, 0)
    check(len(left) == 1 and left[0].startswith('costack-record-'),
          'daemon: a record killed by SIGKILL leaves its session', left)
    r = Run([tool, 'record', '-o', os.path.join(work, 'after'), target, 'passthrough', '0'])
    check(r.status == 0 and b'destroyed the session %s of a record that is gone' %
          (left[0].encode() if left else b'?') in r.stderr,
          'daemon: the next record destroys the session of the record that is gone', r)
    check(not processes(LTTNG_DAEMONS), 'daemon: and, the last one out, stops the daemon',
          processes(LTTNG_DAEMONS))

    # A daemon that was running (the setup's) is left alone.
    setup.start()
    r = Run([tool, 'record', '-o', os.path.join(work, 'theirs'), target, 'passthrough', '0'])
    check(r.status == 0 and setup.alive() and sessions() == [],
          'daemon: a daemon running before record is left running, with no session', r)
    shutil.rmtree(work)


# name: (function, whether the setup starts a daemon first)
SECTIONS = {
    'maps': (section_maps, True),
    'passthrough': (section_passthrough, True),
    'sigint': (section_sigint, True),
    'fork': (section_fork, True),
    'errors': (section_errors, True),
    'daemon': (section_daemon, False),
}


def main():
    if len(sys.argv) < 6 or not all(s in SECTIONS for s in sys.argv[5:]):
        print(__doc__, file=sys.stderr)
        return 2
    tool, library, provider, target = (os.path.abspath(p) for p in sys.argv[1:5])
    if not lttng_session.enter_namespaces():
        print('FAILED: cannot make mount and pid namespaces (unshare(1), as root); the lttng '
              'tests need them')
        return 1
    # The defaults are what is under test; ~/.lttngrc (under LTTNG_HOME) is the test's own.
    lttng_session.clear_costack_env()
    for name in ('LTTNG_UST_REGISTER_TIMEOUT', 'LTTNG_SESSIOND_PATH'):
        os.environ.pop(name, None)
    for section in sys.argv[5:]:
        function, with_daemon = SECTIONS[section]
        setup = Setup()
        if with_daemon:
            setup.start()
        try:
            function(tool, library, target, provider, setup)
        finally:
            if setup.alive():
                no_session_left(section + ' (setup)')
            setup.stop()
    shutil.rmtree(os.environ['LTTNG_HOME'])
    return finish('test_lttng')


if __name__ == '__main__':
    sys.exit(main())
