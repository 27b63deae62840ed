# SPDX-License-Identifier: MIT
# Front door for people and CI; the real build is CMake + CTest.
#
#   make demo     install missing Debian packages (as root), build, run the demo
#   make test     install, build, run the whole test suite (SANITIZE=1: ASan+UBSan build)
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

.PHONY: all deps build test demo bench fuzz lint release deb reproducible dogfood clean

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

# The release is built in its own tree with CA_RELEASE=ON (no paths in the binary).
RELEASE_BUILD ?= build-release
# Whose release workflow signs releases keyless (the Sigstore identity install verifies).
RELEASE_REPOSITORY ?= coding-agents/coding-agents

release: deps
	cmake -S . -B $(RELEASE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCA_RELEASE=ON \
		-DCA_RELEASE_REPOSITORY=$(RELEASE_REPOSITORY) >/dev/null
	cmake --build $(RELEASE_BUILD) -j $(JOBS) --target coding-agents ca-engine ca-broker cli-docs agent-init mcp-helper mcp-stub mcp-stub-launcher egress-proxy \
		task-runner ca-shell exec-guard ca-probe windows-launcher
	rm -rf $(RELEASE_BUILD)/stage
	cmake --install $(RELEASE_BUILD) --prefix $(abspath $(RELEASE_BUILD))/stage >/dev/null
	rm -rf $(RELEASE_BUILD)/debug
	bash packaging/split-debug.sh $(RELEASE_BUILD)/stage $(RELEASE_BUILD)/debug
	tar --sort=name --mtime=@$(RELEASE_EPOCH) --owner=0 --group=0 --numeric-owner -C $(RELEASE_BUILD)/debug \
		-cf - .build-id | gzip -n -9 >$(RELEASE_BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).debug.tar.gz
	SOURCE_DATE_EPOCH=$(RELEASE_EPOCH) python3 packaging/make-sbom.py $(RELEASE_BUILD)/stage \
		$(VERSION) >$(RELEASE_BUILD)/sbom.json && mv $(RELEASE_BUILD)/sbom.json $(RELEASE_BUILD)/stage/sbom.json
	SOURCE_DATE_EPOCH=$(RELEASE_EPOCH) $(RELEASE_BUILD)/bin/coding-agents release bundle \
		--version $(VERSION) --stage $(RELEASE_BUILD)/stage \
		--out $(RELEASE_BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz
	@if [ -n "$(RELEASE_SECRET)" ] && [ -n "$(RELEASE_PUBLIC)" ]; then \
		$(RELEASE_BUILD)/bin/coding-agents release sign --secret $(RELEASE_SECRET) \
			$(RELEASE_BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz && \
		bash packaging/make-installer.sh \
			$(RELEASE_BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz \
			$(RELEASE_PUBLIC) >$(RELEASE_BUILD)/install.sh && echo "installer $(RELEASE_BUILD)/install.sh"; \
	else \
		echo "(set RELEASE_SECRET and RELEASE_PUBLIC to sign and write install.sh)"; \
	fi

# The Debian package of that release bundle (packaging/make-deb.sh).
# Beside them: the Windows launcher on its own (the bundle's, for Windows users to download),
# the release's SBOM (the tree's, plus each published file) and SHA256SUMS of every published
# file (the bundle cannot list the package made from it); the workflow signs it.
deb: release
	SOURCE_DATE_EPOCH=$(RELEASE_EPOCH) bash packaging/make-deb.sh \
		$(RELEASE_BUILD)/coding-agents-$(VERSION)-linux-$(ARCH).tar.gz $(RELEASE_BUILD)
	cp $(RELEASE_BUILD)/stage/share/coding-agents/windows/coding-agents.exe \
		$(RELEASE_BUILD)/coding-agents-$(VERSION)-windows-x86_64.exe
	cd $(RELEASE_BUILD) && python3 $(CURDIR)/packaging/make-sbom.py --assets stage/sbom.json \
		coding-agents-$(VERSION)-linux-$(ARCH).tar.gz coding-agents-$(VERSION)-linux-$(ARCH).debug.tar.gz \
		coding-agents_$(VERSION)_*.deb coding-agents-$(VERSION)-windows-x86_64.exe >coding-agents-$(VERSION).cdx.json
	cd $(RELEASE_BUILD) && sha256sum coding-agents-$(VERSION)-linux-$(ARCH).tar.gz \
		coding-agents-$(VERSION)-linux-$(ARCH).debug.tar.gz coding-agents_$(VERSION)_*.deb \
		coding-agents-$(VERSION)-windows-x86_64.exe coding-agents-$(VERSION).cdx.json >SHA256SUMS

# Two release builds in two fresh directories must give the same bytes.
reproducible:
	bash scripts/reproducible.sh

dogfood: release build
	bash scripts/dogfood.sh $(RELEASE_BUILD) $(BUILD)

clean:
	rm -rf build build-asan build-fuzz build-release
