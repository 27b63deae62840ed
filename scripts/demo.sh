#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: the best end-to-end thing that exists so far, in a throwaway config root.
#  1. a config.toml with a stdio and a remote MCP server is loaded, merged and validated;
#     secrets appear only as names
#  2. a broken config is refused with FILE:LINE:COL and exit status 2
#  3. the tamper-evident event log: concurrent writers, `events verify`, then an edited line
#     is caught
# Later issues extend this to a full agent session.
#
#   scripts/demo.sh [BUILD_DIR]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
ca="$build/bin/coding-agents"
writer="$build/tests/event-writer"
demo=$(mktemp -d /tmp/ca-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
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
# The user's own config overrides the repository's, key by key.
[mcp_servers.github]
pins = ["sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]
TOML

echo "== 1. configuration"
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
echo "== 3. the security event log"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
say "4 processes append 25 events each, at the same time"
for w in 1 2 3 4; do "$writer" "$log" capability-redeemed "writer$w" 25 & done
wait
say "coding-agents events tail -n 3"
"$ca" events tail -n 3
say "coding-agents events verify"
"$ca" events verify
say "sed -i '42s/writerN/writerX/' security-events.log   # someone edits history"
sed -i '42s/"writer":"writer[0-9]"/"writer":"writerX"/' "$log"
status=0
say "coding-agents events verify"
"$ca" events verify || status=$?
echo "(exit status $status)"
[ "$status" -eq 1 ]
echo
echo "demo: done (config root $CODING_AGENTS_CONFIG_DIR removed)"
