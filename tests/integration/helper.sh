#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mcp-helper between the MCP SDK's own client and a real MCP upstream (the SDK's Streamable
# HTTP and legacy SSE servers behind Node's https, tests/npm/mcp-upstream.mjs) with a test CA
# made here. The upstream credential comes from the real broker; the upstream's log proves
# what it received (and that it received nothing when it must not).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/mcp/env.sh
. "$CA_SOURCE_DIR/tests/mcp/env.sh"
missing=$(mcp_missing | tr '\n' ' ')
[ -z "$missing" ] || skip "needs: $missing"

# KEEP=1 leaves the test directory for a look afterwards.
trap 'mcp_down; [ -n "${KEEP:-}" ] || cleanup_tmp' EXIT
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
t=$TEST_TMP
mcp_up "$t" || { fail "the MCP upstream did not start: $(cat "$t"/*.err)"; finish; }

upstream_lines() { grep -c '' "$t/upstream.log"; }

client() { (cd "$npm_dir" && node mcp-client.mjs "$@"); }

# req PORT ARGS...: curl to the helper with the local token; status (and size, exit) to code.
req() {
        local p=$1
        shift
        curl -s -o "$t/body" -w '%{http_code} %{size_download} %{exitcode}' \
                -H "Authorization: Bearer $token" "$@" "http://127.0.0.1:$p" >"$t/code" 2>/dev/null || true
}
code() { cut -d' ' -f1 "$t/code"; }

# ==== Streamable HTTP, through the SDK client ====
start_helper remote "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" ||
        fail "the helper did not start: $(cat "$t/remote.err")"
http=$port
http_pid=$helper_pid
expect_status 0 client session --url "http://127.0.0.1:$http/api/mcp" --transport http \
        --token-file "$t/token" --stream 200
expect_grep '"server":"upstream-under-test"' "$t/out"
expect_grep '"tools":\["echo","stream"\]' "$t/out"
expect_grep '"echo":"hello through the helper"' "$t/out"
expect_grep '"progress":200,"streamed":"streamed 200"' "$t/out"
expect_grep '"method":"POST","path":"/api/mcp","auth":"ok"' "$t/upstream.log"
expect_no_grep '"auth":"(bad|missing)"' "$t/upstream.log"

# ==== legacy SSE, through the SDK client; the endpoint event points back at the helper ====
# (room for the 100 concurrent streams below: the defaults are 48, 16 per UID)
start_helper legacy "$origin/sse" --ca-file "$t/helper-test-ca.pem" --max-connections 128 \
        --max-connections-per-uid 128
sse=$port
expect_status 0 client session --url "http://127.0.0.1:$sse/sse" --transport sse --token-file "$t/token"
expect_grep '"echo":"hello through the helper"' "$t/out"
expect_grep '"method":"POST","path":"/messages","auth":"ok"' "$t/upstream.log"
req "$sse/sse" -H 'Accept: text/event-stream' --max-time 2
expect_grep '^data: /messages\?sessionId=' "$t/body"
# A long stream on both helpers, event by event.
expect_status 0 client tail --url "http://127.0.0.1:$sse/ticks?n=5000" --token-file "$t/token"
expect_grep '^ended ticks=5000$' "$t/out"
expect_status 0 client tail --url "http://127.0.0.1:$http/api/ticks?n=5000" --token-file "$t/token"
expect_grep '^ended ticks=5000$' "$t/out"
# An absolute endpoint on the upstream's origin is rewritten; one elsewhere ends the stream.
req "$http/api/abs-endpoint" -H 'Accept: text/event-stream'
expect_grep '^data: /api/messages\?sessionId=abc$' "$t/body"
expect_no_grep "127.0.0.1:$up_port" "$t/body"
req "$http/api/evil-endpoint" -H 'Accept: text/event-stream'
expect_grep 'endpoint outside its origin' "$t/body"
expect_no_grep 'evil.example' "$t/body"

