#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A complete session on a real Docker engine (started here): stdio servers behind their stubs
# (server-everything from the image, and one that needs a secret), remote servers behind
# helpers, reaching a real HTTPS MCP upstream (test CA, pinned) through the session's squid
# sidecar; Claude sees every server connected and the MCP SDK's client calls echo on each;
# what a hostile agentuser cannot do; a wrong pin; the kill switch; the events, in order.
# The "internet" is a test network on a documentation range (198.51.100.0/24) holding the
# upstream and the DNS server the proxy resolves through; nothing routes off the machine.
# shellcheck disable=SC2016 # single-quoted commands expand inside the container, not here
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"
# shellcheck source=tests/e2e/world.sh
. "$(dirname "$0")/world.sh"

e2e_sessions_up

# The outside world (an HTTPS MCP upstream and a DNS server on a documentation range), the
# session's configuration: secrets in the broker, the CA in the trust store.
complete_world session-client.mjs
world_servers "$wrong_pin" e2e-ca >"$TEST_TMP/wrong-pin.toml"

# ---- an engine without a default bridge (this one: dockerd --bridge=none) ------------------------
# Issue 22: a proxy-mode session there used to start with a sidecar that had no way out, and its
# end leaked the session's network (a stale sidecar endpoint) without session-removed. Now it is
# refused before anything exists, with the remedy; an internal network is no way out either.
nets_before=$(api GET /networks | "$CA_PYTHON3" -c 'import json,sys; print(sorted(n["Name"] for n in json.load(sys.stdin)))')
events_before=$(wc -l <"$log")
expect_status 2 "$CA_BIN" run claude "$ws" -- true
expect_grep "no default network 'bridge'.*Remedy: .*--proxy-network.*--network none" "$TEST_TMP/err"
docker network create --internal ca-e2e-closed >/dev/null
expect_status 2 "$CA_BIN" run claude "$ws" --proxy-network ca-e2e-closed -- true
expect_grep "network 'ca-e2e-closed' is internal" "$TEST_TMP/err"
docker network rm ca-e2e-closed >/dev/null
check "a refused session left a container: $(api GET '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.coding-agents.session%22%5D%7D')" \
        test "$(api GET '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.coding-agents.session%22%5D%7D')" = "[]"
check "a refused session left a network" test "$(api GET /networks | "$CA_PYTHON3" -c 'import json,sys; print(sorted(n["Name"] for n in json.load(sys.stdin)))')" = "$nets_before"
check "a refused session left a directory" test -z "$(ls -A "$CODING_AGENTS_CONFIG_DIR/sessions" 2>/dev/null)"
check "a refused session reached the broker" test -z "$(tail -n +"$((events_before + 1))" "$log" | grep -E '"type":"(capabilities-issued|session-start)"' || true)"

# The teardown leaves nothing whatever the engine's order: a session network holding the
# stale endpoint of a removed sidecar (made here the way that engine made it) is emptied and
# removed by rm, which records session-removed.
api POST /networks/create -H 'Content-Type: application/json' \
        -d '{"Name":"stale-1","Internal":true,"Labels":{"io.coding-agents.session":"stale-1","io.coding-agents.mode":"proxy"}}' >/dev/null
api POST /containers/create?name=stale-1-proxy -H 'Content-Type: application/json' \
        -d "{\"Image\":\"$image\",\"Entrypoint\":[\"/bin/sleep\",\"600\"],\"Labels\":{\"io.coding-agents.session\":\"stale-1\",\"io.coding-agents.mode\":\"proxy\"},\"HostConfig\":{\"NetworkMode\":\"stale-1\"}}" >/dev/null
