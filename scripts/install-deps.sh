#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh - install the Debian 12 packages the build and the tests need, if missing.
#
# Usage: scripts/install-deps.sh [PACKAGE...]
#   Without arguments: the project's packages below. With arguments: those packages instead
#   (`make format` asks for clang-format this way). Installs only what is not installed yet,
#   so a second run does nothing; works with no tty. Needs root, or sudo.
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

if [[ $# -gt 0 ]]; then
	PACKAGES=("$@")
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
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null; then
	as_root=(sudo)
else
	echo "install-deps: these packages are missing and installing them needs root:" \
		"${missing[*]}" >&2
	echo "install-deps: run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
# Wait for another apt or dpkg (such as unattended-upgrades on a fresh machine) to finish.
apt_options=(-q -o DPkg::Lock::Timeout=600)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install -y \
	--no-install-recommends "${missing[@]}"
