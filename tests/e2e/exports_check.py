#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# exports_check.py - what costack's libraries export: nothing a program's own symbols could meet.
"""exports_check.py LIBRARY NAME... : LIBRARY's dynamic symbol table defines exactly the NAMEs
(a NAME ending in '*' stands for any name it starts), besides the linker's section markers
(__start_SECTION, __stop_SECTION). Exit 0 when so, 1 when not."""

import fnmatch
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    library, wanted = sys.argv[1], sys.argv[2:]
    out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True,
                         check=True).stdout
    names = {line.split()[-1] for line in out.splitlines() if line.strip()}
    names = {n for n in names if not n.startswith(("__start_", "__stop_"))}
    extra = sorted(n for n in names if not any(fnmatch.fnmatchcase(n, w) for w in wanted))
    missing = sorted(w for w in wanted if not any(fnmatch.fnmatchcase(n, w) for n in names))
    print(f"{library}: {len(names)} symbols exported")
    for n in extra:
        print("FAILED: exported, and should not be:", n)
    for w in missing:
        print("FAILED: not exported:", w)
    return 1 if extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
