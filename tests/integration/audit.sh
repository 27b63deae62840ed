#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coding-agents audit (issue 20): a session's signed report, made from the event log; verify
# accepts it, and refuses it with one byte changed, with a wrong key, and once the log was
# edited after signing; an independent DSSE verifier (securesystemslib's Ed25519 and the
# specification's PAE, written here) accepts it, and its statement has in-toto's layout.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
: "${CA_EVENT_WRITER:?}"

# Debian's python3-securesystemslib, so Debian's interpreter (CA_PYTHON3 may be another).
py=/usr/bin/python3
"$py" -c 'import securesystemslib.signer' 2>/dev/null ||
        skip "python3-securesystemslib is needed (the independent DSSE verifier)"
export CODING_AGENTS_CONFIG_DIR="$TEST_TMP/cfg"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
# Two sessions' events interleaved: the report holds test-session's only.
"$CA_EVENT_WRITER" "$log" stub-start github 2
"$CA_EVENT_WRITER" "$log" capability-denied bad-mac 3
"$CA_EVENT_WRITER" "$log" exec-routed bash 4

# ---- the report -----------------------------------------------------------------------------------
expect_status 0 "$CA_BIN" audit test-session -o "$TEST_TMP/report.json"
check "the audit key is not 0600" test "$(stat -c %a "$CODING_AGENTS_CONFIG_DIR/audit.key")" = 600
expect_status 0 "$CA_BIN" events tail -n 1 --type audit-agent
expect_grep 'audit-agent +events=9 +first_seq=1 .*last_seq=9 .*subject=test-session' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" audit key
pub=$(cat "$TEST_TMP/out")
check "audit key printed no public key" grep -Eq '^[0-9a-f]{64}$' <<<"$pub"

expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/report.json" --text
expect_grep '^ok: signed by audit key [0-9a-f]{64}; matches the event log$' "$TEST_TMP/out"
expect_grep '^denied capability-denied: 3 +bad-mac=3$' "$TEST_TMP/out"
expect_grep '^exec exec-routed: 4 +bash=4$' "$TEST_TMP/out"
expect_grep '^chain: +9 events, seq 1 ' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/report.json" --pubkey "$pub"
printf '%s\n' "$pub" >"$TEST_TMP/pub.hex"
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/report.json" --pubkey "$TEST_TMP/pub.hex" --no-log
expect_grep 'the signature only' "$TEST_TMP/out"

# ---- an independent verifier, and in-toto's layout ----------------------------------------------
check "an independent DSSE verifier refused the report" "$py" - "$TEST_TMP/report.json" \
        "$pub" "$log" <<'PY'
import base64, hashlib, json, sys
from securesystemslib.signer import Signature, SSlibKey
env = json.load(open(sys.argv[1]))
pub = sys.argv[2]
payload = base64.b64decode(env["payload"], validate=True)
ptype = env["payloadType"]
assert ptype == "application/vnd.in-toto+json", ptype
# DSSE v1.0: PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
pae = b"DSSEv1 %d %s %d %s" % (len(ptype.encode()), ptype.encode(), len(payload), payload)
keyid = hashlib.sha256(bytes.fromhex(pub)).hexdigest()
key = SSlibKey(keyid, "ed25519", "ed25519", {"public": pub})
(sig,) = env["signatures"]
assert sig["keyid"] == keyid
key.verify_signature(Signature(keyid, base64.b64decode(sig["sig"]).hex()), pae)
st = json.loads(payload)
assert st["_type"] == "https://in-toto.io/Statement/v1"
assert st["predicateType"].startswith("https://")
(subject,) = st["subject"]
assert subject["name"] == "session/test-session"
# The subject digest is the session's event lines, recomputed from the log here.
h = hashlib.sha256()
for line in open(sys.argv[3], "rb"):
    if json.loads(line).get("session") == "test-session":
        h.update(line)
assert subject["digest"] == {"sha256": h.hexdigest()}, (subject, h.hexdigest())
p = st["predicate"]
assert p["session"] == "test-session" and p["chain"]["events"] == 9
assert p["denials"]["capability-denied"]["total"] == 3
PY
check "the independent verifier accepted a changed payload" "$py" - "$TEST_TMP/report.json" \
        "$pub" <<'PY'
import base64, hashlib, json, sys
from securesystemslib.signer import Signature, SSlibKey
env = json.load(open(sys.argv[1]))
payload = base64.b64decode(env["payload"]).replace(b'"total":3', b'"total":0')
ptype = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
keyid = hashlib.sha256(bytes.fromhex(sys.argv[2])).hexdigest()
key = SSlibKey(keyid, "ed25519", "ed25519", {"public": sys.argv[2]})
try:
    key.verify_signature(Signature(keyid, base64.b64decode(env["signatures"][0]["sig"]).hex()), pae)
except Exception:
    sys.exit(0)
sys.exit(1)
PY

