#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coding-agents trust: curated CA bundles and SPKI pins in trust-overrides/, validated (no
# private keys, nothing but certificates), private modes, atomic, every change an event.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "openssl is needed to make a test CA"
dir="$CODING_AGENTS_CONFIG_DIR/trust-overrides"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"

# A test CA, made here (never a real one).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=trust-test-ca" -keyout "$TEST_TMP/ca.key" -out "$TEST_TMP/ca.pem" 2>/dev/null
fp=$(openssl x509 -in "$TEST_TMP/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
        tr 'A-F' 'a-f')
pin="sha256//$(openssl x509 -in "$TEST_TMP/ca.pem" -pubkey -noout |
        openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"

# Nothing yet: only the system store.
expect_status 0 "$CA_BIN" trust list
expect_grep '^system ' "$TEST_TMP/out"
check "an empty list created the store" [ ! -e "$dir" ]

# A bundle: the certificate's fingerprint printed, stored canonical and private.
{ echo "# our proxy CA"; cat "$TEST_TMP/ca.pem"; } >"$TEST_TMP/commented.pem"
expect_status 0 "$CA_BIN" trust add corp --bundle "$TEST_TMP/commented.pem"
expect_grep "^$fp  /CN=trust-test-ca$" "$TEST_TMP/out"
check "the bundle is not the canonical certificate" cmp -s "$dir/corp.pem" "$TEST_TMP/ca.pem"
check "store mode $(stat -c %a "$dir")" [ "$(stat -c %a "$dir")" = 700 ]
check "bundle mode $(stat -c %a "$dir/corp.pem")" [ "$(stat -c %a "$dir/corp.pem")" = 600 ]

# A server's `trust` must name a bundle in the store: config check and render say where.
cat >"$TEST_TMP/remote.toml" <<'TOML'
[mcp_servers.corpapi]
url = "https://mcp.corp.test/mcp"
trust = "corp"

[mcp_servers.other]
url = "https://other.test/mcp"
trust = "nosuch"
enabled = false
TOML
expect_status 0 "$CA_BIN" config check --config "$TEST_TMP/remote.toml"
sed -i 's/"corp"/"corp2"/' "$TEST_TMP/remote.toml"
expect_status 2 "$CA_BIN" config check --config "$TEST_TMP/remote.toml"
expect_grep "remote.toml:3:9: server 'corpapi': trust 'corp2' is not a curated bundle" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" render --agent claude --out "$TEST_TMP/r" --config "$TEST_TMP/remote.toml"
expect_grep "trust 'corp2' is not a curated bundle" "$TEST_TMP/err"
check "render wrote output for a bad config" [ ! -e "$TEST_TMP/r" ]
sed -i 's/"corp2"/"corp"/' "$TEST_TMP/remote.toml"

# Refused, exit 2, nothing written: a private key, garbage, an empty file, a bad name.
cat "$TEST_TMP/ca.pem" "$TEST_TMP/ca.key" >"$TEST_TMP/with-key.pem"
expect_status 2 "$CA_BIN" trust add leak --bundle "$TEST_TMP/with-key.pem"
expect_grep 'private key' "$TEST_TMP/err"
expect_no_grep 'BEGIN' "$TEST_TMP/err"
printf 'hello\n' >"$TEST_TMP/garbage.pem"
expect_status 2 "$CA_BIN" trust add junk --bundle "$TEST_TMP/garbage.pem"
expect_grep 'no certificate' "$TEST_TMP/err"
: >"$TEST_TMP/empty.pem"
expect_status 2 "$CA_BIN" trust add junk --bundle "$TEST_TMP/empty.pem"
expect_status 2 "$CA_BIN" trust add system --bundle "$TEST_TMP/ca.pem"
expect_status 2 "$CA_BIN" trust add ../escape --bundle "$TEST_TMP/ca.pem"
expect_status 2 "$CA_BIN" trust add corp --bundle "$TEST_TMP/missing.pem"
expect_status 2 "$CA_BIN" trust add corp
expect_grep 'either --bundle or --pin' "$TEST_TMP/err"
expect_status 2 "$CA_BIN" trust add corp --bundle "$TEST_TMP/ca.pem" --pin "$pin"
check "refused input was written" [ "$(ls "$dir")" = corp.pem ]

# Pins: validated, unique and sorted; a name is a bundle or pins, never both.
expect_status 2 "$CA_BIN" trust add api --pin 'sha256//tooshort'
expect_status 0 "$CA_BIN" trust add api --pin "$pin" --pin "$pin"
expect_status 0 "$CA_BIN" trust add api --pin "$pin"
check "pins not unique" [ "$(cat "$dir/api.pins")" = "$pin" ]
check "pins mode" [ "$(stat -c %a "$dir/api.pins")" = 600 ]
expect_status 1 "$CA_BIN" trust add corp --pin "$pin"
expect_grep 'is a CA bundle' "$TEST_TMP/err"
expect_status 1 "$CA_BIN" trust add api --bundle "$TEST_TMP/ca.pem"
expect_grep 'holds pins' "$TEST_TMP/err"

expect_status 0 "$CA_BIN" trust list
expect_grep '^api  pins, 1 pin\(s\)$' "$TEST_TMP/out"
expect_grep '^corp  bundle, 1 certificate\(s\)$' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" trust list --json
check "list --json is wrong" "$CA_PYTHON3" - "$TEST_TMP/out" "$fp" "$pin" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["name"] for r in rows] == ["api", "corp"], rows
assert rows[0]["pins"] == [sys.argv[3]]
c = rows[1]["certificates"][0]
assert c["sha256"] == sys.argv[2] and c["pin"] == sys.argv[3] and c["ca"] is True, c
PY

# Remove; removing what is not there is a runtime error.
expect_status 0 "$CA_BIN" trust remove corp
expect_status 2 "$CA_BIN" config check --config "$TEST_TMP/remote.toml"
expect_status 1 "$CA_BIN" trust remove corp
expect_grep "no trust named 'corp'" "$TEST_TMP/err"
expect_status 0 "$CA_BIN" trust remove api
check "store not empty after removals" [ -z "$(ls "$dir")" ]

# Every change is one trust-changed event, the chain intact, and no key material in the log.
check "trust-changed events: $(grep -c '"trust-changed"' "$log")" \
        [ "$(grep -c '"trust-changed"' "$log")" -eq 5 ]
expect_no_grep 'PRIVATE' "$log"
expect_status 0 "$CA_BIN" events verify

# Help and usage.
expect_status 0 "$CA_BIN" trust --help
expect_grep '^usage: coding-agents trust' "$TEST_TMP/out"
expect_status 2 "$CA_BIN" trust
expect_status 2 "$CA_BIN" trust frobnicate
finish
