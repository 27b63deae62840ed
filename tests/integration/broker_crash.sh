#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash safety of the broker: kill -9 the daemon at random moments while it stores, rotates
# the master key and redeems, over and over. After every kill:
#   - the store still loads (the next command auto-starts a daemon that opens it),
#   - the secret holds either the value before or the value being written, never anything else,
#   - no capability is ever redeemed twice, counting attempts before and after the kill.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ITERATIONS=${CA_CRASH_ITERATIONS:-200}
bin="$CA_BIN"

daemon_pid() {
        "$bin" broker health | sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p'
}

redeem_value() {
        "$bin" broker redeem --credential "$1" --stdout 2>/dev/null
}

cleanup() {
        local p
        p=$(daemon_pid 2>/dev/null || true)
        [ -z "$p" ] || kill "$p" 2>/dev/null || true
        cleanup_tmp
}
trap cleanup EXIT

printf 'v0' | "$bin" broker store S >/dev/null
current=v0
double=0
bad_value=0
for i in $(seq 1 "$ITERATIONS"); do
        pid=$(daemon_pid)
        "$bin" broker issue --session "crash$i" --stub s --secret S --uid 0 \
                --out "$TEST_TMP/cap.json" >/dev/null
        wins=0
        # The operations race the kill below.
        printf 'v%s' "$i" | "$bin" broker store S >/dev/null 2>&1 &
        store_pid=$!
        "$bin" broker rotate-master >/dev/null 2>&1 &
        rotate_pid=$!
        redeem_value "$TEST_TMP/cap.json" >"$TEST_TMP/r1" &
        r1=$!
        redeem_value "$TEST_TMP/cap.json" >"$TEST_TMP/r2" &
        r2=$!
        # Fault injection: a random delay of 0-9 ms picks the moment of the kill. This is not
        # synchronisation; the checks below hold whatever the moment was.
        sleep "0.00$((RANDOM % 10))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$store_pid" || true
        wait "$rotate_pid" || true
        if wait "$r1"; then wins=$((wins + 1)); fi
        if wait "$r2"; then wins=$((wins + 1)); fi
        # The commands above may have auto-started a fresh daemon; kill that one too sometimes.
        if [ $((RANDOM % 2)) -eq 0 ]; then
                p=$(daemon_pid)
                kill -9 "$p" 2>/dev/null || true
        fi
        # After the crash: one more attempt at the same capability.
        if redeem_value "$TEST_TMP/cap.json" >"$TEST_TMP/r3"; then wins=$((wins + 1)); fi
        if [ "$wins" -gt 1 ]; then
                double=$((double + 1))
                fail "iteration $i: capability redeemed $wins times"
        fi
        # The store loads, and S is the old or the new value.
        "$bin" broker issue --session "check$i" --stub s --secret S --uid 0 \
                --out "$TEST_TMP/check.json" >/dev/null
        value=$(redeem_value "$TEST_TMP/check.json")
        if [ "$value" != "$current" ] && [ "$value" != "v$i" ]; then
                bad_value=$((bad_value + 1))
                fail "iteration $i: S is '$value', expected '$current' or 'v$i'"
        fi
        current=$value
        # Done with both sessions (the daemon keeps at most 256 live ones).
        "$bin" kill "crash$i" >/dev/null
        "$bin" kill "check$i" >/dev/null
done
check "$double double redemptions" [ "$double" -eq 0 ]
check "$bad_value corrupted values" [ "$bad_value" -eq 0 ]
expect_status 0 "$bin" broker list
expect_status 0 "$bin" events verify
echo "broker_crash: $ITERATIONS kill -9 iterations"
finish
