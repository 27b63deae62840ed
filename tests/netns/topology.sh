# SPDX-License-Identifier: MIT
# A closed test network for the egress proxy (sourced by tests/integration/egress.sh and
# bench/egress.sh). Nothing in it has a route out of the machine:
#
#   agent ns  192.0.2.1 ──veth── 192.0.2.2  proxy ns  203.0.113.1 ──veth── 203.0.113.2  world ns
#             (no route, no resolver)        squid :3128, dnsmasq         2001:db8:ffff::2
#                                            127.0.0.1:53                 "public" DNS on :53
#
# The world namespace holds every test host on its loopback: addresses inside the forbidden
# ranges (10.0.0.5, 172.16.0.5, 192.168.0.5, 100.64.0.5, 100.100.100.200, 169.254.169.254,
# fd00:ec2::254 ...) and "public-looking" documentation addresses standing in for allowed
# sites (198.51.100.10, 2001:db8::10). A plain HTTP upstream (tests/netns/upstream.py) serves
# ports 80 and 443 on all of them, and a dnsmasq on 203.0.113.2 plays the public DNS.
#
#   topo_missing             prints what is missing (root, tools), nothing when all is there
#   topo_up DIR CONFIG       builds it, renders CONFIG with `proxy config`, starts `proxy run`
#   topo_down                removes every namespace and process (safe to call twice)
#   in_agent / in_proxy / in_world CMD...   run CMD inside a namespace
# shellcheck shell=bash

TOPO_SUFFIX=$(printf '%05d' $(($$ % 100000)))
TOPO_AGENT="ca-agent-$TOPO_SUFFIX"
TOPO_PX="ca-px-$TOPO_SUFFIX"
TOPO_WORLD="ca-world-$TOPO_SUFFIX"
# shellcheck disable=SC2034 # used by the scripts that source this one
TOPO_PROXY_URL="http://192.0.2.2:3128"
TOPO_DIR=""
TOPO_PIDS=()

# name address: what the world's DNS answers (A or AAAA by the address's shape).
TOPO_HOSTS="allowed.test=198.51.100.10 allowed.test=2001:db8::10
ten.test=10.0.0.5 sixteen.test=172.16.0.5 oneninetwo.test=192.168.0.5
cgnat.test=100.64.0.5 alimeta.test=100.100.100.200 meta.test=169.254.169.254
linklocal.test=169.254.10.10 loop.test=127.0.0.1 zero.test=0.0.0.1
v6meta.test=fd00:ec2::254 ula.test=fd12:3456::5 nat64.test=64:ff9b::a00:5"

topo_missing() {
        local t
        [ "$(id -u)" -eq 0 ] || echo "root (for network namespaces)"
        for t in ip squid dnsmasq curl dig; do
                command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || echo "$t"
        done
}

in_agent() { ip netns exec "$TOPO_AGENT" "$@"; }
in_proxy() { ip netns exec "$TOPO_PX" "$@"; }
in_world() { ip netns exec "$TOPO_WORLD" "$@"; }

# topo_wait_ready FIFO PATTERN: reads lines from FIFO until one
# matches; fails when the writer goes away first. Waits on the pipe, not on a clock.
topo_wait_ready() {
        local fifo=$1 what=$2 line fd
        exec {fd}<"$fifo"
        while IFS= read -r -u "$fd" line; do
                case "$line" in *"$what"*)
                        # Keep the pipe open so the writer never gets SIGPIPE.
                        TOPO_FDS+=("$fd")
                        return 0
                        ;;
                esac
        done
        exec {fd}<&-
        echo "topology: '$fifo' closed before '$what'" >&2
        return 1
}

