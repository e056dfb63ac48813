# Thin wrapper over CMake. `make run` and `make test` install what is missing first.
RELEASE_DIR ?= build/release
DEV_DIR     ?= build/dev
BENCH_DIR   ?= build/bench
TEST_DIR    ?= build/test
TSAN_DIR    ?= build/tsan
CHAOS_DIR   ?= build/chaos
CHAOS_ARGS  ?= --messages 20000
FUZZ_DIR    ?= build/fuzz
COST_DIR    ?= build/cost
# Seconds each fuzzer runs in `make fuzz`: 15 is the short run (about 70 s for the four).
FUZZ_SECONDS ?= 15
JOBS        ?= $(shell nproc)

.PHONY: all deps deploy-tools image-check build run test test-app check test-tsan chaos fuzz cost \
        bench routes package package-check install format check-format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DROUTEMQ_BUILD_TESTS=OFF
	cmake --build $(RELEASE_DIR) -j $(JOBS)

# The example application against $MQTT_BROKER, or a local mosquitto when none is configured.
run: build
	scripts/run-dev.sh $(RELEASE_DIR)/routemq --workers $(ARGS)

routes: build
	$(RELEASE_DIR)/routemq routes

# Packages from the npm registry for the manifest, AsyncAPI and Grafana checks and the
# dashboard's browser test (Node.js and Chromium from Debian if missing).
deploy-tools:
	@command -v npm >/dev/null || scripts/install-deps.sh scripts/packages-node.txt
	@command -v chromium >/dev/null || scripts/install-deps.sh scripts/packages-browser.txt
	@[ tests/deploy/node_modules/.package-lock.json -nt tests/deploy/package-lock.json ] || \
	  npm ci --prefix tests/deploy --no-audit --no-fund --loglevel=error

# The everyday loop (about 8 minutes from a clean clone on 2 cores): a normal
# debug build, every unit and integration test (the installed-package test included), the short
# chaos run on one host, the deployment and docs checks, and the format check.
test: deps deploy-tools
	cmake -S . -B $(DEV_DIR) -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(DEV_DIR) -j $(JOBS)
	ctest --test-dir $(DEV_DIR) --output-on-failure -j $(JOBS) -E '^Chaos\.SeveralHosts$$'
	scripts/check-format.sh

# The application's own tests only (tests/app/: the harness tests and the broker tests).
test-app: deps deploy-tools
	cmake -S . -B $(DEV_DIR) -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(DEV_DIR) -j $(JOBS) --target routemq_app_test_targets
	ctest --test-dir $(DEV_DIR) -L app --output-on-failure -j $(JOBS)

# The full proof, what CI runs (.ci/run; about 30 minutes on 2 cores): every test built with
# AddressSanitizer and UBSan (chaos on several hosts too); the cost gate; the fuzzers' short runs;
# every test again built with ThreadSanitizer; the Debian package installed and an application
# made, tested and run from it with no source tree in sight; the format check.
check: deps deploy-tools
	cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DROUTEMQ_SANITIZE=ON
	cmake --build $(TEST_DIR) -j $(JOBS)
	ctest --test-dir $(TEST_DIR) --output-on-failure -j $(JOBS)
	$(MAKE) cost
	$(MAKE) fuzz FUZZ_SECONDS=15
	$(MAKE) test-tsan
	$(MAKE) package-check
	scripts/check-format.sh

# The same tests built with ThreadSanitizer instead (docs/thread-sanitizer.md): optimized with
# debug information, since TSan slows code 5-15x and the integration tests wait on timers. Red on
# any report, from a test or from a process it starts. TSAN_ARGS go to ctest (e.g. -R Workers).
test-tsan: deps deploy-tools
	@scripts/install-deps.sh scripts/packages-tsan.txt
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROUTEMQ_TSAN=ON
	cmake --build $(TSAN_DIR) -j $(JOBS)
	scripts/test-tsan.sh $(TSAN_DIR) -j $(JOBS) $(TSAN_ARGS)