# ==== the credential stays between helper and upstream ====
for f in "$t"/*.err "$t/out" "$t/body" "$log"; do
        expect_no_grep "$credential" "$f"
done
check "the helper's command line holds no secret" bash -c "! tr '\\0' ' ' </proc/$http_pid/cmdline | grep -q -e '$credential' -e '$token'"
check "the helper's environment holds no secret" bash -c "! tr '\\0' '\\n' </proc/$http_pid/environ | grep -q -e '$credential' -e '$token'"

# ==== the local token ====
before=$(upstream_lines)
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/api/mcp" >"$t/code" || true
check "no token: 401" grep -qx 401 "$t/code"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token}x" "http://127.0.0.1:$http/api/mcp" >"$t/code" || true
check "wrong token: 401" grep -qx 401 "$t/code"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic $token" "http://127.0.0.1:$http/api/mcp" >"$t/code" || true
check "another scheme: 401" grep -qx 401 "$t/code"
check "the upstream saw none of them" [ "$(upstream_lines)" = "$before" ]
expect_grep '"reason":"missing-token".*"type":"helper-denied"' "$log"
expect_grep '"reason":"bad-token".*"type":"helper-denied"' "$log"
curl -s "http://127.0.0.1:$http/healthz" >"$t/health"
expect_grep '"status":"ok".*"upstream":"ok"' "$t/health"
expect_no_grep "$token|$credential|upstream-credential" "$t/health"

# ==== one origin, one base path ====
before=$(upstream_lines)
for target in 'http://evil.test/api/mcp' '/api/../admin' '/api/%2e%2e/admin' '/api/%2E%2E/admin' \
        '/api/x%2fy' '/api/x%5cy' '/api/.' '/api//x' '/admin' '*' '/api/x%00' '/api/x y'; do
        curl -s -o /dev/null -w '%{http_code}' --path-as-is --request-target "$target" \
                -H "Authorization: Bearer $token" -H 'Accept: text/event-stream' \
                "http://127.0.0.1:$http/" >"$t/code" 2>/dev/null || true
        check "target '$target' refused ($(cat "$t/code"))" grep -Eqx '4[0-9][0-9]' "$t/code"
done
req "$http/api/mcp" -H 'Host: evil.test'
check "a foreign Host: 421" [ "$(code)" = 421 ]
req "$http/api/mcp" -H 'Host: 127.0.0.1:1'
check "another port in Host: 421" [ "$(code)" = 421 ]
req "$http/api/mcp" -X CONNECT
check "CONNECT: 405" [ "$(code)" = 405 ]
req "$http/api/mcp" -X PUT -d x
check "PUT: 405" [ "$(code)" = 405 ]
req "$http/api/mcp" -H 'Upgrade: websocket' -H 'Connection: Upgrade'
check "an upgrade: 400" [ "$(code)" = 400 ]
req "$http/api/mcp" -H 'Accept: application/json'
check "a GET stream without text/event-stream: 406" [ "$(code)" = 406 ]
check "the upstream saw none of them" [ "$(upstream_lines)" = "$before" ]
expect_grep '"reason":"path".*"type":"helper-denied"' "$log"
expect_grep '"reason":"host".*"type":"helper-denied"' "$log"
# DELETE passes through with the session header.
req "$http/api/mcp" -X DELETE -H 'Mcp-Session-Id: no-such-session'
check "DELETE reaches the upstream (its 404)" [ "$(code)" = 404 ]
expect_grep '"method":"DELETE","path":"/api/mcp","auth":"ok"' "$t/upstream.log"

# ==== limits ====
head -c $((10 << 20)) /dev/zero >"$t/exact"
head -c $(((10 << 20) + 1)) /dev/zero >"$t/over"
req "$http/api/echo-size" --data-binary @"$t/exact" -H 'Content-Type: application/octet-stream'
check "a 10 MB body passes" grep -qx 10485760 "$t/body"
before=$(upstream_lines)
req "$http/api/echo-size" --data-binary @"$t/over" -H 'Content-Type: application/octet-stream'
check "a 10 MB + 1 body: 413" [ "$(code)" = 413 ]
req "$http/api/echo-size" --data-binary @"$t/over" -H 'Transfer-Encoding: chunked'
check "a chunked 10 MB + 1 body: 413" [ "$(code)" = 413 ]
check "the upstream got neither" [ "$(upstream_lines)" = "$before" ]
expect_grep '"limit":"request-body","max":10485760.*"type":"helper-limit"' "$log"
req "$http/api/big?n=$((100 << 20))"
check "a 100 MB response arrives whole ($(cat "$t/code"))" grep -qx "200 $((100 << 20)) 0" "$t/code"
req "$http/api/big?n=$(((100 << 20) + 1))"
check "a 100 MB + 1 response is cut ($(cat "$t/code"))" grep -Eqx "200 $((100 << 20)) (18|56)" "$t/code"
expect_grep '"limit":"response","max":104857600.*"type":"helper-limit"' "$log"
req "$http/api/sse-big?n=$((2 << 20))" -H 'Accept: text/event-stream'
expect_grep "per-event size limit" "$t/body"
expect_grep '"limit":"sse-event".*"type":"helper-limit"' "$log"

# ==== TLS trust: unknown CA, pins, a bundle from `trust add` ====
start_helper nocat "$origin/api/mcp"
before=$(upstream_lines)
req "$port/api/mcp" -H 'Accept: text/event-stream'
check "an unknown CA: 502" [ "$(code)" = 502 ]
start_helper pinned "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" --pin "$wrong_pin"
req "$port/api/mcp" -H 'Accept: text/event-stream'
check "a wrong pin: 502" [ "$(code)" = 502 ]
expect_grep "does not match the configured pins \\(presented ${spki_pin//+/\\+}\\); nothing was sent" "$t/body"
check "the upstream received nothing from either" [ "$(upstream_lines)" = "$before" ]
expect_grep "\"presented\":\"${spki_pin//+/\\+}\".*\"type\":\"pin-mismatch\"" "$log"
start_helper rotated "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" --pin "$wrong_pin" --pin "$spki_pin"
expect_status 0 client session --url "http://127.0.0.1:$port/api/mcp" --token-file "$t/token"
expect_grep '"echo":"hello through the helper"' "$t/out"
expect_status 0 "$CA_BIN" trust add helpertest --bundle "$t/helper-test-ca.pem"
start_helper curated "$origin/api/mcp" --ca-file "$CODING_AGENTS_CONFIG_DIR/trust-overrides/helpertest.pem"
expect_status 0 client session --url "http://127.0.0.1:$port/api/mcp" --token-file "$t/token"
expect_grep '"echo":"hello through the helper"' "$t/out"
start_helper wrongca "$origin/api/mcp" --ca-file "$t/other-ca.pem"
req "$port/api/mcp" -H 'Accept: text/event-stream'
check "a bundle without the server's CA: 502" [ "$(code)" = 502 ]

# ==== 100 concurrent SSE streams ====
mkfifo "$t/streams.fifo" "$t/streams.in"
client streams --url "http://127.0.0.1:$sse/sse" --token-file "$t/token" --count 100 \
        <"$t/streams.in" >"$t/streams.fifo" 2>"$t/streams.err" &
streams_pid=$!
exec {sin}>"$t/streams.in"
exec {sfd}<"$t/streams.fifo"
IFS= read -r -u "$sfd" line || line=""
check "100 concurrent streams open ($line)" [ "$line" = "open 100" ]
exec {sin}>&-
wait "$streams_pid" || fail "the streams client failed: $(cat "$t/streams.err")"

# ==== a client that goes away cancels the upstream transfer, and the other way round ====
mkfifo "$t/cancel.fifo"
client tail --url "http://127.0.0.1:$http/api/ticks?n=1000000000" --token-file "$t/token" >"$t/cancel.fifo" &
cancel_pid=$!
exec {cfd}<"$t/cancel.fifo"
IFS= read -r -u "$cfd" line || line=""
check "the endless stream is open ($line)" [ "$line" = open ]
kill "$cancel_pid"
wait "$cancel_pid" 2>/dev/null || true
exec {cfd}<&-
IFS= read -r -t 60 -u "$upstream_fd" line || line=""
check "the upstream saw its stream cancelled ($line)" grep -q '^gone /api/ticks after' <<<"$line"
expect_status 0 client tail --url "http://127.0.0.1:$http/api/drop" --token-file "$t/token"
expect_grep 'the upstream connection failed' "$t/out"
expect_grep '^ended' "$t/out"

# ==== a hostile upstream's framing is refused, never guessed (container/httpc.c) ====
# Content-Length and Transfer-Encoding together: a 502, and nothing of the hidden answer.
req "$http/api/smuggle" -X POST -H 'Content-Type: application/json' -d '{}'
check "two lengths in one head: 502 ($(cat "$t/code"))" [ "$(code)" = 502 ]
expect_grep 'no clear length' "$t/body"
expect_no_grep smuggled "$t/body"
# A malformed chunk size: what came before it passes, then the answer is cut (curl: exit 18).
req "$http/api/bad-chunk" -X POST -H 'Content-Type: application/json' -d '{}'
check "a malformed chunk ends the answer early ($(cat "$t/code"))" grep -qE '^200 5 (18|56)$' "$t/code"
expect_no_grep world "$t/body"
# Interim answers are skipped, but not without end.
req "$http/api/interim?n=2" -X POST -H 'Content-Type: application/json' -d '{}'
check "two 103s, then the answer ($(cat "$t/code"))" [ "$(code)" = 200 ]
expect_grep '^final$' "$t/body"
req "$http/api/interim?n=50" -X POST -H 'Content-Type: application/json' -d '{}'
check "fifty 103s: 502 ($(cat "$t/code"))" [ "$(code)" = 502 ]
expect_grep 'interim answers' "$t/body"
# Answers read to their end leave their connection for the next request: three in a row share
# one upstream connection (the upstream logs the helper's port), none the poisoned one above.
for i in 1 2 3; do
        req "$http/api/echo-size" -X POST -H 'Content-Type: application/json' -d '{"n":1}'
        check "echo-size $i answered ($(cat "$t/code"))" [ "$(code)" = 200 ]
done
tail -n 3 "$t/upstream.log" | grep -o '"peer":[0-9]*' | sort -u >"$t/peers"
check "three requests, one kept upstream connection ($(tr '\n' ' ' <"$t/peers"))" [ "$(grep -c '' "$t/peers")" = 1 ]
smuggle_peer=$(grep '"path":"/api/smuggle"' "$t/upstream.log" | tail -n 1 | grep -o '"peer":[0-9]*')
expect_no_grep "$smuggle_peer" "$t/peers"

# ==== a Unix socket instead of a port ====
start_helper unixsock "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" --listen "unix:$t/helper.sock"
check "the socket is 0660" [ "$(stat -c %a "$t/helper.sock")" = 660 ]
curl -s -o /dev/null -w '%{http_code}' --unix-socket "$t/helper.sock" http://localhost/api/mcp >"$t/code" || true
check "no token over the socket: 401" grep -qx 401 "$t/code"
curl -s --unix-socket "$t/helper.sock" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' \
        http://localhost/api/mcp >"$t/body" || true
expect_grep '"name":"upstream-under-test"' "$t/body"

# ==== unprivileged, as its own UID, with the broker socket bind-mounted as in a container ====
huid=57123
hd="$t/uid"
chmod 0711 "$t"
mkdir -m 0700 "$hd"
"$CA_BIN" broker issue --session helper-test --stub ownuid --secret UPSTREAM_TOKEN --uid "$huid" \
        --out "$hd/cred.json" >/dev/null
sock=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).socket)' "$hd/cred.json")
node -e 'const fs=require("fs"); const c=JSON.parse(fs.readFileSync(process.argv[1]));
        c.socket=process.argv[2]; fs.writeFileSync(process.argv[1], JSON.stringify(c));' \
        "$hd/cred.json" "$hd/broker.sock"
: >"$hd/broker.sock"
cp "$t/token" "$t/helper-test-ca.pem" "$hd/"
chown -R "$huid:$huid" "$hd"
mkfifo "$t/uid.fifo"
# shellcheck disable=SC2016 # the inner script takes its values as "$1".."$6"
unshare --mount --propagation private bash -c 'mount --bind "$1" "$2/broker.sock" &&
        exec setpriv --reuid "$3" --regid "$3" --clear-groups "$4" --name ownuid \
        --upstream "$5" --listen 127.0.0.1:0 --credential "$2/cred.json" --token-file "$2/token" \
        --ca-file "$2/helper-test-ca.pem" --events "$2/events.log"' \
        _ "$sock" "$hd" "$huid" "$helper" "$origin/api/mcp" >"$t/uid.fifo" 2>"$t/uid.err" &
uid_pid=$!
mcp_pids+=("$uid_pid")
exec {ufifo}<"$t/uid.fifo"
IFS= read -r -u "$ufifo" line || line=""
uport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) .*/\1/p' <<<"$line")
if [ -n "$uport" ]; then
        check "the helper runs as uid $huid" grep -Eq "^Uid:\s+$huid\s" "/proc/$uid_pid/status"
        expect_status 0 client session --url "http://127.0.0.1:$uport/api/mcp" --token-file "$t/token"
        expect_grep '"echo":"hello through the helper"' "$t/out"
        expect_grep "\"stub\":\"ownuid\",\"uid\":$huid,.*\"type\":\"capability-redeemed\"" "$log"