api POST /networks/bridge/connect -H 'Content-Type: application/json' -d '{"Container":"stale-1-proxy"}' >/dev/null 2>&1 || true
api POST /containers/stale-1-proxy/start >/dev/null
api DELETE '/containers/stale-1-proxy?force=1' >/dev/null
if curl -sf --unix-socket "$TEST_TMP/docker.sock" -X DELETE http://localhost/v1.41/networks/stale-1 >/dev/null 2>&1; then
        # This engine let go of the endpoint by itself: the state to clean up is not there.
        api POST /networks/create -H 'Content-Type: application/json' \
                -d '{"Name":"stale-1","Internal":true,"Labels":{"io.coding-agents.session":"stale-1","io.coding-agents.mode":"proxy"}}' >/dev/null
        [ "${CI:-}" != true ] || fail "the engine no longer leaves a stale endpoint: rework this check"
fi
expect_status 0 "$CA_BIN" rm stale-1
check "rm left the stale network" test -z "$(api GET /networks | "$CA_PYTHON3" -c 'import json,sys; print(" ".join(n["Name"] for n in json.load(sys.stdin) if n["Name"] == "stale-1"))')"
expect_grep '"session":"stale-1".*"type":"session-removed"' "$log"

# ---- every server connected, for Claude and for the MCP SDK's client --------------------------------
expect_status 0 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/servers.toml" "${world[@]}" -- sh -c \
        'claude mcp list; node /workspace/session-client.mjs stdio:everything stdio:echo http:remote:52100 http:remote2:52101'
expect_grep '^everything: mcp-stub-everything +- ✔ Connected' "$TEST_TMP/out"
expect_grep '^echo: mcp-stub-echo +- ✔ Connected' "$TEST_TMP/out"
expect_grep '^remote: http://127\.0\.0\.1:52100/mcp \(HTTP\) - ✔ Connected' "$TEST_TMP/out"
expect_grep '^remote2: http://127\.0\.0\.1:52101/mcp \(HTTP\) - ✔ Connected' "$TEST_TMP/out"
expect_grep '^\{"server":"everything","name":"mcp-servers/everything","text":"Echo: hi everything"\}$' "$TEST_TMP/out"
expect_grep '^\{"server":"echo","name":"echo-mcp","text":"hi echo"\}$' "$TEST_TMP/out"
expect_grep '^\{"server":"remote","name":"upstream-e2e","text":"remote: hi remote"\}$' "$TEST_TMP/out"
expect_grep '^\{"server":"remote2","name":"upstream-e2e","text":"remote: hi remote2"\}$' "$TEST_TMP/out"
expect_grep 'stub launcher ready for 2 stdio servers' "$TEST_TMP/err"
expect_grep '2 helpers ready' "$TEST_TMP/err"
# The upstream saw the real credential on every request, and nothing else.
expect_grep '"auth":"ok"' "$world_log"
expect_no_grep '"auth":"(bad|missing)"' "$world_log"
run_session=$(sed -n 's/.*"session":"\(claude-repo-[0-9a-f]*\)".*"type":"session-start".*/\1/p' "$log" | tail -1)
check "no session-start event" test -n "$run_session"
check "the session's events are not in order" "$CA_PYTHON3" - "$log" "$run_session" <<'PY'
import json, sys
events = [e for e in map(json.loads, open(sys.argv[1])) if e.get("session") == sys.argv[2]]
types = [e["type"] for e in events]
want = ["session-config", "capabilities-issued", "helper-start", "helper-health", "stub-start",
        "capability-redeemed", "helper-stop", "session-stop", "capability-revoked",
        "session-removed"]
it = iter(types)
assert all(t in it for t in want), types
# One capability per server that needs one, each bound to that server's own UID.
issued = {e["fields"]["stub"]: e["fields"]["uid"] for e in events if e["type"] == "capabilities-issued"}
assert set(issued) == {"agent-cli", "echo", "remote", "remote2"}, issued
assert len(set(issued.values())) == 4, issued
redeemed = {e["fields"]["stub"] for e in events if e["type"] == "capability-redeemed"}
assert redeemed == set(issued), redeemed
helpers = {e["fields"]["helper"] for e in events if e["type"] == "helper-health"
           and e["fields"].get("status") == "ok"}