# Faults under a QoS 1 flood (docs/reliability.md), on a release build: every scenario on one
# host, then again with the broker and two instances on hosts of their own (network namespaces;
# root only, skipped otherwise). Fails when an acknowledged message is lost. `make test` runs a
# short version (ctest -L chaos).
chaos: deps
	cmake -S . -B $(CHAOS_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(CHAOS_DIR) -j $(JOBS) --target routemq_chaos routemq_chaos_app
	$(CHAOS_DIR)/tests/routemq_chaos --app $(CHAOS_DIR)/tests/routemq_chaos_app $(CHAOS_ARGS)
	$(CHAOS_DIR)/tests/routemq_chaos --app $(CHAOS_DIR)/tests/routemq_chaos_app --several-hosts \
	  $(CHAOS_ARGS) || [ $$? -eq 77 ]

# The libFuzzer targets of tests/fuzz (docs/fuzzing.md), built with clang-14, ASan and UBSan:
# each runs FUZZ_SECONDS over its seeds and the corpus it keeps in $(FUZZ_DIR)/fuzz-corpus.
# A long run (FUZZ_SECONDS=600 make fuzz) shows libFuzzer's output as it goes.
fuzz: deps
	@scripts/install-deps.sh scripts/packages-fuzz.txt
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DROUTEMQ_BUILD_FUZZ=ON -DROUTEMQ_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	ctest --test-dir $(FUZZ_DIR) -L fuzz --output-on-failure \
	  $(if $(filter-out 15,$(FUZZ_SECONDS)),--verbose)

# The cost gate (tests/cost/README.md): instructions and heap allocations per message on a
# worker's hot path, counted by callgrind on a Release build, against tests/cost/budget.txt.
cost: deps
	@scripts/install-deps.sh scripts/packages-cost.txt
	cmake -S . -B $(COST_DIR) -DCMAKE_BUILD_TYPE=Release -DROUTEMQ_BUILD_TESTS=OFF \
	  -DROUTEMQ_BUILD_COST=ON
	cmake --build $(COST_DIR) -j $(JOBS) --target routemq_cost_tests routemq_cost_app
	ctest --test-dir $(COST_DIR) -L cost --output-on-failure --verbose

# The Dockerfile built and run without Docker (debootstrap + chroot; root; several minutes).
image-check:
	scripts/check-image.sh

# Benchmarks: throughput, latency, CPU, memory, start/stop against hand-written Paho C.
# Writes docs/benchmarks/results.md and throughput.png. BENCH_ARGS=--quick for a short run.
bench: deps
	@scripts/install-deps.sh scripts/packages-bench.txt scripts/packages-cost.txt
	cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DROUTEMQ_BUILD_TESTS=OFF -DROUTEMQ_BUILD_BENCH=ON \
	  -DROUTEMQ_BUILD_COST=ON
	cmake --build $(BENCH_DIR) -j $(JOBS)
	bench/run.sh $(BENCH_DIR) $(BENCH_ARGS)

# The Debian package of the framework (docs/install.md): $(RELEASE_DIR)/routemq_<version>_<arch>.deb.
package: build
	cd $(RELEASE_DIR) && cpack -G DEB

# Installs the framework under PREFIX (default /usr/local): libraries, headers, CMake package,
# pkg-config file and the routemq tool.
PREFIX ?= /usr/local
install: build
	cmake --install $(RELEASE_DIR) --prefix $(PREFIX)

# The package on this machine as a user gets it (root: apt-get, and a mount namespace that hides
# this source tree): installed, `routemq new app demo` in a scratch directory, its `make test`,
# its `make run` answering a message; the package removed again if it was not installed before.
package-check: package
	scripts/check-package.sh $(RELEASE_DIR) || [ $$? -eq 77 ]

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

check-format:
	scripts/check-format.sh

clean:
	rm -rf build
