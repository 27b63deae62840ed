#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attacks on a running broker by a capability's holder (issue 17): it has the credential file
# ({capability, key, socket}) every helper and stub launcher holds.
#   - the forger re-signs the record with that key, changing each field it can (secrets, uses,
#     window, binary binding, stub, id): every forgery is refused, and the second secret never
#     leaves the broker;
#   - a capability of the old format is refused with its reason;
#   - the exec-and-fork race: the attested process execs the bound binary while a forked sibling
#     holding the same connection reads the reply: refused.
# Needs root (the broker reads other processes' /proc entries as a root broker would).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (a root broker attests peers' executables)"
if [ ! -x "${CA_CAP_FORGE:-}" ] || [ ! -x "${CA_BROKER_RACE:-}" ]; then
        skip "CA_CAP_FORGE and CA_BROKER_RACE are not built"
fi

daemon=""
cleanup() {
        [ -z "$daemon" ] || { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true; }
        cleanup_tmp
}
trap cleanup EXIT
fifo="$TEST_TMP/ready"
mkfifo "$fifo"
"$CA_BIN" broker serve --ready-fd 3 3>"$fifo" 2>"$TEST_TMP/daemon.err" &
daemon=$!
IFS= read -r -n 1 ready <"$fifo" || true
check "the broker did not start" test "${ready:-}" = 1
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
last_denial() {
        "$CA_PYTHON3" -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
d = [e["fields"]["reason"] for e in d if e["type"] == "capability-denied"]
print(d[-1] if d else None)' "$log"
}

SECOND="second-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'first-value' | "$CA_BIN" broker store FIRST >/dev/null
printf '%s' "$SECOND" | "$CA_BIN" broker store SECOND >/dev/null

# Each forgery starts from a genuine capability for FIRST (bound to UID 0 and coding-agents
# itself, one use) in a session of its own, so that one forgery's denials (and the broker's
# backoff after repeated ones) do not hide the next one's.
# Another capability, for another stub, whose id the forger can borrow.
"$CA_BIN" broker issue --session forge-other --stub other --secret SECOND --uid 65534 \
        --out "$TEST_TMP/other.json" >/dev/null
other_id=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' \
        "$TEST_TMP/other.json" 2>/dev/null || true)
genuine() { # SESSION OUT
        "$CA_BIN" broker issue --session "$1" --stub helper --secret FIRST --uid 0 \
                --binary "$CA_BIN" --ttl 600 --out "$2" >/dev/null
}

forge() { # NAME FIELD=VALUE...
        local name=$1
        shift
        genuine "forge-$name" "$TEST_TMP/cred-$name.json"
        expect_status 0 "$CA_CAP_FORGE" "$TEST_TMP/cred-$name.json" "$TEST_TMP/forged-$name.json" "$@"
        if "$CA_BIN" broker redeem --credential "$TEST_TMP/forged-$name.json" --stdout \
                >"$TEST_TMP/value" 2>"$TEST_TMP/redeem.err"; then
                fail "the forgery '$name' ($*) was redeemed: $(head -c 80 "$TEST_TMP/value")"
        else
                pass
                check "forgery '$name': denial reason $(last_denial)" test "$(last_denial)" = bad-mac
        fi
        check "forgery '$name' got the second secret" test -z "$(grep -F "$SECOND" "$TEST_TMP/value" || true)"
}
forge secrets "secrets=SECOND"
forge more-secrets "secrets=FIRST,SECOND"
forge uses "max_uses=65535"
forge window "not_before=0" "expiry=99999999999"
forge unbound "binary=none"
forge rebound "binary=$(printf '%064d' 0)"
forge stub "stub=other"
[ -z "$other_id" ] || forge id "id=$other_id"
# The genuine one still works, exactly once; the forger's max_uses=65535 changes nothing after.
genuine forge-real "$TEST_TMP/cred.json"
"$CA_CAP_FORGE" "$TEST_TMP/cred.json" "$TEST_TMP/forged-more-uses.json" max_uses=65535 >/dev/null
expect_status 0 "$CA_BIN" broker redeem --credential "$TEST_TMP/cred.json" --stdout
check "the genuine capability gave another value" test "$(cat "$TEST_TMP/out")" = first-value
expect_status 1 "$CA_BIN" broker redeem --credential "$TEST_TMP/cred.json" --stdout
check "a spent capability: $(last_denial)" test "$(last_denial)" = already-used
expect_status 1 "$CA_BIN" broker redeem --credential "$TEST_TMP/forged-more-uses.json" --stdout
check "the second secret left the broker" test -z "$(grep -rF "$SECOND" "$TEST_TMP" --exclude-dir=config || true)"

# A capability of the old format (cap1, MACed under the holder's own key) is refused, and says so.
genuine forge-old "$TEST_TMP/cred-old.json"
"$CA_PYTHON3" - "$TEST_TMP/cred-old.json" "$TEST_TMP/old.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["capability"] = "cap1." + c["capability"].split(".", 1)[1]
json.dump(c, open(sys.argv[2], "w"))
PY
expect_status 2 "$CA_BIN" broker redeem --credential "$TEST_TMP/old.json" --stdout
expect_grep "a format this broker no longer accepts \(cap1\.; this version issues cap2\.\)" "$TEST_TMP/err"
# ... and by the daemon itself, whatever a client does first (the race tool skips the check).
"$CA_BROKER_RACE" "$TEST_TMP/old.json" "$(command -v true)" >"$TEST_TMP/race.out" 2>&1 || true
check "an old capability at the daemon: $(last_denial)" test "$(last_denial)" = unknown-version

