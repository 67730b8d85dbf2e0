#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# dump_check.py - the in-process dumps of dump_target's tasks, on a signal and on a crash.
"""Run dump_target (tests/dump/dump_target.c) under libcostack.so with dumps on, and
without the preload, and check one CASE. Exit 0 when it holds, 1 when not.

  dump_check.py --preload LIBRARY --target DUMP_TARGET CASE

Every run with the preload is compared with a run without it: the same stdout
(the program's own checks: no read() failed with EINTR, errno unchanged by a
handler) and the same wait status, its core-dump flag included (core files,
when the kernel's core_pattern writes them in the working directory, go to a
temporary one). No sleep: a signal is sent once the program is blocked in
read() of its stdin (/proc/PID/syscall), then the test writes a line and waits
for the program's "ack", which it can only write once the handler returned.

Cases (dump_target's tasks: sleeper suspended, fresh created, finisher done,
thrower failed, main running):
  signal           COSTACK_DUMP_SIGNAL=USR2, two signals: two dumps on stderr, and
                   nothing else there
  signal-rt        the same with RTMIN+1
  busy             twenty dumps while two tasks switch on another thread: each
                   shows both, consistent
  file             COSTACK_DUMP_FILE, an existing file: both dumps appended after
                   its content, its mode kept; stderr as without the preload
  file-relative    a relative COSTACK_DUMP_FILE is the load-time directory's, even
                   after the program's chdir; a new file is made with mode 0600
  file-unopenable  a COSTACK_DUMP_FILE that cannot be opened: one line at load,
                   one at the dump saying so, the dump on stderr, errno of the
                   program untouched
  file-full        a COSTACK_DUMP_FILE that opens but takes nothing (/dev/full):
                   one line saying so, then the dump on stderr
  stderr-gone      stderr is a pipe nobody reads any more: the dump is lost, and
                   the program goes on (no SIGPIPE)
  segv abort fpe ill bus
                   COSTACK_DUMP_ON_CRASH=1: the dump names the signal, shows the
                   crashed task's live stack down to the crashing function; the
                   status is that of the run without the preload
  overflow         a task overflows its stack: still dumped (alternate signal stack)
  no-crash-dump    a crash without COSTACK_DUMP_ON_CRASH: no dump at all
  own-handler      the program's SIGSEGV handler, installed after costack's,
                   replaces it: it runs, and costack writes nothing
  own-handler-chain  the program's handler passes on to the one before it,
                   costack's: the dump, then the same death as without costack
  handler-before   handlers of the program's installed before costack is loaded
                   (dlopen): a dump on SIGUSR2 and on SIGSEGV, then the
                   program's handler, which still runs, each time
"""

import argparse
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time

HEADER = re.compile(r"^costack: dump of process (\d+) \(reason: (.*)\), (\d+) tasks?$")
NO_REGISTRY = re.compile(r"^costack: dump of process (\d+) \(reason: (.*)\): no task was made")
END = re.compile(r"^costack: end of dump of process (\d+)$")
TASK = re.compile(r'^Task id=(\d+) name="((?:[^"\\]|\\.)*)" state=(\w+) runtime=(\w+) '
                  r"thread=(\d+)(?: \((.*)\))?$")
# A record its writer was changing when the signal came (the writer may be the
# interrupted code itself): said, not shown.
BUSY = re.compile(r"^Task id=(\d+) \(its record is being changed .*: not shown\)$")
THREAD = re.compile(r"^Thread tid=(\d+) \((.*)\)$")
FRAME = re.compile(r"^  #(\d+) (0x[0-9a-f]+)  "
                   r"(?:\?|(.+?)\+(0x[0-9a-f]+)(?:  (\S+)\+(0x[0-9a-f]+))?)$")

failures = 0


def check(ok, what):
    global failures
    print(("ok - " if ok else "FAILED - ") + what)
    if not ok:
        failures += 1
    return ok


# --- parsing dumps ---------------------------------------------------------------

