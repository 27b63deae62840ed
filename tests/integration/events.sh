#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The event log end to end: concurrent writer processes never break the chain, and
# `events verify` finds a modified, a deleted and a reordered line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

: "${CA_EVENT_WRITER:?}"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"

# No log yet: a clear runtime error.
expect_status 1 "$CA_BIN" events verify
expect_grep "cannot open event log '$log'" "$TEST_TMP/err"

# 8 processes x 250 events at once.
pids=()
for w in 1 2 3 4 5 6 7 8; do
        "$CA_EVENT_WRITER" "$log" stub-start "w$w" 250 &
        pids+=("$!")
done
for p in "${pids[@]}"; do
        wait "$p" || fail "writer $p failed"
done
expect_status 0 "$CA_BIN" events verify
expect_grep '^ok: 2000 events, chain intact, head [0-9a-f]{64}$' "$TEST_TMP/out"
# Every writer's events are all there, in its own order.
check "writers' events lost or out of order" "$CA_PYTHON3" - "$log" <<'PY'
import json, sys
seen = {}
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    assert e["seq"] == n
    w, i = e["fields"]["name"], e["fields"]["uid"]  # stub-start: the writer, its count
    assert seen.get(w, -1) == i - 1, (w, i)
    seen[w] = i
assert sorted(seen.values()) == [249] * 8
PY

# tail: last N, type filter, JSON.
"$CA_EVENT_WRITER" "$log" capability-denied w9 3
expect_status 0 "$CA_BIN" events tail -n 2
check "tail -n 2 printed $(wc -l <"$TEST_TMP/out") lines" [ "$(wc -l <"$TEST_TMP/out")" -eq 2 ]
expect_grep 'capability-denied +session=test-session +op=2 +reason=w9' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" events tail -n 100 --type stub-start --json
check "tail --type printed the wrong count" [ "$(wc -l <"$TEST_TMP/out")" -eq 100 ]
expect_no_grep 'capability-denied' "$TEST_TMP/out"

cp "$log" "$TEST_TMP/pristine.log"
# Modified line 10 (same length, still valid JSON): verify names line 10.
sed '10s/"name":"w/"name":"x/' "$TEST_TMP/pristine.log" >"$log"
cmp -s "$log" "$TEST_TMP/pristine.log" && fail "sed did not modify the log"
expect_status 1 "$CA_BIN" events verify
expect_grep "line 10: modified: its hash does not match \"prev\" of line 11" "$TEST_TMP/err"
# Deleted line 20.
sed '20d' "$TEST_TMP/pristine.log" >"$log"
expect_status 1 "$CA_BIN" events verify
expect_grep "line 20: sequence number 21, expected 20" "$TEST_TMP/err"
# Lines 30 and 31 swapped.
awk 'NR==30 {hold=$0; next} NR==31 {print; print hold; next} {print}' "$TEST_TMP/pristine.log" >"$log"
expect_status 1 "$CA_BIN" events verify
expect_grep "line 30: sequence number 31, expected 30" "$TEST_TMP/err"
# A verify of an explicit file works too, and the pristine copy is intact.
expect_status 0 "$CA_BIN" events verify "$TEST_TMP/pristine.log"

# tail -f prints events appended after it started (inotify, no polling). Synchronisation: a
# first event is in the log before the follower starts; once the follower has printed it, its
# initial read is done, and anything appended afterwards must show up.
cp "$TEST_TMP/pristine.log" "$log"
"$CA_EVENT_WRITER" "$log" env-detect before 1
fifo="$TEST_TMP/follow.fifo"
mkfifo "$fifo"
"$CA_BIN" events tail -f -n 1 --type env-detect >"$fifo" &
follower=$!
exec 3<"$fifo"
if IFS= read -r -t 30 line <&3 && [[ "$line" == *"profile=before"* ]]; then
        pass
else
        fail "events tail -f did not print the existing event first: '${line:-}'"
fi
"$CA_EVENT_WRITER" "$log" env-detect follow 1
if IFS= read -r -t 30 line <&3; then
        if [[ "$line" == *"env-detect"*"profile=follow"* ]]; then
                pass
        else
                fail "follow printed '$line'"
        fi
else
        fail "events tail -f printed nothing for an appended event"
fi
kill "$follower" 2>/dev/null || true
wait "$follower" 2>/dev/null || true
exec 3<&-

# The catalogue: docs/events.md lists every type the code records, with exactly its fields, and
# nothing the code does not know (both ways).
expect_status 0 "$CA_BIN" events types --json
check "docs/events.md's catalogue and 'events types' differ" "$CA_PYTHON3" - \
        "$(dirname "$0")/../../docs/events.md" "$TEST_TMP/out" <<'PY'
import json, re, sys
doc = open(sys.argv[1]).read()
section = doc.split("## The catalogue", 1)[1].split("\n## ", 1)[0]
documented = {}
for line in section.splitlines():
    m = re.match(r"^\| `([a-z-]+)` \| ([a-z-]+) \| (.*) \|$", line)
    if m:
        assert m.group(1) not in documented, "documented twice: " + m.group(1)
        documented[m.group(1)] = (m.group(2), re.findall(r"`([a-z0-9_]+)`", m.group(3)))
code = {e["type"]: (e["by"], e["fields"]) for e in json.load(open(sys.argv[2]))}
problems = []
for t in sorted(set(code) | set(documented)):
    if t not in documented:
        problems.append("not documented: " + t)
    elif t not in code:
        problems.append("documented but unknown to the code: " + t)
    elif documented[t] != code[t]:
        problems.append("%s: docs %s, code %s" % (t, documented[t], code[t]))
assert not problems, "\n".join(problems)
PY
# Every type of the catalogue is a type the log accepts, and the other way round.
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's
check "'events tail --type' refuses a type of the catalogue" bash -c '
        for t in $("$1" events types | cut -d" " -f1); do "$1" events tail -n 0 --type "$t" "$2" || exit 1; done' \
        check "$CA_BIN" "$log"
expect_status 2 "$CA_BIN" events types --bogus
finish
