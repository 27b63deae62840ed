#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The model helper on a real Docker engine (issue 19): each real agent CLI -- Claude Code with an
# OAuth login and an API key, Codex with a ChatGPT login and an API key, Copilot with a GitHub
# token -- holds a conversation with a tool call and a streamed answer inside a session, through
# the session's model helper and squid sidecar, with the scripted vendor
# (tests/e2e/model-peer.mjs) over TLS with a test CA on the documentation range. The vendor sees the real credential on every request, never the
# CLI's placeholder; nothing in the container (as agentcli or agentuser) holds the real access
# or refresh token; the vendor expires Claude's token mid-session, the helper refreshes it and
# the refreshed login is in the host's file after the session; a wrong pin fails closed.
# Issue 18: what the CLIs run (their shell tools) runs as agentuser through the task runner,
# away from the CLI's login and the helpers' tokens, with exit statuses, timeouts, stdin and
# npm's postinstall as for a direct exec; what the CLI's own tree executes directly off its
# list (a copied binary, a script, the real shells) is refused with an exec-denied event.
# shellcheck disable=SC2016 # single-quoted commands expand inside the container, not here
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"
# shellcheck source=tests/e2e/world.sh
. "$(dirname "$0")/world.sh"

e2e_sessions_up
check "the upstream did not start" world_up "$TEST_TMP/up" "$image"
expect_status 0 "$CA_BIN" trust add e2e-ca --bundle "$world_ca"
rnd() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
sha() { printf '%s' "$1" | sha256sum | cut -c1-16; }

# ---- the vendor: the scripted peer next to the upstream, on upstream.test:9443 ---------------
access="sk-ant-oat01-$(rnd)"
first_access=$access
refresh="sk-ant-ort01-$(rnd)"
codex_access="chatgpt-access-$(rnd)"
codex_refresh="chatgpt-refresh-$(rnd)"
github="gho_$(rnd)"
claude_key="sk-ant-api03-$(rnd)"
openai_key="sk-proj-$(rnd)"
check "the scripted model did not start" model_peer_up --access-token "$access" \
        --refresh-token "$refresh" --expire-after 1 --key-value "$codex_access" \
        --key-value "$github" --key-value "$claude_key" --key-value "$openai_key"

# ---- the user's logins on the host, and where the helper finds the vendor ----------------------
export HOME="$TEST_TMP/home"
mkdir -p "$HOME/.claude" "$HOME/.codex"
# Claude keeps its MCP servers' OAuth logins in the same file: none of it may go in either.
mcp_oauth="mcp-oauth-$(rnd)"
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"%s","expiresAt":4102444800000,"scopes":["user:inference","user:profile"],"subscriptionType":"max"},"mcpOAuth":{"srv":{"accessToken":"%s"}}}' \
        "$access" "$refresh" "$mcp_oauth" >"$HOME/.claude/.credentials.json"
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
id_token="$(printf '{"alg":"RS256","typ":"JWT"}' | b64url).$(printf '{"email":"dev@example.test","https://api.openai.com/auth":{"chatgpt_plan_type":"plus","chatgpt_account_id":"acc-e2e"}}' | b64url).c2lnbmF0dXJl"
printf '{"OPENAI_API_KEY":null,"tokens":{"id_token":"%s","access_token":"%s","refresh_token":"%s","account_id":"acc-e2e"},"last_refresh":"2026-01-01T00:00:00Z"}' \
        "$id_token" "$codex_access" "$codex_refresh" >"$HOME/.codex/auth.json"
chmod 0600 "$HOME/.claude/.credentials.json" "$HOME/.codex/auth.json"
model_config "$pin" >"$TEST_TMP/model.toml"
model_config "$wrong_pin" >"$TEST_TMP/wrong.toml"
ws="$TEST_TMP/repo"
mkdir -p "$ws"
chmod 0777 "$ws"

# The real shell: the image's sh, run by agentcli, hands its command to the task runner (as
# agentuser); the scans below that must run as agentcli use this one.
real_sh=/usr/lib/coding-agents/shells/dash
# What the real tokens must never be found in: every file, every environment (as the UID asking).
scan='for t in "$@"; do grep -rslF -e "$t" /etc /home /tmp /run /workspace /opt 2>/dev/null && exit 1;
        cat /proc/[0-9]*/environ 2>/dev/null | grep -qaF -e "$t" && exit 1; done; echo clean'

