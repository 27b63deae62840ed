#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Sigstore trusted root we ship is exactly the one in the TUF seeds of the pinned
# @sigstore/tuf (fetched with npm pack, its SHA-512 checked: packaging/sigstore-root.sh), and
# the release stage carries it where verify-sigstore, install and doctor look for it.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

command -v npm >/dev/null || skip "npm is needed to fetch @sigstore/tuf"
npm view @sigstore/tuf@5.0.1 version >/dev/null 2>&1 || skip "the npm registry is not reachable"
expect_status 0 bash "$CA_SOURCE_DIR/packaging/sigstore-root.sh" --check
expect_grep "is the trusted root of @sigstore/tuf@" "$TEST_TMP/out"
expect_status 2 bash "$CA_SOURCE_DIR/packaging/sigstore-root.sh" --bogus

# `cmake --install` puts it in the release tree at share/coding-agents/sigstore/.
cmake --install "$CA_BUILD_DIR" --prefix "$TEST_TMP/stage" >/dev/null
check "the release tree lacks the trusted root" \
        cmp -s "$TEST_TMP/stage/share/coding-agents/sigstore/trusted_root.json" \
        "$CA_SOURCE_DIR/packaging/sigstore/trusted_root.json"
finish