else
        fail "the helper did not start as uid $huid: $(cat "$t/uid.err")"
fi

# ==== idle timeout, and SIGTERM in the middle of a stream ====
start_helper idle "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" --idle-timeout 1
expect_status 0 client tail --url "http://127.0.0.1:$port/api/idle" --token-file "$t/token"
expect_grep 'idle for too long' "$t/out"
expect_grep '"limit":"idle".*"type":"helper-limit"' "$log"
start_helper stopping "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" --grace 1
stop_pid=$helper_pid
mkfifo "$t/tail.fifo"
client tail --url "http://127.0.0.1:$port/api/idle" --token-file "$t/token" >"$t/tail.fifo" &
tail_pid=$!
exec {tfd}<"$t/tail.fifo"
IFS= read -r -u "$tfd" line || line=""
check "the stream is open ($line)" [ "$line" = open ]
kill -TERM "$stop_pid"
status=0
wait "$stop_pid" || status=$?
check "the helper exits 0 on SIGTERM (got $status)" [ "$status" = 0 ]
cat <&"$tfd" >"$t/tail.rest"
wait "$tail_pid" || true
expect_grep 'shutting down' "$t/tail.rest"
expect_grep '^ended' "$t/tail.rest"
expect_grep '"helper":"stopping".*"type":"helper-stop"' "$log"
expect_grep '"helper":"remote".*"type":"helper-start"' "$log"