def parse_dumps(text):
    """The dumps in text, in order: dicts with pid, reason, count, tasks, threads,
    ended; every line of text must belong to one. Raises ValueError otherwise."""
    dumps = []
    current = None
    block = None
    for line in text.splitlines():
        m = HEADER.match(line) or NO_REGISTRY.match(line)
        if m:
            if current is not None:
                raise ValueError(f"a dump begins inside another: {line!r}")
            current = {"pid": int(m.group(1)), "reason": m.group(2),
                       "count": int(m.group(3)) if m.re is HEADER else None,
                       "tasks": [], "threads": [], "ended": False}
            block = None
            continue
        if current is None:
            raise ValueError(f"a line outside any dump: {line!r}")
        m = END.match(line)
        if m:
            if int(m.group(1)) != current["pid"]:
                raise ValueError(f"the end names another process: {line!r}")
            current["ended"] = True
            dumps.append(current)
            current = None
            continue
        m = TASK.match(line)
        if m:
            block = {"id": int(m.group(1)), "name": m.group(2), "state": m.group(3),
                     "runtime": m.group(4), "thread": int(m.group(5)), "note": m.group(6),
                     "frames": [], "lines": []}
            current["tasks"].append(block)
            continue
        m = BUSY.match(line)
        if m:
            block = {"id": int(m.group(1)), "name": None, "state": "busy", "runtime": None,
                     "thread": None, "note": None, "frames": [], "lines": []}
            current["tasks"].append(block)
            continue
        m = THREAD.match(line)
        if m:
            block = {"tid": int(m.group(1)), "note": m.group(2), "frames": [], "lines": []}
            current["threads"].append(block)
            continue
        if block is None or not line.startswith("  "):
            raise ValueError(f"a line outside any task: {line!r}")
        m = FRAME.match(line)
        if m:
            if int(m.group(1)) != len(block["frames"]):
                raise ValueError(f"frames out of order: {line!r}")
            block["frames"].append({"address": int(m.group(2), 16), "module": m.group(3),
                                    "function": m.group(5), "offset": m.group(6)})
        else:
            block["lines"].append(line.strip())
    if current is not None:
        raise ValueError("the last dump has no end line")
    return dumps


def functions(block):
    """The frames' functions; a part GCC moved out of a function (foo.cold) is foo's."""
    return [re.sub(r"\.cold$", "", f["function"]) if f["function"] else None
            for f in block["frames"]]


def task_named(dump, name):
    found = [t for t in dump["tasks"] if t["name"] == name]
    return found[0] if len(found) == 1 else None


# --- running the target -----------------------------------------------------------

def core_files_here():
    """Whether the kernel writes core files into the crashing process's working directory."""
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
    except OSError:
        return False
    return bool(pattern) and not pattern.startswith("|") and "/" not in pattern


def child_setup():
    os.umask(0o022)
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if core_files_here():
        # Core files in the temporary working directory, and small: no memory in them.
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        try:
            with open("/proc/self/coredump_filter", "w") as f:
                f.write("0")
        except OSError:
            pass
    else:
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


def environment(preload, settings):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("COSTACK_") or name == "LD_PRELOAD":
            del env[name]
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(settings)
    return env