assert helpers == {"remote", "remote2"}, helpers
PY
# No secret anywhere but where it belongs: not in the log, not in the session's files.
expect_no_grep "$upstream_token" "$log"
check "run left its session directory" test -z "$(ls -A "$CODING_AGENTS_CONFIG_DIR/sessions")"

# ---- the proxy mode's container: an internal network, the sidecar its only peer, no resolver ---------
expect_status 0 "$CA_BIN" launch claude "$ws" --config "$TEST_TMP/servers.toml" "${world[@]}" -- sleep infinity
session=$(cat "$TEST_TMP/out")
api GET "/containers/$session/json" >"$TEST_TMP/inspect.json"
api GET "/containers/$session-proxy/json" >"$TEST_TMP/proxy.json"
api GET "/networks/$session" >"$TEST_TMP/net.json"
check "the session's network is not as documented" "$CA_PYTHON3" - "$TEST_TMP/inspect.json" \
        "$TEST_TMP/proxy.json" "$TEST_TMP/net.json" "$session" <<'PY'
import json, sys
agent, proxy, net = (json.load(open(p)) for p in sys.argv[1:4])
s = sys.argv[4]
assert agent["HostConfig"]["NetworkMode"] == s, agent["HostConfig"]["NetworkMode"]
assert list(agent["NetworkSettings"]["Networks"]) == [s], agent["NetworkSettings"]["Networks"]
assert sorted(proxy["NetworkSettings"]["Networks"]) == sorted([s, "ca-e2e-world"])
assert net["Internal"] is True and net["Options"]["com.docker.network.bridge.inhibit_ipv4"] == "true"
members = sorted(c["Name"] for c in net["Containers"].values())
assert members == sorted([s, s + "-proxy"]), members
assert any(b.endswith(":/etc/resolv.conf:ro,rprivate") for b in agent["HostConfig"]["Binds"])
assert sorted(proxy["HostConfig"]["CapAdd"]) == ["CHOWN", "DAC_OVERRIDE", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"]
assert proxy["HostConfig"]["ReadonlyRootfs"] is True
PY

# squid listens on the session's network only: a neighbour on the egress network (the
# upstream's container) cannot use the proxy (issue 17).
world_ip=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["NetworkSettings"]["Networks"]["ca-e2e-world"]["IPAddress"])' \
        "$TEST_TMP/proxy.json")
if docker exec ca-e2e-upstream node -e \
        'require("net").connect(3128, process.argv[1]).on("connect", () => process.exit(0)).on("error", () => process.exit(1))' \
        "$world_ip"; then
        fail "the session's proxy answers on the egress network ($world_ip:3128)"
else
        pass
fi
check "the session's proxy does not allow what it must, and only that" "$CA_PYTHON3" -c '
import json, sys
p = json.load(open(sys.argv[1]))
assert p["domains"] == sorted(["api.anthropic.com", "console.anthropic.com", "upstream.test"]), p["domains"]
assert p["connect_ports"] == [443, 8443], p["connect_ports"]' \
        "$CODING_AGENTS_CONFIG_DIR/sessions/$session/proxy/proxy.json"
expect_status 0 "$CA_BIN" list --json
check "list does not show the session once (and its proxy not as a session)" "$CA_PYTHON3" -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["session"] for r in rows] == [sys.argv[2]] and rows[0]["mode"] == "launch", rows' \
        "$TEST_TMP/out" "$session"

# As agentuser (a workload, an attached shell): every probe must fail.
hostile() {
        docker exec -u 1000:1000 "$session" sh -c "$1" >"$TEST_TMP/hostile" 2>&1
}
proxy_ip=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["NetworkSettings"]["Networks"][sys.argv[2]]["IPAddress"])' \
        "$TEST_TMP/proxy.json" "$session")
