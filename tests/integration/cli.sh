#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CLI contract: --help everywhere (without config), exit codes 0/1/2, one-line errors,
# config errors as FILE:LINE:COL, nothing written on bad input.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# --version and global help.
expect_status 0 "$CA_BIN" --version && expect_grep '^coding-agents [0-9]+\.[0-9]+\.[0-9]+$' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" --help && expect_grep '^usage: coding-agents' "$TEST_TMP/out"
expect_status 2 "$CA_BIN" && expect_grep '^usage:' "$TEST_TMP/err"
expect_status 2 "$CA_BIN" frobnicate && expect_grep "^coding-agents: unknown command 'frobnicate'$" "$TEST_TMP/err"
expect_grep "^try 'coding-agents --help'$" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" --bogus

# Every command answers -h and --help on stdout with exit 0, even with an unusable config root.
for cmd in broker config env events install kill proxy release render rollback trust uninstall verify version; do
        for h in -h --help; do
                CODING_AGENTS_CONFIG_DIR=relative/not/allowed expect_status 0 "$CA_BIN" "$cmd" "$h"
                expect_grep '^usage: coding-agents' "$TEST_TMP/out"
        done
        expect_status 0 "$CA_BIN" help "$cmd" && expect_grep '^usage:' "$TEST_TMP/out"
done
for sub in "config check" "config paths" "events verify" "events tail" "broker serve" \
        "broker store" "broker list" "broker issue" "broker redeem" "broker revoke" "broker dump" \
        "broker health" "broker rm" "broker rotate-master"; do
        # shellcheck disable=SC2086
        expect_status 0 "$CA_BIN" $sub --help && expect_grep '^usage:' "$TEST_TMP/out"
done

# Usage errors: exit 2, one error line plus a hint, nothing on stdout.
expect_status 2 "$CA_BIN" events tail --lines=-3
expect_grep "^coding-agents: bad --lines '-3'" "$TEST_TMP/err"
expect_grep "^try 'coding-agents events --help'$" "$TEST_TMP/err"
check "usage error wrote to stdout" [ ! -s "$TEST_TMP/out" ]
expect_status 2 "$CA_BIN" events tail --type not-a-type
expect_status 2 "$CA_BIN" config frob
CODING_AGENTS_CONFIG_DIR=relative expect_status 2 "$CA_BIN" config paths
expect_grep 'must be an absolute path' "$TEST_TMP/err"

# Config: a good file is summarised; secrets are names, never values.
mkdir -p "$TEST_TMP/ws"
cat >"$TEST_TMP/ws/config.toml" <<'TOML'
[mcp_servers.everything]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything", "--key", "${EVERYTHING_KEY}"]

[mcp_servers.remote]
url = "https://mcp.example.test/mcp"
bearer_token_env_var = "REMOTE_TOKEN"
TOML
# The workspace's file counts only once approved, and its secrets only once granted.
expect_status 0 "$CA_BIN" config check --workspace "$TEST_TMP/ws"
expect_grep '^MCP servers: 0$' "$TEST_TMP/out"
expect_grep 'is not approved .*It would add:' "$TEST_TMP/out"
expect_grep 'secret names: EVERYTHING_KEY REMOTE_TOKEN' "$TEST_TMP/out"
expect_grep 'hosts: mcp\.example\.test' "$TEST_TMP/out"
expect_grep 'ports: 443' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" config approve "$TEST_TMP/ws"
expect_grep "names the secret 'EVERYTHING_KEY', which is not granted" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" config check --workspace "$TEST_TMP/ws"
expect_grep "ws/config.toml:3:8: MCP server 'everything' names the secret 'EVERYTHING_KEY'" "$TEST_TMP/err"
mkdir -p "$CODING_AGENTS_CONFIG_DIR"
printf '[secrets]\nEVERYTHING_KEY = ["everything"]\nREMOTE_TOKEN = ["remote"]\n' \
        >"$CODING_AGENTS_CONFIG_DIR/config.toml"