def wait_in_read(pid):
    """Until the program's main thread is blocked in read() of its stdin, so that
    the signal interrupts that call: a handler without SA_RESTART makes it fail,
    one that does not keep errno changes what the program sees after it. A wait
    on a state of the program, not on time; the deadline only stops a hang."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return check(False, "the program ended instead of waiting in read()")
            with open(f"/proc/{pid}/syscall") as f:
                fields = f.read().split()
        except OSError as e:
            return check(False, f"cannot tell where the program waits: {e}")
        if len(fields) > 1 and fields[0] == str(READ_SYSCALL) and int(fields[1], 16) == 0:
            return True
        os.sched_yield()
    return check(False, "the program never waited in read() of its stdin")


READ_SYSCALL = 0  # x86-64


class Run:
    """One run of the target: stdout, stderr, raw wait status, pid. After "ready",
    each of `lines` is written, once the program waits in read() and, for a line
    with a signal, once that signal was sent and (await_dumps) the dump it makes
    on stderr has ended: the read() was interrupted by the handler, not ended by
    the line. The program's answer to each line is read before the next."""

    def __init__(self, command, env, cwd, signals=(), lines=None, await_dumps=False,
                 stderr_gone=False):
        with tempfile.TemporaryFile() as err_file:
            proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE if await_dumps or stderr_gone
                                    else err_file,
                                    preexec_fn=child_setup)
            self.pid = proc.pid
            if stderr_gone:
                proc.stderr.close()  # a write to it is EPIPE and SIGPIPE
            out = b""
            err = b""
            if lines is not None:
                out += proc.stdout.readline()
                for i, line in enumerate(lines):
                    sig = signals[i] if i < len(signals) else None
                    if sig:
                        if not wait_in_read(proc.pid):
                            break
                        os.kill(proc.pid, sig)
                        while await_dumps:
                            got = proc.stderr.readline()
                            err += got
                            if not got or END.match(got.decode(errors="replace").rstrip("\n")):
                                break
                    try:
                        proc.stdin.write(line)
                        proc.stdin.flush()
                    except BrokenPipeError:
                        break
                    out += proc.stdout.readline()
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
            out += proc.stdout.read()
            proc.stdout.close()
            if await_dumps and not stderr_gone:
                err += proc.stderr.read()
                proc.stderr.close()
            _, self.status = os.waitpid(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(self.status)
            if not await_dumps and not stderr_gone:
                err_file.seek(0)
                err = err_file.read()
            self.stdout = out
            self.stderr = err

    def describe(self):
        if os.WIFSIGNALED(self.status):
            return (f"killed by {signal.Signals(os.WTERMSIG(self.status)).name}"
                    + (" (core dumped)" if os.WCOREDUMP(self.status) else ""))
        return f"exit status {os.WEXITSTATUS(self.status)}"


def compare(bare, preloaded):
    check(bare.stdout == preloaded.stdout,
          f"stdout as without the preload: {preloaded.stdout!r} (without: {bare.stdout!r})")
    check(bare.status == preloaded.status,
          f"status as without the preload: {preloaded.describe()} (without: {bare.describe()})")


def dumps_of(text, what):
    try:
        dumps = parse_dumps(text.decode(errors="replace"))
    except ValueError as e:
        check(False, f"{what} is made of whole dumps: {e}\n{text.decode(errors='replace')}")
        return []
    return dumps


# --- what a dump of dump_target must show ----------------------------------------------

def check_module(block, target, what):
    mine = [f for f in block["frames"] if f["function"] in (
        "sleeper_entry", "sleeper_a", "sleeper_b", "task_yield", "fresh_entry")]
    check(all(f["module"] == target for f in mine),
          f"{what}: frames of dump_target name its module {target}")


def check_states(dump, pid, target, root_functions, what):
    check(dump["pid"] == pid, f"{what}: the dump names process {pid} ({dump['pid']})")
    check(dump["count"] == len(dump["tasks"]),
          f"{what}: the header counts the tasks shown ({dump['count']}, {len(dump['tasks'])})")

    sleeper = task_named(dump, "sleeper")
    if check(sleeper is not None, f"{what}: one task named sleeper"):
        check(sleeper["state"] == "suspended" and sleeper["runtime"] == "ucontext" and
              sleeper["thread"] == pid and sleeper["note"] is None,
              f"{what}: sleeper is a suspended ucontext task of thread {pid}: {sleeper}")
        check(functions(sleeper) == ["sleeper_entry", "sleeper_a", "sleeper_b", "task_yield"],
              f"{what}: sleeper's frames, oldest first: {functions(sleeper)}")
        check_module(sleeper, target, what + ", sleeper")
    fresh = task_named(dump, "fresh")
    if check(fresh is not None, f"{what}: one task named fresh"):
        check(fresh["state"] == "created" and functions(fresh) == ["fresh_entry"] and
              fresh["frames"][0]["offset"] == "0x0",
              f"{what}: fresh is created, its one frame its entry function: {fresh}")
    finisher = task_named(dump, "finisher")
    if check(finisher is not None, f"{what}: one task named finisher"):
        check(finisher["state"] == "done" and not finisher["frames"] and not finisher["lines"],
              f"{what}: finisher is done, with no frames: {finisher}")
    thrower = task_named(dump, "thrower")
    if check(thrower is not None, f"{what}: one task named thrower"):
        check(thrower["state"] == "failed" and
              functions(thrower) == ["thrower_entry", "throw_deep", "throw_deep", "throw_deep"]
              and thrower["lines"] == ["std::runtime_error: boom"],
              f"{what}: thrower failed, its traceback to the raise and its exception: "
              f"{functions(thrower)} {thrower['lines']}")
    roots = [t for t in dump["tasks"] if t["runtime"] == "thread" and t["thread"] == pid]
    if check(len(roots) == 1, f"{what}: one root task on thread {pid}"):
        root = roots[0]
        names = functions(root)
        check(names[-len(root_functions):] == root_functions,
              f"{what}: main's task ({root['state']}, {root['note']}) ends with "
              f"{root_functions}: {names}")
        return root
    return None


def signal_case(args, sig_setting, sig, reason):
    lines = [b"go\n", b"go\n"]
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, "wait"], environment(None, {}), cwd, lines=lines)
        run = Run([args.target, "wait"],
                  environment(args.preload, {"COSTACK_DUMP_SIGNAL": sig_setting}), cwd,
                  signals=[sig, sig], lines=lines, await_dumps=True)
    compare(bare, run)
    check(bare.stdout == b"ready\nack 1\nack 2\ndone\n",
          f"the program's own output: {bare.stdout!r}")
    dumps = dumps_of(run.stderr, "stderr")
    if check(len(dumps) == 2, f"two dumps on stderr ({len(dumps)})"):
        for i, dump in enumerate(dumps):
            what = f"dump {i + 1}"
            check(dump["reason"] == "signal " + reason, f"{what}: reason 'signal {reason}': "
                  f"{dump['reason']}")
            root = check_states(dump, run.pid, args.target, ["main", "make_states", "run_task"],
                                what)
            if root:
                check(root["state"] == "running" and
                      root["note"] == "running: the stack it was last resumed at",
                      f"{what}: main runs, shown where it was last resumed: {root['note']}")


