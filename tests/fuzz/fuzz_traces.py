#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fuzz_traces.py - corrupt traces read by costack stacks, report, flame and timeline, built with
ASan and UBSan.

Usage: fuzz_traces.py COSTACK_ASAN LIBCOSTACK_SO LIBCOSTACK_LTTNG_SO OFFLINE_TARGET ODD_EVENTS
                      HANG_PLUGIN SECONDS SEED...

Records three traces with a session daemon of its own (tests/lttng/lttng_session.py):
offline_target states (one process, every state, exceptions), offline_target flood with
4 KiB sub-buffers (lost events) and odd_events (values costack does not know). Then:

  known   named corruptions, each with the exit status and message it must give: truncated
          metadata (babeltrace2 2.0 hangs on it), a field declared a structure of the same
          bytes, a field missing, a flipped bit in an index (babeltrace2 aborts), babeltrace2
          hanging (HANG_PLUGIN, in BABELTRACE_PLUGIN_PATH), the trace twice in a directory,
          symbolic links to a parent, in a cycle and to the trace, non-regular files, no
          costack event at all, odd values (unknown, never an index).
  random  for SECONDS, round robin over the SEEDs, a case N of seed S (its own
          random.Random(S * 1000003 + N)) applies 1 to 3 corruptions to a copy of a trace:
          truncation, bit flips, overwritten ranges, deleted, emptied, duplicated and foreign
          streams, the trace duplicated inside itself, edited metadata (a field made a
          structure, dropped, resized, made signed or a string, an event renamed or renumbered,
          the UUID changed, the text cut or a byte of it changed; written back as packets or as
          text), fifos, symbolic links to a parent or in a cycle; then runs one verb of
          stacks (text, JSON, --group, --at), report (text, JSON), flame (folded, --both,
          speedscope) and timeline on it.
  args    every verb with bad arguments (a list, then SECONDS / 10, at least 10 s, of random
          ones for run, ps, stacks, report, flame, timeline and help): exit 2 with the message
          and the "Try" line, or 3 (run: 126, 127) in one line, never a signal or a sanitizer
          report.