# What each CLI's shell tool runs (issue 18): as agentuser, away from the CLI's login and config
# and the helpers' tokens. A line per file: "denied" (EACCES), or "READ" (a failure here).
cat >"$ws/workload.sh" <<'SH'
echo "uid=$(id -u)"
for f in /run/coding-agents/home/agentcli/claude/.credentials.json \
        /run/coding-agents/home/agentcli/codex/auth.json /run/coding-agents/control/credential.json \
        /run/coding-agents/helpers/model-api/proxy-auth; do
        if cat "$f" >/dev/null 2>&1; then echo "READ $f"; fi
        cat "$f" 2>&1 >/dev/null | grep -q 'Permission denied' && echo "denied $f"
done
env | grep -q '^CODING_AGENTS_TOKEN_' && echo "TOKEN in the environment"
for e in /proc/[0-9]*/environ; do tr '\0' '\n' <"$e" 2>/dev/null; done |
        grep -q '^CODING_AGENTS_TOKEN_' && echo "TOKEN in a process"
echo workload-done
SH
workload_ok() { # the CLI's config file that must have been out of reach
        expect_grep '^uid=1000$' "$TEST_TMP/out"
        expect_grep "^denied $1\$" "$TEST_TMP/out"
        expect_grep '^denied /run/coding-agents/control/credential.json$' "$TEST_TMP/out"
        expect_grep '^workload-done$' "$TEST_TMP/out"
        expect_no_grep '^READ |^TOKEN ' "$TEST_TMP/out"
}

# ---- Claude Code (OAuth login): a conversation, a refresh mid-session, the login written back ----
expect_status 0 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/model.toml" "${world[@]}" -- sh -c \
        "claude -p 'RUN: echo claude-one' --allowedTools Bash && claude -p 'RUN: echo claude-two; sh /workspace/workload.sh' --allowedTools Bash &&
         $real_sh -c '$scan' scan '$access' '$refresh' '$mcp_oauth' && cat \"\$CLAUDE_CONFIG_DIR/.credentials.json\""
expect_grep 'claude-one' "$TEST_TMP/out"
expect_grep 'claude-two' "$TEST_TMP/out"
workload_ok /run/coding-agents/home/agentcli/claude/.credentials.json
expect_grep '"program":"bash".*"type":"exec-routed"' "$log"
expect_grep '^clean$' "$TEST_TMP/out"
# The CLI's login file holds the placeholder, not the login.
expect_grep '"refreshToken":"coding-agents-placeholder"' "$TEST_TMP/out"
expect_no_grep "$access|$refresh" "$TEST_TMP/out"
expect_grep "model: claude's login stays outside the agent's reach" "$TEST_TMP/err"
# The vendor saw the real token, then (after expiring it) a refresh with the real refresh token,
# then the new token; never a placeholder.
expect_grep "\"auth\":\"ok\",\"kind\":\"bearer\",\"credential\":\"$(sha "$access")\"" "$peer_log"
expect_grep '"api":"oauth","grant":"refresh_token","refresh":"issued"' "$peer_log"
new=$(sed -n 's/.*"refresh":"issued","new_credential":"\([0-9a-f]*\)".*/\1/p' "$peer_log" | tail -1)
expect_grep "\"auth\":\"ok\",\"kind\":\"bearer\",\"credential\":\"$new\"" "$peer_log"
expect_no_grep '"auth":"(bad|missing)".*"api":"anthropic"' "$peer_log"
expect_no_grep '"refresh":"refused"' "$peer_log"
expect_grep '"ok":true.*"trigger":"401","written_back":true.*"type":"credential-refresh"' "$log"
expect_grep '"by":"host",.*"written":true.*"type":"credential-updated"' "$log"
expect_grep '"vendor":"anthropic".*"type":"model-usage"' "$log"
# After the session: the host's login is the refreshed one (and still a Claude login).
stored=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["claudeAiOauth"]["accessToken"])' \
        "$HOME/.claude/.credentials.json")
[ "$(sha "$stored")" = "$new" ] || fail "the host's login is not the refreshed one"
expect_grep "$mcp_oauth" "$HOME/.claude/.credentials.json"
check "the written-back login is 0600" test "$(stat -c %a "$HOME/.claude/.credentials.json")" = 600

# ---- nothing of the login inside a live session, as agentcli or agentuser ----------------------
access=$stored
refresh_now=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["claudeAiOauth"]["refreshToken"])' \
        "$HOME/.claude/.credentials.json")