def case_signal(args):
    signal_case(args, "USR2", signal.SIGUSR2, "SIGUSR2")


def case_signal_rt(args):
    signal_case(args, "SIGRTMIN+1", signal.SIGRTMIN + 1, "SIGRTMIN+1")


def case_busy(args):
    lines = [b"go\n"] * 20
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, "busy"], environment(None, {}), cwd, lines=lines)
        run = Run([args.target, "busy"], environment(args.preload, {"COSTACK_DUMP_SIGNAL": "USR2"}),
                  cwd, signals=[signal.SIGUSR2] * 20, lines=lines, await_dumps=True)
    compare(bare, run)
    dumps = dumps_of(run.stderr, "stderr")
    check(len(dumps) == 20, f"twenty dumps ({len(dumps)})")
    # A dump whose signal interrupted the switching thread inside a write of
    # ping's or pong's record says so instead of showing it (BUSY): known by
    # the id the other dumps give that name.
    ids = {t["name"]: t["id"] for dump in dumps for t in dump["tasks"]
           if t["name"] in ("ping", "pong")}
    bad = []
    busy = 0
    for i, dump in enumerate(dumps):
        for name in ("ping", "pong"):
            task = task_named(dump, name)
            expected = [name + "_entry", name + "_loop", "busy_switch"]
            if task is None and any(t["state"] == "busy" and t["id"] == ids.get(name)
                                    for t in dump["tasks"]):
                busy += 1
            elif task is None:
                bad.append(f"dump {i + 1}: no task {name}")
            elif task["state"] == "suspended" and task["note"] is None:
                if functions(task) != expected:
                    bad.append(f"dump {i + 1}: {name} suspended in {functions(task)}")
            elif task["state"] == "running":
                # A dump before the task's first suspension: where it was resumed, its entry
                # (DESIGN's rule for a running task that never suspended).
                if not ((task["note"] == "running: the stack it was last resumed at" and
                         functions(task) == expected) or
                        (task["note"] == "running: not suspended yet, resumed at its entry" and
                         functions(task) == [name + "_entry"]) or
                        (task["note"] == "running: no stack recorded yet" and
                         not task["frames"])):
                    bad.append(f"dump {i + 1}: {name} running, {task['note']}: "
                               f"{functions(task)}")
            else:
                bad.append(f"dump {i + 1}: {name} is {task['state']}")
        check_states(dump, run.pid, args.target, ["main", "make_states", "run_task"],
                     f"dump {i + 1}")
    check(not bad, "every dump shows ping and pong suspended or running in their loops, "
          f"or says its record was being changed ({busy} times)"
          + ("".join("\n  " + b for b in bad)))
    check(busy <= 10, f"a record being changed is the exception, not the rule ({busy} of 40)")


