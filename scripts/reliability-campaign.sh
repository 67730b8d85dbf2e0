#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# reliability-campaign.sh - issue 13's adversarial campaign, longer than make check's share of it:
# corrupt traces, hostile live images, every setting, every verb with bad arguments, two copies
# of the preload and dlopen()ed C++ and Boost.Context libraries (README, "Reliability").
#
# Usage: scripts/reliability-campaign.sh [BUILD_DIR [SECONDS [REPEATS]]]
#   BUILD_DIR  a meson build directory, built (default: build)
#   SECONDS    for each of the two fuzzers (default: 600)
#   REPEATS    runs of each program with two copies, of each hostile section (default: 5)
# PARTS (environment): the parts to run, of traces live-fuzz hostile settings two-copies (default:
# all of them). Needs root (the trace recordings and the hostile impostors use namespaces of their own).
# Prints each part's figures; exits 1 when any part found something (each said), 0 otherwise.
set -uo pipefail

build=$(realpath "${1:-build}")
seconds=${2:-600}
repeats=${3:-5}
src=$(realpath "$(dirname "$0")/..")
lib=$build/preload/libcostack.so
copy=$build/tests/e2e/libcostack-copy.so
programs=$build/tests/programs
work=$(mktemp -d /tmp/costack-campaign-XXXXXX)
failed_parts=()
parts=" ${PARTS:-traces live-fuzz hostile settings two-copies} "

part() {
	printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"
}

# run_part NAME COMMAND...: the command's output to $work/NAME.log, its summary lines shown.
run_part() {
	local name=$1 start=$SECONDS
	shift
	[[ $parts == *" $name "* ]] || return 0
	part "$name"
	"$@" >"$work/$name.log" 2>&1
	local status=$?
	grep -E '^(random|args|exit statuses|babeltrace2 crashed|settings|stat::|Done|FAILED|.*: [0-9]+ passed, [0-9]+ failed)' \
		"$work/$name.log" | head -40
	echo "$name: exit $status in $((SECONDS - start)) s (log: $work/$name.log)"
	[[ $status -eq 0 ]] || failed_parts+=("$name")
}

# 1. Corrupt traces, read by the ASan/UBSan costack, over eight seeds other than CI's; then every
# verb with bad arguments (run reaches its exec: COSTACK_LIBRARY is set).
mkdir -p "$work/traces"
run_part traces env -C "$work/traces" COSTACK_LIBRARY="$lib" python3 -u \
	"$src/tests/fuzz/fuzz_traces.py" "$build/tests/fuzz/costack-asan" "$lib" \
	"$build/tracepoints/libcostack-lttng.so" "$build/tests/offline/offline_target-O2" \
	"$build/tests/fuzz/odd_events" "$build/tests/fuzz/babeltrace-plugin-costack-test-hang.so" \
	"$seconds" 11 12 13 14 15 16 17 18

# 2. The live registry's reader under libFuzzer (ASan, UBSan) from the seed corpus.
run_part live-fuzz python3 -u "$src/tests/fuzz/run_fuzz.py" "$build/tests/fuzz/fuzz_live" \
	"$src/tests/fuzz/corpus" "$seconds"

# 3. Hostile live images: a shrinking memfd read 300 times, a fifo, a device and a directory in
# its place; and reads of a target under load. REPEATS times.
hostile() {
	local i status=0
	for ((i = 1; i <= repeats; i++)); do
		python3 "$src/tests/live/test_live.py" "$build/analysis/costack" "$lib" \
			"$build/tests/live/hostile_target" hostile || status=1
		python3 "$src/tests/live/test_live.py" "$build/analysis/costack" "$lib" \
			"$build/tests/live/live_target-O2" load errors || status=1
	done
	return $status
}
run_part hostile hostile

# 4. Every COSTACK_* setting, bad and edge values, on programs nobody here wrote too. Each
# process warns once: python3 is the interpreter itself, not a wrapper script (pyenv's shim runs
# a dozen processes, each of which says its one line).
settings_programs=(-- "$programs/passthrough-O0" -- "$programs/passthrough-O2"
	-- "$programs/cancel_host" -- /bin/sh -c 'echo out; echo err >&2; exit 3'
	-- "$(python3 -c 'import sys; print(sys.executable)')" -c 'import sys; print(sys.version_info[0]); sys.exit(4)')
for example in "$programs"/{coro2,callcc,fiber}_example_*-O[02]; do
	case $example in *endless_loop* | *circle* | *segmented-O0 | *backtrace*) continue ;; esac
	settings_programs+=(-- "$example")
done
run_part settings python3 -u "$src/tests/e2e/settings_check.py" "$lib" \
	"$build/tracepoints/libcostack-lttng.so" "${settings_programs[@]}"

# 5. Two copies of the preload (either first) and dlopen(RTLD_LOCAL)ed C++ and Boost.Context:
# every program prints and exits as without any preload, REPEATS times; symbols bind as without.
two_copies() {
	local status=0 i name program runs=0 bad=0
	local -a commands=()
	for program in "$programs"/{states,asyncio_examples,threads,migrate,fork,many_args,pth_blocked,passthrough,coro2_fates,fiber_migrate}-O[02]; do
		[[ -x $program ]] && commands+=("$program --quiet")
	done
	for program in "$programs"/{coro2,callcc,fiber}_example_*-O[02]; do
		case $program in *endless_loop* | *circle* | *segmented-O0 | *backtrace*) continue ;; esac
		commands+=("$program")
	done
	commands+=("$programs/cancel_host"
		"$programs/local_host $programs/liblocal_cxx.so $programs/liblocal_fibers.so --quiet")
	for ((i = 1; i <= repeats; i++)); do
		for name in "${commands[@]}"; do
			for order in "$lib $copy" "$copy $lib" "$lib"; do
				local -a preloads=()
				for p in $order; do preloads+=(--preload "$p"); done
				runs=$((runs + 1))
				# shellcheck disable=SC2086
				if ! timeout 120 python3 "$src/tests/e2e/same_output.py" "${preloads[@]}" -- $name \
					>"$work/same.log" 2>&1; then
					bad=$((bad + 1))
					echo "FAILED: preload $order: $name"
					tail -20 "$work/same.log"
				fi
			done
		done
		for name in "$programs/cancel_host" \
			"$programs/local_host $programs/liblocal_cxx.so $programs/liblocal_fibers.so --quiet"; do
			runs=$((runs + 1))
			# shellcheck disable=SC2086
			if ! timeout 120 python3 "$src/tests/e2e/bindings_check.py" --preload "$lib" -- $name \
				>"$work/same.log" 2>&1; then
				bad=$((bad + 1))
				echo "FAILED: bindings: $name"
				tail -20 "$work/same.log"
			fi
		done
		timeout 60 env LD_PRELOAD="$lib:$copy" "$programs/two_copies" "$copy" >"$work/same.log" 2>&1 ||
			{ bad=$((bad + 1)); echo "FAILED: two_copies"; tail -20 "$work/same.log"; }
		runs=$((runs + 1))
	done
	echo "two copies and dlopen: ${#commands[@]} programs, $runs runs: $((runs - bad)) passed, $bad failed"
	[[ $bad -eq 0 ]]
}
run_part two-copies two_copies

part summary
if [[ ${#failed_parts[@]} -eq 0 ]]; then
	echo "campaign: every part held (logs in $work)"
	exit 0
fi
echo "campaign: found something in: ${failed_parts[*]} (logs in $work)"
exit 1