expect_status 0 "$CA_BIN" launch claude "$ws" --config "$TEST_TMP/model.toml" "${world[@]}" -- \
        sh -c 'claude -p "RUN: echo launched" --allowedTools Bash; exec sleep 3600'
session=$(tail -1 "$TEST_TMP/out")
cp "$e2e_dir/probe.mjs" "$ws/"
chmod 0644 "$ws/probe.mjs"
api GET "/containers/$session-proxy/json" >"$TEST_TMP/proxy.json"
proxy_ip=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["NetworkSettings"]["Networks"][sys.argv[2]]["IPAddress"])' \
        "$TEST_TMP/proxy.json" "$session")
check "the vendor's host is the helpers' alone in the session's proxy" "$CA_PYTHON3" -c '
import json, sys
p = json.load(open(sys.argv[1]))
assert p["helper_domains"] == sorted(["api.anthropic.com", "console.anthropic.com", "upstream.test"]), p
assert "upstream.test" not in p["domains"] and "api.anthropic.com" not in p["domains"], p' \
        "$CODING_AGENTS_CONFIG_DIR/sessions/$session/proxy/proxy.json"
for uid in 1000 1001; do
        docker exec -u "$uid:$uid" "$session" "$real_sh" -c "$scan" scan "$access" "$refresh_now" \
                >"$TEST_TMP/scan" 2>&1 || true
        expect_grep '^clean$' "$TEST_TMP/scan"
        # Straight to the vendor through the session's proxy: the helper's way, not the agent's.
        docker exec -u "$uid:$uid" "$session" node /workspace/probe.mjs connect "$proxy_ip:3128" \
                upstream.test:9443 >"$TEST_TMP/probe" 2>&1 || true
        expect_grep '^407$' "$TEST_TMP/probe"
done
# The helper's own login to the proxy is out of reach too.
check "agentcli could read the helpers' proxy login" bash -c \
        "! docker exec -u 1001:1001 '$session' cat /run/coding-agents/helpers/model-api/proxy-auth"
expect_status 0 "$CA_BIN" stop "$session"
expect_status 0 "$CA_BIN" rm "$session"

# ---- Codex (ChatGPT login) and Copilot (GitHub token) ------------------------------------------
expect_status 0 "$CA_BIN" run codex "$ws" --config "$TEST_TMP/model.toml" "${world[@]}" -- sh -c \
        "codex exec -m gpt-5-codex --skip-git-repo-check -s danger-full-access 'RUN: echo codex-ok; sh /workspace/workload.sh' &&
         $real_sh -c '$scan' scan '$codex_access' '$codex_refresh' && cat \"\$CODEX_HOME/auth.json\""
expect_grep 'codex-ok' "$TEST_TMP/out"
workload_ok /run/coding-agents/home/agentcli/codex/auth.json
expect_grep '^clean$' "$TEST_TMP/out"
expect_grep '"refresh_token":"coding-agents-placeholder"' "$TEST_TMP/out"
expect_grep "\"credential\":\"$(sha "$codex_access")\",\"stream\":true,\"model\":\"gpt-5-codex\",\"api\":\"responses\"" "$peer_log"
export COPILOT_GITHUB_TOKEN=$github
expect_status 0 "$CA_BIN" run copilot "$ws" --config "$TEST_TMP/model.toml" "${world[@]}" -- sh -c \
        "copilot -p 'RUN: echo copilot-ok; sh /workspace/workload.sh' --allow-all-tools --model gpt-scripted &&
         $real_sh -c '$scan' scan '$github'"
unset COPILOT_GITHUB_TOKEN
expect_grep 'copilot-ok' "$TEST_TMP/out"
workload_ok /run/coding-agents/home/agentcli/claude/.credentials.json
expect_grep '^clean$' "$TEST_TMP/out"
expect_grep "\"credential\":\"$(sha "$github")\",\"stream\":true,\"model\":\"gpt-scripted\",\"api\":\"chat\"" "$peer_log"
# Whatever the vendor refused was a real credential it had rotated (a request in flight while the
# helper refreshed, sent again with the new one): never a placeholder or anything else.
check "the vendor saw a credential that is not a real one" "$CA_PYTHON3" -c '
import hashlib, json, sys
sha = lambda s: hashlib.sha256(s.encode()).hexdigest()[:16]
lines = [json.loads(l) for l in open(sys.argv[1])]
real = {sha(t) for t in sys.argv[2:]} | {e["new_credential"] for e in lines if "new_credential" in e}
bad = [e for e in lines if e.get("auth") == "bad" and e.get("credential") not in real]
assert not bad, bad' "$peer_log" "$first_access" "$codex_access" "$github" "$claude_key" "$openai_key"