def case_file(args):
    lines = [b"go\n", b"go\n"]
    with tempfile.TemporaryDirectory() as cwd:
        path = os.path.join(cwd, "dumps.txt")
        with open(path, "wb") as f:
            f.write(b"what was there before\n")
        os.chmod(path, 0o644)
        bare = Run([args.target, "wait"], environment(None, {}), cwd, lines=lines)
        run = Run([args.target, "wait"],
                  environment(args.preload, {"COSTACK_DUMP_SIGNAL": "USR2",
                                             "COSTACK_DUMP_FILE": path}),
                  cwd, signals=[signal.SIGUSR2] * 2, lines=lines)
        with open(path, "rb") as f:
            content = f.read()
        mode = stat.S_IMODE(os.stat(path).st_mode)
    compare(bare, run)
    check(run.stderr == bare.stderr, f"stderr as without the preload: {run.stderr!r}")
    first = b"what was there before\n"
    check(content.startswith(first), "the file's content is kept, the dumps appended")
    dumps = dumps_of(content[len(first):], "the file after its first line")
    if check(len(dumps) == 2, f"two dumps in the file ({len(dumps)})"):
        for i, dump in enumerate(dumps):
            check_states(dump, run.pid, args.target, ["main", "make_states", "run_task"],
                         f"dump {i + 1}")
    check(mode == 0o644, f"the file's mode is kept ({oct(mode)})")


def case_file_relative(args):
    lines = [b"go\n"]
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, "wait-chdir"], environment(None, {}), cwd, lines=lines)
        run = Run([args.target, "wait-chdir"],
                  environment(args.preload, {"COSTACK_DUMP_SIGNAL": "USR2",
                                             "COSTACK_DUMP_FILE": "relative-dump.txt"}),
                  cwd, signals=[signal.SIGUSR2], lines=lines)
        path = os.path.join(cwd, "relative-dump.txt")
        exists = os.path.exists(path)
        content = open(path, "rb").read() if exists else b""
        mode = stat.S_IMODE(os.stat(path).st_mode) if exists else None
    compare(bare, run)
    check(run.stderr == bare.stderr, f"stderr as without the preload: {run.stderr!r}")
    if check(exists, "the dump is in the file of the directory the program started in"):
        check(mode == 0o600, f"a new dump file is made with mode 0600 ({oct(mode)})")
        dumps = dumps_of(content, "the file")
        if check(len(dumps) == 1, f"one dump in the file ({len(dumps)})"):
            check_states(dumps[0], run.pid, args.target, ["main", "make_states", "run_task"],
                         "the dump")


def case_file_unopenable(args):
    lines = [b"go\n"]
    with tempfile.TemporaryDirectory() as cwd:
        path = os.path.join(cwd, "no-such-directory", "dump.txt")
        bare = Run([args.target, "wait"], environment(None, {}), cwd, lines=lines)
        run = Run([args.target, "wait"],
                  environment(args.preload, {"COSTACK_DUMP_SIGNAL": "USR2",
                                             "COSTACK_DUMP_FILE": path}),
                  cwd, signals=[signal.SIGUSR2], lines=lines, await_dumps=True)
    # The failed open() set errno inside the handler: the program must not see it.
    compare(bare, run)
    text = run.stderr.decode(errors="replace")
    at_load, _, text = text.partition("\n")
    check(at_load == f"costack: COSTACK_DUMP_FILE={path} cannot be written (No such file or "
          "directory): dumps will go to stderr", f"one line at load says so: {at_load!r}")
    first, _, rest = text.partition("\n")
    check(first == f"costack: cannot open COSTACK_DUMP_FILE {path} (ENOENT): the dump goes "
          "to stderr", f"one line says the file cannot be opened: {first!r}")
    dumps = dumps_of(rest.encode(), "the rest of stderr")
    if check(len(dumps) == 1, f"the dump on stderr ({len(dumps)})"):
        check_states(dumps[0], run.pid, args.target, ["main", "make_states", "run_task"],
                     "the dump")


def case_file_full(args):
    lines = [b"go\n"]
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, "wait"], environment(None, {}), cwd, lines=lines)
        run = Run([args.target, "wait"],
                  environment(args.preload, {"COSTACK_DUMP_SIGNAL": "USR2",
                                             "COSTACK_DUMP_FILE": "/dev/full"}),
                  cwd, signals=[signal.SIGUSR2], lines=lines, await_dumps=True)
    compare(bare, run)
    text = run.stderr.decode(errors="replace")
    first, _, rest = text.partition("\n")
    check(first == "costack: cannot write the dump to COSTACK_DUMP_FILE (ENOSPC): the rest of "
          "it goes to stderr", f"one line says the file takes nothing: {first!r}")
    dumps = dumps_of(rest.encode(), "the rest of stderr")
    if check(len(dumps) == 1, f"the whole dump on stderr ({len(dumps)})"):
        check_states(dumps[0], run.pid, args.target, ["main", "make_states", "run_task"],
                     "the dump")


