#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Egress proxy throughput and latency, inside the closed test topology of tests/netns/topology.sh,
# through the session's squid (from the agent namespace) vs straight to the same nginx upstream
# (from the proxy's namespace), legs interleaved (A B A B ...), medians and spread:
#   - plain HTTP: wrk, 1 KB and 10 MB answers;
#   - CONNECT tunnels to a TLS upstream (a test CA made here): a 100 MB download with curl, and
#     new-connection latency (TCP + CONNECT + TLS handshake + one small GET, bench/tls-connect.py).
# Informative only; nothing is asserted.
#
#   bench/egress.sh BUILD_DIR [SECONDS] [ROUNDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
secs=${2:-10}
rounds=${3:-3}
python=${CA_PYTHON3:-$(command -v python3)}
export CA_BIN="$build/bin/coding-agents"
# shellcheck source=tests/netns/topology.sh
. "$src/tests/netns/topology.sh"

missing=$( (topo_missing; command -v wrk >/dev/null || echo wrk; command -v openssl >/dev/null || echo openssl; [ -x /usr/sbin/nginx ] || echo nginx) | tr '\n' ' ')
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
allow_ports = [443, 8080, 8443]
TOML
topo_up "$work/topo" "$work/config.toml"

mkdir -p "$work/www"
head -c 1024 /dev/zero >"$work/www/1k"
head -c $((10 << 20)) /dev/zero >"$work/www/10m"
head -c $((100 << 20)) /dev/zero >"$work/www/100m"
# A test CA and a certificate for allowed.test, made for this run only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
        -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=allowed.test \
        -keyout "$work/srv.key" -out "$work/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:allowed.test\n' >"$work/srv.ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
        -days 2 -extfile "$work/srv.ext" -out "$work/srv.pem" 2>/dev/null
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
        server {
                listen 198.51.100.10:8443 ssl;
                ssl_certificate $work/srv.pem;
                ssl_certificate_key $work/srv.key;
                ssl_session_cache off;
                ssl_session_tickets off;
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

# median_spread: reads numbers, prints "median min max".
median_spread() {
        sort -g | awk '{v[NR]=$1} END {
                m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "%s %s %s\n", m, v[1], v[NR]}'
}

# Plain HTTP: wrk, ROUNDS interleaved runs of SECONDS/ROUNDS each per leg.
slice=$(( (secs + rounds - 1) / rounds ))
for size in 1k 10m; do
        conns=8
        [ "$size" = 10m ] && conns=2
        : >"$work/d.rps" ; : >"$work/s.rps"; : >"$work/d.p50"; : >"$work/s.p50"
        for _ in $(seq "$rounds"); do
                secs=$slice
                read -r rps p50 < <(run "$TOPO_PX" "$conns" "http://198.51.100.10:8080/$size")
                echo "$rps" >>"$work/d.rps"; echo "$p50" >>"$work/d.p50"
                read -r rps p50 < <(run "$TOPO_AGENT" "$conns" "$TOPO_PROXY_URL" "http://allowed.test:8080/$size")
                echo "$rps" >>"$work/s.rps"; echo "$p50" >>"$work/s.p50"
        done
        read -r d_rps d_lo d_hi < <(median_spread <"$work/d.rps")
        read -r s_rps s_lo s_hi < <(median_spread <"$work/s.rps")
        read -r d_p50 _ _ < <(median_spread <"$work/d.p50")
        read -r s_p50 _ _ < <(median_spread <"$work/s.p50")
        awk -v size="$size" -v drps="$d_rps" -v dp="$d_p50" -v srps="$s_rps" -v sp="$s_p50" \
            -v dlo="$d_lo" -v dhi="$d_hi" -v slo="$s_lo" -v shi="$s_hi" -v r="$rounds" 'BEGIN {
                printf "%-4s direct: %9.1f req/s (%.1f-%.1f) p50 %7.3f ms | through squid: %9.1f req/s (%.1f-%.1f) p50 %7.3f ms, medians of %d\n",
                       size, drps, dlo, dhi, dp, srps, slo, shi, sp, r
                printf "     ratio (squid / direct): throughput %.2fx, p50 latency %.2fx\n",
                       srps / drps, sp / dp
        }'
done

# CONNECT tunnels to the TLS upstream: curl's 100 MB download, interleaved.
tls_direct=(curl -sS -o /dev/null --cacert "$work/ca.pem" --resolve allowed.test:8443:198.51.100.10
        -w '%{speed_download}\n' https://allowed.test:8443/100m)
tls_squid=(curl -sS -o /dev/null --cacert "$work/ca.pem" --proxy "$TOPO_PROXY_URL"
        -w '%{speed_download}\n' https://allowed.test:8443/100m)
: >"$work/d.bps"; : >"$work/s.bps"
for _ in $(seq "$rounds"); do
        ip netns exec "$TOPO_PX" "${tls_direct[@]}" >>"$work/d.bps"
        ip netns exec "$TOPO_AGENT" "${tls_squid[@]}" >>"$work/s.bps"
done
read -r d_bps d_lo d_hi < <(median_spread <"$work/d.bps")
read -r s_bps s_lo s_hi < <(median_spread <"$work/s.bps")
awk -v d="$d_bps" -v s="$s_bps" -v dlo="$d_lo" -v dhi="$d_hi" -v slo="$s_lo" -v shi="$s_hi" \
    -v r="$rounds" 'BEGIN {
        printf "tls  100 MB download direct: %.0f MB/s (%.0f-%.0f) | through a squid CONNECT tunnel: %.0f MB/s (%.0f-%.0f), medians of %d\n",
               d / 1e6, dlo / 1e6, dhi / 1e6, s / 1e6, slo / 1e6, shi / 1e6, r
        printf "     ratio (tunnel / direct): throughput %.2fx (goal >= 0.8x)\n", s / d
}'

# New connections: rounds of N fresh connections per leg, interleaved.
conn_n=$(( secs * 10 < 20 ? 20 : secs * 10 ))
: >"$work/d.conn"; : >"$work/s.conn"
for _ in $(seq "$rounds"); do
        ip netns exec "$TOPO_PX" "$python" "$src/bench/tls-connect.py" "$work/ca.pem" allowed.test 8443 \
                198.51.100.10 "$conn_n" >>"$work/d.conn"
        ip netns exec "$TOPO_AGENT" "$python" "$src/bench/tls-connect.py" "$work/ca.pem" allowed.test 8443 \
                198.51.100.10 "$conn_n" "${TOPO_PROXY_URL#http://}" >>"$work/s.conn"
done
read -r d_c d_lo d_hi < <(median_spread <"$work/d.conn")
read -r s_c s_lo s_hi < <(median_spread <"$work/s.conn")
awk -v d="$d_c" -v s="$s_c" -v dlo="$d_lo" -v dhi="$d_hi" -v slo="$s_lo" -v shi="$s_hi" \
    -v n="$conn_n" -v r="$rounds" 'BEGIN {
        printf "tls  new connection + handshake + 1 KB GET direct: %.3f ms (%.3f-%.3f) | through a squid CONNECT tunnel: %.3f ms (%.3f-%.3f), medians of %d x %d\n",
               d * 1000, dlo * 1000, dhi * 1000, s * 1000, slo * 1000, shi * 1000, r, n
        printf "     added per new connection: %+.3f ms (goal <= +1 ms)\n", (s - d) * 1000
}'