# ---- refusals -------------------------------------------------------------------------------------
# One byte of the payload changed (a count lowered), the envelope otherwise intact.
"$py" - "$TEST_TMP/report.json" "$TEST_TMP/changed.json" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
p = base64.b64decode(env["payload"])
assert p.count(b'"total":3') == 1
env["payload"] = base64.b64encode(p.replace(b'"total":3', b'"total":2')).decode()
json.dump(env, open(sys.argv[2], "w"))
PY
expect_status 1 "$CA_BIN" audit verify "$TEST_TMP/changed.json"
expect_grep 'FAILED: the signature does not verify with key' "$TEST_TMP/err"
# One byte of the signature changed.
"$py" - "$TEST_TMP/report.json" "$TEST_TMP/badsig.json" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
s = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
s[10] ^= 1
env["signatures"][0]["sig"] = base64.b64encode(bytes(s)).decode()
json.dump(env, open(sys.argv[2], "w"))
PY
expect_status 1 "$CA_BIN" audit verify "$TEST_TMP/badsig.json"
# A wrong key.
other=$(printf '%064d' 7)
expect_status 1 "$CA_BIN" audit verify "$TEST_TMP/report.json" --pubkey "$other"
expect_grep 'FAILED: no signature by key' "$TEST_TMP/err"
# The log grows (a live session): the report still holds.
"$CA_EVENT_WRITER" "$log" stub-start later 1
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/report.json"
# The log edited after signing, its chain rewritten consistently (someone with write access to
# the file): one of the session's denials dropped. The signature holds; the log no longer
# matches it.
"$py" - "$log" <<'PY'
import hashlib, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
lines = [e for e in lines if not (e["type"] == "capability-denied" and e["fields"]["op"] == 1)]
prev = "0" * 64
with open(sys.argv[1], "w") as f:
    for n, e in enumerate(lines, 1):
        e["seq"], e["prev"] = n, prev
        line = json.dumps(e, sort_keys=True, separators=(",", ":"))
        prev = hashlib.sha256(line.encode()).hexdigest()
        f.write(line + "\n")
PY
expect_status 0 "$CA_BIN" events verify
expect_status 1 "$CA_BIN" audit verify "$TEST_TMP/report.json"
expect_grep 'FAILED: the report does not match the event log' "$TEST_TMP/err"
# An edit that breaks the chain is refused as such.
sed -i '2s/"name":"github"/"name":"gitlab"/' "$log"
expect_status 1 "$CA_BIN" audit verify "$TEST_TMP/report.json"
expect_status 1 "$CA_BIN" audit test-session
expect_grep "chain is broken between lines 2 and 3" "$TEST_TMP/err"

# The image's probe refuses to run anywhere but inside a session (its connects would be real).
expect_status 2 "$(dirname "$CA_BIN")/ca-probe"
expect_grep 'runs inside a coding-agents session only' "$TEST_TMP/err"

# ---- bad input and unsafe keys ----------------------------------------------------------------------
expect_status 2 "$CA_BIN" audit
expect_status 2 "$CA_BIN" audit verify
expect_status 2 "$CA_BIN" audit test-session --bogus
expect_status 2 "$CA_BIN" audit $'bad\x1b[2Jname'
expect_grep "'bad.x1b\[2Jname' is not a session name" "$TEST_TMP/err"
echo 'not json' >"$TEST_TMP/junk.json"
expect_status 2 "$CA_BIN" audit verify "$TEST_TMP/junk.json"
echo '{"payload":"e30=","payloadType":"text/plain","signatures":[{"keyid":"","sig":""}]}' \
        >"$TEST_TMP/other.json"
expect_status 2 "$CA_BIN" audit verify "$TEST_TMP/other.json"
expect_grep 'payload type is not application/vnd.in-toto\+json' "$TEST_TMP/err"
expect_status 2 "$CA_BIN" audit verify "$TEST_TMP/report.json" --pubkey "$TEST_TMP/junk.json"
expect_status 2 "$CA_BIN" audit no-such-session --log "$TEST_TMP/report.json"
export CODING_AGENTS_CONFIG_DIR="$TEST_TMP/cfg2"
"$CA_EVENT_WRITER" "$CODING_AGENTS_CONFIG_DIR/security-events.log" stub-start x 1
expect_status 1 "$CA_BIN" audit no-such-session
expect_grep "no event of session 'no-such-session'" "$TEST_TMP/err"
expect_status 2 "$CA_BIN" audit verify "$TEST_TMP/report.json"
expect_grep 'this host has no audit key' "$TEST_TMP/err"
expect_status 0 "$CA_BIN" audit test-session -o "$TEST_TMP/r2.json"
chmod 0644 "$CODING_AGENTS_CONFIG_DIR/audit.key"
expect_status 1 "$CA_BIN" audit test-session
expect_grep "must be a regular file of this user, mode 0600 \(it is 0644\)" "$TEST_TMP/err"
check "a report was written with an unsafe key" test ! -e "$TEST_TMP/r3.json"
finish
