#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Egress proxy throughput and latency: wrk through squid (from the agent namespace) vs wrk
# straight to the same nginx upstream (from the proxy's namespace), same run, inside the
# closed test topology of tests/netns/topology.sh. Informative only; nothing is asserted.
#
#   bench/egress.sh BUILD_DIR [SECONDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
secs=${2:-10}
export CA_BIN="$build/bin/coding-agents"
# shellcheck source=tests/netns/topology.sh
. "$src/tests/netns/topology.sh"

missing=$( (topo_missing; command -v wrk >/dev/null || echo wrk; [ -x /usr/sbin/nginx ] || echo nginx) | tr '\n' ' ')
if [ -n "$missing" ]; then
        echo "egress benchmark: skipped, needs: $missing"
        [ "${CI:-}" != true ] || exit 1
        exit 0
fi

work=$(mktemp -d /tmp/ca-bench-egress.XXXXXX)
chmod 0755 "$work"
export CODING_AGENTS_CONFIG_DIR="$work/config"
trap 'topo_down; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

cat >"$work/config.toml" <<'TOML'
[network]
allow_domains = ["allowed.test"]
allow_ports = [443, 8080]
TOML
topo_up "$work/topo" "$work/config.toml"

mkdir -p "$work/www"
head -c 1024 /dev/zero >"$work/www/1k"
head -c $((10 << 20)) /dev/zero >"$work/www/10m"
cat >"$work/nginx.conf" <<EOF2
daemon on;
pid $work/nginx.pid;
error_log $work/nginx.err;
worker_processes 1;
events { worker_connections 1024; }
http {
        access_log off;
        sendfile on;
        server {
                listen 198.51.100.10:8080;
                root $work/www;
        }
}
EOF2
in_world /usr/sbin/nginx -c "$work/nginx.conf"

cat >"$work/proxy.lua" <<'LUA'
-- Absolute-form requests: wrk talks to squid, squid to the upstream.
local target = os.getenv("TARGET")
request = function() return wrk.format("GET", target) end
LUA

# run NAME NS CONNS URL [TARGET]: prints "requests/s p50_ms".
run() {
        local ns=$1 conns=$2 url=$3 target=${4:-} out
        if [ -n "$target" ]; then
                out=$(TARGET=$target ip netns exec "$ns" wrk -t1 -c"$conns" -d"${secs}s" --latency \
                        -s "$work/proxy.lua" "$url")
        else
                out=$(ip netns exec "$ns" wrk -t1 -c"$conns" -d"${secs}s" --latency "$url")
        fi
        awk '/Requests\/sec/ {rps=$2}
             /^ +50%/ {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v);
                       ms = (u=="us") ? v/1000 : (u=="s") ? v*1000 : v}
             END {printf "%s %s\n", rps, ms}' <<<"$out"
}

for size in 1k 10m; do
        conns=8
        [ "$size" = 10m ] && conns=2
        read -r d_rps d_p50 < <(run "$TOPO_PX" "$conns" "http://198.51.100.10:8080/$size")
        read -r s_rps s_p50 < <(run "$TOPO_AGENT" "$conns" "$TOPO_PROXY_URL" "http://allowed.test:8080/$size")
        awk -v size="$size" -v drps="$d_rps" -v dp="$d_p50" -v srps="$s_rps" -v sp="$s_p50" 'BEGIN {
                printf "%-4s direct: %9.1f req/s p50 %7.3f ms | through squid: %9.1f req/s p50 %7.3f ms\n",
                       size, drps, dp, srps, sp
                printf "     ratio (squid / direct): throughput %.2fx, p50 latency %.2fx\n",
                       srps / drps, sp / dp
        }'
done
