# hotalloc — see `make help`.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# Go versions the tests cover (the matrix covers all supported ones).
HOTALLOC_GO_VERSIONS ?= 1.19 1.26
export HOTALLOC_GO_VERSIONS
export HOTALLOC_CACHE ?= /var/cache/hotalloc
export BUILD_DIR PREFIX DESTDIR
FUZZ_BUILD_DIR ?= build-fuzz
SANITIZE_BUILD_DIR ?= build-asan
FUZZ_SECONDS ?= 30
export FUZZ_BUILD_DIR FUZZ_SECONDS

.PHONY: all deps configure build demo test test-unit test-bpf test-deploy test-sanitize test-matrix fuzz install bench check-arm64 clean help

help: ## Show this help
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

deps: ## Install missing Debian build/test packages (root)
	@tools/deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null

configure: $(BUILD_DIR)/CMakeCache.txt

build: configure ## Build build/hotallocd, build/hotallocctl and the tests
	@cmake --build $(BUILD_DIR) -j $(JOBS)

all: build

demo: deps build ## Install what is missing, build, and trace a bundled demo Go program
	@tools/demo.sh

test: deps build check-arm64 ## Install what is missing, build, compile the BPF programs for arm64, and run the unit, BPF and deploy suites (root)
	@tools/run-tests.sh all

test-unit: build ## Unit tests only (no root, no BPF)
	@tools/run-tests.sh unit

test-bpf: build ## BPF integration tests only (root)
	@tools/run-tests.sh bpf

test-deploy: deps build ## systemd unit (and a boot under systemd-nspawn), socket access, dashboard and rules against a real Prometheus, manifests (root)
	@tools/run-tests.sh deploy

test-sanitize: deps ## ASan+UBSan build in $(SANITIZE_BUILD_DIR): unit tests and a part of the BPF tests (root)
	@$(MAKE) --no-print-directory build BUILD_DIR=$(SANITIZE_BUILD_DIR) CMAKE_FLAGS=-DHOTALLOC_SANITIZE=ON
	@SANITIZE_BUILD_DIR=$(SANITIZE_BUILD_DIR) tools/test-sanitize.sh

fuzz: deps ## Build the libFuzzer targets with clang in $(FUZZ_BUILD_DIR) and run each for FUZZ_SECONDS
	@tools/fuzz.sh

install: build ## Install binaries, unit, sysusers, default config, dashboard, rules (DESTDIR, PREFIX=/usr/local)
	@tools/install.sh

test-matrix: deps build ## Matrix tests on every Go version x {default, stripped, PIE}; writes README's table (root)
	@tools/test-matrix.sh

bench: deps build ## Benchmarks: traced vs untraced, hotalloc vs bpftrace (root)
	@tools/bench.sh

check-arm64: configure ## Compile the BPF programs for arm64 (build check)
	@cmake --build $(BUILD_DIR) --target bpf_arm64

clean: ## Remove the build tree (the toolchain cache stays)
	rm -rf $(BUILD_DIR)
