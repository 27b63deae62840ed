#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mcp-helper: added latency per MCP POST (p50/p99) through the helper vs straight to the same
# upstream over HTTPS, SSE streaming throughput through vs direct, and the helper's RSS with
# 100 concurrent SSE streams. Same run, same upstream (tests/npm/mcp-upstream.mjs); nothing is
# asserted.
#
#   bench/helper.sh BUILD_DIR [ROUNDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
rounds=${2:-2000}
export CA_BIN="$build/bin/coding-agents" CA_SOURCE_DIR="$src"
work=$(mktemp -d /tmp/ca-bench-helper.XXXXXX)
export CODING_AGENTS_CONFIG_DIR="$work/config"
# shellcheck source=tests/mcp/env.sh
. "$src/tests/mcp/env.sh"

missing=$(mcp_missing | tr '\n' ' ')
if [ -n "$missing" ]; then
        echo "helper benchmark: skipped, needs: $missing"
        [ "${CI:-}" != true ] || exit 1
        exit 0
fi
trap 'mcp_down; rm -rf "$work"' EXIT
mcp_up "$work"
# 100 concurrent streams from one UID: above the helper's default caps (16 per UID, 48 in
# all), which this measurement raises on purpose.
start_helper bench "$origin/api/mcp" --ca-file "$work/helper-test-ca.pem" \
        --max-connections 200 --max-connections-per-uid 200
bench() { (cd "$npm_dir" && NODE_EXTRA_CA_CERTS="$work/helper-test-ca.pem" node mcp-bench.mjs "$@"); }

read -r d50 d99 < <(bench latency --url "$origin/api/mcp" --token-file "$work/upstream-credential" --rounds "$rounds")
read -r h50 h99 < <(bench latency --url "http://127.0.0.1:$port/api/mcp" --token-file "$work/token" --rounds "$rounds")
awk -v d50="$d50" -v d99="$d99" -v h50="$h50" -v h99="$h99" 'BEGIN {
        printf "MCP POST (tools/call echo, %s): direct p50 %.3f ms p99 %.3f ms | helper p50 %.3f ms p99 %.3f ms\n",
               "keep-alive", d50, d99, h50, h99
        printf "added latency: p50 %+.3f ms, p99 %+.3f ms (goal p50 <= +0.3 ms); ratio p50 %.2fx\n",
               h50 - d50, h99 - d99, h50 / d50
}'

n=200000
read -r db ds < <(bench stream --url "$origin/api/ticks?n=$n" --token-file "$work/upstream-credential")
read -r hb hs < <(bench stream --url "http://127.0.0.1:$port/api/ticks?n=$n" --token-file "$work/token")
awk -v db="$db" -v ds="$ds" -v hb="$hb" -v hs="$hs" 'BEGIN {
        printf "SSE stream (%d bytes): direct %.1f MB/s | helper %.1f MB/s | ratio %.2fx (goal >= 0.8x)\n",
               db, db / ds / 1e6, hb / hs / 1e6, (hb / hs) / (db / ds)
}'

mkfifo "$work/streams.fifo" "$work/streams.in"
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$helper_pid/status")
(cd "$npm_dir" && node mcp-client.mjs streams --url "http://127.0.0.1:$port/api/idle" \
        --token-file "$work/token" --count 100) <"$work/streams.in" >"$work/streams.fifo" &
spid=$!
exec {sin}>"$work/streams.in"
exec {sfd}<"$work/streams.fifo"
IFS= read -r -u "$sfd" line
rss=$(awk '/VmRSS/ {print $2}' "/proc/$helper_pid/status")
threads=$(awk '/Threads/ {print $2}' "/proc/$helper_pid/status")
echo "RSS with 100 concurrent SSE streams ($line): $((rss / 1024)) MB ($((rss0 / 1024)) MB idle, $threads threads)"
exec {sin}>&-
wait "$spid" || true
