#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# same_output.py - do no harm: the same output and exit status with and without the preload.
"""Run COMMAND twice, without LD_PRELOAD and with LD_PRELOAD=LIBRARY, and compare
stdout, stderr and the exit status byte for byte. Exit 0 when they are the same,
1 when not (with a diff), 2 on a usage error.

  same_output.py --preload LIBRARY [--env NAME=VALUE]... [--warning REGEX]
                 [--expect-stdout FILE] -- COMMAND [ARG]...

--env NAME=VALUE   set in both runs (repeatable)
--warning REGEX    the preloaded run's stderr must be the bare run's plus exactly
                   one line matching REGEX (costack's one line about a bad setting)
--expect-stdout F  the bare run's stdout must also be F's content
"""

import argparse
import difflib
import os
import re
import subprocess
import sys


def run(command, env):
    proc = subprocess.run(command, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.stdout, proc.stderr, proc.returncode


def show_status(status):
    return f"killed by signal {-status}" if status < 0 else f"exit status {status}"


def diff(old, new, old_name, new_name):
    lines = difflib.unified_diff(old.decode(errors="replace").splitlines(keepends=True),
                                 new.decode(errors="replace").splitlines(keepends=True),
                                 fromfile=old_name, tofile=new_name)
    return "".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", required=True, help="libcostack.so")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--warning", metavar="REGEX")
    parser.add_argument("--expect-stdout", metavar="FILE")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if not os.path.isfile(args.preload):
        parser.error(f"{args.preload}: no such file")

    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    for setting in args.env:
        name, sep, value = setting.partition("=")
        if not sep or not name:
            parser.error(f"--env {setting}: expected NAME=VALUE")
        env[name] = value
    preloaded_env = dict(env, LD_PRELOAD=os.path.abspath(args.preload))

    print("command:", " ".join(command))
    bare = run(command, env)
    preloaded = run(command, preloaded_env)
    problems = []

    out_bare, err_bare, status_bare = bare
    out_pre, err_pre, status_pre = preloaded
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
        problems.append(f"{show_status(status_bare)} without the preload, "
                        f"{show_status(status_pre)} with it")
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
          f"{show_status(status_bare)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