# ==== terminal injection: control bytes never reach the host user's terminal ====
# Any UID can send a request with ESC, BEL and CR in the method and target (no token needed);
# an upstream can put them in an SSE endpoint. The helper refuses the first with 400 before it
# logs anything of it; both end up in events, and `events tail` must print no control byte.
"$CA_PYTHON3" - "$http" >"$t/raw" <<'PY'
import socket, sys
host = b"Host: 127.0.0.1:" + sys.argv[1].encode() + b"\r\n\r\n"
for req in (b"GET /api/mcp\x1b]52;c;ZXZpbA==\x07\x1b[2K HTTP/1.1\r\n" + host,
            b"G\x1bT /api/mcp HTTP/1.1\r\n" + host):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(req)
    print(s.recv(4096).split(b"\r\n")[0].decode("ascii", "replace"))
    s.close()
PY
expect_grep '^HTTP/1.1 400' "$t/raw"
check "a control byte was accepted" test "$(grep -c '^HTTP/1.1 400' "$t/raw")" = 2
# (a helper of its own: the denials of one reason are aggregated per helper and minute)
start_helper esc "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem"
req "$port/api/esc-endpoint" -H 'Accept: text/event-stream'
expect_grep '"reason":"control-bytes".*"type":"helper-denied"' "$log"
expect_grep '"reason":"endpoint-origin".*"type":"helper-denied"' "$log"
expect_status 0 "$CA_BIN" events tail -n 50
check "events tail printed a control byte" test -z "$(LC_ALL=C grep -n "$(printf '[\x01-\x08\x0b-\x1f\x7f]')" "$t/out" || true)"
check "events tail printed a C1 control" test -z "$(grep -a "$(printf '\xc2\x9b')" "$t/out" || true)"
expect_grep 'x1b' "$t/out"
expect_status 0 "$CA_BIN" events tail -n 50 --json
check "events tail --json printed a control byte" test -z "$(LC_ALL=C grep -n "$(printf '[\x01-\x08\x0b-\x1f\x7f]')" "$t/out" || true)"
check "the log itself holds a raw control byte" test -z "$(LC_ALL=C grep -n "$(printf '[\x01-\x08\x0b-\x1f\x7f\x80-\xff]')" "$log" || true)"