# ---- workloads (issue 18): files, exit status, the CLI's timeout, stdin, npm's postinstall ------
mkdir -p "$ws/pkg" "$ws/app"
printf '{"name":"pkg","version":"1.0.0","scripts":{"postinstall":"id -u >/workspace/postinstall-uid"}}\n' \
        >"$ws/pkg/package.json"
printf '{"name":"app","version":"1.0.0"}\n' >"$ws/app/package.json"
(cd "$ws/pkg" && npm pack --silent >/dev/null)
cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$ws/npm"
chmod -R a+rwX "$ws/app" "$ws/pkg" "$ws/npm"
# Whether a process whose command line has WORD is left (as agentuser, who owns the workloads):
# each one found is waited for, at most 20 s.
left='for p in /proc/[0-9]*; do tr "\0" " " <"$p/cmdline" 2>/dev/null | grep -q "^sleep 987" &&
        timeout 20 tail --pid="${p#/proc/}" -f /dev/null; done; echo sleep-gone'
expect_status 0 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/model.toml" "${world[@]}" -- sh -c \
        "claude -p 'RUN: echo written >/workspace/by-workload' --allowedTools Bash &&
         echo cli >>/workspace/by-workload && echo cli-appended && echo cli >/workspace/by-cli &&
         /usr/bin/sh -c 'echo workload >>/workspace/by-cli && echo workload-appended' &&
         claude -p 'RUN: echo before-exit; exit 3' --allowedTools Bash &&
         claude -p 'TIMEOUT_MS: 2000
RUN: sleep 987; echo not-killed' --allowedTools Bash;
         /usr/bin/sh -c '$left';
         echo piped-in | /usr/bin/sh -c 'read x; echo \"stdin=\$x uid=\$(id -u)\"; exit 5'; echo \"shim-status=\$?\";
         claude -p 'RUN: cd /workspace/app && node /workspace/npm/bin/npm-cli.js install ../pkg/pkg-1.0.0.tgz --offline --no-audit --no-fund --ignore-scripts=false' --allowedTools Bash"
check "the workload's file is not agentuser's" test "$(stat -c %u "$ws/by-workload")" = 1000
# Each can change what the other wrote (a shared group, umask 002).
expect_grep '^cli-appended$' "$TEST_TMP/out"
expect_grep '^workload-appended$' "$TEST_TMP/out"
expect_grep 'before-exit' "$TEST_TMP/out"
expect_grep 'Exit code 3' "$TEST_TMP/out"
expect_no_grep 'not-killed' "$TEST_TMP/out"
expect_grep '^sleep-gone$' "$TEST_TMP/out"
expect_grep '^stdin=piped-in uid=1000$' "$TEST_TMP/out"
expect_grep '^shim-status=5$' "$TEST_TMP/out"
check "npm's postinstall did not run as agentuser" test "$(cat "$ws/postinstall-uid" 2>/dev/null)" = 1000

# ---- escapes from the routing: what the CLI's own tree executes directly -----------------------
# The CLIs start their commands through a shell (routed above); what their process tree executes
# directly is held to its list by the kernel. The real Copilot CLI (a node program), with a module
# of ours loaded into its node (NODE_OPTIONS): the CLI's own process tries each one.
cp /usr/bin/id "$ws/id-copy"
printf '#!/bin/sh\nid -u\n' >"$ws/script.sh"
cat >"$ws/escape.js" <<'JS'
const { execFileSync } = require("child_process");
const tries = [["/usr/bin/cat", ["/etc/hostname"]], ["/tmp/bash-copy", ["-c", "id -u"]],
  ["/workspace/id-copy", ["-u"]], ["/workspace/script.sh", []],
  ["/usr/lib/coding-agents/shells/dash", ["-c", "id -u"]], ["/usr/bin/env", ["-i", "bash", "-c", "id -u"]]];
