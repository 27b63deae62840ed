#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The real agent CLIs (pinned in tests/npm) accept the rendered files: `claude mcp list`,
# `codex mcp list --json` and `copilot mcp list --json` list exactly the rendered servers, with
# stub commands and helper URLs. Nothing here talks to the network: Claude is pointed at a
# closed local port, and list commands of Codex and Copilot read configuration only.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

for cli in claude codex copilot; do
        [ -x "${CA_NPM_BIN:-}/$cli" ] || skip "$cli not installed (run scripts/install-npm.sh)"
done
command -v git >/dev/null || skip "git is needed for the trusted-tree measurement"

fixtures="$CA_SOURCE_DIR/tests/integration/render"
src="$TEST_TMP/src"
mkdir -p "$src/lib" "$TEST_TMP/home"
echo x >"$src/lib/README"
git -C "$src" init -q && git -C "$src" add -A &&
        git -C "$src" -c user.name=t -c user.email=t@t -c commit.gpgsign=false commit -qm x
export CODING_AGENTS_SOURCE_DIR="$src"
mkdir -p "$CODING_AGENTS_CONFIG_DIR"
cp "$fixtures/root/config.toml" "$fixtures/root/config-claude.toml" "$CODING_AGENTS_CONFIG_DIR/"
out="$TEST_TMP/rendered"
expect_status 0 "$CA_BIN" config approve "$fixtures/workspace"
expect_status 0 "$CA_BIN" render --workspace "$fixtures/workspace" --session-id clients \
        --agent all --out "$out"

# The CLIs get a private HOME and the helper-token variables a launch would set.
export HOME="$TEST_TMP/home" CODING_AGENTS_TOKEN_52100=t0 CODING_AGENTS_TOKEN_52101=t1
export ANTHROPIC_BASE_URL=http://127.0.0.1:9 DISABLE_AUTOUPDATER=1

CLAUDE_CONFIG_DIR="$out/claude" timeout 120 "$CA_NPM_BIN/claude" mcp list >"$TEST_TMP/claude.txt" 2>&1 || true
CODEX_HOME="$out/codex" timeout 120 "$CA_NPM_BIN/codex" mcp list --json >"$TEST_TMP/codex.json" 2>"$TEST_TMP/codex.err" || true
COPILOT_HOME="$out/copilot" timeout 120 "$CA_NPM_BIN/copilot" mcp list --json >"$TEST_TMP/copilot.json" 2>"$TEST_TMP/copilot.err" || true

check "the CLIs do not list exactly the rendered servers" "$CA_PYTHON3" - "$out" "$TEST_TMP" <<'PY'
import json, re, sys
out, tmp = sys.argv[1], sys.argv[2]
m = json.load(open(f"{out}/manifest.json"))
def expected(agent):
    want = {}
    for s in m["servers"]:
        if agent not in s["agents"]:
            continue
        if s["transport"] == "stdio":
            want[s["name"]] = s["stub"]
        else:
            want[s["name"]] = f"http://127.0.0.1:{s['helper']['port']}{s['helper']['local_path']}"
    return want

# claude mcp list: "name: target [(HTTP)|(SSE)] - <status>"; its exit status is always 0.
got = {}
for line in open(f"{tmp}/claude.txt", encoding="utf-8"):
    mm = re.match(r"^([a-z0-9_-]+): (\S+)\s.*- [✔✘!]", line)
    if mm:
        got[mm.group(1)] = mm.group(2)
assert got == expected("claude"), ("claude", got, expected("claude"))

codex = {s["name"]: s["transport"].get("command") or s["transport"].get("url")
         for s in json.load(open(f"{tmp}/codex.json"))}
assert codex == expected("codex"), ("codex", codex)
for s in json.load(open(f"{tmp}/codex.json")):
    if s["transport"]["type"] == "streamable_http":
        assert s["transport"]["bearer_token_env_var"].startswith("CODING_AGENTS_TOKEN_")

copilot = {k: v.get("command") or v.get("url")
           for k, v in json.load(open(f"{tmp}/copilot.json"))["mcpServers"].items()}
assert copilot == expected("copilot"), ("copilot", copilot)
PY
finish
