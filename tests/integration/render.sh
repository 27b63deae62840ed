#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coding-agents render: golden files per agent, determinism, every server exactly once, no
# secret anywhere in the output or the event log, errors with positions and nothing written,
# the trusted-tree policy, --network none and --disable.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

fixtures="$CA_SOURCE_DIR/tests/integration/render"
golden="$fixtures/golden"
command -v git >/dev/null || skip "git is needed for the trusted-tree measurement"

# The measured source tree: a throwaway git repository with fixed content, so its tree hashes
# (and so the golden manifest) are the same on every machine.
src="$TEST_TMP/src"
mkdir -p "$src"/{host,container,docker,lib}
for d in host container docker lib; do
        printf '%s\n' "$d" >"$src/$d/README"
done
git -C "$src" init -q
git -C "$src" add -A
git -C "$src" -c user.name=t -c user.email=t@t -c commit.gpgsign=false commit -qm fixture
export CODING_AGENTS_SOURCE_DIR="$src"

mkdir -p "$CODING_AGENTS_CONFIG_DIR"
cp "$fixtures/root/config.toml" "$fixtures/root/config-claude.toml" "$CODING_AGENTS_CONFIG_DIR/"
ws="$fixtures/workspace"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"

# Secret values are in the environment while rendering: none may reach any output.
SENTINEL="SENTINEL_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GITHUB_TOKEN="$SENTINEL" EVERYTHING_KEY="$SENTINEL" TEAM_ID="$SENTINEL"

render() {
        "$CA_BIN" render --workspace "$ws" --session-id golden-session "$@"
}

# The repository's config.toml is used only once approved.
expect_status 2 render --agent all --out "$TEST_TMP/unapproved"
expect_grep "is not approved" "$TEST_TMP/err"
check "an unapproved render wrote output" [ ! -e "$TEST_TMP/unapproved" ]
expect_status 0 "$CA_BIN" config approve "$ws"

# ---- golden files -------------------------------------------------------------------------
out="$TEST_TMP/rendered"
expect_status 0 render --agent all --out "$out"
sha=$(sed -n 's/^manifest .* sha256 \([0-9a-f]\{64\}\)$/\1/p' "$TEST_TMP/out")
check "no manifest hash printed" [ -n "$sha" ]
expect_grep "SSE server 'legacy' is left out for codex" "$TEST_TMP/err"
if [ "${CA_UPDATE_GOLDEN:-}" = 1 ]; then
        rm -rf "$golden"
        cp -r "$out" "$golden"
fi
for f in manifest.json claude/.claude.json codex/config.toml copilot/mcp-config.json; do
        if cmp -s "$golden/$f" "$out/$f"; then
                pass
        else
                fail "$f differs from the golden file: $(diff "$golden/$f" "$out/$f" | head -n 20)"
        fi
done
check "printed sha256 is not the manifest's" [ "$(sha256sum <"$out/manifest.json" | cut -d' ' -f1)" = "$sha" ]
check "manifest not in canonical form" "$CA_PYTHON3" - "$out/manifest.json" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False), "not canonical"
PY

# The session-config event records that hash; no override was needed for a clean tree.
check "session-config event" "$CA_PYTHON3" - "$log" "$sha" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
cfg = [e for e in events if e["type"] == "session-config"]
assert cfg and cfg[-1]["fields"]["manifest_sha256"] == sys.argv[2], cfg
assert cfg[-1]["session"] == "golden-session"
assert not [e for e in events if e["type"] == "override-used"]
PY

# Every enabled server once in the manifest and once in each agent file that takes it.
check "server sets" "$CA_PYTHON3" - "$out" <<'PY'
import json, sys, tomllib
out = sys.argv[1]
m = json.load(open(f"{out}/manifest.json"))
names = [s["name"] for s in m["servers"]]
assert names == sorted(set(names)) == ["claude-only", "everything", "filesystem", "github", "legacy"], names
claude = json.load(open(f"{out}/claude/.claude.json"))["mcpServers"]
copilot = json.load(open(f"{out}/copilot/mcp-config.json"))["mcpServers"]
codex = tomllib.load(open(f"{out}/codex/config.toml", "rb"))["mcp_servers"]
assert sorted(claude) == names
assert sorted(copilot) == [n for n in names if n != "claude-only"]
assert sorted(codex) == ["everything", "filesystem", "github"]
for s in m["servers"]:
    for agent, conf in (("claude", claude), ("copilot", copilot), ("codex", codex)):
        assert (s["name"] in conf) == (agent in s["agents"]), (s["name"], agent)
    if s["transport"] == "stdio":
        assert claude.get(s["name"], {}).get("command", f"mcp-stub-{s['name']}") == f"mcp-stub-{s['name']}"
        assert s["user"] == "mcp_" + s["name"] and s["stub"] == "mcp-stub-" + s["name"]
    else:
        port = s["helper"]["port"]
        assert 52100 <= port < 52200
        url = f"http://127.0.0.1:{port}{s['helper']['local_path']}"
        assert claude[s["name"]]["url"] == url
        assert claude[s["name"]]["headers"]["Authorization"] == f"Bearer ${{CODING_AGENTS_TOKEN_{port}}}"
        if s["name"] in codex:
            assert codex[s["name"]]["bearer_token_env_var"] == f"CODING_AGENTS_TOKEN_{port}"
