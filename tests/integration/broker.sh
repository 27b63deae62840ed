#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The secret broker end to end: a real daemon, real SOCK_SEQPACKET sockets, real processes of
# other UIDs reaching a bind-mounted session socket (as in a container), and both sides of the
# attestation matrix (root broker reads the peer's executable; a non-root broker cannot and
# relies on uid + cgroup + pidfd). Needs root (CI runs as root).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (other UIDs, mount namespaces)"
if ! command -v unshare >/dev/null || ! command -v setpriv >/dev/null ||
        ! command -v inotifywait >/dev/null; then
        skip "needs unshare, setpriv and inotifywait"
fi

SENTINEL="ghp_SENTINEL_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
NOBODY=65534
OTHER=65533
daemon_pids=()

stop_daemons() {
        local p
        for p in "${daemon_pids[@]}"; do
                kill "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        daemon_pids=()
}
cleanup() {
        stop_daemons
        cleanup_tmp
}
trap cleanup EXIT

# A world-traversable area for what other UIDs must reach: a copy of the binary, credentials.
chmod 711 "$TEST_TMP"
pub="$TEST_TMP/pub"
mkdir -m 755 "$pub" "$pub/bin"
copy_host_programs "$pub/bin"
bin="$pub/bin/coding-agents"

# start_daemon [RUN_AS_UID]: starts `broker serve` for $CODING_AGENTS_CONFIG_DIR and waits for
# its readiness byte on a FIFO (no sleeps).
start_daemon() {
        local fifo="$TEST_TMP/ready.$RANDOM" prefix=() ready=""
        mkfifo "$fifo"
        if [ -n "${1:-}" ]; then
                chmod 666 "$fifo"
                prefix=(setpriv --reuid "$1" --regid "$1" --clear-groups)
        fi
        "${prefix[@]}" "$bin" broker serve --ready-fd 3 3>"$fifo" 2>>"$TEST_TMP/daemon.err" &
        daemon_pids+=("$!")
        if ! IFS= read -r -t 30 -n 1 ready <"$fifo" || [ "$ready" != 1 ]; then
                fail "the broker did not become ready: $(tail -n 3 "$TEST_TMP/daemon.err")"
                finish
        fi
        rm -f "$fifo"
}

# redeem_as UID CRED [SOCKET]: redeems CRED as UID through a bind mount of the session socket in
# a private mount namespace; the value lands in $TEST_TMP/value.
redeem_as() {
        local uid=$1 cred=$2 sock=${3:-} target
        target="$pub/target.$RANDOM.sock"
        [ -n "$sock" ] || sock=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["socket"])' "$cred")
        cp "$cred" "$pub/cred.json"
        chmod 644 "$pub/cred.json"
        # shellcheck disable=SC2016 # the inner script takes its values as "$1".."$5"
        unshare --mount --propagation private bash -c '
                touch "$1" && mount --bind "$2" "$1" &&
                exec setpriv --reuid "$3" --regid "$3" --clear-groups \
                        "$4" broker redeem --credential "$5" --socket "$1" --stdout' \
                _ "$target" "$sock" "$uid" "$bin" "$pub/cred.json" >"$TEST_TMP/value" 2>"$TEST_TMP/redeem.err"
}

last_denial() {
        "$CA_PYTHON3" - "$CODING_AGENTS_CONFIG_DIR/security-events.log" <<'PY'
import json, sys
last = None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "capability-denied":
        last = e["fields"]["reason"]
print(last)
PY
}

expect_denied() {
        local want=$1
        shift
        if "$@" >"$TEST_TMP/value" 2>"$TEST_TMP/redeem.err"; then
                fail "redemption succeeded, expected denial '$want'"
                return
        fi
        expect_grep '^coding-agents: broker: denied$' "$TEST_TMP/redeem.err"
        local got
        got=$(last_denial)
        check "denial reason '$got', expected '$want'" [ "$got" = "$want" ]
}

issue() {
        "$bin" broker issue "$@"
}

