# SPDX-License-Identifier: MIT
# The front door: install what is missing (Debian 12), build with meson, run the demo or the tests.
# The build itself is meson's (meson.build); this file only strings the steps together.

BUILD ?= build
MESON ?= meson
FORMAT_DIRS = preload analysis tracepoints tests

.PHONY: all deps build demo check bench format clean

all: build

# The Debian packages the build and the tests need; installs only the missing ones.
deps:
	scripts/install-deps.sh

# Configure once; after that ninja re-runs meson itself when a meson.build changes.
build: deps
	@test -f $(BUILD)/build.ninja || $(MESON) setup $(BUILD)
	$(MESON) compile -C $(BUILD)

# get_stack() of the bundled demo inside it, from outside while it runs, and offline from a
# recording (scripts/demo.sh).
demo: build
	scripts/demo.sh $(BUILD)

# Every suite but bench, then bench alone and verbose, so that its figures are shown.
check: build
	$(MESON) test -C $(BUILD) --print-errorlogs --num-processes 2 --no-suite bench
	$(MESON) test -C $(BUILD) --suite bench --verbose

bench: build
	$(MESON) test -C $(BUILD) --suite bench --verbose

format:
	scripts/install-deps.sh clang-format
	find $(FORMAT_DIRS) -name '*.[ch]' -type f -exec clang-format -i {} +

clean:
	rm -rf $(BUILD)
