#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coding-agents verify: SHA256SUMS written by `release sums` is sha256sum -c compatible; a
# flipped byte, a missing file, an extra file and a symlink swapped in are each named; events.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

rel="$TEST_TMP/release"
mkdir -p "$rel/bin" "$rel/share/doc" "$rel/docker/profiles"
copy_host_programs "$rel/bin"
for i in $(seq 1 30); do
        head -c $((i * 997)) /dev/urandom >"$rel/share/doc/file$i"
done
printf 'profile\n' >"$rel/docker/profiles/seccomp.json"
expect_status 0 "$CA_BIN" release sums "$rel"
# shellcheck disable=SC2016 # the inner scripts take the directory as "$1"
check "sha256sum -c rejects our SHA256SUMS" bash -c 'cd "$1" && sha256sum -c --quiet SHA256SUMS' _ "$rel"
# shellcheck disable=SC2016
check "SHA256SUMS not sorted" bash -c 'cut -c67- "$1/SHA256SUMS" | LC_ALL=C sort -c' _ "$rel"
expect_status 0 "$CA_BIN" verify "$rel"
expect_grep '^ok: 34 files match ' "$TEST_TMP/out"
# The copy inside the release finds its own release without an argument.
expect_status 0 "$rel/bin/coding-agents" verify
expect_status 0 "$CA_BIN" verify --threads 1 "$rel"

# One flipped byte: named, exit 1, integrity-failed event. (flip_byte inverts it: a fixed value
# left a random file unchanged once in 256 runs.)
flip_byte "$rel/share/doc/file7" 100
expect_status 1 "$CA_BIN" verify "$rel"
expect_grep '^mismatch: share/doc/file7$' "$TEST_TMP/out"
expect_grep "failed the integrity check: 1 problem" "$TEST_TMP/err"
# Missing, unlisted, and a listed file replaced by a symlink to something that would match.
rm "$rel/share/doc/file3"
touch "$rel/share/doc/dropped-in"
cp "$rel/share/doc/file9" "$TEST_TMP/file9.copy"
rm "$rel/share/doc/file9"
ln -s "$TEST_TMP/file9.copy" "$rel/share/doc/file9"
expect_status 1 "$CA_BIN" verify "$rel"
expect_grep '^missing: share/doc/file3$' "$TEST_TMP/out"
expect_grep '^unlisted: share/doc/dropped-in$' "$TEST_TMP/out"
expect_grep '^missing: share/doc/file9$' "$TEST_TMP/out"
check "event order" "$CA_PYTHON3" - "$CODING_AGENTS_CONFIG_DIR/security-events.log" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
types = [e["type"] for e in ev]
assert types[:3] == ["integrity-ok", "integrity-ok", "integrity-ok"], types
assert types[3:] == ["integrity-failed", "integrity-failed"], types
assert ev[-1]["fields"]["problems"] == 4 and "file3" in ev[-1]["fields"]["first"]
PY
# A SHA256SUMS that tries to escape is refused outright.
printf '%s  ../outside\n' "$(printf '0%.0s' $(seq 64))" >"$rel/SHA256SUMS"
expect_status 2 "$CA_BIN" verify "$rel"
expect_grep 'SHA256SUMS:1: bad path' "$TEST_TMP/err"
expect_status 2 "$CA_BIN" verify
finish