# ---- a root broker -------------------------------------------------------------------------
export CODING_AGENTS_CONFIG_DIR="$TEST_TMP/config"
start_daemon
printf '%s' "$SENTINEL" | "$bin" broker store GITHUB_TOKEN >/dev/null
printf 'second-value' | "$bin" broker store OTHER >/dev/null
expect_status 0 "$bin" broker list && expect_grep '^GITHUB_TOKEN ' "$TEST_TMP/out"
expect_no_grep "$SENTINEL" "$TEST_TMP/out"
expect_status 2 "$bin" broker store 1BAD </dev/null
expect_status 2 "$bin" broker issue --session s1 --stub github --secret GITHUB_TOKEN
expect_status 1 "$bin" broker issue --session s1 --stub github --secret NOPE --uid 0
expect_grep "no secret named 'NOPE'" "$TEST_TMP/err"
# The launcher's own secrets (agent logins) go to its own stubs only: the daemon's policy.
printf 'login' | "$bin" broker store AGENT_CLAUDE_CREDENTIALS >/dev/null
expect_status 1 "$bin" broker issue --session s1 --stub github --secret AGENT_CLAUDE_CREDENTIALS --uid 0
expect_grep "reserved secret" "$TEST_TMP/err"
expect_grep '"op":"issue","reason":"reserved-secret".*"stub":"github".*"type":"capability-denied"' \
        "$CODING_AGENTS_CONFIG_DIR/security-events.log"
expect_status 0 "$bin" broker issue --session s1 --stub agent-cli --secret AGENT_CLAUDE_CREDENTIALS --uid 0

# Issue and redeem as the same uid: the value arrives, byte for byte, exactly once.
issue --session s1 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c1.json" >/dev/null
check "credential file is not 0600" [ "$(stat -c %a "$TEST_TMP/c1.json")" = 600 ]
expect_status 0 "$bin" broker redeem --credential "$TEST_TMP/c1.json" --stdout
check "redeemed value differs" [ "$(cat "$TEST_TMP/out")" = "$SENTINEL" ]
expect_denied already-used "$bin" broker redeem --credential "$TEST_TMP/c1.json" --stdout
# --fd: the value goes to the descriptor, nothing to stdout.
issue --session s1 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c1b.json" >/dev/null
"$bin" broker redeem --credential "$TEST_TMP/c1b.json" --fd 7 7>"$TEST_TMP/fdvalue" >"$TEST_TMP/out"
check "--fd wrote elsewhere" [ "$(cat "$TEST_TMP/fdvalue")" = "$SENTINEL" ] && check "--fd printed" [ ! -s "$TEST_TMP/out" ]
expect_status 2 "$bin" broker redeem --credential "$TEST_TMP/c1b.json"

# Wrong session socket: a capability of s1 presented at s2's socket.
issue --session s2 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c2.json" >/dev/null
issue --session s1 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c3.json" >/dev/null
s2sock=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["socket"])' "$TEST_TMP/c2.json")
expect_denied wrong-session "$bin" broker redeem --credential "$TEST_TMP/c3.json" --socket "$s2sock" --stdout

# Forged MAC: one character of the capability changed.
"$CA_PYTHON3" - "$TEST_TMP/c3.json" "$TEST_TMP/forged.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
cap = c["capability"]
i = len(cap) - 5
c["capability"] = cap[:i] + ("A" if cap[i] != "A" else "B") + cap[i + 1:]
json.dump(c, open(sys.argv[2], "w"))
PY
expect_denied bad-mac "$bin" broker redeem --credential "$TEST_TMP/forged.json" --stdout
# A wrong key: the request's proof does not verify.
"$CA_PYTHON3" - "$TEST_TMP/c3.json" "$TEST_TMP/wrongkey.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["key"] = "00" * 32
json.dump(c, open(sys.argv[2], "w"))
PY
expect_denied bad-proof "$bin" broker redeem --credential "$TEST_TMP/wrongkey.json" --stdout

# Revocation of one capability, then of the whole session (kill).
issue --session s3 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c4.json" >/dev/null
issue --session s3 --stub other --secret OTHER --uid 0 --out "$TEST_TMP/c5.json" >/dev/null
capid=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TEST_TMP/c4.json")
expect_status 0 "$bin" broker revoke --cap "$capid"
expect_denied revoked "$bin" broker redeem --credential "$TEST_TMP/c4.json" --stdout
expect_status 0 "$bin" kill s3
expect_status 0 "$bin" kill s3
expect_status 1 "$bin" broker redeem --credential "$TEST_TMP/c5.json" --stdout
expect_grep "cannot connect" "$TEST_TMP/err"
expect_status 0 "$bin" broker dump --session s3 --json
expect_grep '"revoked": true' "$TEST_TMP/out"
expect_status 1 "$bin" broker issue --session s3 --stub other --secret OTHER --uid 0
expect_grep 'revoked' "$TEST_TMP/err"

