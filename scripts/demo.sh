#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - `make demo`: get_stack() of a bundled coroutine program (tests/programs/demo.c)
# three ways: inside the program, from outside while it runs, and offline from a recording.
#
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail

build=${1:-build}
costack=$build/analysis/costack
demo=$build/tests/programs/demo

say() {
	printf '\n\033[1m== %s\033[0m\n' "$*"
}

# Print the lines the demo writes until one starts with $1; the last one is kept in $line.
read_until() {
	while IFS= read -r line <&"$demo_out"; do
		printf '   | %s\n' "$line"
		[[ $line == "$1"* ]] && return 0
	done
	echo "demo.sh: the demo ended before printing '$1'" >&2
	exit 1
}

say "1. Inside the program: costack run -- demo (each task's costack_print_stack)"
"$costack" run -- "$demo"

say "2. From outside, while it runs: costack ps PID, costack stacks PID"
echo "   The demo stops where both tasks sleep, until a line comes on its stdin:"
coproc DEMO { exec "$costack" run -- "$demo" --pause 2>&1; }
# Copies: bash forgets DEMO's fds as soon as the demo has ended.
exec {demo_out}<&"${DEMO[0]}" {demo_in}>&"${DEMO[1]}"
demo_pid=$DEMO_PID
read_until "demo: paused, pid "
pid=${line#demo: paused, pid }
pid=${pid%%;*}
echo "\$ costack ps $pid"
"$costack" ps "$pid"
echo "\$ costack stacks $pid"
"$costack" stacks "$pid"
echo >&"$demo_in"
exec {demo_in}>&-
while IFS= read -r line <&"$demo_out"; do
	printf '   | %s\n' "$line"
done
exec {demo_out}<&-
wait "$demo_pid"

say "3. Offline: costack record, then the stacks at the moment the demo printed them"
trace=$build/demo-trace
rm -rf "$trace"
echo "\$ costack record -o $trace -- demo --time"
"$costack" record -o "$trace" -- "$demo" --time >/dev/null 2>"$build/demo-record.err"
cat "$build/demo-record.err"
at=$(sed -n 's/^demo: at \([0-9.]*\): both asleep.*/\1/p' "$build/demo-record.err")
echo "\$ costack stacks $trace --at $at      # the moment 'both asleep' was printed"
"$costack" stacks "$trace" --at "$at"
echo "\$ costack stacks $trace               # the end of the trace: the final fates"
"$costack" stacks "$trace"
echo "\$ costack report $trace"
"$costack" report "$trace"