for probe in \
        'ls /run/coding-agents/helpers/remote' \
        'cat /run/coding-agents/helpers/remote/token' \
        'cat /run/coding-agents/helpers/remote/credential.json' \
        'ls /run/coding-agents/control' \
        'cat /run/coding-agents/control/helpers/remote.cred' \
        'cat /run/coding-agents/control/stubs/echo.cred' \
        'cat /run/coding-agents/control/events.log' \
        'test -e /run/coding-agents/control/broker.sock' \
        'ls /run/coding-agents/mcp/echo' \
        'cat /run/coding-agents/config/manifest.json' \
        'getent hosts upstream.test' \
        'getent hosts example.com' \
        'grep -l CODING_AGENTS_TOKEN /proc/[0-9]*/environ'; do
        if hostile "$probe"; then
                fail "agentuser could: $probe ($(cat "$TEST_TMP/hostile"))"
        else
                pass
        fi
done
# The network, probed with tests/e2e/probe.mjs: each answer is the reason it failed.
cp "$e2e_dir/probe.mjs" "$ws/"
chmod 0644 "$ws/probe.mjs"
probe() { # EXPECTED-REGEX ARGS...
        local want=$1
        shift
        if docker exec -u 1000:1000 "$session" node /workspace/probe.mjs "$@" >"$TEST_TMP/hostile" 2>&1; then
                fail "agentuser could: probe $* ($(cat "$TEST_TMP/hostile"))"
        else
                expect_grep "$want" "$TEST_TMP/hostile"
        fi
}
# The helper serves the agent CLI's UID only: agentuser's connection is dropped as it is
# accepted (issue 17), token or not; and the token is in the agent's environment alone.
probe '^(ECONNRESET|EPIPE)$' post http://127.0.0.1:52100/mcp
probe '^(ECONNRESET|EPIPE)$' post http://127.0.0.1:52100/mcp not-the-token-0123456789abcdef
check "agentcli without the token got no 401" test "$(docker exec -u 1001:1001 "$session" \
        node /workspace/probe.mjs post http://127.0.0.1:52100/mcp 2>&1 || true)" = 401
# No route anywhere but the proxy: not the upstream, not the metadata service, not a private host.
probe '^(ENETUNREACH|EHOSTUNREACH|timeout)$' post https://198.51.100.10:8443/mcp "$upstream_token"
probe '^(ENETUNREACH|EHOSTUNREACH|timeout)$' post http://169.254.169.254/latest/meta-data/
probe '^(ENETUNREACH|EHOSTUNREACH|timeout)$' post https://10.203.0.10:8443/mcp
# Through the proxy, the rules: metadata and private ranges refused, by name or address.
probe '^403$' proxy "$proxy_ip:3128" http://169.254.169.254/latest/meta-data/
probe '^403$' proxy "$proxy_ip:3128" http://10.203.0.10:8443/mcp
probe '^403$' proxy "$proxy_ip:3128" http://example.com/
# No resolver: names do not resolve inside.
probe '^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED)$' lookup upstream.test
probe '^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED)$' lookup example.com
# The private-range host is there, and reachable from the proxy's side (a bare TCP connection
# from inside the sidecar), yet it saw nothing.
check "the private-range host is not reachable from the sidecar: the probes prove nothing" \
        docker exec "$session-proxy" node -e \
        'require("net").connect(8443, "10.203.0.10").on("connect", () => process.exit(0)).on("error", () => process.exit(1))'
check "the private-range host got a request" test ! -s "$private_log"
check "the proxy's denials are not in the log" "$CA_PYTHON3" - "$log" "$session" <<'PY'
import json, sys
rules = {e["fields"]["rule"] for e in map(json.loads, open(sys.argv[1]))
         if e.get("session") == sys.argv[2] and e["type"] == "proxy-denied"}
assert {"metadata", "private-address", "domain"} <= rules, rules
PY
expect_grep '"reason":"peer-uid".*"type":"helper-denied"' "$log"
expect_grep '"reason":"missing-token".*"type":"helper-denied"' "$log"
# The resolver is gone: no nameserver, nothing answers on the agent's side.
check "the session has a resolver" docker exec -u 1000:1000 "$session" sh -c '! grep -q "^nameserver" /etc/resolv.conf'

