#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bindings_check.py - do no harm: every symbol of the program binds where it did without costack.
"""Run COMMAND twice with LD_BIND_NOW=1 and LD_DEBUG=bindings, without LD_PRELOAD and with
LD_PRELOAD=LIBRARY, and compare where each of the program's symbol references was bound.

  bindings_check.py --preload LIBRARY -- COMMAND [ARG]...

The program's objects are those the bare run loaded. With the preload, each of their
references must bind to the same object as without it, but for the functions costack hooks,
which bind to LIBRARY itself. A library costack depends on must never stand in for one of the
program's (libunwind's _Unwind_* for libgcc_s's, say). Exit 0 when so, 1 when not.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

# "     12345:	binding file /lib/libstdc++.so.6 [0] to /lib/libgcc_s.so.1 [0]: normal symbol
# `_Unwind_Resume' [GCC_3.0]"
BINDING = re.compile(r"binding file (\S*) \[\d+\] to (\S*) \[\d+\]: \S+ symbol `([^']+)'")


def bindings(command, env):
    """{(object, symbol): defining object} of one run, and the objects that bound anything."""
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "ld")
        env = dict(env, LD_BIND_NOW="1", LD_DEBUG="bindings", LD_DEBUG_OUTPUT=output)
        proc = subprocess.run(command, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            sys.exit(f"FAILED: {' '.join(command)} exited {proc.returncode}:\n"
                     + proc.stderr.decode(errors="replace"))
        found = {}
        for name in os.listdir(tmp):  # one file per process: ld.PID
            with open(os.path.join(tmp, name), errors="replace") as f:
                for line in f:
                    m = BINDING.search(line)
                    if m:
                        found.setdefault((m.group(1), m.group(3)), m.group(2))
        return found


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", required=True, help="libcostack.so")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    preload = os.path.abspath(args.preload)

    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    bare = bindings(command, env)
    preloaded = bindings(command, dict(env, LD_PRELOAD=preload))
    program_objects = {obj for obj, _ in bare}
    preload_real = os.path.realpath(preload)

    problems = []
    hooked = 0
    for (obj, symbol), target in sorted(bare.items()):
        now = preloaded.get((obj, symbol))
        if now is None:
            problems.append(f"{obj}: {symbol} bound to {target} without costack, not bound "
                            "with it")
        elif now != target and os.path.realpath(now) == preload_real:
            hooked += 1  # a hook: what costack is for
        elif now != target:
            problems.append(f"{obj}: {symbol} binds to {now} with costack, to {target} "
                            "without it")
    # References bound with costack only (a weak reference to costack's API, costack's own
    # dlsym() lookups in the program's libraries) may reach costack, or an object the program
    # had loaded anyway; never a library only costack brought in.
    bare_targets = set(bare.values()) | program_objects
    for (obj, symbol), target in sorted(preloaded.items()):
        if (obj in program_objects and (obj, symbol) not in bare and target not in bare_targets
                and os.path.realpath(target) != preload_real):
            problems.append(f"{obj}: {symbol} binds to {target}, which only costack loaded")

    print("command:", " ".join(command))
    print(f"{len(bare)} references of {len(program_objects)} objects compared, "
          f"{hooked} bound to costack's hooks")
    if not bare:
        problems.append("no binding seen: LD_DEBUG=bindings gave nothing to compare")
    for problem in problems:
        print("FAILED:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