# ==== a crash leaves no core anywhere; the helper is not dumpable and not in the workspace ====
# (core_pattern "core", the kernel's default, writes into the crashing process's directory: the
# repository, where agents run, and the core would hold the upstream credential and the token.)
mkdir -p "$t/crashws"
cd "$t/crashws"
ulimit -c unlimited
start_helper crash "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem"
crash_pid=$helper_pid
cd "$CA_SOURCE_DIR"
ulimit -S -c 0
check "the helper may dump core" grep -Eq '^Max core file size +0 +0 ' "/proc/$crash_pid/limits"
check "the helper's directory is not /: $(readlink "/proc/$crash_pid/cwd")" \
        test "$(readlink "/proc/$crash_pid/cwd")" = /
kill -SEGV "$crash_pid"
wait "$crash_pid" 2>/dev/null || true
cores=$(find "$t/crashws" / -maxdepth 1 -name 'core*' 2>/dev/null || true)
check "a core file was written: $cores" test -z "$cores"

# ==== 2000 idle connections from another UID: the agent still gets its answers ====
start_helper crowded "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem"
crowd=$port
crowd_pid=$helper_pid
# Another UID runs the system's python (a user's own interpreter may sit in a private home).
py_other=/usr/bin/python3
[ -x "$py_other" ] || skip "needs /usr/bin/python3 (Debian: python3)"
crowd_hold() { # UID COUNT: opens COUNT idle connections as UID, prints how many the helper kept
        setpriv --reuid "$1" --regid "$1" --clear-groups "$py_other" - "$crowd" "$2" <<'PY'
import resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
port, count = int(sys.argv[1]), int(sys.argv[2])
socks = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
# Connections the helper refused are closed at once (EOF); kept ones stay silent.
kept = 0
for s in socks:
    s.settimeout(0.5 if kept < 64 else 0.01)
    try:
        kept += s.recv(1) != b""
    except socket.timeout:
        kept += 1
    except OSError:
        pass
print(kept, flush=True)
sys.stdin.read()  # hold them until told
PY
}
mkfifo "$t/crowd.in" "$t/crowd.out"
crowd_hold 65534 2000 <"$t/crowd.in" >"$t/crowd.out" &
crowd_job=$!
exec {crowd_in}>"$t/crowd.in"
IFS= read -r kept <"$t/crowd.out"
check "the helper kept $kept connections of one other UID (cap 16)" test "${kept:-0}" -le 16
threads=$(find "/proc/$crowd_pid/task" -mindepth 1 -maxdepth 1 | wc -l)
check "the helper has $threads threads under the crowd" test "$threads" -lt 64
expect_status 0 client session --url "http://127.0.0.1:$crowd/api/mcp" --transport http \
        --token-file "$t/token"