# ---- the exec-and-fork race against the binary binding -------------------------------------------
sleep_bin=$(command -v sleep)
for mode in shared cloexec; do
        "$CA_BIN" broker issue --session "race-$mode" --stub racer --secret FIRST --uid 0 \
                --binary "$sleep_bin" --ttl 600 --out "$TEST_TMP/race.json" >/dev/null
        args=()
        [ "$mode" = shared ] || args=(--cloexec)
        code=0
        "$CA_BROKER_RACE" "${args[@]}" "$TEST_TMP/race.json" "$sleep_bin" 30 >"$TEST_TMP/race.out" 2>&1 || code=$?
        if grep -q '^got a secret' "$TEST_TMP/race.out"; then
                fail "the exec-and-fork race ($mode) got the secret"
        else
                expect_grep '^refused: denied$' "$TEST_TMP/race.out"
                check "race ($mode): denial reason $(last_denial)" test "$(last_denial)" = shared-socket
        fi
        check "the race ($mode) ended oddly ($code)" test "$code" -ne 0
done
# The bound binary, on a connection of its own, still redeems (the binding is not broken).
"$CA_BIN" broker issue --session self --stub self --secret FIRST --uid 0 --binary "$CA_BIN" \
        --ttl 600 --out "$TEST_TMP/self.json" >/dev/null
expect_status 0 "$CA_BIN" broker redeem --credential "$TEST_TMP/self.json" --stdout
# ---- writing a secret back (the update op, issue 19) -------------------------------------------------
# Only the model helper's capability (stub model-api) may write back, and only the login it was
# issued for: an MCP helper's capability, or the model helper's for another secret, is refused,
# and the secret keeps its value.
"$CA_BIN" broker issue --session upd-mcp --stub helper --secret FIRST --uid 0 --ttl 600 \
        --out "$TEST_TMP/upd-mcp.json" >/dev/null
expect_status 1 "$CA_CAP_FORGE" --update "$TEST_TMP/upd-mcp.json" FIRST overwritten
check "an MCP helper's capability wrote a secret back: $(last_denial)" test "$(last_denial)" = not-updatable
printf '{"claudeAiOauth":{"accessToken":"a","refreshToken":"r"}}' |
        "$CA_BIN" broker store AGENT_CLAUDE_CREDENTIALS >/dev/null
"$CA_BIN" broker issue --session upd-model --stub model-api --secret AGENT_CLAUDE_CREDENTIALS \
        --uid 0 --ttl 600 --out "$TEST_TMP/upd-model.json" >/dev/null
expect_status 1 "$CA_CAP_FORGE" --update "$TEST_TMP/upd-model.json" SECOND overwritten
check "the model helper's capability wrote another secret: $(last_denial)" test "$(last_denial)" = not-updatable
# Its own login, yes (a refresh).
expect_status 0 "$CA_CAP_FORGE" --update "$TEST_TMP/upd-model.json" AGENT_CLAUDE_CREDENTIALS \
        '{"claudeAiOauth":{"accessToken":"a2","refreshToken":"r2"}}'
expect_grep '"secret":"AGENT_CLAUDE_CREDENTIALS","stub":"model-api".*"type":"credential-updated"' "$log"
# Re-signed by its holder to say model-api: the forgery is refused before anything is written.
"$CA_CAP_FORGE" "$TEST_TMP/upd-mcp.json" "$TEST_TMP/upd-forged.json" stub=model-api >/dev/null
expect_status 1 "$CA_CAP_FORGE" --update "$TEST_TMP/upd-forged.json" FIRST overwritten
for name in FIRST SECOND; do
        "$CA_BIN" broker issue --session "upd-check-$name" --stub check --secret "$name" --uid 0 \
                --ttl 600 --out "$TEST_TMP/upd-check.json" >/dev/null
        expect_status 0 "$CA_BIN" broker redeem --credential "$TEST_TMP/upd-check.json" --stdout
        expect_no_grep 'overwritten' "$TEST_TMP/out"
done
expect_grep "$SECOND" "$TEST_TMP/out"

# ---- 100k refusals leave a bounded log ------------------------------------------------------------
# A peer can ask as fast as it likes (a bad request costs the broker nothing to refuse): the
# first refusal per session and reason a minute is recorded, then a count (issue 17).
"$CA_BIN" broker issue --session flood --stub flood --secret FIRST --uid 0 --ttl 600 \
        --out "$TEST_TMP/flood.json" >/dev/null
before=$(wc -l <"$log")
"$CA_PYTHON3" - "$TEST_TMP/flood.json" <<'PY'
import json, socket, sys
path = json.load(open(sys.argv[1]))["socket"]
for i in range(100000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(b'{"op":"redeem"}')
    s.recv(4096)
    s.close()
PY
after=$(wc -l <"$log")
check "100k refusals added $((after - before)) events" test $((after - before)) -le 20
kill "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=""
check "the refusals' count is not in the log" "$CA_PYTHON3" -c '
import json, sys
# Each recorded refusal is one, plus what it (or a summary, which is none itself) counts.
n = sum(e["fields"].get("suppressed", 0) + (0 if e["fields"].get("summary") else 1)
        for e in map(json.loads, open(sys.argv[1]))
        if e["type"] == "capability-denied" and e.get("session") == "flood")
assert n == 100000, n' "$log"
finish
