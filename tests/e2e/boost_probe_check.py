#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# boost_probe_check.py - the tasks of a program nobody here wrote, seen by boost_probe.so whenever it prints.
"""Run COMMAND with LD_PRELOAD="LIBCOSTACK:PROBE" (tests/programs/boost_probe.c):
at each of its first outputs to stdout, and at exit, the probe writes every
task's state and get_stack() frames (and, where it is safe, print_stack()) to a
file. Name the frames with addr2line, check what the file shows against the
expectations given, and that the program printed and ended as it does with no
preload at all. Exit 0 when every check passes, 1 when one fails, 2 on a usage
error.

  boost_probe_check.py --preload LIBCOSTACK --probe PROBE --costack-src DIR
                       [--runtime NAME] [--max N] [--stdout-limit BYTES]
                       [--normalise REGEX REPLACEMENT]... [--print-always]
                       [EXPECTATION]... -- COMMAND [ARG]...

--max N, --stdout-limit, --normalise: see boost_probe.c (COSTACK_PROBE_MAX) and
                same_output.py

--print-always  the probe calls print_stack() wherever the program prints, in a
                coroutine too (COSTACK_PROBE_PRINT=always), and the expectations
                are checked on print_stack()'s text instead of the frames

Expectations (REGEX: Python, searched in the demangled names of the functions
at a frame, inlined ones included, and in their source files; an inlined
function may show its bare name, "S" for "Parser::S(…)"):
  --running REGEX     at some output, the task printing is a running task of the
                      runtime whose own (live) stack has a frame matching REGEX
  --suspended REGEX   at some output, a suspended task of the runtime, other than
                      the one printing, has a frame matching REGEX
  --root-suspended REGEX  at some output, a thread's root task is suspended (so a
                      task of the runtime runs) with a frame matching REGEX
  --tasks N           at some output, exactly N unfinished tasks of the runtime
  --exit STATE=N      at exit, exactly N tasks of the runtime the probe saw are in
                      STATE; with several, they must account for every such task
  --last-output STATE=N  the same at the program's last output: a generator whose body
                      returned reads done while the coroutine object still lives
  --exit-raised REGEX at exit, a task of the runtime has raises >= 1 and its latest
                      exception's type matches REGEX
Always: at least one task of the runtime; no frame of any stack is costack's own
(a file of DIR, libcostack.so, a costack_ function); no stack holds a switch
function (jump_fcontext, ontop_fcontext, swapcontext).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from same_output import STOPPED, describe_status, normalise, run  # noqa: E402
from same_output import diff  # noqa: E402

RAW_FRAME = re.compile(r"^frame (?P<pc>0x[0-9a-f]+|\(nil\)) (?P<object>.*) (?P<address>0x[0-9a-f]+) "
                       r"(?P<symbol>\S+)$")
FRAME = re.compile(r'^  File "(?P<file>[^"]*)", (?:line \d+|offset 0x[0-9a-f]+|address 0x[0-9a-f]+), '
                   r'in (?P<function>.*?)(?P<inlined> \(inlined\))?$')
TASK = re.compile(r"^task (?P<id>\d+) (?P<state>\S+) (?P<runtime>\S+) current=(?P<current>[01]) "
                  r"parent=\d+ thread=-?\d+ switches=\d+ raises=(?P<raises>\d+) origin=\d+$")
SWITCH_FUNCTIONS = {"jump_fcontext", "ontop_fcontext", "swapcontext", "setcontext"}
UNFINISHED = {"created", "running", "suspended"}


class Task:
    def __init__(self, match):
        self.id = int(match["id"])
        self.state = match["state"]
        self.runtime = match["runtime"]
        self.current = match["current"] == "1"
        self.raises = int(match["raises"])
        self.exception_type = ""
        self.lines = []  # print_stack's text
        self.raw = []  # (object, address, dynamic symbol), oldest first
        self.frames = []  # per frame, [(function, file)] (inlined ones first), oldest first
        self.printed = []  # print_stack's frames: [(function, file)] each

    def describe(self):
        text = ["    frame %s+%s: %s" % (os.path.basename(o), a, " <- ".join(f for f, _ in names))
                for (o, a, _), names in zip(self.raw, self.frames)]
        text += ["    " + line for line in self.lines]
        return "\n".join(text) or "    (no frames)"


class Snapshot:
    def __init__(self, header):
        self.header = header
        self.is_exit = header.startswith("=== exit")
        self.tasks = []


def parse(text):
    snapshots, snapshot, task = [], None, None
    for line in text.splitlines():
        if line.startswith("=== end"):
            snapshot = task = None
        elif line.startswith("=== "):
            snapshot, task = Snapshot(line), None
            snapshots.append(snapshot)
        elif snapshot is None:
            raise ValueError(f"line outside a snapshot: {line!r}")
        elif re.match(r"^task \d+ unknown$", line):
            task = None  # forgotten by now: nothing to check
        elif line.startswith("task "):
            match = TASK.match(line)
            if not match:
                raise ValueError(f"bad task line: {line!r}")
            task = Task(match)
            snapshot.tasks.append(task)
        elif task is None:
            raise ValueError(f"line outside a task: {line!r}")
        elif line.startswith("exception ") and not task.lines and not task.raw:
            task.exception_type = line[len("exception "):].split(": ", 1)[0]
        elif line.startswith("frame ") and not task.lines:
            frame = RAW_FRAME.match(line)
            if not frame:
                raise ValueError(f"bad frame line: {line!r}")
            task.raw.append((frame["object"], frame["address"], frame["symbol"]))
        else:
            task.lines.append(line)
            frame = FRAME.match(line)
            if frame:
                task.printed.append([(frame["function"], frame["file"])])
    return snapshots


def symbolize(snapshots):
    """Name every raw frame with addr2line (-i: inlined functions too), one run per object."""
    wanted = {}
    for s in snapshots:
        for t in s.tasks:
            for obj, address, _ in t.raw:
                wanted.setdefault(obj, set()).add(address)
    names = {}
    for obj, addresses in wanted.items():
        addresses = sorted(addresses)
        if not os.path.isfile(obj):
            continue
        out = subprocess.run(["addr2line", "-a", "-f", "-i", "-C", "-e", obj] + addresses,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             check=False).stdout.splitlines()
        current, i = None, 0
        while i < len(out):
            if re.match(r"^0x[0-9a-f]+$", out[i]):
                current = int(out[i], 16)
                names[(obj, current)] = []
                i += 1
            elif current is not None and i + 1 < len(out):
                names[(obj, current)].append((out[i], out[i + 1]))
                i += 2
            else:
                break
    for s in snapshots:
        for t in s.tasks:
            for obj, address, symbol in t.raw:
                found = [(f, file) for f, file in names.get((obj, int(address, 16)), [])
                         if f != "??"]
                if not found:  # no debug information: the dynamic symbol, as the probe saw it
                    found = [(demangle(symbol) if symbol != "-" else "??", obj)]
                t.frames.append([(f, obj if file.startswith("??") else file) for f, file in found])


def demangle(symbol):
    if not symbol.startswith("_Z"):
        return symbol
    return subprocess.run(["c++filt", symbol], stdout=subprocess.PIPE, text=True,
                          check=False).stdout.strip() or symbol


class Checks:
    def __init__(self):
        self.failed = []

    def check(self, ok, message, detail=None):
        print(f"{'ok' if ok else 'FAILED'} - {message}")
        if not ok:
            self.failed.append(message)
            if detail:
                print(detail)
        return ok


def is_costack_frame(function, file, costack_src):
    if function.startswith("costack_") or "libcostack" in file:
        return True
    path = os.path.normpath(file)
    return (os.path.basename(os.path.dirname(path)), os.path.basename(path)) in costack_src


def has_frame(task, pattern):
    """Whether a function at one of the task's frames, or its source file, matches."""
    return any(pattern.search(function) or pattern.search(file)
               for names in task.frames for function, file in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", required=True, help="libcostack.so")
    parser.add_argument("--probe", required=True, help="boost_probe.so")
    parser.add_argument("--costack-src", required=True, metavar="DIR",
                        help="preload/, whose functions no stack may show")
    parser.add_argument("--runtime", default="fcontext")
    parser.add_argument("--max", type=int, default=64, help="outputs probed (COSTACK_PROBE_MAX)")
    parser.add_argument("--stdout-limit", type=int, metavar="BYTES")
    parser.add_argument("--normalise", action="append", nargs=2, default=[],
                        metavar=("REGEX", "REPLACEMENT"))
    parser.add_argument("--print-always", action="store_true")
    parser.add_argument("--running", action="append", default=[], metavar="REGEX")
    parser.add_argument("--suspended", action="append", default=[], metavar="REGEX")
    parser.add_argument("--root-suspended", action="append", default=[], metavar="REGEX")
    parser.add_argument("--tasks", type=int, metavar="N")
    parser.add_argument("--exit", action="append", default=[], metavar="STATE=N")
    parser.add_argument("--last-output", action="append", default=[], metavar="STATE=N")
    parser.add_argument("--exit-raised", action="append", default=[], metavar="REGEX")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    for path in (args.preload, args.probe):
        if not os.path.isfile(path):
            parser.error(f"{path}: no such file")
    def counts(option, specs):
        wanted = {}
        for spec in specs:
            state, sep, count = spec.partition("=")
            if not sep or not count.isdigit():
                parser.error(f"{option} {spec}: expected STATE=N")
            wanted[state] = int(count)
        return wanted

    exit_counts = counts("--exit", args.exit)
    last_output_counts = counts("--last-output", args.last_output)
    # (folder, file) of every source of the preload: a frame in one of them is costack's.
    costack_src = {(os.path.basename(root), name)
                   for root, _, names in os.walk(os.path.normpath(args.costack_src))
                   for name in names}
    compile_all = lambda regexes: [(r, re.compile(r)) for r in regexes]  # noqa: E731

    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    checks = Checks()
    print("command:", " ".join(command))
    with tempfile.TemporaryDirectory() as tmp:
        probe_out = os.path.join(tmp, "probe.txt")
        probed_env = dict(env, LD_PRELOAD=os.path.abspath(args.preload) + ":" +
                          os.path.abspath(args.probe),
                          COSTACK_PROBE_OUT=probe_out, COSTACK_PROBE_MAX=str(args.max))
        if args.print_always:
            probed_env["COSTACK_PROBE_PRINT"] = "always"
        bare = run(command, env, args.stdout_limit)
        probed = run(command, probed_env, args.stdout_limit)
        text = ""
        if os.path.exists(probe_out):
            with open(probe_out, encoding="utf-8", errors="replace") as f:
                text = f.read()

    # The preload and the probe change nothing the program prints or how it ends.
    rules = [(re.compile(regex.encode(), re.MULTILINE), replacement.encode())
             for regex, replacement in args.normalise]
    bare = (normalise(bare[0], rules), normalise(bare[1], rules), bare[2])
    probed = (normalise(probed[0], rules), normalise(probed[1], rules), probed[2])
    checks.check(bare[0] == probed[0], "stdout is the same as without any preload",
                 diff(bare[0], probed[0], "stdout without any preload", "stdout probed"))
    checks.check(bare[1] == probed[1], "stderr is the same as without any preload",
                 diff(bare[1], probed[1], "stderr without any preload", "stderr probed"))
    checks.check(bare[2] == probed[2],
                 f"it ended the same way: {describe_status(probed[2], args.stdout_limit)}",
                 f"without any preload: {describe_status(bare[2], args.stdout_limit)}")
    if args.stdout_limit is not None:
        checks.check(bare[2] == STOPPED, f"it printed at least {args.stdout_limit} bytes")

    try:
        snapshots = parse(text)
    except ValueError as e:
        checks.check(False, f"the probe's file is well-formed: {e}")
        return 1
    symbolize(snapshots)
    if args.print_always:
        for s in snapshots:
            for t in s.tasks:
                t.frames = t.printed
    outputs = [s for s in snapshots if not s.is_exit]
    exits = [s for s in snapshots if s.is_exit]
    checks.check(outputs, f"the probe saw the program print ({len(outputs)} outputs probed)",
                 "  no snapshot: is libcostack.so loaded, and does the program print to stdout?")
    ours = [t for s in snapshots for t in s.tasks if t.runtime == args.runtime]
    checks.check(ours, f"the probe saw tasks of runtime {args.runtime} "
                 f"({len({t.id for t in ours})} of them)")

    # No stack shows costack's own frames or the switch function.
    bad = []
    for s in snapshots:
        for t in s.tasks:
            for function, file in [n for names in t.frames + t.printed for n in names]:
                if is_costack_frame(function, file, costack_src) or function in SWITCH_FUNCTIONS:
                    bad.append(f"  {s.header}: task {t.id} {t.state}: {function} ({file})")
    checks.check(not bad, "no stack shows costack's own frames or a switch function",
                 "\n".join(bad[:20]))

    def find(predicate):
        return next(((s, t) for s in outputs for t in s.tasks if predicate(t)), None)

    for regex, pattern in compile_all(args.running):
        found = find(lambda t: t.current and t.runtime == args.runtime and
                     t.state == "running" and has_frame(t, pattern))
        printing = [t for s in outputs for t in s.tasks if t.current][:3]
        checks.check(found, f"a running {args.runtime} task printed, with a frame /{regex}/",
                     "  the first tasks seen printing:\n" +
                     "\n".join(f"  task {t.id} {t.state} {t.runtime}:\n{t.describe()}"
                               for t in printing))
    for regex, pattern in compile_all(args.suspended):
        found = find(lambda t: not t.current and t.runtime == args.runtime and
                     t.state == "suspended" and has_frame(t, pattern))
        others = [t for s in outputs for t in s.tasks
                  if not t.current and t.runtime == args.runtime][:3]
        checks.check(found, f"a suspended {args.runtime} task has a frame /{regex}/",
                     "  the first such tasks seen:\n" +
                     "\n".join(f"  task {t.id} {t.state}:\n{t.describe()}" for t in others))
    for regex, pattern in compile_all(args.root_suspended):
        found = find(lambda t: t.runtime == "thread" and t.state == "suspended" and
                     has_frame(t, pattern))
        roots = [t for s in outputs for t in s.tasks if t.runtime == "thread"][:3]
        checks.check(found, f"a root task is suspended with a frame /{regex}/",
                     "  the first root tasks seen:\n" +
                     "\n".join(f"  task {t.id} {t.state}:\n{t.describe()}" for t in roots))
    if args.tasks is not None:
        counts = [sum(t.runtime == args.runtime and t.state in UNFINISHED for t in s.tasks)
                  for s in outputs]
        checks.check(args.tasks in counts,
                     f"at some output, {args.tasks} unfinished {args.runtime} tasks",
                     f"  counts seen: {sorted(set(counts))}")

    def census_of(snapshot):
        tasks = [t for t in snapshot.tasks if t.runtime == args.runtime]
        census = {}
        for t in tasks:
            census[t.state] = census.get(t.state, 0) + 1
        detail = "\n".join(f"  task {t.id} {t.state} raises={t.raises} "
                           f"exception={t.exception_type!r}:\n{t.describe()}" for t in tasks)
        return tasks, census, detail

    def check_census(snapshot, wanted, when):
        _, census, detail = census_of(snapshot)
        want = {k: v for k, v in wanted.items() if v}
        checks.check(census == want,
                     f"{when}, the {args.runtime} tasks are: " +
                     ", ".join(f"{n} {state}" for state, n in sorted(want.items())),
                     f"  got: {census or 'none'}\n{detail}")

    if last_output_counts and checks.check(outputs, "the probe saw an output"):
        check_census(outputs[-1], last_output_counts,
                     f"at the last output ({outputs[-1].header})")
    if exit_counts or args.exit_raised:
        if checks.check(len(exits) == 1, "the probe took its snapshot at exit"):
            tasks, _, detail = census_of(exits[0])
            if exit_counts:
                check_census(exits[0], exit_counts, "at exit")
            for regex, pattern in compile_all(args.exit_raised):
                found = [t for t in tasks if t.raises >= 1 and pattern.search(t.exception_type)]
                checks.check(found, f"at exit, a {args.runtime} task raised /{regex}/", detail)

    if checks.failed:
        # The probe's file, then the failures again: a log's tail shows them.
        print(f"the probe's file:\n{text[:20000]}")
        print(f"{len(checks.failed)} check(s) failed:")
        for message in checks.failed:
            print(f"FAILED - {message}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