def case_stderr_gone(args):
    lines = [b"go\n", b"go\n"]
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, "wait"], environment(None, {}), cwd, lines=lines,
                   stderr_gone=True)
        run = Run([args.target, "wait"], environment(args.preload, {"COSTACK_DUMP_SIGNAL": "USR2"}),
                  cwd, signals=[signal.SIGUSR2] * 2, lines=lines, stderr_gone=True)
    # The dump's write fails with EPIPE; the SIGPIPE it raises must not kill the program.
    compare(bare, run)


# mode: (signal name, what the reason says after the name, the crashing function)
CRASHES = {
    "segv": ("SIGSEGV", " at 0x0", "do_segv"),
    "abort": ("SIGABRT", "", "do_abort"),
    "fpe": ("SIGFPE", " at 0x", "do_fpe"),
    "ill": ("SIGILL", " at 0x", "do_ill"),
    "bus": ("SIGBUS", " at 0x", "do_bus"),
}


def crash_runs(args, mode, settings, expect_signal):
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, mode], environment(None, {}), cwd)
        run = Run([args.target, mode], environment(args.preload, settings), cwd)
    compare(bare, run)
    if expect_signal:
        check(os.WIFSIGNALED(bare.status) and os.WTERMSIG(bare.status) == expect_signal,
              f"without the preload, the program is killed by {expect_signal.name} "
              f"({bare.describe()})")
    return bare, run


def check_crash_dump(args, run, name, reason_tail, innermost):
    dumps = dumps_of(run.stderr, "stderr")
    if not check(len(dumps) == 1, f"one dump on stderr ({len(dumps)})"):
        return None
    dump = dumps[0]
    reason = dump["reason"]
    check(reason.startswith(f"crash {name}{reason_tail}") and
          (reason_tail != " at 0x" or re.fullmatch(f"crash {name} at 0x[0-9a-f]+", reason)),
          f"the reason names the crash: {reason!r}")
    check_states(dump, run.pid, args.target, ["main", "crash", "run_task"], "the dump")
    crasher = task_named(dump, "crasher")
    if check(crasher is not None, "one task named crasher"):
        check(crasher["state"] == "running" and crasher["note"] == "crashed here",
              f"the crasher is the task that crashed: {crasher['state']}, {crasher['note']}")
        return crasher
    return None


def run_reason(run):
    return dumps_of(run.stderr, "stderr")[0]["reason"]


def crash_case(args, mode):
    name, reason_tail, innermost = CRASHES[mode]
    _, run = crash_runs(args, mode, {"COSTACK_DUMP_ON_CRASH": "1"}, signal.Signals[name])
    crasher = check_crash_dump(args, run, name, reason_tail, innermost)
    if crasher:
        names = functions(crasher)
        expected = ["crasher_entry", "crash_outer", "crash_inner", innermost]
        check(names[:4] == expected, f"its live stack begins {expected}: {names}")
        if mode == "abort":
            check("abort" in names[4:], f"and goes on into libc's abort: {names[4:]}")
        else:
            check(len(names) == 4, f"and ends at the faulting instruction: {names}")
        if mode in ("fpe", "ill"):
            # Their si_addr is the faulting instruction: the innermost frame, as it is.
            address = int(run_reason(run).split(" at ")[1], 16)
            check(crasher["frames"][-1]["address"] == address,
                  f"the innermost frame is the faulting instruction, {address:#x}")


def case_overflow(args):
    _, run = crash_runs(args, "overflow", {"COSTACK_DUMP_ON_CRASH": "1"}, signal.SIGSEGV)
    crasher = check_crash_dump(args, run, "SIGSEGV", " at 0x", "recurse")
    if crasher:
        names = functions(crasher)
        check(len(names) >= 16 and names[-1] == "recurse" and
              set(names) <= {"crasher_entry", "recurse"},
              f"its live stack is the recursion: {len(names)} frames, {sorted(set(names))}")