for (const [file, args] of tries) {
  try {
    const out = execFileSync(file, args, { stdio: ["ignore", "pipe", "ignore"] });
    console.log(`ran ${file}: ${out.toString().trim()}`);
  } catch (e) {
    console.log(`refused ${file}: ${e.code || e.status}`);
  }
}
process.exit(0);
JS
chmod 0755 "$ws/id-copy" "$ws/script.sh"
expect_status 0 env COPILOT_GITHUB_TOKEN="$github" "$CA_BIN" run copilot "$ws" --config "$TEST_TMP/model.toml" \
        "${world[@]}" -- sh -c "cp /usr/lib/coding-agents/shells/bash /tmp/bash-copy && chmod 0755 /tmp/bash-copy &&
         NODE_OPTIONS='--require /workspace/escape.js' copilot --version"
for f in /usr/bin/cat /tmp/bash-copy /workspace/id-copy /workspace/script.sh /usr/lib/coding-agents/shells/dash; do
        expect_grep "^refused $f: EACCES\$" "$TEST_TMP/out"
        p=${f##*/}
        expect_grep "\"program\":\"$p\",\"reason\":\"not on the agent CLI's list\".*\"type\":\"exec-denied\"" "$log"
done
# Nothing else was refused in any session here: the three CLIs run what they need themselves.
check "a CLI was refused a program it needs" "$CA_PYTHON3" -c '
import json, sys
denied = {json.loads(l)["fields"].get("program") for l in open(sys.argv[1]) if "\"exec-denied\"" in l}
assert denied <= {"cat", "bash-copy", "id-copy", "script.sh", "dash"}, denied' "$log"
# env -i bash: env is on the list, and bash is the shim: the command still runs as agentuser.
expect_grep '^ran /usr/bin/env: 1000$' "$TEST_TMP/out"
expect_no_grep '^ran (/usr/bin/cat|/tmp/|/workspace/|/usr/lib/)' "$TEST_TMP/out"

# ---- the API-key logins: Claude's ANTHROPIC_API_KEY, Codex's auth.json with a key --------------
mkdir -p "$TEST_TMP/keys/.codex"
printf '{"OPENAI_API_KEY":"%s"}' "$openai_key" >"$TEST_TMP/keys/.codex/auth.json"
chmod 0600 "$TEST_TMP/keys/.codex/auth.json"
expect_status 0 env HOME="$TEST_TMP/keys" ANTHROPIC_API_KEY="$claude_key" "$CA_BIN" run claude "$ws" \
        --config "$TEST_TMP/model.toml" "${world[@]}" -- sh -c \
        "claude -p 'RUN: echo claude-key-ok' --allowedTools Bash && $real_sh -c '$scan' scan '$claude_key'"
expect_grep 'claude-key-ok' "$TEST_TMP/out"
expect_grep '^clean$' "$TEST_TMP/out"
expect_grep "\"auth\":\"ok\",\"kind\":\"x-api-key\",\"credential\":\"$(sha "$claude_key")\"" "$peer_log"
expect_status 0 env HOME="$TEST_TMP/keys" "$CA_BIN" run codex "$ws" --config "$TEST_TMP/model.toml" \
        "${world[@]}" -- sh -c \
        "codex exec -m gpt-5-codex --skip-git-repo-check -s danger-full-access 'RUN: echo codex-key-ok' &&
         $real_sh -c '$scan' scan '$openai_key'"
expect_grep 'codex-key-ok' "$TEST_TMP/out"
expect_grep '^clean$' "$TEST_TMP/out"
expect_grep "\"credential\":\"$(sha "$openai_key")\",\"stream\":true,\"model\":\"gpt-5-codex\",\"api\":\"responses\"" "$peer_log"

# ---- a wrong pin: the CLI's request fails, nothing reaches the vendor, an event says why --------
before=$(grep -c '' "$peer_log")
expect_status 0 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/wrong.toml" "${world[@]}" -- sh -c \
        "claude -p 'RUN: echo never' --allowedTools Bash || echo claude-failed"
expect_grep 'claude-failed' "$TEST_TMP/out"
expect_no_grep 'never' "$TEST_TMP/out"
[ "$(grep -c '' "$peer_log")" = "$before" ] || fail "the vendor was reached through a wrong pin"
expect_grep '"helper":"model-api".*"type":"pin-mismatch"' "$log"

# ---- the user's choice: [model.claude] helper = false keeps today's path, and says so ---------
printf '[model.claude]\nhelper = false\n' >"$TEST_TMP/off.toml"
expect_status 0 "$CA_BIN" run claude "$ws" --config "$TEST_TMP/off.toml" "${world[@]}" -- true
expect_grep 'model: claude keeps its login inside the container.*helper = false' "$TEST_TMP/err"
expect_status 0 "$CA_BIN" events verify

world_down
check_no_leaks
finish
