#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_cli.sh - the costack command's contract: verbs, help, exit statuses, and `run` passing
# everything through to the program it becomes.
#
# Usage: test_cli.sh COSTACK LIBCOSTACK_SO
#   COSTACK        the costack executable under test
#   LIBCOSTACK_SO  the preload that COSTACK uses by default (the build tree's for a build-tree
#                  costack)
set -uo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 COSTACK LIBCOSTACK_SO" >&2
	exit 2
fi
for f in "$1" "$2"; do
	if [[ ! -e $f ]]; then
		echo "test_cli: $f: no such file" >&2
		exit 2
	fi
done
# Absolute (meson passes paths relative to the build directory), symlinks kept.
costack=$(realpath -s "$1")
library=$(realpath -s "$2")

# The defaults are what is under test: nothing inherited may change them.
unset LD_PRELOAD COSTACK_LIBRARY

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
status=0
out=
err=

# run CMD...: run it with no input, keeping $status, $out and $err.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	out=$(<"$tmp/out")
	err=$(<"$tmp/err")
}

# CONDITION; check NAME: count the result of the condition just tested; on failure, show
# what the last command returned and printed.
check() {
	# shellcheck disable=SC2319 # the condition before the call is the point
	local ok=$?

	if [[ $ok -eq 0 ]]; then
		passed=$((passed + 1))
		echo "ok: $1"
	else
		failed=$((failed + 1))
		echo "FAILED: $1"
		echo "    status: $status"
		echo "    stdout: ${out:0:400}"
		echo "    stderr: ${err:0:400}"
	fi
}

# The entries of an LD_PRELOAD value, one per line (ld.so splits at colons and spaces).
preload_entries() {
	tr ':[:blank:]' '\n' <<<"$1" | sed '/^$/d'
}

# --- global options and verbs -------------------------------------------------

run "$costack" --version
[[ $status -eq 0 && $out == "costack 0.1.0" && -z $err ]]
check "--version prints 'costack 0.1.0' and exits 0"

run "$costack" --help
[[ $status -eq 0 && $out == *"costack run"* && -z $err ]]
check "--help exits 0 and mentions run"

# Every variable libcostack.so reads (preload/core/config.c, preload/trace/trace.c), each with
# bad and edge values in tests/e2e/settings_check.py, is in the help.
missing=
for variable in COSTACK_DEPTH COSTACK_RING COSTACK_ENDED COSTACK_LOG COSTACK_UNWIND \
	COSTACK_CLOCK COSTACK_DISABLE COSTACK_DUMP_SIGNAL COSTACK_DUMP_ON_CRASH COSTACK_DUMP_FILE \
	COSTACK_TRACE COSTACK_LTTNG_LIBRARY; do
	grep -Eq "^ +$variable( |\$)" <<<"$out" || missing+=" $variable"
done
[[ -z $missing ]]
check "--help names every setting of libcostack.so${missing:+ (missing:$missing)}"

run "$costack" -h
[[ $status -eq 0 && $out == *SYNOPSIS* ]]
check "-h is --help"

run "$costack" help run
[[ $status -eq 0 && $out == *"Usage: costack run"* ]]
check "help run shows run's help"

run "$costack"
[[ $status -eq 2 && -z $out && $err == *"costack: no command given"* &&
	$err == *"Try 'costack --help'."* ]]
check "no verb: exit 2, message on stderr, nothing on stdout"

run "$costack" frobnicate
[[ $status -eq 2 && -z $out && $err == *"costack: unknown command 'frobnicate'"* ]]
check "unknown verb: exit 2, message on stderr, nothing on stdout"

run "$costack" --frobnicate
[[ $status -eq 2 && -z $out && $err == *"'--frobnicate'"* ]]
check "unknown global option: exit 2"

# --- run: arguments -----------------------------------------------------------

run "$costack" run --help
[[ $status -eq 0 && $out == *"Usage: costack run"* ]]
check "run --help exits 0"

run "$costack" run
[[ $status -eq 2 && -z $out && $err == *"no command given"* ]]
check "run with no command: exit 2"

run "$costack" run --
[[ $status -eq 2 && -z $out ]]
check "run -- with no command: exit 2"

run "$costack" run -x true
[[ $status -eq 2 && -z $out && $err == *"unknown option '-x'"* ]]
check "run with an unknown option: exit 2"

run "$costack" run echo -x --help
[[ $status -eq 0 && $out == "-x --help" ]]
check "run without --: options after COMMAND are COMMAND's"

# --- run: the program's status, streams, signals, identity --------------------

run "$costack" run -- sh -c 'exit 7'
[[ $status -eq 7 ]]
check "run passes the exit status through (7)"

run "$costack" run -- sh -c 'echo out; echo err >&2'
[[ $status -eq 0 && $out == out && $err == err ]]
check "run passes stdout and stderr through"

out=$(echo hi | "$costack" run -- cat 2>"$tmp/err")
status=$?
err=$(<"$tmp/err")
[[ $status -eq 0 && $out == hi ]]
check "run passes stdin through"

out=$("$costack" run -- sh -c 'echo fd3 >&3' 3>&1 2>"$tmp/err")
status=$?
err=$(<"$tmp/err")
[[ $status -eq 0 && $out == fd3 ]]
check "run passes other file descriptors through"

# In a bash of its own, whose "Terminated" notice would otherwise clutter this output.
# shellcheck disable=SC2016 # $0 and $? are the inner bash's
out=$(bash -c '"$0" run -- sh -c "kill -TERM \$\$"; echo $?' "$costack" 2>"$tmp/err")
status=$?
err=$(<"$tmp/err")
[[ $out == 143 ]]
check "run passes death by SIGTERM through (bash sees 143)"