def case_no_crash_dump(args):
    _, run = crash_runs(args, "segv", {"COSTACK_DUMP_SIGNAL": "USR2"}, signal.SIGSEGV)
    check(run.stderr == b"", f"no COSTACK_DUMP_ON_CRASH, no dump: {run.stderr!r}")


def case_own_handler(args):
    bare, run = crash_runs(args, "own-handler", {"COSTACK_DUMP_ON_CRASH": "1"}, None)
    check(bare.stdout == b"crashing\nown SIGSEGV handler\n" and
          os.WIFEXITED(bare.status) and os.WEXITSTATUS(bare.status) == 42,
          f"the program's handler runs: {bare.stdout!r}, {bare.describe()}")
    check(run.stderr == b"", f"costack's handler, replaced, writes nothing: {run.stderr!r}")


def case_own_handler_chain(args):
    bare, run = crash_runs(args, "own-handler-chain", {"COSTACK_DUMP_ON_CRASH": "1"},
                           signal.SIGSEGV)
    check(bare.stdout == b"crashing\nown SIGSEGV handler, passing on\n",
          f"the program's handler runs: {bare.stdout!r}")
    crasher = check_crash_dump(args, run, "SIGSEGV", " at 0x0", "do_segv")
    if crasher:
        check(functions(crasher)[:4] == ["crasher_entry", "crash_outer", "crash_inner", "do_segv"],
              f"the crashed task's stack, from the context the program passed on: "
              f"{functions(crasher)}")


def case_handler_before(args):
    # libcostack.so is made to be preloaded: dlopen'ed, its initial-exec TLS needs room.
    settings = {"COSTACK_DUMP_SIGNAL": "USR2", "COSTACK_DUMP_ON_CRASH": "1",
                "GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=16384"}
    lines = [b"go\n", b"crash\n"]
    with tempfile.TemporaryDirectory() as cwd:
        bare = Run([args.target, "handler-before", "-"], environment(None, settings), cwd,
                   signals=[signal.SIGUSR2], lines=lines)
        run = Run([args.target, "handler-before", args.preload], environment(None, settings),
                  cwd, signals=[signal.SIGUSR2], lines=lines, await_dumps=True)
    compare(bare, run)
    check(bare.stdout == b"ready\nown SIGUSR2 handler\nack 1\ncrashing\nown SIGSEGV handler\n"
          and os.WIFEXITED(bare.status) and os.WEXITSTATUS(bare.status) == 42,
          f"the program's handlers run: {bare.stdout!r}, {bare.describe()}")
    dumps = dumps_of(run.stderr, "stderr")
    if check(len(dumps) == 2, f"two dumps: the signal's and the crash's ({len(dumps)})"):
        check(dumps[0]["reason"] == "signal SIGUSR2" and
              dumps[1]["reason"] == "crash SIGSEGV at 0x0",
              f"their reasons: {dumps[0]['reason']!r}, {dumps[1]['reason']!r}")
        # The program made no task: costack is not active, the dumps list none, and the crash
        # dump shows the thread that crashed.
        check(not dumps[0]["tasks"] and not dumps[1]["tasks"],
              f"no task listed: {dumps[0]['tasks']}, {dumps[1]['tasks']}")
        crashed = [t for t in dumps[1]["threads"] if "crashed here" in t["note"]]
        if check(len(crashed) == 1, f"the thread that crashed is shown: {dumps[1]['threads']}"):
            check(functions(crashed[0])[-2:] == ["main", "handler_before"],
                  f"its live stack ends in main -> handler_before: {functions(crashed[0])}")


CASES = {
    "signal": case_signal,
    "signal-rt": case_signal_rt,
    "busy": case_busy,
    "file": case_file,
    "file-relative": case_file_relative,
    "file-unopenable": case_file_unopenable,
    "file-full": case_file_full,
    "stderr-gone": case_stderr_gone,
    "overflow": case_overflow,
    "no-crash-dump": case_no_crash_dump,
    "own-handler": case_own_handler,
    "own-handler-chain": case_own_handler_chain,
    "handler-before": case_handler_before,
}
for crash_mode in CRASHES:
    CASES[crash_mode] = lambda args, mode=crash_mode: crash_case(args, mode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preload", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    args.target = os.path.realpath(args.target)
    args.preload = os.path.realpath(args.preload)
    CASES[args.case](args)
    print(f"{args.case}: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