Every run must end within 30 s (costack's own watchdog gives babeltrace2 10 s of silence),
by no signal, with no sanitizer report, with 0 (and JSON that parses, for --format json),
2 (--at outside the trace: its line and the "Try" line) or 3 and one line on stderr,
"costack VERB: cannot read trace DIR: why". The counts of cases, by corruption and by exit
status, are printed. A random case that fails is kept in fuzz-traces-failures/ of the
current directory (meson's build directory), the corruptions it made said in the log.
"""
import concurrent.futures
import itertools
import json
import os
import random
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lttng'))
import lttng_session  # noqa: E402

RUN_TIMEOUT = 30
PACKET_MAGIC = 0x75d11d57
HEADER = 37
PACKET_SIZE = 4096

passed = 0
failed = 0
lock = threading.Lock()


def check(ok, what, detail=''):
    global passed, failed
    with lock:
        if ok:
            passed += 1
        else:
            failed += 1
            print('FAILED: ' + what)
            if detail:
                print('    ' + str(detail)[:4000].replace('\n', '\n    '))
            sys.stdout.flush()
    return ok


# --- metadata ----------------------------------------------------------------------------------

def metadata_text(data):
    """The text of CTF metadata (packets or text) and the UUID of its packets (or None)."""
    if len(data) >= 4 and struct.unpack_from('<I', data)[0] == PACKET_MAGIC:
        text, off, uuid = b'', 0, data[4:20]
        while off + HEADER <= len(data):
            content, packet = struct.unpack_from('<II', data, off + 24)
            text += data[off + HEADER:off + content // 8]
            off += packet // 8
        return text.decode('utf-8', 'replace'), uuid
    return data.decode('utf-8', 'replace'), None


def metadata_packets(text, uuid):
    """text as CTF metadata packets of PACKET_SIZE bytes, each whole."""
    raw = text.encode('utf-8', 'replace')
    out = b''
    room = PACKET_SIZE - HEADER
    for i in range(0, len(raw), room):
        chunk = raw[i:i + room]
        header = struct.pack('<I16sIII5B', PACKET_MAGIC, uuid, 0, (HEADER + len(chunk)) * 8,
                             PACKET_SIZE * 8, 0, 0, 0, 1, 8)
        out += header + chunk + bytes(room - len(chunk))
    return out


INTEGER_FIELD = re.compile(r'integer \{[^}]*\} (_\w+);')


def field_decl(text, event, field):
    """The span of field's declaration in event's fields, or None."""
    at = text.find('name = "%s";' % event)
    if at < 0:
        return None
    end = text.find('};\n};', at)
    for m in INTEGER_FIELD.finditer(text, at, end if end > 0 else len(text)):
        if m.group(1) == '_' + field:
            return m.span()
    return None


def edit_struct(text, rng=None, event=None, field=None):
    """A field declared as a structure of the same bytes."""
    fields = list(INTEGER_FIELD.finditer(text))
    span = field_decl(text, event, field) if event else rng.choice(fields).span() if fields else None
    if not span:
        return text
    decl = text[span[0]:span[1]]
    name = decl[decl.rindex(' ') + 1:-1]
    inner = decl[:decl.rindex(' ')]
    return text[:span[0]] + 'struct { %s x; } %s;' % (inner, name) + text[span[1]:]


def edit_drop(text, rng=None, event=None, field=None):
    fields = list(INTEGER_FIELD.finditer(text))
    span = field_decl(text, event, field) if event else rng.choice(fields).span() if fields else None
    return text[:span[0]] + text[span[1]:] if span else text


def edit_size(text, rng):
    sizes = list(re.finditer(r'size = \d+;', text))
    if not sizes:
        return text
    m = rng.choice(sizes)
    return text[:m.start()] + 'size = %d;' % rng.choice([1, 7, 8, 16, 32, 64, 65]) + text[m.end():]


def edit_signed(text, rng):
    signs = list(re.finditer(r'signed = [01];', text))
    if not signs:
        return text
    m = rng.choice(signs)
    return text[:m.start()] + 'signed = %d;' % (1 - int(m.group()[-2])) + text[m.end():]


def edit_string(text, rng):
    fields = list(INTEGER_FIELD.finditer(text))
    if not fields:
        return text
    m = rng.choice(fields)
    return text[:m.start()] + 'string %s;' % m.group(1) + text[m.end():]


def edit_rename(text, rng=None, old='costack:switch', new='costack:switcx'):
    if rng:
        names = re.findall(r'name = "(costack:\w+)";', text)
        if not names:
            return text
        old = rng.choice(names)
        new = old[:-1] + chr(ord(old[-1]) ^ 1)
    return text.replace('name = "%s";' % old, 'name = "%s";' % new)


def edit_id(text, rng):
    ids = list(re.finditer(r'\bid = \d+;', text))
    if not ids:
        return text
    m = rng.choice(ids)
    return text[:m.start()] + 'id = %d;' % rng.randrange(40) + text[m.end():]


def edit_uuid(text, rng):
    m = re.search(r'uuid = "([0-9a-f-]+)"', text)
    if not m:
        return text
    at = m.start(1) + rng.randrange(len(m.group(1)))
    c = text[at]
    return text[:at] + ('0' if c != '0' else '1') + text[at + 1:] if c != '-' else text


def edit_cut(text, rng):
    return text[:rng.randrange(len(text))] if text else text


def edit_byte(text, rng):
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + chr(rng.choice([0x7b, 0x7d, 0x3b, 0x22, 0x30, 0x41, 0x20, 0x0a])) + \
        text[at + 1:]


TEXT_EDITS = {'struct': edit_struct, 'drop': edit_drop, 'size': edit_size,
              'signed': edit_signed, 'string': edit_string, 'rename': edit_rename,
              'id': edit_id, 'uuid': edit_uuid, 'cut': edit_cut, 'byte': edit_byte}


def rewrite_metadata(path, edit, as_text):
    with open(path, 'rb') as f:
        text, uuid = metadata_text(f.read())
    text = edit(text)
    replace_file(path, text.encode('utf-8', 'replace') if as_text or not uuid
                 else metadata_packets(text, uuid))


# --- corruptions of a copy ---------------------------------------------------------------------

def replace_file(path, data):
    """Write data at path as a file of its own (the copy's files are hard links)."""
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, 'wb') as f:
        f.write(data)


def copy_trace(src, dst):
    """A copy whose files are hard links: each corruption replaces the files it changes."""
    shutil.copytree(src, dst, copy_function=os.link, symlinks=True)


def files_of(trace):
    out = []
    for d, _, names in os.walk(trace):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(p)
    return sorted(out)


def streams_of(trace):
    return [p for p in files_of(trace) if os.path.basename(os.path.dirname(p)) != 'index' and
            os.path.basename(p) != 'metadata']


def metadata_of(trace):
    return [p for p in files_of(trace) if os.path.basename(p) == 'metadata']


def pick_file(rng, trace):
    files = files_of(trace)
    kind = rng.random()
    if kind < 0.3 and metadata_of(trace):
        return rng.choice(metadata_of(trace))
    if kind < 0.8 and streams_of(trace):
        return rng.choice(streams_of(trace))
    return rng.choice(files) if files else None


def read(path):
    with open(path, 'rb') as f:
        return bytearray(f.read())


def corrupt(rng, trace, others):
    """One random corruption of trace (a copy); its description."""
    kind = rng.choice(['truncate', 'flip', 'overwrite', 'delete', 'empty', 'dup_stream',
                       'dup_trace', 'foreign', 'metadata', 'metadata', 'metadata', 'fifo',
                       'symlink_parent', 'symlink_cycle'])
    if kind in ('truncate', 'flip', 'overwrite', 'empty', 'delete', 'fifo'):
        path = pick_file(rng, trace)
        if not path:
            return 'nothing'
        rel = os.path.relpath(path, trace)
        data = read(path)
        if kind == 'truncate' and data:
            at = rng.randrange(len(data))
            replace_file(path, data[:at])
            return 'truncate %s at %d' % (rel, at)
        if kind == 'flip' and data:
            bits = []
            for _ in range(rng.choice([1, 1, 2, 8])):
                at = rng.randrange(len(data))
                bit = rng.randrange(8)
                data[at] ^= 1 << bit
                bits.append('%d.%d' % (at, bit))
            replace_file(path, data)
            return 'flip %s %s' % (rel, ','.join(bits))
        if kind == 'overwrite' and data:
            at = rng.randrange(len(data))
            n = rng.choice([1, 4, 8, 64, 512])
            fill = rng.choice([b'\0', b'\xff', None])
            blob = fill * n if fill else bytes(rng.randrange(256) for _ in range(n))
            data[at:at + n] = blob[:len(data) - at]
            replace_file(path, data)
            return 'overwrite %s at %d, %d bytes' % (rel, at, n)
        if kind == 'empty':
            replace_file(path, b'')
            return 'empty ' + rel
        if kind == 'fifo':
            os.unlink(path)
            os.mkfifo(path)
            return 'fifo ' + rel
        os.unlink(path)
        return 'delete ' + rel
    if kind == 'dup_stream':
        streams = streams_of(trace)
        if not streams:
            return 'nothing'
        path = rng.choice(streams)
        shutil.copyfile(path, path + '_copy')
        return 'duplicate ' + os.path.relpath(path, trace)
    if kind == 'dup_trace':
        inner = os.path.join(trace, 'again%d' % rng.randrange(1 << 30))
        copy_trace(trace, inner + '.tmp')
        os.rename(inner + '.tmp', inner)
        return 'dup_trace: the trace again inside itself'
    if kind == 'foreign':
        streams = streams_of(trace)
        foreign = streams_of(rng.choice(others))
        if not streams or not foreign:
            return 'nothing'
        src = rng.choice(foreign)
        dst = os.path.join(os.path.dirname(rng.choice(streams)), 'foreign_' + os.path.basename(src))
        shutil.copyfile(src, dst)
        return 'foreign stream ' + os.path.basename(src)
    if kind == 'metadata':
        paths = metadata_of(trace)
        if not paths:
            return 'nothing'
        name = rng.choice(sorted(TEXT_EDITS))
        as_text = rng.random() < 0.5
        rewrite_metadata(rng.choice(paths), lambda t: TEXT_EDITS[name](t, rng), as_text)
        return 'metadata %s (%s)' % (name, 'text' if as_text else 'packets')
    dirs = [d for d, _, _ in os.walk(trace)]
    where = rng.choice(dirs)
    # A second link or cycle in the same directory gets names of its own.
    suffix = next(str(i or '') for i in itertools.count()
                  if not any(os.path.lexists(os.path.join(where, name + str(i or '')))
                             for name in ('up', 'loop_a', 'loop_b')))
    if kind == 'symlink_parent':
        os.symlink('..', os.path.join(where, 'up' + suffix))
        return 'symlink to the parent in ' + os.path.relpath(where, trace)
    a, b = os.path.join(where, 'loop_a' + suffix), os.path.join(where, 'loop_b' + suffix)
    os.makedirs(a)
    os.makedirs(b)
    os.symlink('../loop_b' + suffix, os.path.join(a, 'l'))
    os.symlink('../loop_a' + suffix, os.path.join(b, 'l'))
    return 'symlink cycle in ' + os.path.relpath(where, trace)


# --- running costack ---------------------------------------------------------------------------

FRAME = re.compile(r'^\s*#\d+ 0x[0-9a-f]+\s+(?:in (\S+) )?\(?([^ )]*)', re.M)


def babeltrace2s(report):
    """Whether a sanitizer report is of a crash in babeltrace2's own code: a frame of one of its
    plugins before the first of costack's (a crash where our decoder calls libbabeltrace2 is
    ours)."""
    for func, where in FRAME.findall(report):
        if 'babeltrace-plugin-' in where:
            return True
        if 'costack' in where or where.startswith('../'):
            return False
    return False


class Runner:
    def __init__(self, costack, work):
        self.costack = costack
        self.sanitizer_dir = os.path.join(work, 'sanitizer')
        os.makedirs(self.sanitizer_dir)
        self.statuses = {}
        self.babeltrace2_crashes = 0  # crashes in babeltrace2's code, contained

    def run(self, args, env_extra=None):
        """(status or 'timeout' or -signal, stdout, stderr, seconds, sanitizer reports)."""
        env = dict(os.environ)
        tag = '%d-%d' % (os.getpid(), threading.get_ident())
        log = os.path.join(self.sanitizer_dir, tag)
        env['ASAN_OPTIONS'] = 'log_path=%s.asan:detect_leaks=1:abort_on_error=0' % log
        env['UBSAN_OPTIONS'] = 'log_path=%s.ubsan:print_stacktrace=1:halt_on_error=1' % log
        env.update(env_extra or {})
        start = time.monotonic()
        try:
            r = subprocess.run([self.costack] + args, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, errors='replace', env=env,
                               timeout=RUN_TIMEOUT)
            status, out, err = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as e:
            status, out, err = 'timeout', '', (e.stderr or b'').decode('utf-8', 'replace')
        seconds = time.monotonic() - start
        reports = []
        for name in os.listdir(self.sanitizer_dir):
            if name.startswith(tag):
                path = os.path.join(self.sanitizer_dir, name)
                with open(path, errors='replace') as f:
                    reports.append(f.read())
                os.unlink(path)
        return status, out, err, seconds, reports


    def expect(self, what, args, statuses=(0, 2, 3), pattern=None, env_extra=None):
        """Run args and check the contract; returns (status, stdout) for further checks."""
        status, out, err, seconds, reports = self.run(args, env_extra)
        verb = args[0]
        lines = err.rstrip('\n').split('\n') if err.strip() else []
        ok, why = True, ''
        contained = [r for r in reports if babeltrace2s(r)]
        if contained and status == 3 and re.search(r"babeltrace2( crashed|'s reading ended)",
                                                     err):
            with lock:
                self.babeltrace2_crashes += 1
        elif reports:
            ok, why = False, 'sanitizer report:\n' + '\n'.join(reports)[:3000]
        elif status not in statuses:
            ok, why = False, 'exit %s, not one of %s' % (status, statuses)
        elif status == 3 and (len(lines) != 1 or
                              not re.match(r'costack %s: cannot read trace .+: .' % verb,
                                           lines[0])):
            ok, why = False, 'exit 3 without one "cannot read trace DIR: why" line'
        elif status == 2 and (len(lines) != 2 or '--at' not in lines[0] or
                              not lines[1].startswith('Try ')):
            ok, why = False, 'exit 2 without the --at line and the Try line'
        elif status == 0 and '--format' in args:
            try:
                json.loads(out)
            except ValueError:
                ok, why = False, 'exit 0 with JSON that does not parse'
        elif status == 0 and any(not line.startswith('costack %s: ' % verb) for line in lines):
            ok, why = False, 'exit 0 with stderr lines not costack\'s'
        if ok and pattern and not re.search(pattern, err):
            ok, why = False, 'stderr does not match %r' % pattern
        with lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        check(ok, what, '%s\n  costack %s\n  %.1f s, stderr: %s' %
              (why, ' '.join(args), seconds, err[-1500:]))
        return status, out, seconds


    def expect_args(self, what, args, statuses):
        """Run args (arguments, no trace to corrupt): exit 2 with its line and the Try line, 3
        (or run's 126 and 127) in one line, or 0; never a signal, never a sanitizer report."""
        status, out, err, seconds, reports = self.run(args)
        lines = err.rstrip('\n').split('\n') if err.strip() else []
        why = ''
        if reports:
            why = 'sanitizer report:\n' + '\n'.join(reports)[:3000]
        elif status not in statuses:
            why = 'exit %s, not one of %s' % (status, statuses)
        elif status == 2 and (len(lines) != 2 or not lines[0].startswith('costack') or
                              not re.match(r"Try 'costack( \w+)? --help'\.$", lines[1])):
            why = 'exit 2 without one line and the Try line'
        elif status in (3, 126, 127) and (len(lines) != 1 or
                                          not re.match(r'costack( \w+)?: ', lines[0])):
            why = 'exit %d without one line' % status
        with lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        check(not why, what, '%s\n  %.1f s, stderr: %s' % (why, seconds, err[-1500:]))


VERBS = [['stacks'], ['stacks', '--format', 'json'], ['stacks', '--group'],
         ['stacks', '--at', '+40ms'], ['stacks', '--at', '+1ms', '--format', 'json'],
         ['report'], ['report', '--format', 'json'],
         ['flame'], ['flame', '--both', '--by', 'entry'], ['flame', '--format', 'speedscope'],
         ['timeline']]


def verb_args(verb, trace):
    return [verb[0], trace] + verb[1:]


# --- bad arguments -----------------------------------------------------------------------------

BAD_ARGS = [[], ['bogus'], ['-x'], ['--version', 'x'], ['help', 'bogus'], ['help', 'stacks', 'x'],
            ['run'], ['run', '--bogus'], ['run', '--'], ['record'], ['record', '--bogus'],
            ['record', '-o'], ['record', '-o', ''], ['record', '--subbuf-size', '3'],
            ['record', '--num-subbuf', '3'], ['record', '--subbuf-size', '1T', '--', 'true'],
            ['ps'], ['ps', 'x'], ['ps', '1', '2'], ['ps', '0'], ['ps', '99999999999'],
            ['ps', '1', '--format'], ['ps', '1', '--format', 'xml'], ['stacks'],
            ['stacks', '--at'], ['stacks', '1', '--at', '+1s'], ['stacks', 'TRACE', '--at', ''],
            ['stacks', 'TRACE', '--at', '.5'], ['stacks', 'TRACE', '--at', '1e9'],
            ['stacks', 'TRACE', '--limit', '-1'], ['stacks', 'TRACE', '--limit', '9' * 30],
            ['stacks', 'TRACE', '--task', '0'], ['stacks', 'TRACE', '--pid', '0'],
            ['stacks', 'TRACE', '--format'], ['stacks', 'TRACE', '--task'] + ['1'] * 70,
            ['stacks', 'TRACE'] + ['--task', '1'] * 65, ['report'],
            ['report', 'TRACE', '--top', '-1'], ['report', 'TRACE', '--top', 'x'],
            ['report', 'TRACE', '--top', '9' * 30], ['report', 'TRACE', '--bogus'],
            ['report', 'a', 'b'], ['flame'], ['flame', 'TRACE', '--format', 'png'],
            ['flame', 'TRACE', '--by'], ['flame', 'TRACE', '--run', '--both'],
            ['flame', 'TRACE', '--task', '-1'], ['flame', 'TRACE', '--from', '+1s', '--to', '+1s'],
            ['timeline'], ['timeline', 'a', 'b'], ['timeline', 'TRACE', '--pid', 'x'],
            ['timeline', 'TRACE', '-o']]

TOKENS = ['--at', '--task', '--pid', '--limit', '--group', '--format', '--top', '--help', '-h',
          '--', '-', '', '0', '1', '-1', '+', '+1s', '+.5s', '.5', '5.', '1e9', '+250ms',
          '1795542309.164005327', 'json', 'text', 'yaml', '4294967296', '9' * 40, '\u00e9',
          '\x01\x1b[31m', 'a' * 5000, '%s%n', 'TRACE', 'NOTRACE', 'TRACE/', './TRACE']


def args_section(runner, traces, work, seconds, seed):
    def expand(args):
        return [traces['states'] if a == 'TRACE' else
                traces['states'] + '/' if a == 'TRACE/' else
                os.path.join(work, 'no-such-trace') if a == 'NOTRACE' else a for a in args]

    for args in BAD_ARGS:
        runner.expect_args('bad arguments: costack ' + ' '.join(args)[:120], expand(args), (2,))
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        args = [rng.choice(['ps', 'stacks', 'stacks', 'report', 'help', '--help', '--version',
                            'stacks', 'run', 'flame', 'timeline'])]
        args += [rng.choice(TOKENS) for _ in range(rng.randrange(6))]
        # run executes what follows its options (none of TOKENS is a program in PATH).
        runner.expect_args('random arguments %d: costack %r' % (n, args)[:200], expand(args),
                           (0, 2, 3, 126, 127) if args[0] == 'run' else (0, 2, 3))
        n += 1
    print('args: %d bad argument lists, then %d random ones' % (len(BAD_ARGS), n))


# --- the recordings ----------------------------------------------------------------------------

def record_all(s, work):
    traces = {}
    with lttng_session.SessionDaemon():
        for name, argv, channel in [
                ('states', [s.target, 'states', os.path.join(work, 'states.json')], None),
                ('flood', [s.target, 'flood', os.path.join(work, 'flood.json'), '3000'],
                 {'subbuf-size': '4096', 'num-subbuf': '2'}),
                ('odd', [s.odd_events, s.provider], None)]:
            path = os.path.join(work, 'base', name)
            r = lttng_session.record(path, argv, s.libcostack, s.provider, channel=channel)
            if not check(r.returncode == 0 and os.path.isdir(path), 'recorded ' + name,
                         r.stderr):
                return None
            traces[name] = path
    return traces


# --- known corruptions -------------------------------------------------------------------------

def known(s, runner, traces, work):
    def fresh(name, base='states'):
        path = os.path.join(work, 'known', name)
        copy_trace(traces[base], path)
        return path

    def first(paths):
        return sorted(paths)[0]

    base_status, base_out, _ = runner.expect('the states trace reads',
                                             ['report', traces['states'], '--format', 'json'],
                                             (0,))
    base = json.loads(base_out) if base_out else {}

    t = fresh('truncated_metadata')
    meta = first(metadata_of(t))
    replace_file(meta, read(meta)[:1000])
    status, _, seconds = runner.expect('truncated metadata: exit 3, says so', ['stacks', t], (3,),
                                       r'metadata: truncated')
    check(seconds < 5, 'truncated metadata: refused at once', seconds)

    t = fresh('struct_field')
    rewrite_metadata(first(metadata_of(t)),
                     lambda x: edit_struct(x, event='costack:switch', field='prev'), False)
    runner.expect('a field declared a structure of the same bytes: refused', ['report', t], (3,),
                  r'field `prev` of event costack:switch is a structure, not an integer')
    t = fresh('missing_field')
    rewrite_metadata(first(metadata_of(t)),
                     lambda x: edit_drop(x, event='costack:switch', field='next'), True)
    runner.expect('a field missing: refused', ['stacks', t], (3,),
                  r'event costack:switch has no field `next`')

    t = fresh('index_flip')
    index = first(p for p in files_of(t) if p.endswith('.idx'))
    data = read(index)
    data[20] ^= 0x80  # the first packet's offset, far past the stream's end
    replace_file(index, data)
    runner.expect('a flipped bit in an index (babeltrace2 2.0 aborts): one line, no crash',
                  ['report', t], (0, 3))

    plugins = os.path.join(work, 'plugins')
    os.makedirs(plugins)
    shutil.copy(s.hang_plugin, plugins)  # babeltrace2 does not follow links to plugins
    status, _, seconds = runner.expect(
        'babeltrace2 hanging: exit 3 within seconds', ['stacks', traces['states']], (3,),
        r'babeltrace2 made no progress reading it for 10 s',
        env_extra={'BABELTRACE_PLUGIN_PATH': plugins})
    check(seconds < 20, 'babeltrace2 hanging: refused in 10 s', seconds)

    twice = os.path.join(work, 'known', 'twice')
    os.makedirs(twice)
    copy_trace(traces['states'], os.path.join(twice, 'a'))
    copy_trace(traces['states'], os.path.join(twice, 'b'))
    linked = os.path.join(work, 'known', 'linked')
    os.makedirs(linked)
    copy_trace(traces['states'], os.path.join(linked, 'trace'))
    os.symlink('trace', os.path.join(linked, 'again'))
    # Without a UUID (text metadata may have none), a trace is told by its directory alone.
    linked_bare = os.path.join(work, 'known', 'linked_bare')
    os.makedirs(linked_bare)
    copy_trace(traces['states'], os.path.join(linked_bare, 'trace'))
    rewrite_metadata(first(metadata_of(os.path.join(linked_bare, 'trace'))),
                     lambda x: re.sub(r'(trace \{[^}]*?)\n\s*uuid = "[^"]*";', r'\1', x, 1), True)
    os.symlink('trace', os.path.join(linked_bare, 'again'))
    for what, path in [('the trace twice in a directory', twice),
                       ('a symbolic link to the trace beside it', linked),
                       ('a symbolic link to a trace without UUID beside it', linked_bare)]:
        status, out, _ = runner.expect(what + ': read once', ['report', path, '--format', 'json'],
                                       (0,))
        if status == 0 and base:
            doc = json.loads(out)
            check((doc['events'], len(doc['processes']),
                   sum(len(p['tasks']) for p in doc['processes'])) ==
                  (base['events'], len(base['processes']),
                   sum(len(p['tasks']) for p in base['processes'])),
                  what + ': the same events, processes and tasks as the trace alone',
                  (doc['events'], base['events']))

    t = fresh('parent_link')
    os.symlink('..', os.path.join(t, 'ust', 'up'))
    runner.expect('a symbolic link to a parent: refused', ['stacks', t], (3,),
                  r'a symbolic link loop: .*up leads back')
    t = fresh('cycle')
    for a, b in [('a', 'b'), ('b', 'a')]:
        os.makedirs(os.path.join(t, 'c', a), exist_ok=True)
        os.symlink('../' + b, os.path.join(t, 'c', a, 'l'))
    runner.expect('a symbolic link cycle: refused', ['report', t], (3,), r'symbolic link loop')

    t = fresh('fifo_metadata')
    meta = first(metadata_of(t))
    os.unlink(meta)
    os.mkfifo(meta)
    runner.expect('a fifo for metadata: no wait', ['stacks', t], (3,), r'no CTF trace')
    t = fresh('fifo_stream')
    stream = first(streams_of(t))
    os.unlink(stream)
    os.mkfifo(stream)
    runner.expect('a fifo for a stream: no wait', ['report', t], (0, 3))

    t = fresh('no_costack_events')
    rewrite_metadata(first(metadata_of(t)), lambda x: x.replace('"costack:', '"costacx:'), False)
    for verb in (['report'], ['report', '--format', 'json'], ['stacks'], ['stacks', '--group']):
        runner.expect('no costack event (UBSan: qsort of nothing): ' + ' '.join(verb),
                      verb_args(verb, t), (0,), r'no costack events')

    status, out, _ = runner.expect('odd values: report reads them', ['report', traces['odd'],
                                                                     '--format', 'json'], (0,))
    if status == 0:
        tasks = {t['id']: t for p in json.loads(out)['processes'] for t in p['tasks']}
        got = {i: (tasks[i]['runtime'], tasks[i]['fate']) for i in range(1001, 1006)
               if i in tasks}
        check(got == {1001: ('thread', 'unknown'), 1002: (None, 'created'),
                      1003: ('ucontext', 'unknown'), 1004: ('ucontext', 'unknown'),
                      1005: ('ucontext', 'running')},
              'odd values: runtime 9 unknown, state 77, outcome 50, prev_state 200 unknown', got)
    status, out, _ = runner.expect('odd values: stacks reads them', ['stacks', traces['odd'],
                                                                     '--format', 'json'], (0,))
    if status == 0:
        states = {t['id']: (t['state'], t['runtime']) for t in json.loads(out)['tasks']}
        check({i: states.get(i) for i in range(1001, 1006)} ==
              {1001: ('unknown', 'thread'), 1002: ('created', '?'),
               1003: ('unknown', 'ucontext'), 1004: ('unknown', 'ucontext'),
               1005: ('running', 'ucontext')}, 'odd values: each unknown, never an index', states)


# --- random corruptions ------------------------------------------------------------------------

def random_case(runner, traces, work, seed, n):
    rng = random.Random(seed * 1000003 + n)
    name = rng.choice(sorted(traces))
    path = os.path.join(work, 'random', '%d-%d' % (seed, n))
    copy_trace(traces[name], path)
    others = [traces[k] for k in sorted(traces) if k != name]
    done = [corrupt(rng, path, others) for _ in range(rng.choice([1, 1, 2, 3]))]
    verb = rng.choice(VERBS)
    what = 'case %d:%d: %s: %s; %s' % (seed, n, name, '; '.join(done), ' '.join(verb))
    before = failed
    status, _, _ = runner.expect(what, verb_args(verb, path))
    if failed != before:
        keep = os.path.join(os.getcwd(), 'fuzz-traces-failures', '%d-%d' % (seed, n))
        shutil.rmtree(keep, ignore_errors=True)
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        subprocess.run(['cp', '-a', path, keep])  # fifos and links as they are
        print('    kept in ' + keep)
    shutil.rmtree(path, ignore_errors=True)
    return [d.split(' ')[0].rstrip(':') for d in done], status


def random_phase(runner, traces, work, seconds, seeds):
    deadline = time.monotonic() + seconds
    kinds, counts = {}, {seed: 0 for seed in seeds}
    next_case = {seed: 0 for seed in seeds}

    def cases():
        i = 0
        while time.monotonic() < deadline:
            seed = seeds[i % len(seeds)]
            yield seed, next_case[seed]
            next_case[seed] += 1
            i += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        pending = set()
        for seed, n in cases():
            pending.add(pool.submit(random_case, runner, traces, work, seed, n))
            if len(pending) >= 4:
                done, pending = concurrent.futures.wait(
                    pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for f in done:
                    names, status = f.result()
                    for k in names:
                        kinds[k] = kinds.get(k, 0) + 1
            counts[seed] += 1
        for f in concurrent.futures.as_completed(pending):
            names, status = f.result()
            for k in names:
                kinds[k] = kinds.get(k, 0) + 1
    total = sum(counts.values())
    print('random: %d corrupted traces, seeds %s' %
          (total, ', '.join('%d: %d' % (k, v) for k, v in sorted(counts.items()))))
    print('random: corruptions: ' + ', '.join('%s %d' % kv for kv in sorted(kinds.items())))
    check(total > 0, 'random: some cases ran')


class Setup:
    def __init__(self, argv):
        (self.costack, self.libcostack, self.provider, self.target, self.odd_events,
         self.hang_plugin) = [os.path.abspath(a) for a in argv[:6]]
        self.seconds = float(argv[6])
        self.seeds = [int(a) for a in argv[7:]]


def main():
    if len(sys.argv) < 9:
        print(__doc__, file=sys.stderr)
        return 2
    if not lttng_session.enter_namespaces():
        # Not a skip: CI runs as root, where this works; elsewhere it is a failure to see.
        print('FAILED: needs root and unshare(1) for a session daemon of its own')
        return 1
    s = Setup(sys.argv[1:])
    work = tempfile.mkdtemp(prefix='costack-fuzz-traces-')
    try:
        traces = record_all(s, work)
        if traces:
            runner = Runner(s.costack, work)
            known(s, runner, traces, work)
            random_phase(runner, traces, work, s.seconds, s.seeds)
            args_section(runner, traces, work, max(10, s.seconds / 10) if s.seconds else 0,
                         s.seeds[0])
            print('exit statuses: ' + ', '.join('%s: %d' % (k, v) for k, v in
                                              sorted(runner.statuses.items(), key=str)))
            print('babeltrace2 crashed on %d of them (the child it runs in ended; costack said '
                  'so)' % runner.babeltrace2_crashes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('fuzz traces: %d passed, %d failed' % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main())
