#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TOML 1.0 conformance: ../shared/toml-test must report 709 passed, 0 failed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ -f "$CA_TOML_TEST_DIR/run.py" ] || skip "toml-test suite not found at '$CA_TOML_TEST_DIR'"
"$CA_PYTHON3" "$CA_TOML_TEST_DIR/run.py" "$CA_TOML_DECODER" -q >"$TEST_TMP/out" 2>&1 || true
cat "$TEST_TMP/out"
expect_grep '^toml-test: 709 passed, 0 failed$' "$TEST_TMP/out"
finish