# ---- a helper that dies is restarted, with events ------------------------------------------------
mkfifo "$TEST_TMP/restarted"
"$CA_BIN" events tail -f -n 0 --type helper-health --json >"$TEST_TMP/restarted" &
tail_pid=$!
exec {restarted_fd}<"$TEST_TMP/restarted"
# A crash, from outside (inside, hidepid hides a non-dumpable helper even from its own UID).
helper_pid=$(docker top "$session" -eo pid,args | awk '/mcp-helper --name remote / {print $1; exit}')
check "no helper process for remote" test -n "$helper_pid"
restart_event=
# (read -t: a safety net against a hang, not a synchronisation; the event ends the wait)
[ -z "$helper_pid" ] || kill -KILL "$helper_pid"
while [ -n "$helper_pid" ] && IFS= read -r -t 120 -u "$restarted_fd" line; do
        case $line in *'"check":"start"'*'"restarts":1'*) restart_event=$line; break ;; esac
done
kill "$tail_pid"
wait "$tail_pid" 2>/dev/null || true
exec {restarted_fd}<&-
check "no restart event: $restart_event" grep -q '"status":"ok"' <<<"$restart_event"
expect_grep '"reason":"exited".*"restart_in_ms":500.*"type":"helper-stop"' "$log"
# ... and it serves again (the local token still guards it).
check "the restarted helper does not ask agentcli for its token" test "$(docker exec -u 1001:1001 \
        "$session" node /workspace/probe.mjs post http://127.0.0.1:52100/mcp 2>&1 || true)" = 401

# ---- a wrong pin: the remote servers fail closed, with pin-mismatch events -------------------------
expect_status 0 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/wrong-pin.toml" "${world[@]}" -- claude mcp list
expect_grep '^remote: http://127\.0\.0\.1:52100/mcp \(HTTP\) - ✘ Failed to connect' "$TEST_TMP/out"
expect_grep '^echo: .* - ✔ Connected' "$TEST_TMP/out"
expect_grep '"helper":"remote".*"type":"pin-mismatch"' "$log"

# ---- the kill switch: container, sidecar, helpers, network gone; capabilities dead ------------------
"$CA_BIN" broker issue --session "$session" --stub probe --secret ECHO_SECRET --uid "$(id -u)" \
        --out "$TEST_TMP/cred" 2>"$TEST_TMP/err" || fail "broker issue: $(cat "$TEST_TMP/err")"
expect_status 0 "$CA_BIN" kill "$session"
expect_grep 'capabilities revoked' "$TEST_TMP/out"
for thing in "/containers/$session/json" "/containers/$session-proxy/json" "/networks/$session"; do
        check "kill left $thing" test "$(api GET "$thing" -o /dev/null -w '%{http_code}' || true)" = 404
done
expect_status 1 "$CA_BIN" broker redeem --credential "$TEST_TMP/cred" --stdout
expect_status 0 "$CA_BIN" events verify
# The complete run's signed report holds what the session had: its servers behind stubs and
# helpers, their capabilities, the proxy mode's enforcement.
expect_status 0 "$CA_BIN" audit "$run_session" -o "$TEST_TMP/audit.json"
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/audit.json"
check "the complete session's report lacks what it had" "$CA_PYTHON3" - "$TEST_TMP/audit.json" <<'PY'
import base64, json, sys
p = json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["predicate"]
assert "echo" in p["servers"]["stubs"] and "remote" in p["servers"]["helpers"], p["servers"]
assert p["servers"]["helpers"]["remote"]["trust"] in ("bundle", "system"), p["servers"]
assert p["servers"]["helpers"]["remote"]["uid"] >= 57000, p["servers"]
assert p["servers"]["stubs"]["echo"]["uid"] >= 61000, p["servers"]
issued = {c["stub"] for c in p["capabilities_issued"]}
assert {"echo", "remote"} <= issued, issued
assert p["capabilities_redeemed"], p
assert p["enforcement"]["network"] == p["session"], p["enforcement"]
assert p["launch"]["mode"] == "run" and p["state"] == "ended", p["launch"]
PY
# doctor --active in the proxy mode, through this world's proxy network: every UID's attempts
# blocked, also where the session has a network.
status=0
"$CA_BIN" doctor --active -o "$TEST_TMP/doctor.json" --json -- "${world[@]}" >"$TEST_TMP/out" \
        2>"$TEST_TMP/err" || status=$?