uids = [s["uid"] for s in m["servers"]]
assert len(set(uids)) == len(uids)
# Placeholders stay intact in the manifest; stub commands carry no arguments.
ev = [s for s in m["servers"] if s["name"] == "everything"][0]
assert ev["env"] == {"API_KEY": "${EVERYTHING_KEY}"} and ev["secrets"] == ["EVERYTHING_KEY"]
assert all(v.get("args", []) == [] for v in claude.values() if v["type"] == "stdio")
PY

# No secret value anywhere: the output tree, the event log.
if grep -rqF "$SENTINEL" "$out" "$log"; then
        fail "a secret value reached the output: $(grep -rlF "$SENTINEL" "$out" "$log")"
else
        pass
fi

# ---- determinism ----------------------------------------------------------------------------
expect_status 0 render --agent all --out "$TEST_TMP/again"
check "two renders differ" diff -r "$out" "$TEST_TMP/again"

# ---- one agent, flags ------------------------------------------------------------------------
expect_status 0 render --agent codex --disable github --out "$TEST_TMP/codex"
check "codex-only render wrote other agents" [ ! -e "$TEST_TMP/codex/claude" ]
expect_no_grep 'github' "$TEST_TMP/codex/codex/config.toml"
expect_grep '"disabled":\["github"\]' "$TEST_TMP/codex/manifest.json"
expect_status 0 render --agent claude --network none --out "$TEST_TMP/none"
expect_grep "remote server 'github' is unavailable with --network none" "$TEST_TMP/err"
check "--network none" "$CA_PYTHON3" - "$TEST_TMP/none/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["network"] == "none"
assert [s["name"] for s in m["servers"]] == ["claude-only", "everything", "filesystem"]
assert all(s["network"] == "none" for s in m["servers"])
PY
expect_status 0 render --agent copilot --json --out "$TEST_TMP/json"
check "--json summary" "$CA_PYTHON3" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["session"]=="golden-session" and d["files"]["copilot"].endswith("copilot/mcp-config.json")' "$TEST_TMP/out"

# ---- errors: exit 2, a position, and nothing written -------------------------------------------
bad() {
        local want=$1 pattern=$2
        shift 2
        expect_status "$want" "$CA_BIN" render --workspace "$ws" --session-id e "$@" --out "$TEST_TMP/bad"
        expect_grep "$pattern" "$TEST_TMP/err"
        check "output written despite an error" [ ! -e "$TEST_TMP/bad" ]
}
bad 2 "unknown agent 'gemini'" --agent gemini
printf '[mcp_servers.x]\ncommand = "a"\nurl = "https://h.example/"\n' >"$TEST_TMP/both.toml"
bad 2 "both.toml:3:7: MCP server 'x' sets both 'url' and 'command'" --agent claude --config "$TEST_TMP/both.toml"
printf '[mcp_servers.x]\nenabled = true\n' >"$TEST_TMP/neither.toml"
bad 2 "neither.toml:1:1: MCP server 'x' needs either" --agent claude --config "$TEST_TMP/neither.toml"
# shellcheck disable=SC2016 # a literal, unterminated placeholder
printf '[mcp_servers.x]\ncommand = "a"\nargs = ["${OOPS"]\n' >"$TEST_TMP/ph.toml"
bad 2 "ph.toml:3:9: bad placeholder" --agent claude --config "$TEST_TMP/ph.toml"
printf '[mcp_servers.x]\nurl = "https://h.example/"\ntransport = "websocket"\n' >"$TEST_TMP/tr.toml"
bad 2 "tr.toml:3:13: unknown transport 'websocket'" --agent claude --config "$TEST_TMP/tr.toml"
printf '[mcp_servers.x]\ncommand = "a"\n[mcp_servers.x]\ncommand = "b"\n' >"$TEST_TMP/dup.toml"
bad 2 "dup.toml:3:14: table 'x' is defined more than once" --agent claude --config "$TEST_TMP/dup.toml"
bad 2 "cannot open '$TEST_TMP/missing.toml'" --agent claude --config "$TEST_TMP/missing.toml"
bad 2 "--disable 'nope': no such server" --agent claude --disable nope
# A server defined differently for two agents cannot share one manifest.
printf '[mcp_servers.claude-only]\ncommand = "other"\n' >"$CODING_AGENTS_CONFIG_DIR/config-codex.toml"
bad 2 "server 'claude-only' is defined differently for codex" --agent all
rm "$CODING_AGENTS_CONFIG_DIR/config-codex.toml"
mkdir -p "$TEST_TMP/full" && touch "$TEST_TMP/full/x"
expect_status 1 render --agent claude --out "$TEST_TMP/full"
expect_grep "is not an empty directory" "$TEST_TMP/err"

# ---- the trusted tree -------------------------------------------------------------------------
echo changed >>"$src/lib/README"
expect_status 1 render --agent claude --out "$TEST_TMP/dirty"
expect_grep "uncommitted change" "$TEST_TMP/err"
expect_grep "overrides/allow-dirty" "$TEST_TMP/err"
check "dirty render wrote output" [ ! -e "$TEST_TMP/dirty" ]
mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides"
touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
expect_status 0 render --agent claude --out "$TEST_TMP/dirty"
check "override-used event" "$CA_PYTHON3" - "$log" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
o = [e for e in events if e["type"] == "override-used"]
assert o and o[-1]["fields"]["dirty_files"] == ["lib/README"], o
assert events[-1]["type"] == "session-config" and events[-1]["fields"]["tree"]["dirty"] is True
PY
expect_status 0 "$CA_BIN" events verify
finish
