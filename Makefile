# Sharecast: `make run` and `make test` work on a fresh Debian 12 machine with the Swift toolchain.
SHELL := /bin/bash
export PATH := $(if $(wildcard /opt/swift/usr/bin),/opt/swift/usr/bin:,)$(PATH)

# System packages: the C libraries Sharecast links and the real tools its tests run.
BUILD_PACKAGES := libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev pkg-config
TEST_PACKAGES := ffmpeg prometheus prometheus-alertmanager python3-pip libhdhomerun-dev xmltv-util
# Python packages the tests use: the OpenMetrics reference parser.
PYTHON_PACKAGES := prometheus-client==0.26.0 schemathesis==4.32.5
BENCH_PACKAGES := nginx curl

.PHONY: deps build run test tsan fuzz soak bench dashboards clean

deps:
	@scripts/install-deps.sh $(BUILD_PACKAGES) $(TEST_PACKAGES)
	@scripts/install-python-deps.sh $(PYTHON_PACKAGES)

build: deps
	swift build -c release --product sharecast

# Serves on port 8085 with the embedded default configuration (or ./sharecast.yaml if present).
# Pass more flags with ARGS, e.g. `make run ARGS="--port 9000 --log-level debug"`.
run: build
	.build/release/sharecast serve $(ARGS)

test: deps
	scripts/test.sh

# The whole suite under ThreadSanitizer (its own build folder; slower: see docs/operations.md).
tsan: deps
	scripts/tsan.sh

# Each libFuzzer target for FUZZ_SECONDS (default 60); `make test` replays the corpora once.
fuzz: deps
	scripts/fuzz.sh

# A long mixed load on the release build (SOAK_MINUTES, default 10); fails on growth or lost rows.
soak: build
	python3 scripts/soak.py .build/release/sharecast $${SOAK_MINUTES:-10}

# Fan-out against nginx, in one run on this machine; prints figures, decides nothing.
bench: deps
	@scripts/install-deps.sh $(BENCH_PACKAGES)
	scripts/bench.sh

# Regenerates grafana/dashboards/*.json from scripts/make-dashboards.py.
dashboards:
	python3 scripts/make-dashboards.py

clean:
	rm -rf .build
