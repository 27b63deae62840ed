#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The model helper (issue 19): time to the first streamed byte (p50/p99) and the throughput of a
# 10 MB streamed answer, through `mcp-helper --model anthropic` vs straight to the same vendor
# (the scripted peer, tests/e2e/model-peer.mjs, over HTTPS with a test CA), same run. Nothing
# is asserted; the goals are p50 <= +1 ms and >= 0.9x.
#
#   bench/model.sh BUILD_DIR [ROUNDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
rounds=${2:-300}
export CA_BIN="$build/bin/coding-agents" CA_SOURCE_DIR="$src"
work=$(mktemp -d /tmp/ca-bench-model.XXXXXX)
export CODING_AGENTS_CONFIG_DIR="$work/config"
# shellcheck source=tests/mcp/env.sh
. "$src/tests/mcp/env.sh"

missing=$(mcp_missing | tr '\n' ' ')
if [ -n "$missing" ]; then
        echo "model helper benchmark: skipped, needs: $missing"
        [ "${CI:-}" != true ] || exit 1
        exit 0
fi
trap 'mcp_down; rm -rf "$work"' EXIT
mcp_up "$work"

key="sk-ant-api03-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkfifo "$work/peer.fifo"
node "$src/tests/e2e/model-peer.mjs" --listen 127.0.0.1:0 --cert "$work/srv.pem" \
        --key "$work/srv.key" --key-value "$key" >"$work/peer.fifo" 2>"$work/peer.err" &
mcp_pids+=($!)
exec {peer_fd}<"$work/peer.fifo"
IFS= read -r -u "$peer_fd" line
peer=${line#model-peer listening on }

printf '%s' "$key" | "$CA_BIN" broker store AGENT_CLAUDE_API_KEY >/dev/null
"$CA_BIN" broker issue --session bench-model --stub model-api --secret AGENT_CLAUDE_API_KEY \
        --uid 0 --out "$work/model.cred" >/dev/null
mkfifo "$work/helper.fifo"
"$helper" --name model --model anthropic --upstream "$peer/" --listen 127.0.0.1:0 \
        --ca-file "$work/helper-test-ca.pem" --credential "$work/model.cred" \
        --token-file "$work/token" --events "$work/events.log" --session bench-model \
        >"$work/helper.fifo" 2>"$work/helper.err" &
mcp_pids+=($!)
exec {helper_fd}<"$work/helper.fifo"
IFS= read -r -u "$helper_fd" line
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) .*/\1/p' <<<"$line")
client() { NODE_EXTRA_CA_CERTS="$work/helper-test-ca.pem" node "$src/bench/model-client.mjs" "$@"; }

read -r d50 d99 < <(client ttfb "$peer" "$key" "$rounds")
read -r h50 h99 < <(client ttfb "http://127.0.0.1:$port" "$token" "$rounds")
awk -v d50="$d50" -v d99="$d99" -v h50="$h50" -v h99="$h99" 'BEGIN {
        printf "first streamed byte: direct p50 %.3f ms p99 %.3f ms | helper p50 %.3f ms p99 %.3f ms\n",
               d50, d99, h50, h99
        printf "added: p50 %+.3f ms, p99 %+.3f ms (goal p50 <= +1 ms); ratio p50 %.2fx\n",
               h50 - d50, h99 - d99, h50 / d50
}'
bytes=$((10 * 1024 * 1024))
read -r db ds < <(client stream "$peer" "$key" "$bytes")
read -r hb hs < <(client stream "http://127.0.0.1:$port" "$token" "$bytes")
awk -v db="$db" -v ds="$ds" -v hb="$hb" -v hs="$hs" 'BEGIN {
        printf "10 MB streamed answer (%d bytes of SSE): direct %.1f MB/s | helper %.1f MB/s | ratio %.2fx (goal >= 0.9x)\n",
               db, db / ds / 1e6, hb / hs / 1e6, (hb / hs) / (db / ds)
}'