# Attestation, root broker: the uid must match; a process of the right uid gets in through the
# bind-mounted socket; the executable hash is checked; the cgroup must contain the peer.
issue --session s4 --stub github --secret GITHUB_TOKEN --uid "$NOBODY" --out "$TEST_TMP/c6.json" >/dev/null
expect_denied wrong-uid "$bin" broker redeem --credential "$TEST_TMP/c6.json" --stdout
issue --session s4 --stub github --secret GITHUB_TOKEN --uid "$NOBODY" --binary "$bin" --out "$TEST_TMP/c7.json" >/dev/null
if redeem_as "$NOBODY" "$TEST_TMP/c7.json"; then
        check "value for nobody differs" [ "$(cat "$TEST_TMP/value")" = "$SENTINEL" ]
else
        fail "redeem as nobody failed: $(cat "$TEST_TMP/redeem.err")"
fi
issue --session s4 --stub github --secret GITHUB_TOKEN --uid "$NOBODY" --binary /bin/true --out "$TEST_TMP/c8.json" >/dev/null
redeem_as "$NOBODY" "$TEST_TMP/c8.json" || true
check "wrong binary not denied" [ "$(last_denial)" = wrong-binary ]
mycg=$(awk -F: '$3 != "/" {print $3; exit}' /proc/self/cgroup)
[ -n "$mycg" ] || mycg=/
issue --session s5 --stub github --secret GITHUB_TOKEN --uid 0 --cgroup "$mycg" --out "$TEST_TMP/c9.json" >/dev/null
expect_status 0 "$bin" broker redeem --credential "$TEST_TMP/c9.json" --stdout
issue --session s5 --stub github --secret GITHUB_TOKEN --uid 0 --cgroup /not/this/container --out "$TEST_TMP/c10.json" >/dev/null
expect_denied wrong-cgroup "$bin" broker redeem --credential "$TEST_TMP/c10.json" --stdout

# Backoff: after repeated failures on a session socket even a valid capability waits.
issue --session s6 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c11.json" >/dev/null
issue --session s6 --stub github --secret GITHUB_TOKEN --uid "$NOBODY" --out "$TEST_TMP/c12.json" >/dev/null
for _ in 1 2 3; do
        "$bin" broker redeem --credential "$TEST_TMP/c12.json" --stdout >/dev/null 2>&1 || true
done
expect_denied backoff "$bin" broker redeem --credential "$TEST_TMP/c11.json" --stdout

# Quota: a session holds at most 256 capabilities.
for i in $(seq 1 256); do
        issue --session quota --stub github --secret GITHUB_TOKEN --uid 0 >/dev/null
done
expect_status 1 "$bin" broker issue --session quota --stub github --secret GITHUB_TOKEN --uid 0
expect_grep 'quota' "$TEST_TMP/err"
expect_status 0 "$bin" kill quota

# 32 concurrent redeemers of one capability: exactly one wins, every round. (A session per
# round: the 31 losers are failures, and failures on a session socket start a backoff.)
for round in $(seq 1 10); do
        issue --session "race$round" --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/race.json" >/dev/null
        pids=()
        for i in $(seq 1 32); do
                "$bin" broker redeem --credential "$TEST_TMP/race.json" --stdout >"$TEST_TMP/race.$i" 2>/dev/null &
                pids+=("$!")
        done
        wins=0
        for i in $(seq 1 32); do
                if wait "${pids[$((i - 1))]}"; then
                        wins=$((wins + 1))
                fi
        done
        check "round $round: $wins of 32 concurrent redeemers succeeded" [ "$wins" -eq 1 ]
done

# Expiry: when a session's last capability expires, its socket goes away. inotifywait reports
# "Watches established" before the capability is issued, then the deletion: no sleeps.
sessions_dir="$CODING_AGENTS_CONFIG_DIR/broker.d/run/sessions"
coproc WATCH { inotifywait -t 30 -e delete --include 'shortlived\.sock$' "$sessions_dir" 2>&1; }
line=""
while [[ "$line" != *"Watches established"* ]] && IFS= read -r -t 30 line <&"${WATCH[0]}"; do
        :