expect_status 0 "$CA_BIN" config check --workspace "$TEST_TMP/ws"
expect_grep '^MCP servers: 2$' "$TEST_TMP/out"
expect_grep 'secrets: EVERYTHING_KEY' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" config check --workspace "$TEST_TMP/ws" --json
check "config check --json output is wrong" "$CA_PYTHON3" - "$TEST_TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = [s["name"] for s in d["mcp_servers"]]
assert names == ["everything", "remote"], names
assert d["mcp_servers"][1]["secrets"] == ["REMOTE_TOKEN"]
assert d["mcp_servers"][1]["trust"] == "system"
PY

# The user may switch a workspace's server off, but not change it (that is shadowing).
printf '[mcp_servers.everything]\nenabled = false\n' >>"$CODING_AGENTS_CONFIG_DIR/config.toml"
expect_status 0 "$CA_BIN" config check --workspace "$TEST_TMP/ws"
expect_grep 'everything .*\(disabled\)' "$TEST_TMP/out"
printf 'command = "other"\n' >>"$CODING_AGENTS_CONFIG_DIR/config.toml"
expect_status 2 "$CA_BIN" config check --workspace "$TEST_TMP/ws"
expect_grep "ws/config.toml:1:1: the workspace defines MCP server 'everything', which your own configuration defines too" "$TEST_TMP/err"
# A changed file is no longer approved.
printf '[secrets]\nEVERYTHING_KEY = ["everything"]\nREMOTE_TOKEN = ["remote"]\n' \
        >"$CODING_AGENTS_CONFIG_DIR/config.toml"
printf '\n' >>"$TEST_TMP/ws/config.toml"
expect_status 0 "$CA_BIN" config check --workspace "$TEST_TMP/ws" --json
check "a changed workspace file still counts" "$CA_PYTHON3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["workspace"]["state"] == "changed since it was approved", d["workspace"]
assert [s["name"] for s in d["workspace"]["would_add"]["mcp_servers"]] == ["everything", "remote"]
assert d["mcp_servers"] == [], d["mcp_servers"]' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" config approve --revoke "$TEST_TMP/ws"
expect_status 2 "$CA_BIN" config approve "$TEST_TMP/nowhere"
expect_status 2 "$CA_BIN" config approve a b
# A symlinked config.toml is refused, not followed.
mkdir -p "$TEST_TMP/ws-link"
ln -s "$TEST_TMP/ws/config.toml" "$TEST_TMP/ws-link/config.toml"
expect_status 2 "$CA_BIN" config check --workspace "$TEST_TMP/ws-link"
expect_grep "is a symbolic link" "$TEST_TMP/err"

# Bad input: FILE:LINE:COL, exit 2, and nothing written anywhere.
printf '[mcp_servers.bad]\ncommand = "x"\nurl = "https://h.example/"\n' >"$TEST_TMP/bad.toml"
printf 'a = [1,\n' >"$TEST_TMP/syntax.toml"
before=$(find "$TEST_TMP" | sort)
expect_status 2 "$CA_BIN" config check --config "$TEST_TMP/bad.toml"
expect_grep "^coding-agents: $TEST_TMP/bad.toml:3:7: MCP server 'bad' sets both 'url' and 'command'" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" config check --config "$TEST_TMP/syntax.toml"
expect_grep "^coding-agents: $TEST_TMP/syntax.toml:2:1: " "$TEST_TMP/err"
after=$(find "$TEST_TMP" -not -name out -not -name err | sort)
check "bad input changed the file system" [ "$(echo "$before" | grep -v -e '/out$' -e '/err$')" = "$after" ]
# A missing file is a runtime failure (exit 1), not bad syntax.
expect_status 1 "$CA_BIN" config check --config "$TEST_TMP/missing.toml"
expect_grep "cannot open '$TEST_TMP/missing.toml'" "$TEST_TMP/err"

# A failed write to stdout is an error, not a silent success.
if [ -w /dev/full ]; then
        code=0
        "$CA_BIN" --version >/dev/full 2>"$TEST_TMP/err" || code=$?
        check "write to /dev/full exited $code" [ "$code" -eq 1 ]
fi
finish
