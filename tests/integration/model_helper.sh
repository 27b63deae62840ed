#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mcp-helper --model between the real Claude Code CLI and the scripted model peer
# (tests/e2e/model-peer.mjs) over TLS with a test CA: the CLI holds only a placeholder login
# (the helper's local token), the peer sees the real OAuth access token on every request; when
# the peer expires it mid-conversation the helper refreshes the login itself (the CLI never
# sees a 401) and writes it back to the real broker; a wrong pin fails closed with its event.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/mcp/env.sh
. "$CA_SOURCE_DIR/tests/mcp/env.sh"
missing=$(mcp_missing | tr '\n' ' ')
[ -z "$missing" ] || skip "needs: $missing"
claude="$npm_dir/node_modules/.bin/claude"
[ -x "$claude" ] || skip "the Claude Code CLI from npm (tests/npm) is needed"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed to run the CLI unprivileged"

trap 'mcp_down; [ -n "${KEEP:-}" ] || cleanup_tmp' EXIT
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
t=$TEST_TMP
mcp_up "$t" || { fail "the broker did not start: $(cat "$t"/*.err)"; finish; }

# ---- the vendor: the scripted peer, its OAuth pair, expiring after two model answers ----------
access="sk-ant-oat01-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
refresh="sk-ant-ort01-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkfifo "$t/peer.fifo"
node "$CA_SOURCE_DIR/tests/e2e/model-peer.mjs" --listen 127.0.0.1:0 --cert "$t/srv.pem" \
        --key "$t/srv.key" --log "$t/peer.log" --access-token "$access" --refresh-token "$refresh" \
        --expire-after 2 >"$t/peer.fifo" 2>"$t/peer.err" &
mcp_pids+=($!)
exec {peer_fd}<"$t/peer.fifo"
IFS= read -r -u "$peer_fd" line
peer_url=${line#model-peer listening on }
: >>"$t/peer.log"
sha() { printf '%s' "$1" | sha256sum | cut -c1-16; }

# ---- the login in the broker, the helper's capability (the launcher's model-api stub) ---------
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"%s","expiresAt":4102444800000,"scopes":["user:inference"],"subscriptionType":"max"}}' \
        "$access" "$refresh" | "$CA_BIN" broker store AGENT_CLAUDE_CREDENTIALS >/dev/null
start_model() {
        local name=$1 fifo line hfd
        shift
        "$CA_BIN" broker issue --session helper-test --stub model-api \
                --secret AGENT_CLAUDE_CREDENTIALS --uid 0 --out "$t/$name.cred" >/dev/null
        fifo="$t/$name.fifo"
        mkfifo "$fifo"
        "$helper" --name "$name" --model anthropic --upstream "$peer_url/" --listen 127.0.0.1:0 \
                --token-url "$peer_url/v1/oauth/token" --ca-file "$t/helper-test-ca.pem" \
                --credential "$t/$name.cred" --token-file "$t/token" \
                --events "$log" --session helper-test "$@" >"$fifo" 2>"$t/$name.err" &
        helper_pid=$!
        mcp_pids+=("$helper_pid")
        exec {hfd}<"$fifo"
        IFS= read -r -u "$hfd" line || return 1
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) .*/\1/p' <<<"$line")
}
start_model model --pin "$spki_pin" || fail "the model helper did not start: $(cat "$t/model.err")"
model_port=$port
model_pid=$helper_pid

# ---- the CLI: a placeholder login with the local token, pointed at the helper -----------------
home="$t/home"
mkdir -p "$home/.claude" "$t/work"
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"coding-agents-placeholder","expiresAt":4102444800000,"scopes":["user:inference"],"subscriptionType":"max"}}' \
        "$token" >"$home/.claude/.credentials.json"