check "doctor --active (proxy) failed (status $status): $(cat "$TEST_TMP/out" "$TEST_TMP/err")" \
        test "$status" = 0 -o "$status" = 3
check "doctor --active (proxy) did not probe every UID" "$CA_PYTHON3" -c '
import json, sys
checks = {c["check"]: c for c in json.load(open(sys.argv[1]))["checks"]}
for u in ("agentuser", "agentcli", "mcp-server", "helper"):
    assert checks["active-" + u]["result"] == "ok", checks["active-" + u]' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/doctor.json"

# --network none: no sidecar, no network, remote servers left out (render says so).
expect_status 0 "$CA_BIN" run claude "$ws" --network none --config "$TEST_TMP/servers.toml" -- claude mcp list
expect_grep '^echo: .* - ✔ Connected' "$TEST_TMP/out"
expect_no_grep '^remote' "$TEST_TMP/out"
expect_grep "remote server 'remote' is unavailable with --network none" "$TEST_TMP/err"
# Bad input: clear messages, nothing started.
expect_status 2 "$CA_BIN" run claude "$ws" --network wifi
expect_status 2 "$CA_BIN" run claude "$ws" --proxy-resolver not-an-address
expect_status 2 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/servers.toml" --proxy-network no-such-network -- true
expect_grep "no network 'no-such-network' on the engine.*Remedy" "$TEST_TMP/err"
# A server whose secret the broker does not hold; a remote server with a placeholder in a
# header (only bearer_token_env_var reaches the upstream): refused before anything starts.
printf '[mcp_servers.lost]\ncommand = "node"\nenv = { K = "${NOT_STORED}" }\n[secrets]\nNOT_STORED = ["lost"]\n' \
        >"$TEST_TMP/lost.toml"
expect_status 1 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/lost.toml" "${world[@]}" -- true
expect_grep "issuing MCP server 'lost' its capability.*broker store" "$TEST_TMP/err"
printf '[mcp_servers.hdr]\nurl = "https://upstream.test:8443/mcp"\nheaders = { X-Key = "${UPSTREAM_TOKEN}" }\n[secrets]\nUPSTREAM_TOKEN = ["hdr"]\n' \
        >"$TEST_TMP/hdr.toml"
expect_status 2 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/hdr.toml" "${world[@]}" -- true
expect_grep "remote MCP server 'hdr': placeholders in its url or headers are not supported" "$TEST_TMP/err"
check "a refused session started a container" test "$(api GET '/containers/json?all=1' |
        "$CA_PYTHON3" -c 'import json,sys; print(len([c for c in json.load(sys.stdin) if "io.coding-agents.session" in c["Labels"]]))')" = 0
# A host whose resolv.conf names only a loopback resolver (systemd-resolved) and no
# --proxy-resolver: the proxy would have no DNS server. Said so, exit 2, nothing started.
printf 'nameserver 127.0.0.53\n' >"$TEST_TMP/resolv.conf"
expect_status 2 unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
        "$TEST_TMP/resolv.conf" "$CA_BIN" run claude "$ws" --proxy-network ca-e2e-world -- true
expect_grep 'no DNS server for the egress proxy.*--proxy-resolver' "$TEST_TMP/err"

# ---- no leaks ------------------------------------------------------------------------------------
world_down
check_no_leaks
finish
