#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: the best end-to-end thing that exists so far, in a throwaway config root.
#  1. a config.toml with a stdio and a remote MCP server is loaded, merged and validated;
#     secrets appear only as names
#  2. a broken config is refused with FILE:LINE:COL and exit status 2
#  3. the secret broker: a secret stored sealed, a single-use capability issued and redeemed
#     once, the replay refused
#  4. the session rendered for Claude Code, Codex and Copilot: stubs and helpers, no secrets
#  5. the tamper-evident event log: every step above recorded, concurrent writers, then an
#     edited line is caught
#  6. a complete session on a real Docker engine (scripts/demo-session.sh): Claude Code lists a
#     stdio server and a remote one (a local HTTPS upstream) as connected
#
#   scripts/demo.sh [BUILD_DIR]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
ca="$build/bin/coding-agents"
writer="$build/tests/event-writer"
demo=$(mktemp -d /tmp/ca-demo.XXXXXX)
src="$(cd "$(dirname "$0")/.." && pwd)"
cleanup() {
        local pid
        pid=$("$ca" broker health 2>/dev/null | sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p')
        [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
        rm -rf "$demo"
}
trap cleanup EXIT
export CODING_AGENTS_CONFIG_DIR="$demo/config"

say() {
        printf '\n\033[1m$ %s\033[0m\n' "$*"
}

mkdir -p "$demo/repo" "$CODING_AGENTS_CONFIG_DIR"
cat >"$demo/repo/config.toml" <<'TOML'
# A repository's config.toml: MCP servers name secrets, never hold them.
[mcp_servers.everything]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything", "stdio"]
env = { EVERYTHING_TOKEN = "${EVERYTHING_TOKEN}" }
network = "none"

[mcp_servers.github]
url = "https://api.githubcopilot.com/mcp"
bearer_token_env_var = "GITHUB_TOKEN"

[network]
allow_domains = ["api.githubcopilot.com", ".npmjs.org"]
TOML
cat >"$CODING_AGENTS_CONFIG_DIR/config.toml" <<'TOML'
# The user's own config: the only place that grants secrets, each to the servers named.
[secrets]
EVERYTHING_TOKEN = ["everything"]
GITHUB_TOKEN = ["github"]
TOML

echo "== 1. configuration: a repository's config.toml is untrusted until you approve it"
say "coding-agents config check --workspace repo     # not approved: shown, not used"
"$ca" config check --workspace "$demo/repo"
say "coding-agents config approve repo               # records its SHA-256"
"$ca" config approve "$demo/repo"
say "coding-agents config check --workspace repo"
"$ca" config check --workspace "$demo/repo"

echo
echo "== 2. bad input is refused with its position, exit status 2, nothing written"
printf '[mcp_servers.broken]\ncommand = "npx"\nurl = "https://example.com/mcp"\n' >"$demo/broken.toml"
say "coding-agents config check --config broken.toml"
status=0
"$ca" config check --config "$demo/broken.toml" || status=$?
echo "(exit status $status)"
[ "$status" -eq 2 ]

echo
echo "== 3. the secret broker"
say "printf '%s' \"\$GITHUB_TOKEN\" | coding-agents broker store GITHUB_TOKEN"
printf 'ghp_demo_not_a_real_token' | "$ca" broker store GITHUB_TOKEN
say "coding-agents broker list        # names and metadata, never values"
"$ca" broker list
say "coding-agents broker issue --session demo --stub github --secret GITHUB_TOKEN --uid $(id -u) --out cred.json"
"$ca" broker issue --session demo --stub github --secret GITHUB_TOKEN --uid "$(id -u)" --out "$demo/cred.json"
say "coding-agents broker redeem --credential cred.json --fd 3 3>value   # the sealed memfd's content"
"$ca" broker redeem --credential "$demo/cred.json" --fd 3 3>"$demo/value"
echo "redeemed $(wc -c <"$demo/value") bytes"
say "coding-agents broker redeem --credential cred.json --fd 3 3>value   # again: single use"
status=0
"$ca" broker redeem --credential "$demo/cred.json" --fd 3 3>"$demo/value2" || status=$?
echo "(exit status $status)"
[ "$status" -eq 1 ]

echo
echo "== 4. the session, rendered for three agent CLIs"
if command -v git >/dev/null && git -C "$src" rev-parse --git-dir >/dev/null 2>&1 &&
        [ -n "$(git -C "$src" status --porcelain -- host container docker lib)" ]; then
        # A development tree with uncommitted changes: render anyway, visibly.
        mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides"
        touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
fi
say "coding-agents render --agent all --workspace repo --out session"
"$ca" render --agent all --workspace "$demo/repo" --out "$demo/session" --session-id demo
say "cat session/claude/.claude.json"
cat "$demo/session/claude/.claude.json"
say "cat session/codex/config.toml"
cat "$demo/session/codex/config.toml"
if grep -rq 'ghp_demo_not_a_real_token' "$demo/session"; then
        echo "demo: a secret reached the rendered files" >&2
        exit 1
fi
echo "(no secret value in any rendered file)"

echo
echo "== 5. the security event log"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
say "coding-agents events tail -n 6"
"$ca" events tail -n 6
say "4 processes append 25 events each, at the same time"
for w in 1 2 3 4; do "$writer" "$log" capability-redeemed "writer$w" 25 & done
wait
say "coding-agents events verify"
"$ca" events verify
say "sed -i '42s/writerN/writerX/' security-events.log   # someone edits history"
sed -i '42s/"stub":"writer[0-9]"/"stub":"writerX"/' "$log"
status=0
say "coding-agents events verify"
"$ca" events verify || status=$?
echo "(exit status $status)"
[ "$status" -eq 1 ]
echo
echo "== 6. a complete session"
bash "$src/scripts/demo-session.sh" "$build"
echo
echo "demo: done (config root $CODING_AGENTS_CONFIG_DIR removed)"