chown -R 60001:60001 "$home" "$t/work"
chmod 0711 "$t"
run_claude() {
        (cd "$t/work" && setpriv --reuid 60001 --regid 60001 --clear-groups env -i HOME="$home" \
                PATH=/usr/bin:/bin ANTHROPIC_BASE_URL="http://127.0.0.1:$model_port" \
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$claude" -p "$1" --allowedTools Bash)
}
for i in 1 2 3; do
        expect_status 0 run_claude "RUN: echo turn-$i"
        expect_grep "turn-$i" "$t/out"
done

# The peer saw the real access token until it expired, then the refreshed one; never the local
# token, and a refresh with the real refresh token (the CLI's placeholder never got there).
expect_grep "\"credential\":\"$(sha "$access")\"" "$t/peer.log"
expect_grep '"api":"oauth","grant":"refresh_token","refresh":"issued"' "$t/peer.log"
new=$(sed -n 's/.*"refresh":"issued","new_credential":"\([0-9a-f]*\)".*/\1/p' "$t/peer.log" | tail -1)
[ -n "$new" ] || fail "no refresh in the peer's log"
expect_grep "\"auth\":\"ok\",\"kind\":\"bearer\",\"credential\":\"$new\"" "$t/peer.log"
expect_no_grep "$(sha "$token")" "$t/peer.log"
expect_no_grep '"refresh":"refused"' "$t/peer.log"
# The CLI never saw a 401: every answer it got was the conversation's.
expect_no_grep 'expired|authentication_error|401' "$t/out"

# The refresh is an event, and the refreshed login went back to the broker.
expect_grep '"ok":true,"status":200,"trigger":"401","written_back":true.*"type":"credential-refresh"' "$log"
expect_grep '"secret":"AGENT_CLAUDE_CREDENTIALS","stub":"model-api".*"type":"credential-updated"' "$log"

# ---- the local token: required, as Bearer or x-api-key; a reachability probe needs none -------
code() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
[ "$(code -X POST "http://127.0.0.1:$model_port/v1/messages" -d '{}')" = 401 ] ||
        fail "a request without the local token was not refused"
[ "$(code -X POST -H "x-api-key: $access" "http://127.0.0.1:$model_port/v1/messages" -d '{}')" = 401 ] ||
        fail "the real credential was accepted as the local token"
[ "$(code -X POST -H "x-api-key: $token" -H 'content-type: application/json' \
        "http://127.0.0.1:$model_port/v1/messages/count_tokens" -d '{"messages":[]}')" = 200 ] ||
        fail "the local token as x-api-key was refused"
[ "$(code -I "http://127.0.0.1:$model_port/")" = 200 ] || fail "HEAD / was not answered"
# Only the model API: an endpoint that would mint a longer-lived credential from the login
# (Claude Code's console login makes API keys this way) is refused before the vendor sees it.
before=$(grep -c '' "$t/peer.log")
[ "$(code -X POST -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$model_port/api/oauth/claude_cli/create_api_key" -d '{}')" = 400 ] ||
        fail "a path outside the model API was forwarded"
[ "$(grep -c '' "$t/peer.log")" = "$before" ] || fail "the vendor saw a path outside the model API"
# Vendor headers pass back (rate limits, request ids).
curl -s -D "$t/headers" -o /dev/null -X POST -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' "http://127.0.0.1:$model_port/v1/messages/count_tokens" \
        -d '{"messages":[]}'
expect_grep '^anthropic-ratelimit-requests-remaining: 99' "$t/headers"
expect_grep '^request-id: ' "$t/headers"

# ---- a wrong pin: nothing is sent, the CLI gets an error, an event says why --------------------
start_model wrong --pin "$wrong_pin"
before=$(grep -c '' "$t/peer.log")
[ "$(code -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/messages" -d '{}')" = 502 ] ||
        fail "a wrong pin did not fail closed"
[ "$(grep -c '' "$t/peer.log")" = "$before" ] || fail "the peer was reached through a wrong pin"
expect_grep '"helper":"wrong".*"type":"pin-mismatch"' "$log"

# ---- at the end: usage counted; no secret in any output, command line or environment ---------
check "the helper's command line and environment hold no secret" bash -c \
        "! tr '\\0' '\\n' </proc/$model_pid/cmdline </proc/$model_pid/environ | grep -q -e '$access' -e '$refresh'"
kill -TERM "$model_pid"
wait "$model_pid" 2>/dev/null || true
expect_grep '"bytes_up":[1-9][0-9]*,.*"refreshes":[1-9],"requests":[1-9].*"vendor":"anthropic".*"type":"model-usage"' "$log"
for f in "$t"/*.err "$t/out" "$log"; do
        expect_no_grep "$access" "$f"
        expect_no_grep "$refresh" "$f"
done
finish
