#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh - install the Debian 12 packages the build and the tests need, if missing.
#
# Usage: scripts/install-deps.sh [PACKAGE...]
#   Without arguments: the project's packages below, then speedscope's file-format schema from
#   npm (below). With arguments: those packages instead (`make format` asks for clang-format
#   this way). Installs only what is not installed yet, so a second run does nothing; works
#   with no tty. Needs root, or sudo.
set -euo pipefail

PACKAGES=(
	# meson.build: compilers and the build system
	build-essential g++ meson ninja-build pkg-config
	# preload/: unwinding (libunwind) and symbolization (elfutils libdw, libelf)
	libunwind-dev libdw-dev libelf-dev
	# tests/programs: the coroutine runtimes the preload hooks; Boost.Coroutine2 is
	# header-only, in libboost1.74-dev
	libpth-dev libboost1.74-dev libboost-context1.74-dev libboost-fiber1.74-dev
	# tests/runtimes: SimGrid (its ucontext, boost and raw context factories) and Asio's
	# spawn, which Boost 1.74 builds on Boost.Coroutine (v1)
	libsimgrid-dev libboost-coroutine1.74-dev
	# tests/e2e: Boost.Context and Coroutine2 examples nobody on the team wrote
	libboost1.74-doc
	# tests/bench: a Boost.Asio server whose coroutines are spawn()ed (Boost.Coroutine)
	libboost-coroutine1.74-dev
	# tests: the valgrind test setup, stacks checked against gdb, file(1) on built objects
	valgrind gdb file
	# tests/fuzz: the live registry's reader fuzzed with libFuzzer, which clang builds and
	# libclang-rt-14-dev holds (clang only recommends it)
	clang libclang-rt-14-dev
	# tracepoints/, analysis/, tests/lttng: the LTTng-UST provider, the session daemon and
	# lttng(1) that `costack record` drives, babeltrace2 and its library for the plugin
	liblttng-ust-dev lttng-tools babeltrace2 libbabeltrace2-dev
	# analysis/lib/output: costack flame's pprof profiles (profile.proto compiled by
	# protoc-c, gzip-compressed by zlib)
	libprotobuf-c-dev protobuf-c-compiler zlib1g-dev
	# tests/offline: `go tool pprof -top` reads costack flame's pprof; speedscope files and
	# Chrome trace-event files checked against their JSON schemas
	golang-go python3-jsonschema
)

# tests/offline: speedscope's published JSON schema of its file format, which test_flame.py
# checks costack flame's speedscope files against. Debian does not package speedscope: the
# schema comes from its npm package, pinned, installed under SPEEDSCOPE_PREFIX (tests/offline/
# meson.build names the same file). npm is Debian's (nodejs, npm) unless one is there already
# (NodeSource's nodejs holds npm and conflicts with Debian's).
SPEEDSCOPE_VERSION=1.25.0
SPEEDSCOPE_PREFIX=/opt/costack-test
SPEEDSCOPE_SCHEMA=$SPEEDSCOPE_PREFIX/node_modules/speedscope/dist/release/file-format-schema.json

want_speedscope=1
if [[ $# -gt 0 ]]; then
	PACKAGES=("$@")
	want_speedscope=0
elif ! command -v npm >/dev/null; then
	PACKAGES+=(nodejs npm)
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "install-deps: this is not a Debian system (no dpkg-query or apt-get);" \
		"install these packages or their equivalents yourself: ${PACKAGES[*]}" >&2
	exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
	# "install ok installed" or "hold ok installed"; nothing (and status 1) when unknown.
	status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
	if [[ $status != *" installed" ]]; then
		missing+=("$package")
	fi
done
if [[ ${#missing[@]} -eq 0 ]] && { [[ $want_speedscope -eq 0 ]] || [[ -f $SPEEDSCOPE_SCHEMA ]]; }; then
	exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null; then
	as_root=(sudo)
else
	echo "install-deps: these packages are missing and installing them needs root:" \
		"${missing[*]:-(none)}" >&2
	echo "install-deps: run as root: apt-get install ${missing[*]:-(none)}; and" \
		"npm install --prefix $SPEEDSCOPE_PREFIX speedscope@$SPEEDSCOPE_VERSION" >&2
	exit 1
fi

if [[ ${#missing[@]} -gt 0 ]]; then
	echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
	# Wait for another apt or dpkg (such as unattended-upgrades on a fresh machine) to finish.
	apt_options=(-q -o DPkg::Lock::Timeout=600)
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" update
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install -y \
		--no-install-recommends "${missing[@]}"
fi

if [[ $want_speedscope -eq 1 && ! -f $SPEEDSCOPE_SCHEMA ]]; then
	echo "install-deps: installing speedscope@$SPEEDSCOPE_VERSION from npm into" \
		"$SPEEDSCOPE_PREFIX (for its file-format schema)"
	# --ignore-scripts: only its files are wanted, nothing of it is run.
	"${as_root[@]}" npm install --prefix "$SPEEDSCOPE_PREFIX" --ignore-scripts --no-audit \
		--no-fund --no-save "speedscope@$SPEEDSCOPE_VERSION"
	if [[ ! -f $SPEEDSCOPE_SCHEMA ]]; then
		echo "install-deps: speedscope@$SPEEDSCOPE_VERSION has no $SPEEDSCOPE_SCHEMA" >&2
		exit 1
	fi
fi
