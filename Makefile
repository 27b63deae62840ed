# SPDX-License-Identifier: MIT
# Front door for people and CI; the real build is CMake + CTest.
#
#   make demo     install missing Debian packages (as root), build, run the demo
#   make test     install, build, run the whole test suite (SANITIZE=1: ASan+UBSan build)
#   make bench    benchmarks, printed as ratios against in-run baselines
#   make fuzz     short libFuzzer run of every target (FUZZ_SECONDS each)
#   make lint     clang-tidy, cppcheck, shellcheck and the banned-function check
#   make release  a reproducible coding-agents-<version>-linux-<arch>.tar.gz in $(BUILD)/
#   make dogfood  install that release through its install.sh and smoke-test prod and dev

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

VERSION := $(shell grep -m1 -o 'coding-agents VERSION [0-9.]*' CMakeLists.txt | cut -d' ' -f3)
ARCH := $(shell uname -m)
RELEASE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: all deps build test demo bench fuzz lint release dogfood clean

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

release: build
	rm -rf $(BUILD)/stage
	cmake --install $(BUILD) --prefix $(CURDIR)/$(BUILD)/stage >/dev/null
	SOURCE_DATE_EPOCH=$(RELEASE_EPOCH) python3 packaging/make-sbom.py $(BUILD)/stage $(VERSION) \
		>$(BUILD)/sbom.json && mv $(BUILD)/sbom.json $(BUILD)/stage/sbom.json
	SOURCE_DATE_EPOCH=$(RELEASE_EPOCH) $(BUILD)/bin/coding-agents release bundle \
		--version $(VERSION) --stage $(BUILD)/stage \
		--out $(BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz
	@if [ -n "$(RELEASE_SECRET)" ] && [ -n "$(RELEASE_PUBLIC)" ]; then \
		$(BUILD)/bin/coding-agents release sign --secret $(RELEASE_SECRET) \
			$(BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz && \
		bash packaging/make-installer.sh $(BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz \
			$(RELEASE_PUBLIC) >$(BUILD)/install.sh && echo "installer $(BUILD)/install.sh"; \
	else \
		echo "(set RELEASE_SECRET and RELEASE_PUBLIC to sign and write install.sh)"; \
	fi

dogfood: release
	bash scripts/dogfood.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
