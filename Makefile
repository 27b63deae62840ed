# SPDX-License-Identifier: MIT
# Front door for people and CI; the real build is CMake + CTest.
#
#   make demo     install missing Debian packages (as root), build, run the demo
#   make test     install, build, run the whole test suite (SANITIZE=1: ASan+UBSan build)
#   make bench    benchmarks, printed as ratios against in-run baselines
#   make fuzz     short libFuzzer run of every target (FUZZ_SECONDS each)
#   make lint     clang-tidy, cppcheck, shellcheck and the banned-function check

SANITIZE ?= 0
FUZZ_SECONDS ?= 60
ifeq ($(SANITIZE),1)
BUILD ?= build-asan
CMAKE_FLAGS += -DCA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
else
BUILD ?= build
CMAKE_FLAGS += -DCMAKE_BUILD_TYPE=RelWithDebInfo
endif
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
BENCH_QUICK ?= 0

.PHONY: all deps build test demo bench fuzz lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

test: build
	@bash scripts/install-npm.sh
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)

bench: build
	BENCH_QUICK=$(BENCH_QUICK) bash bench/run.sh $(BUILD)

fuzz:
	@bash scripts/install-deps.sh --fuzz
	CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCA_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

lint: build
	@bash scripts/install-deps.sh --lint
	bash scripts/lint.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