expect_grep '"echo":"hello through the helper"' "$t/out"
exec {crowd_in}>&-
wait "$crowd_job" 2>/dev/null || true
expect_grep '"limit":"connections-per-uid".*"type":"helper-limit"' "$log"
# With --peer-uid (as in sessions), another UID is refused outright.
start_helper only "$origin/api/mcp" --ca-file "$t/helper-test-ca.pem" --peer-uid 0
only=$port
setpriv --reuid 65534 --regid 65534 --clear-groups "$py_other" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
sys.exit(0 if s.recv(1) == b"" else 1)' "$only" || fail "another UID got a connection to a --peer-uid helper"
expect_grep '"reason":"peer-uid".*"type":"helper-denied".*' "$log"
expect_status 0 client session --url "http://127.0.0.1:$only/api/mcp" --transport http \
        --token-file "$t/token"

# ==== 100k denials leave a bounded log ====
before_lines=$(wc -l <"$log")
"$CA_PYTHON3" - "$crowd" <<'PY'
import socket, sys
port = int(sys.argv[1])
req = b"GET /api/mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n" % port
done = 0
while done < 100000:
    s = socket.create_connection(("127.0.0.1", port))
    batch = 1000
    s.sendall(req * batch)
    got, buf = 0, b""
    while got < batch:
        data = s.recv(65536)
        if not data:
            break
        buf += data
        got = buf.count(b"HTTP/1.1 401")
    s.close()
    done += got
    if got == 0:
        sys.exit("no answers")
print(done)
PY
after_lines=$(wc -l <"$log")
check "100k denials added $((after_lines - before_lines)) events" test $((after_lines - before_lines)) -le 20
kill -TERM "$crowd_pid"
wait "$crowd_pid" 2>/dev/null || true
expect_grep '"reason":"missing-token".*"suppressed":[0-9]{5}.*"type":"helper-denied"' "$log"

# ==== usage ====
expect_status 0 "$helper" --help
expect_grep '^usage: mcp-helper' "$t/out"
expect_status 2 "$helper"
expect_status 2 "$helper" --upstream http://x/ --listen 127.0.0.1:1 --credential a --token-file b
expect_grep 'https URL' "$t/err"
expect_status 2 "$helper" --upstream https://x/ --listen 0.0.0.0:1 --credential a --token-file b
expect_status 2 "$helper" --upstream https://x/ --listen 127.0.0.1:1 --credential a --token-file b --pin nope

expect_status 0 "$CA_BIN" events verify
finish