done
if [[ "$line" == *"Watches established"* ]]; then
        issue --session shortlived --stub github --secret GITHUB_TOKEN --uid 0 --ttl 1s >/dev/null
        if IFS= read -r -t 30 line <&"${WATCH[0]}" && [[ "$line" == *"DELETE shortlived.sock"* ]]; then
                pass
        else
                fail "the socket of an expired session was not removed: '${line:-}'"
        fi
else
        fail "inotifywait did not start: '${line:-}'"
fi
# (bash unsets WATCH_PID once the coprocess has ended: under set -u a bare reference aborted.)
[ -z "${WATCH_PID:-}" ] || wait "$WATCH_PID" 2>/dev/null || true

# Restart: live sessions get their sockets back; used capabilities stay used.
issue --session s7 --stub github --secret GITHUB_TOKEN --uid 0 --out "$TEST_TMP/c13.json" >/dev/null
stop_daemons
start_daemon
expect_status 0 "$bin" broker redeem --credential "$TEST_TMP/c13.json" --stdout
expect_denied already-used "$bin" broker redeem --credential "$TEST_TMP/c1.json" --stdout

# One daemon per config root.
expect_status 1 "$bin" broker serve
expect_grep 'already running' "$TEST_TMP/err"
expect_status 0 "$bin" broker health && expect_grep '^broker: up' "$TEST_TMP/out"

# The event log: intact, in order, and never a secret value anywhere on disk.
expect_status 0 "$bin" events verify
check "event order" "$CA_PYTHON3" - "$CODING_AGENTS_CONFIG_DIR/security-events.log" <<'PY'
import json, sys
types = [json.loads(l)["type"] for l in open(sys.argv[1])]
assert types[0] == "broker-start", types[:3]
i = types.index("capabilities-issued")
assert "capability-redeemed" in types[i:], "no redemption after the first issue"
assert "capability-revoked" in types and "broker-stop" in types
PY
if grep -rqF "$SENTINEL" "$CODING_AGENTS_CONFIG_DIR"; then
        fail "the sentinel secret is on disk: $(grep -rlF "$SENTINEL" "$CODING_AGENTS_CONFIG_DIR")"
else
        pass
fi
stop_daemons

# Auto-start: the first admin command starts a daemon; it is found again afterwards.
export CODING_AGENTS_CONFIG_DIR="$TEST_TMP/auto"
expect_status 0 "$bin" broker health
autopid=$(sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p' "$TEST_TMP/out")
check "auto-started daemon not found" kill -0 "$autopid"
expect_status 0 "$bin" broker health && expect_grep "pid $autopid," "$TEST_TMP/out"
kill "$autopid"

# ---- the other side of the matrix: a non-root broker --------------------------------------
# It may not read another user's /proc/<pid>/exe: a binary-bound capability is honoured only
# when the session is also bound to a cgroup (uid + cgroup + pidfd), else refused.
export CODING_AGENTS_CONFIG_DIR="$pub/nobody-config"
mkdir -m 700 "$CODING_AGENTS_CONFIG_DIR"
chown "$NOBODY:$NOBODY" "$CODING_AGENTS_CONFIG_DIR"
start_daemon "$NOBODY"
as_nobody=(setpriv --reuid "$NOBODY" --regid "$NOBODY" --clear-groups)
printf '%s' "$SENTINEL" | "${as_nobody[@]}" "$bin" broker store GITHUB_TOKEN >/dev/null
"${as_nobody[@]}" "$bin" broker issue --session n1 --stub github --secret GITHUB_TOKEN --uid "$OTHER" \
        --binary "$bin" --cgroup "$mycg" >"$TEST_TMP/n1.json"
if redeem_as "$OTHER" "$TEST_TMP/n1.json"; then
        check "non-root broker value differs" [ "$(cat "$TEST_TMP/value")" = "$SENTINEL" ]
else
        fail "non-root broker refused a cgroup-bound peer: $(cat "$TEST_TMP/redeem.err")"
fi
"${as_nobody[@]}" "$bin" broker issue --session n1 --stub github --secret GITHUB_TOKEN --uid "$OTHER" \
        --binary "$bin" >"$TEST_TMP/n2.json"
redeem_as "$OTHER" "$TEST_TMP/n2.json" || true
check "non-root broker without cgroup binding was not refused" [ "$(last_denial)" = unattestable ]
# The admin socket serves its owner only: root (another uid) is refused.
expect_status 1 "$bin" broker health
expect_grep 'serves its owner only' "$TEST_TMP/err"
stop_daemons
finish
