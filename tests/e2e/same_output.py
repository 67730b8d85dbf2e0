#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# same_output.py - do no harm: the same output and exit status with and without the preload.
"""Run COMMAND twice, without LD_PRELOAD and with LD_PRELOAD=LIBRARY, and compare
stdout, stderr and the exit status byte for byte. Exit 0 when they are the same,
1 when not (with a diff), 2 on a usage error.

  same_output.py --preload LIBRARY [--preload LIBRARY]... [--env NAME=VALUE]... [--warning REGEX]
                 [--expect-stdout FILE] [--normalise REGEX REPLACEMENT]...
                 [--stdout-limit BYTES] -- COMMAND [ARG]...

--preload LIBRARY  what the second run preloads; several, in this order (two copies of
                   costack)
--env NAME=VALUE   set in both runs (repeatable)
--warning REGEX    the preloaded run's stderr must be the bare run's plus exactly
                   one line matching REGEX (costack's one line about a bad setting)
--expect-stdout F  the bare run's stdout must also be F's content
--normalise REGEX REPLACEMENT  replace what REGEX matches (per line: ^ and $ match at
                   each line) in both runs' stdout and stderr, e.g. the addresses a
                   backtrace prints, which ASLR changes from run to run
--stdout-limit BYTES  for a program that never ends: read BYTES of its stdout, then
                   kill it; the status compared is "stopped after BYTES bytes"
                   (it must print at least that much), stderr what it wrote so far
"""

import argparse
import difflib
import os
import re
import signal
import subprocess
import sys
import tempfile


STOPPED = "stopped"


def run(command, env, stdout_limit=None):
    """(stdout, stderr, status) of one run; status STOPPED when cut at stdout_limit."""
    if stdout_limit is None:
        proc = subprocess.run(command, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return proc.stdout, proc.stderr, proc.returncode
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)
        out = b""
        while len(out) < stdout_limit:
            chunk = proc.stdout.read1(stdout_limit - len(out))
            if not chunk:
                break
            out += chunk
        if len(out) >= stdout_limit:
            proc.send_signal(signal.SIGKILL)
            status = STOPPED
        else:
            status = None
        proc.stdout.close()
        code = proc.wait()
        err.seek(0)
        return out, err.read(), code if status is None else status


def show_status(status):
    return f"killed by signal {-status}" if status < 0 else f"exit status {status}"


def describe_status(status, stdout_limit):
    if status == STOPPED:
        return f"stopped after {stdout_limit} bytes of stdout"
    return show_status(status)


def normalise(data, rules):
    for pattern, replacement in rules:
        data = pattern.sub(replacement, data)
    return data


def diff(old, new, old_name, new_name):
    lines = difflib.unified_diff(old.decode(errors="replace").splitlines(keepends=True),
                                 new.decode(errors="replace").splitlines(keepends=True),
                                 fromfile=old_name, tofile=new_name)
    return "".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", required=True, action="append", help="libcostack.so")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--warning", metavar="REGEX")
    parser.add_argument("--expect-stdout", metavar="FILE")
    parser.add_argument("--normalise", action="append", nargs=2, default=[],
                        metavar=("REGEX", "REPLACEMENT"))
    parser.add_argument("--stdout-limit", type=int, metavar="BYTES")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    for library in args.preload:
        if not os.path.isfile(library):
            parser.error(f"{library}: no such file")

    try:
        rules = [(re.compile(regex.encode(), re.MULTILINE), replacement.encode())
                 for regex, replacement in args.normalise]
    except re.error as e:
        parser.error(f"--normalise: {e}")

    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    for setting in args.env:
        name, sep, value = setting.partition("=")
        if not sep or not name:
            parser.error(f"--env {setting}: expected NAME=VALUE")
        env[name] = value
    preloaded_env = dict(env, LD_PRELOAD=":".join(os.path.abspath(p) for p in args.preload))

    print("command:", " ".join(command))
    out_bare, err_bare, status_bare = run(command, env, args.stdout_limit)
    out_pre, err_pre, status_pre = run(command, preloaded_env, args.stdout_limit)
    problems = []
    if args.stdout_limit is not None and status_bare != STOPPED:
        problems.append(f"without the preload it printed {len(out_bare)} bytes, fewer than "
                        f"--stdout-limit {args.stdout_limit}, and ended "
                        f"({show_status(status_bare)})")
    if rules:
        changed = normalise(out_bare, rules) != out_bare or normalise(err_bare, rules) != err_bare
        print("normalised:", "yes" if changed else "nothing matched")
        out_bare, err_bare = normalise(out_bare, rules), normalise(err_bare, rules)
        out_pre, err_pre = normalise(out_pre, rules), normalise(err_pre, rules)
    if args.warning:
        pattern = re.compile(args.warning.encode())
        lines = err_pre.splitlines(keepends=True)
        matching = [i for i, line in enumerate(lines) if pattern.search(line)]
        if len(matching) != 1:
            problems.append(f"want exactly one stderr line matching /{args.warning}/ with the "
                            f"preload, got {len(matching)}:\n{err_pre.decode(errors='replace')}")
        else:
            print("costack's line:", lines[matching[0]].decode(errors="replace").rstrip())
            err_pre = b"".join(lines[:matching[0]] + lines[matching[0] + 1:])
        if pattern.search(err_bare):
            problems.append("the bare run's stderr matches the warning too")

    if out_bare != out_pre:
        problems.append("stdout differs:\n" + diff(out_bare, out_pre, "stdout without the preload",
                                                  "stdout with it"))
    if err_bare != err_pre:
        problems.append("stderr differs:\n" + diff(err_bare, err_pre, "stderr without the preload",
                                                  "stderr with it"))
    if status_bare != status_pre:
        problems.append(f"{describe_status(status_bare, args.stdout_limit)} without the preload, "
                        f"{describe_status(status_pre, args.stdout_limit)} with it")
    if args.expect_stdout:
        with open(args.expect_stdout, "rb") as f:
            expected = f.read()
        if out_bare != expected:
            problems.append(f"stdout is not {args.expect_stdout}:\n" +
                            diff(expected, out_bare, args.expect_stdout, "stdout"))

    if problems:
        for problem in problems:
            print("FAILED:", problem)
        return 1
    print(f"same: stdout ({len(out_bare)} bytes), stderr ({len(err_bare)} bytes), "
          f"{describe_status(status_bare, args.stdout_limit)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