topo_up() {
        local dir=$1 config=$2 h name addr
        TOPO_DIR=$dir
        TOPO_FDS=()
        mkdir -p "$dir"
        ip netns add "$TOPO_AGENT"
        ip netns add "$TOPO_PX"
        ip netns add "$TOPO_WORLD"
        ip link add "ca-a$TOPO_SUFFIX" type veth peer name "ca-b$TOPO_SUFFIX"
        ip link set "ca-a$TOPO_SUFFIX" netns "$TOPO_AGENT"
        ip link set "ca-b$TOPO_SUFFIX" netns "$TOPO_PX"
        ip link add "ca-c$TOPO_SUFFIX" type veth peer name "ca-d$TOPO_SUFFIX"
        ip link set "ca-c$TOPO_SUFFIX" netns "$TOPO_PX"
        ip link set "ca-d$TOPO_SUFFIX" netns "$TOPO_WORLD"
        ip -n "$TOPO_AGENT" addr add 192.0.2.1/30 dev "ca-a$TOPO_SUFFIX"
        ip -n "$TOPO_PX" addr add 192.0.2.2/30 dev "ca-b$TOPO_SUFFIX"
        ip -n "$TOPO_PX" addr add 203.0.113.1/24 dev "ca-c$TOPO_SUFFIX"
        ip -n "$TOPO_PX" addr add 2001:db8:ffff::1/64 dev "ca-c$TOPO_SUFFIX" nodad
        ip -n "$TOPO_WORLD" addr add 203.0.113.2/24 dev "ca-d$TOPO_SUFFIX"
        ip -n "$TOPO_WORLD" addr add 2001:db8:ffff::2/64 dev "ca-d$TOPO_SUFFIX" nodad
        for ns in "$TOPO_AGENT" "$TOPO_PX" "$TOPO_WORLD"; do
                ip -n "$ns" link set lo up
        done
        ip -n "$TOPO_AGENT" link set "ca-a$TOPO_SUFFIX" up
        ip -n "$TOPO_PX" link set "ca-b$TOPO_SUFFIX" up
        ip -n "$TOPO_PX" link set "ca-c$TOPO_SUFFIX" up
        ip -n "$TOPO_WORLD" link set "ca-d$TOPO_SUFFIX" up
        # The proxy reaches "everything" only through the world namespace.
        ip -n "$TOPO_PX" route add default via 203.0.113.2
        ip -n "$TOPO_PX" -6 route add default via 2001:db8:ffff::2
        # Test hosts live on the world's loopback (127.0.0.1 is already there).
        : >"$dir/world-dns.conf"
        for h in $TOPO_HOSTS; do
                name=${h%%=*}
                addr=${h#*=}
                case "$addr" in
                127.0.0.1) ;;
                *:*) ip -n "$TOPO_WORLD" addr add "$addr/128" dev lo nodad 2>/dev/null || true ;;
                *) ip -n "$TOPO_WORLD" addr add "$addr/32" dev lo 2>/dev/null || true ;;
                esac
                echo "host-record=$name,$addr" >>"$dir/world-dns.conf"
        done
        cat >>"$dir/world-dns.conf" <<EOF
no-resolv
no-hosts
listen-address=203.0.113.2,2001:db8:ffff::2
bind-interfaces
local=/test/
txt-record=allowed.test,"exfiltrated-by-txt"
pid-file=$dir/world-dns.pid
EOF
        # Without -k dnsmasq forks only after binding: ready when this returns.
        in_world dnsmasq --conf-file="$dir/world-dns.conf"

        mkfifo "$dir/upstream.fifo" "$dir/proxy.fifo"
        # Background jobs call `ip netns exec` directly, so that $! is the process itself.
        ip netns exec "$TOPO_WORLD" "${CA_PYTHON3:-python3}" "$(dirname "${BASH_SOURCE[0]}")/upstream.py" \
                "$dir/upstream.log" 80 443 >"$dir/upstream.fifo" 2>"$dir/upstream.err" &
        TOPO_PIDS+=($!)
        topo_wait_ready "$dir/upstream.fifo" ready || return 1
        : >>"$dir/upstream.log"

        "$CA_BIN" proxy config --config "$config" --out "$dir/proxy" \
                --resolver 203.0.113.2 --resolver 2001:db8:ffff::2 >/dev/null || return 1
        ip netns exec "$TOPO_PX" "$CA_BIN" proxy run --dir "$dir/proxy" >"$dir/proxy.fifo" \
                2>"$dir/proxy.err" &
        TOPO_PIDS+=($!)
        topo_wait_ready "$dir/proxy.fifo" "proxy ready" || {
                cat "$dir/proxy.err" >&2
                return 1
        }
}

topo_down() {
        local p fd
        for p in "${TOPO_PIDS[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        for p in "${TOPO_PIDS[@]}"; do
                wait "$p" 2>/dev/null || true
        done
        TOPO_PIDS=()
        for fd in "${TOPO_FDS[@]}"; do
                exec {fd}<&-
        done
        TOPO_FDS=()
        if [ -n "$TOPO_DIR" ] && [ -f "$TOPO_DIR/world-dns.pid" ]; then
                kill "$(cat "$TOPO_DIR/world-dns.pid")" 2>/dev/null || true
        fi
        # Deleting a namespace kills what is left in it with it only if nothing holds it;
        # anything still running in one is killed first.
        for ns in "$TOPO_AGENT" "$TOPO_PX" "$TOPO_WORLD"; do
                for p in $(ip netns pids "$ns" 2>/dev/null); do
                        kill -9 "$p" 2>/dev/null || true
                done
                ip netns del "$ns" 2>/dev/null || true
        done
}