# shellcheck disable=SC2016 # $$ is the program's
"$costack" run -- sh -c 'echo $$' >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait "$pid"
status=$?
out=$(<"$tmp/out")
err=$(<"$tmp/err")
[[ $status -eq 0 && $out == "$pid" ]]
check "run execs (the program keeps costack's pid)"

run "$costack" run -- /nonexistent/program
[[ $status -eq 127 && -z $out && $err == *"costack: cannot run '/nonexistent/program'"* ]]
check "run of a missing program: exit 127 with a message"

run "$costack" run -- costack-test-no-such-command-in-path
[[ $status -eq 127 ]]
check "run of a command not in PATH: exit 127"

printf '#!/bin/sh\nexit 0\n' >"$tmp/not-executable"
chmod 644 "$tmp/not-executable"
run "$costack" run -- "$tmp/not-executable"
[[ $status -eq 126 && $err == *"cannot run"* ]]
check "run of a non-executable file: exit 126 with a message"

# --- run: LD_PRELOAD and the environment -------------------------------------

# shellcheck disable=SC2016 # $LD_PRELOAD is the program's
print_preload=(sh -c 'printf "%s\n" "$LD_PRELOAD"')
real_library=$(realpath "$library")

run "$costack" run -- "${print_preload[@]}"
[[ $status -eq 0 && $out == /*libcostack.so && $(realpath "$out") == "$real_library" ]]
check "run sets LD_PRELOAD to an absolute path ending in libcostack.so"

# Another real library, so that ld.so loads it without complaint.
libm=$(gcc -print-file-name=libm.so.6 2>/dev/null)
if [[ $libm != /* || ! -e $libm ]]; then
	libm=$(ldconfig -p | awk '$1 == "libm.so.6" { print $NF; exit }')
fi
[[ -n $libm && -e $libm ]]
check "found a libm.so.6 to preload ($libm)"

run env LD_PRELOAD="$libm" "$costack" run -- "${print_preload[@]}"
[[ $status -eq 0 && $out == "$libm:"*libcostack.so ]]
check "run appends to an existing LD_PRELOAD, which stays first"

run env LD_PRELOAD="$library" "$costack" run -- "${print_preload[@]}"
[[ $status -eq 0 && $(preload_entries "$out" | grep -c libcostack) -eq 1 ]]
check "run does not add the preload twice (same path)"

ln -s "$real_library" "$tmp/libcostack.so"
run env LD_PRELOAD="$libm $tmp/libcostack.so" "$costack" run -- "${print_preload[@]}"
[[ $status -eq 0 && $out == "$libm $tmp/libcostack.so" ]]
check "run does not add the preload twice (another name for it, space-separated list)"

# A copy of the preload at another path and name (an installed costack, another build): kept,
# not joined by a second copy, and said in one line.
cp "$real_library" "$tmp/other-costack.so"
run env LD_PRELOAD="$libm:$tmp/other-costack.so" "$costack" run -- "${print_preload[@]}"
[[ $status -eq 0 && $out == "$libm:$tmp/other-costack.so" &&
	$err == "costack run: LD_PRELOAD already loads costack ($tmp/other-costack.so);"* ]]
check "run keeps a copy of costack already in LD_PRELOAD, and says so"

# shellcheck disable=SC2016 # the variables are the program's
run env COSTACK_DEPTH=5 COSTACK_LOG=warn "$costack" run -- sh -c 'echo "$COSTACK_DEPTH $COSTACK_LOG"'
[[ $status -eq 0 && $out == "5 warn" ]]
check "run passes COSTACK_* variables through untouched"

run env COSTACK_LIBRARY="$tmp/libcostack.so" "$costack" run -- "${print_preload[@]}"
[[ $status -eq 0 && $out == "$tmp/libcostack.so" ]]
check "run uses COSTACK_LIBRARY"

(cd "$tmp" && COSTACK_LIBRARY=libcostack.so "$costack" run -- "${print_preload[@]}") \
	>"$tmp/out" 2>"$tmp/err"
status=$?
out=$(<"$tmp/out")
err=$(<"$tmp/err")
[[ $status -eq 0 && $out == "$(realpath "$tmp")/libcostack.so" ]]
check "run makes a relative COSTACK_LIBRARY absolute"

run env COSTACK_LIBRARY=/nonexistent/libcostack.so "$costack" run -- true
[[ $status -eq 3 && -z $out && $err == *"cannot use COSTACK_LIBRARY=/nonexistent/libcostack.so"* ]]
check "run with a missing COSTACK_LIBRARY: exit 3 with a message"

run env COSTACK_LIBRARY="$tmp" "$costack" run -- true
[[ $status -eq 3 && $err == *"not a regular file"* ]]
check "run with a directory as COSTACK_LIBRARY: exit 3"

# A copy outside the build tree uses the installed preload; when there is none (make check does
# not install), the refusal is one line, as every refusal is.
cp "$costack" "$tmp/costack-copy"
run "$tmp/costack-copy" run -- true
if [[ $status -eq 3 ]]; then
	[[ -z $out && $(wc -l <"$tmp/err") -eq 1 && $err == "costack: cannot use "*"libcostack.so: "*"COSTACK_LIBRARY"* ]]
else
	[[ $status -eq 0 && -z $err ]]
fi
check "run from a copy outside the build tree: the installed preload, or exit 3 in one line"

echo "test_cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
