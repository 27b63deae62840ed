# SPDX-License-Identifier: MIT
# Front door for people and CI; the real build is CMake + CTest.
#
#   make demo     install missing Debian packages (as root), build, run the demo
#   make test     install, build, run the whole test suite (SANITIZE=1: ASan+UBSan build;
#                 CTEST_EXCLUDE: a regular expression of tests to leave out)
#   make bench    benchmarks, printed as ratios against in-run baselines
#   make fuzz     short libFuzzer run of every target (FUZZ_SECONDS in all, split evenly)
#   make lint     clang-tidy, cppcheck, shellcheck and the banned-function check
#   make release  a reproducible coding-agents-<version>-linux-<arch>.tar.gz in $(BUILD)/
#   make deb      that release as coding-agents_<version>_<arch>.deb (lintian-clean)
#   make dogfood  install that release through its install.sh and smoke-test prod and dev

SANITIZE ?= 0
FUZZ_SECONDS ?= 600
ifeq ($(SANITIZE),1)
BUILD ?= build-asan
BUILD_FLAGS = --sanitize
else
BUILD ?= build
endif
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
BENCH_QUICK ?= 0

.PHONY: all deps build test demo bench fuzz lint release deb reproducible dogfood clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	bash scripts/build --dev $(BUILD_FLAGS) --build-dir $(BUILD) --jobs $(JOBS)

test: build
	@bash scripts/install-npm.sh
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(if $(CTEST_EXCLUDE),-E '$(CTEST_EXCLUDE)')

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

# The release is built in its own tree with CA_RELEASE=ON (no paths in the binary); every step
# is in scripts/build (`bash scripts/build --release --dry-run` lists them).
RELEASE_BUILD ?= build-release
# Whose release workflow signs releases keyless (the Sigstore identity install verifies).
RELEASE_REPOSITORY ?= coding-agents/coding-agents
RELEASE_FLAGS = --release --build-dir $(RELEASE_BUILD) --repository $(RELEASE_REPOSITORY) --jobs $(JOBS) \
	$(if $(RELEASE_SECRET),--sign $(RELEASE_SECRET) --public $(RELEASE_PUBLIC))

release: deps
	bash scripts/build $(RELEASE_FLAGS)

# The Debian package of that release bundle (packaging/make-deb.sh); beside them the Windows
# launcher on its own, the release's SBOM (the tree's, plus each published file) and SHA256SUMS
# of every published file (the bundle cannot list the package made from it; the workflow signs it).
deb: deps
	bash scripts/build $(RELEASE_FLAGS) --deb

# Two release builds in two fresh directories must give the same bytes.
reproducible:
	bash scripts/reproducible.sh

dogfood: release build
	bash scripts/dogfood.sh $(RELEASE_BUILD) $(BUILD)

clean:
	rm -rf build build-asan build-fuzz build-release
