#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`, part 6: a complete session on a real Docker engine. A private dockerd is started
# for it (socket activation; images cached in $CA_E2E_ROOT, as for the e2e tests), the agent
# image is built if needed, and a local "outside world" is made on a documentation range: an
# MCP server over HTTPS with a test CA (tests/e2e/world.sh). Then Claude Code runs in a
# session with a stdio server (server-everything, behind its stub) and that remote server
# (behind its helper, through the session's squid sidecar), lists both as connected, and
# everything is cleaned up. Needs root and dockerd; under CI=true their absence is a failure.
#
#   scripts/demo-session.sh BUILD_DIR
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
export CA_BIN="$build/bin/coding-agents" CA_PYTHON3=${CA_PYTHON3:-python3}
# The test helpers give the engine, its clean-up and the CI rule on skipping.
# shellcheck source=tests/integration/lib.sh
. "$src/tests/integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$src/tests/e2e/docker-env.sh"
# shellcheck source=tests/e2e/world.sh
. "$src/tests/e2e/world.sh"
command -v openssl >/dev/null || skip "openssl is needed for the demo's test CA"
command -v git >/dev/null || skip "git is needed for the trusted-tree measurement"
command -v docker >/dev/null || skip "the docker client is needed for the demo's upstream"

say() {
        printf '\n\033[1m$ %s\033[0m\n' "$*"
}

docker_up
trap 'world_down; docker_down; cleanup_tmp' EXIT
mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1 &&
        [ -n "$(git -C "$src" status --porcelain -- host container docker lib)" ]; then
        touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
fi
say "coding-agents image build"
agent_image
world_up "$TEST_TMP/world" coding-agents-agent:current

# The agent CLI's own login (a stand-in: `claude mcp list` needs no real one).
export HOME="$TEST_TMP/home"
mkdir -p "$HOME/.claude"
printf '{"demo":"not a real login"}' >"$HOME/.claude/.credentials.json"
chmod 0600 "$HOME/.claude/.credentials.json"
ws="$TEST_TMP/repo"
mkdir -p "$ws"
cat >"$ws/config.toml" <<TOML
[mcp_servers.everything]
command = "/opt/coding-agents/agents/node_modules/.bin/mcp-server-everything"
args = ["stdio"]

[mcp_servers.upstream]
url = "https://upstream.test:8443/mcp"
bearer_token_env_var = "UPSTREAM_TOKEN"
trust = "demo-ca"
pins = ["$pin"]
TOML
printf '[secrets]\nUPSTREAM_TOKEN = ["upstream"]\n' >"$CODING_AGENTS_CONFIG_DIR/config.toml"
say "cat repo/config.toml"
cat "$ws/config.toml"
say "coding-agents config approve repo; cat ~/.config/coding-agents/config.toml   # the grant"
"$CA_BIN" config approve "$ws" >/dev/null
cat "$CODING_AGENTS_CONFIG_DIR/config.toml"
say "coding-agents trust add demo-ca --bundle ca.pem"
"$CA_BIN" trust add demo-ca --bundle "$world_ca" >/dev/null
say "printf %s \"\$TOKEN\" | coding-agents broker store UPSTREAM_TOKEN"
printf '%s' "$upstream_token" | "$CA_BIN" broker store UPSTREAM_TOKEN
say "coding-agents run claude repo ${world[*]} -- claude mcp list"
"$CA_BIN" run claude "$ws" "${world[@]}" -- claude mcp list | tee "$TEST_TMP/list"
grep -q '^everything: .*Connected' "$TEST_TMP/list"
grep -q '^upstream: .*Connected' "$TEST_TMP/list"
say "coding-agents events tail -n 40 | grep the session's servers"
"$CA_BIN" events tail -n 40 | grep -E 'capabilities-issued|helper-(start|health)|stub-start|session-(start|stop)' || true
say "coding-agents events verify"
"$CA_BIN" events verify
echo "(the session, its sidecar and its network are gone; the upstream saw $(grep -c '"auth":"ok"' "$world_log") authorised requests)"
