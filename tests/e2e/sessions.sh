#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sessions on a real Docker engine (started here): the engine gate (Podman refused for real),
# the agent image, each agent CLI running in a hardened session, what a hostile agentuser
# cannot do inside, the lifecycle commands and the kill switch, and no leaks afterwards. These
# sessions run with --network none; tests/e2e/complete.sh covers the proxy mode (the default),
# helpers and servers with secrets.
# shellcheck disable=SC2016 # single-quoted commands expand inside the container, not here
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"

command -v git >/dev/null || skip "git is needed for the trusted-tree measurement"
command -v docker >/dev/null || skip "the docker client is needed to poke inside (docker.io)"
docker_up
chmod 0711 "$TEST_TMP"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides"
# Sessions are rendered from this (possibly uncommitted) tree on purpose.
touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"

# ---- the engine gate ------------------------------------------------------------------------
expect_status 0 "$CA_BIN" runtime check
expect_grep '^engine: docker .*seccomp yes.*usable' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" runtime check --json
check "runtime check --json is not usable=true" "$CA_PYTHON3" -c '
import json, sys; d = json.load(open(sys.argv[1])); assert d["usable"] is True and d["product"] == "docker", d' "$TEST_TMP/out"

if command -v podman >/dev/null; then
        # The real Podman API service, socket-activated like dockerd.
        mkfifo "$TEST_TMP/podman.fifo"
        "$CA_PYTHON3" "$e2e_dir/socket-activate.py" --notify "$TEST_TMP/podman.fifo" \
                "$TEST_TMP/podman.sock" -- podman system service --time=0 \
                >"$TEST_TMP/podman.log" 2>&1 &
        podman_pid=$!
        read -r _ <"$TEST_TMP/podman.fifo"
        expect_status 1 "$CA_BIN" runtime check --endpoint "$TEST_TMP/podman.sock"
        expect_grep 'Podman .*refused.*Remedy' "$TEST_TMP/err"
        expect_grep '"product":"podman".*"type":"runtime-blocked"' "$log"
        # doctor on Podman's service: the engine check fails, with the gate's reason and a remedy.
        expect_status 1 "$CA_BIN" doctor --endpoint "$TEST_TMP/podman.sock" --json
        check "doctor did not fail Podman with a remedy" "$CA_PYTHON3" -c '
import json, sys
d = {c["check"]: c for c in json.load(open(sys.argv[1]))["checks"]}
e = d["engine"]
assert e["result"] == "fail" and "Podman" in e["detail"] and e["remedy"], e' "$TEST_TMP/out"
        mkdir -p "$TEST_TMP/ws-podman"
        expect_status 1 "$CA_BIN" run --network none claude "$TEST_TMP/ws-podman" --endpoint "$TEST_TMP/podman.sock"
        expect_grep 'Podman' "$TEST_TMP/err"
        check "a refused engine got a container" test "$(curl -sf --unix-socket "$TEST_TMP/podman.sock" 'http://localhost/v1.41/containers/json?all=1')" = "[]"
        check "a refused run left a session directory" test ! -e "$CODING_AGENTS_CONFIG_DIR/sessions"
        kill "$podman_pid"
        wait "$podman_pid" 2>/dev/null || true
elif [ "${CI:-}" = true ]; then
        fail "podman is not installed: the Podman refusal is tested against the real thing"
fi
expect_status 1 "$CA_BIN" runtime check --endpoint "$TEST_TMP/nothing.sock"
expect_grep 'cannot reach the container engine' "$TEST_TMP/err"

# ---- the image ------------------------------------------------------------------------------
check "image build failed: $(tail -5 "$TEST_TMP/err" 2>/dev/null)" agent_image
# A rebuild removes our older images (each is gigabytes), but never one a container still uses,
# and never anyone else's.
tar -cf "$TEST_TMP/empty.tar" --files-from /dev/null
for ref in coding-agents-agent:00000000000old01 coding-agents-agent:00000000000old02 somebody-else:keep; do
        api POST "/images/create?fromSrc=-&repo=${ref%%:*}&tag=${ref#*:}" -H 'Content-Type: application/x-tar' \
                --data-binary @"$TEST_TMP/empty.tar" >/dev/null
done
api POST "/containers/create?name=ca-e2e-holder" -H 'Content-Type: application/json' \
        -d '{"Image":"coding-agents-agent:00000000000old02","Cmd":["x"]}' >/dev/null
expect_status 0 "$CA_BIN" image build --cache "$CA_E2E_ROOT/cache" --quiet
expect_grep 'is up to date' "$TEST_TMP/err"
expect_grep '^image: removed 1 older coding-agents-agent image\(s\) .*; kept those still in use' "$TEST_TMP/err"
image_there() {
        api GET "/images/$1/json" >/dev/null 2>&1
}
image_gone() {
        ! image_there "$1"
}
check "an unused older agent image was kept" image_gone coding-agents-agent:00000000000old01
check "an older agent image a container uses was removed" image_there coding-agents-agent:00000000000old02
check "someone else's image was removed" image_there somebody-else:keep
check "the current image was removed" image_there coding-agents-agent:current
api DELETE "/containers/ca-e2e-holder" >/dev/null
api DELETE "/images/coding-agents-agent:00000000000old02" >/dev/null
api DELETE "/images/somebody-else:keep" >/dev/null
api GET "/images/coding-agents-agent:current/json" >"$TEST_TMP/image.json"
check "image lacks its input label" "$CA_PYTHON3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
labels = d["Config"]["Labels"]
assert len(labels["io.coding-agents.inputs"]) == 64 and len(labels["io.coding-agents.agent-init"]) == 64
assert d["Config"]["Entrypoint"] == ["/usr/lib/coding-agents/bin/agent-init"]
env = " ".join(d["Config"].get("Env") or [])
assert "TOKEN" not in env and "KEY" not in env, env' "$TEST_TMP/image.json"
# doctor on the real engine with the image built: the engine and the image are ok; AppArmor is
# ok or, where the host does not enforce it, a warning (not a failure); nothing fails here.
status=0
"$CA_BIN" doctor --json >"$TEST_TMP/out" 2>"$TEST_TMP/err" || status=$?
check "doctor failed a check on a good machine (status $status): $(cat "$TEST_TMP/out")" \
        test "$status" -ne 1 -a "$status" -ne 2
check "doctor: engine, image or AppArmor wrong" "$CA_PYTHON3" -c '
import json, sys
d = {c["check"]: c for c in json.load(open(sys.argv[1]))["checks"]}
assert d["engine"]["result"] == "ok" and "docker" in d["engine"]["detail"], d["engine"]
assert d["image"]["result"] == "ok" and "is current" in d["image"]["detail"], d["image"]
enforced = open("/sys/module/apparmor/parameters/enabled").read().startswith("Y") \
        if __import__("os").path.exists("/sys/module/apparmor/parameters/enabled") else False
assert d["apparmor"]["result"] == ("ok" if enforced else "warn"), d["apparmor"]
for name in ("pidfd", "seccomp-notify", "wsl", "config-root", "broker", "clock"):
    assert name in d, name
# Where the engine keeps its images, and how much room is left there.
assert d["engine-space"]["result"] in ("ok", "warn") and "GB free in /" in d["engine-space"]["detail"], d["engine-space"]' "$TEST_TMP/out"
# No setuid/setgid file and no secret-looking file in any layer; the users are there.
docker run --rm --network none --entrypoint /bin/sh coding-agents-agent:current -c \
        'find / -xdev -perm /6000 -type f; getent passwd agentuser agentcli; awk -F: "\$3>=57000 && \$3<65000" /etc/passwd' \
        >"$TEST_TMP/image-scan" 2>&1
check "setuid/setgid files in the image: $(cat "$TEST_TMP/image-scan")" test "$(grep -c '^/' "$TEST_TMP/image-scan" || true)" = 0
expect_grep '^agentuser:x:1000:1000:' "$TEST_TMP/image-scan"
expect_grep '^agentcli:x:1001:1001:' "$TEST_TMP/image-scan"
check "the mcp_* UID range is not free in the image" test "$(wc -l <"$TEST_TMP/image-scan")" = 2

# ---- credentials: the host's, through the broker ---------------------------------------------------
export HOME="$TEST_TMP/home"
mkdir -p "$HOME/.claude" "$HOME/.codex" "$HOME/.copilot"
for f in .claude/.credentials.json .codex/auth.json .copilot/config.json; do
        printf '{"token":"%s"}' "$(head -c 48 /dev/urandom | base64 -w0)" >"$HOME/$f"
        chmod 0600 "$HOME/$f"
done
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- each agent CLI runs in a session ---------------------------------------------------------
ws="$TEST_TMP/myrepo"
mkdir -p "$ws"
chmod 0777 "$ws"
cat >"$ws/config.toml" <<'EOF'
[mcp_servers.everything]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]

[mcp_servers.notes]
url = "https://notes.example.test/mcp"
EOF
# The repository's config.toml takes effect once approved (issue 16; hostile-repo.sh).
expect_status 0 "$CA_BIN" config approve "$ws"
expect_status 0 "$CA_BIN" run --network none codex "$ws" -- codex --version
expect_grep '^codex-cli 0\.171\.0$' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" run --network none copilot "$ws" -- copilot --version
expect_grep 'GitHub Copilot CLI 1\.0\.102' "$TEST_TMP/out"
expect_status 0 "$CA_BIN" run --network none claude "$ws" -- claude --version
expect_grep '2\.1\.197 \(Claude Code\)' "$TEST_TMP/out"
# Claude, inside, lists the servers rendered for this session (npx cannot fetch the server
# without a network, so it shows as not connected); with --network none the remote server is
# left out, and render says so.
expect_status 0 "$CA_BIN" run --network none claude "$ws" -- claude mcp list
expect_grep '^everything: mcp-stub-everything .*Failed to connect' "$TEST_TMP/out"
expect_no_grep '^notes:' "$TEST_TMP/out"
expect_grep "remote server 'notes' is unavailable with --network none" "$TEST_TMP/err"
# Inside, the credential is byte-identical to the host's, in the agent's own directory.
expect_status 0 "$CA_BIN" run --network none claude "$ws" -- sh -c 'sha256sum <"$CLAUDE_CONFIG_DIR/.credentials.json"'
expect_grep "^$(sha "$HOME/.claude/.credentials.json")  -\$" "$TEST_TMP/out"
expect_grep 'redeemed the claude credential' "$TEST_TMP/err"
expect_status 0 "$CA_BIN" run --network none codex "$ws" -- sh -c 'sha256sum <"$CODEX_HOME/auth.json"'
expect_grep "^$(sha "$HOME/.codex/auth.json")  -\$" "$TEST_TMP/out"
expect_status 0 "$CA_BIN" run --network none copilot "$ws" -- sh -c 'sha256sum <"$COPILOT_HOME/config.json"'
expect_grep "^$(sha "$HOME/.copilot/config.json")  -\$" "$TEST_TMP/out"
check "a session did not redeem its credential exactly once" "$CA_PYTHON3" -c '
import collections, json, sys
events = list(map(json.loads, open(sys.argv[1])))
started = {e["session"] for e in events if e["type"] == "session-start"}
redeemed = collections.Counter(e["session"] for e in events if e["type"] == "capability-redeemed"
                               and e["fields"].get("stub") == "agent-cli")
assert started and all(redeemed[s] == 1 for s in started), (started, redeemed)' "$log"
# Claude with an API key instead of the OAuth file: in the CLI's environment only.
mv "$HOME/.claude/.credentials.json" "$TEST_TMP/claude-creds"
ANTHROPIC_API_KEY="sk-test-$(head -c 24 /dev/urandom | base64 -w0)"
export ANTHROPIC_API_KEY
expect_status 0 "$CA_BIN" run --network none claude "$ws" -- sh -c 'printf %s "$ANTHROPIC_API_KEY" | sha256sum'
expect_grep "^$(printf %s "$ANTHROPIC_API_KEY" | sha256sum | cut -d' ' -f1)  -\$" "$TEST_TMP/out"
unset ANTHROPIC_API_KEY
# No credential at all: the message names the file, exit 1, nothing started or left.
expect_status 1 "$CA_BIN" run --network none claude "$ws"
expect_grep "no claude credential.*$HOME/\.claude/\.credentials\.json or set ANTHROPIC_API_KEY" "$TEST_TMP/err"
mv "$TEST_TMP/claude-creds" "$HOME/.claude/.credentials.json"
mv "$HOME/.codex/auth.json" "$TEST_TMP/codex-auth"
expect_status 1 "$CA_BIN" run --network none codex "$ws" -- true
expect_grep "no codex credential.*$HOME/\.codex/auth\.json" "$TEST_TMP/err"
mv "$TEST_TMP/codex-auth" "$HOME/.codex/auth.json"
check "a refused credential left a container" test "$(api GET '/containers/json?all=1')" = "[]"

# A stdio server the image can run (node, and a script in the workspace): agent-init's stub
# launcher starts it in its sandbox for Claude's mcp-stub-echo, and Claude sees it connected.
cp "$e2e_dir/echo-mcp.mjs" "$ws/echo-mcp.mjs"
chmod 0644 "$ws/echo-mcp.mjs"
printf '[mcp_servers.echo]\ncommand = "node"\nargs = ["/workspace/echo-mcp.mjs"]\n' >"$TEST_TMP/echo.toml"
expect_status 0 "$CA_BIN" run --network none claude "$ws" --config "$TEST_TMP/echo.toml" -- claude mcp list
expect_grep '^echo: mcp-stub-echo .*Connected' "$TEST_TMP/out"
expect_grep 'stub launcher ready for 2 stdio servers' "$TEST_TMP/err"

# In a terminal, run joins it to the session's: keys in, screen out, its size, its status.
printf 'stty size; echo "in-$((6*7))-$(id -un)"; exit 5\r' >"$TEST_TMP/typed"
expect_status 5 "$CA_PYTHON3" "$e2e_dir/pty-run.py" --after 'agentcli@' "$TEST_TMP/typed" -- "$CA_BIN" run --network none codex "$ws" -- bash
expect_grep '40 120' "$TEST_TMP/out"
expect_grep 'in-42-agentcli' "$TEST_TMP/out"
expect_no_grep 'agent-init:' "$TEST_TMP/out"

# The exit status is the session's; the session is gone afterwards.
expect_status 7 "$CA_BIN" run --network none claude "$ws" -- sh -c 'exit 7'
check "run left a container behind" test "$(api GET '/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.coding-agents.session%22%5D%7D')" = "[]"
check "run left a session directory" test -z "$(ls -A "$CODING_AGENTS_CONFIG_DIR/sessions")"

# ---- the hardening, seen from inside ------------------------------------------------------------
expect_status 0 "$CA_BIN" launch --network none claude "$ws" -- sleep infinity
session=$(cat "$TEST_TMP/out")
check "session name '$session' is not <agent>-<repo>-<id>" grep -Eq '^claude-myrepo-[0-9a-f]{6}$' <<<"$session"
api GET "/containers/$session/json" >"$TEST_TMP/inspect.json"
check "container is not hardened as documented" "$CA_PYTHON3" -c '
import json, sys
d = json.load(open(sys.argv[1])); h = d["HostConfig"]
assert h["ReadonlyRootfs"] is True
assert h["CapDrop"] == ["ALL"], h["CapDrop"]
assert sorted(h["CapAdd"]) == ["CHOWN", "KILL", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN"], h["CapAdd"]
assert "no-new-privileges:true" in h["SecurityOpt"]
assert any(o.startswith("seccomp=") and "ptrace" in o for o in h["SecurityOpt"])
assert h["NetworkMode"] == "none"
assert h["PidsLimit"] == 1024 and h["Memory"] == 4 << 30
for t in ("/run/coding-agents", "/tmp"):
    assert set("nosuid,nodev,noexec".split(",")) <= set(h["Tmpfs"][t].split(",")), h["Tmpfs"]
assert any(b.endswith(":/workspace:rw,rprivate") for b in h["Binds"])
assert any(b.endswith(":/run/coding-agents/config:ro,rprivate") for b in h["Binds"])
assert d["Config"]["Labels"]["io.coding-agents.session"] == d["Name"].lstrip("/")' "$TEST_TMP/inspect.json"

expect_status 0 "$CA_BIN" list --json
check "list does not show the running session" "$CA_PYTHON3" -c '
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["session"] == sys.argv[2]]
assert len(rows) == 1 and rows[0]["state"] == "running" and rows[0]["agent"] == "claude", rows' \
        "$TEST_TMP/out" "$session"
expect_status 0 "$CA_BIN" list
expect_grep "^$session +claude +running +$ws\$" "$TEST_TMP/out"

# As agentuser (what a workload or an attached shell is): every probe must fail.
hostile() {
        docker exec -u 1000:1000 "$session" sh -c "$1" >"$TEST_TMP/hostile" 2>&1
}
for probe in \
        'cat /run/coding-agents/home/agentcli/claude/.claude.json' \
        'cat /run/coding-agents/home/agentcli/claude/.credentials.json' \
        'ls /run/coding-agents/control' \
        'cat /run/coding-agents/control/credential.json' \
        'test -e /run/coding-agents/control/broker.sock' \
        'ls /run/coding-agents/home/agentcli' \
        'ls /run/coding-agents/config' \
        'cat /run/coding-agents/config/manifest.json' \
        'ls /run/coding-agents/home' \
        'touch /usr/local/bin/x' \
        'touch /x' \
        'mount -t tmpfs none /tmp' \
        'unshare -U true' \
        'unshare -r true' \
        'kill -0 1'; do
        if hostile "$probe"; then
                fail "agentuser could: $probe ($(cat "$TEST_TMP/hostile"))"
        else
                pass
        fi
done
hostile 'touch /x' || true
expect_grep 'Read-only file system' "$TEST_TMP/hostile"
# No capabilities, no way to gain them, and no other UID's processes in /proc.
check "agentuser has capabilities or can gain them" docker exec -u 1000:1000 "$session" sh -c \
        'grep -q "^CapPrm:[[:space:]]*0000000000000000$" /proc/self/status &&
         grep -q "^CapEff:[[:space:]]*0000000000000000$" /proc/self/status &&
         grep -q "^NoNewPrivs:[[:space:]]*1$" /proc/self/status'
check "agentuser sees another UID's processes" docker exec -u 1000:1000 "$session" sh -c \
        'for p in /proc/[0-9]*; do [ "$(stat -c %u "$p")" = 1000 ] || { echo "$p"; exit 1; }; done'
check "agentuser sees agentcli's sleep" docker exec -u 1000:1000 "$session" sh -c \
        '! grep -l "^sleep" /proc/[0-9]*/comm'
# agentcli's own view: its configuration is there, 0600 and its own (the real shell: the image's
# sh, run by agentcli, hands its command to the task runner, as agentuser).
check "agentcli's configuration is not 0600 agentcli" docker exec -u 1001:1001 "$session" \
        /usr/lib/coding-agents/shells/dash -c \
        'test "$(stat -c "%a %U" /run/coding-agents/home/agentcli/claude/.claude.json)" = "600 agentcli"'

# ---- launch + connect: the agent in tmux, a terminal joined to it ---------------------------------
expect_status 2 "$CA_BIN" connect "$session"
expect_grep 'needs a terminal' "$TEST_TMP/err"
# --shell: a workload shell as agentuser, who cannot read the agent's credential.
printf 'id -un; cat /run/coding-agents/home/agentcli/claude/.credentials.json; exit 3\r' >"$TEST_TMP/typed"
expect_status 3 "$CA_PYTHON3" "$e2e_dir/pty-run.py" --after 'agentuser@' "$TEST_TMP/typed" -- "$CA_BIN" connect --shell "$session"
expect_grep 'agentuser' "$TEST_TMP/out"
expect_grep 'Permission denied' "$TEST_TMP/out"

# ---- lifecycle: stop, rm, kill --------------------------------------------------------------------
expect_status 1 "$CA_BIN" rm "$session"
expect_grep 'is running' "$TEST_TMP/err"
expect_status 0 "$CA_BIN" stop "$session"
api GET "/containers/$session/json" >"$TEST_TMP/inspect.json"
check "stop did not stop it" "$CA_PYTHON3" -c '
import json, sys; s = json.load(open(sys.argv[1]))["State"]; assert not s["Running"] and s["ExitCode"] == 143, s' "$TEST_TMP/inspect.json"
expect_status 0 "$CA_BIN" stop "$session"
expect_status 0 "$CA_BIN" rm "$session"
check "rm left the container" test "$(api GET "/containers/$session/json" -o /dev/null -w '%{http_code}' || true)" = 404
check "rm left the session directory" test ! -e "$CODING_AGENTS_CONFIG_DIR/sessions/$session"
expect_status 0 "$CA_BIN" rm "$session"

# connect joins the agent's tmux session as agentcli; C-b d detaches and the agent goes on; when
# the agent ends, so does the session.
expect_status 0 "$CA_BIN" launch --network none codex "$ws" -- bash
session=$(cat "$TEST_TMP/out")
printf '\002d' >"$TEST_TMP/typed"
expect_status 0 "$CA_PYTHON3" "$e2e_dir/pty-run.py" --after '[agent]' "$TEST_TMP/typed" -- "$CA_BIN" connect "$session"
expect_grep 'detached' "$TEST_TMP/out"
check "detaching stopped the session" test "$(api GET "/containers/$session/json" | "$CA_PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["State"]["Running"])')" = True
printf 'echo "c-$((6*7))-$(id -un)" >/workspace/proof; exit\r' >"$TEST_TMP/typed"
expect_status 0 "$CA_PYTHON3" "$e2e_dir/pty-run.py" --after 'agentcli@' "$TEST_TMP/typed" -- "$CA_BIN" connect "$session"
check "the keys did not reach the agent's shell" test "$(cat "$ws/proof")" = "c-42-agentcli"
api POST "/containers/$session/wait" >"$TEST_TMP/wait.json"
expect_grep '"StatusCode":0' "$TEST_TMP/wait.json"
expect_status 0 "$CA_BIN" rm "$session"
: >"$TEST_TMP/typed"
expect_status 1 "$CA_PYTHON3" "$e2e_dir/pty-run.py" "$TEST_TMP/typed" -- "$CA_BIN" connect "$session"
expect_grep "no running session $session" "$TEST_TMP/out"

# run (not in a terminal) stops its session on SIGTERM, with the grace period, and cleans up.
# It is signalled once agent-init has redeemed the credential: the container is running then.
mkfifo "$TEST_TMP/redeemed"
"$CA_BIN" events tail -f -n 0 --type capability-redeemed --json >"$TEST_TMP/redeemed" &
tail_pid=$!
exec {redeemed_fd}<"$TEST_TMP/redeemed"
"$CA_BIN" run --network none codex "$ws" -- sleep infinity >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" &
run_pid=$!
IFS= read -r -u "$redeemed_fd" _
kill -TERM "$run_pid"
run_status=0
wait "$run_pid" || run_status=$?
kill "$tail_pid"
wait "$tail_pid" 2>/dev/null || true
exec {redeemed_fd}<&-
check "run exited $run_status on SIGTERM, not 143: $(tail -3 "$TEST_TMP/run.err")" test "$run_status" = 143
expect_grep 'stopping session' "$TEST_TMP/run.err"
check "a stopped run left its container" test "$(api GET '/containers/json?all=1')" = "[]"

# kill mid-session: capabilities revoked, container gone, events in order.
expect_status 0 "$CA_BIN" launch --network none codex "$ws" -- sleep infinity
session=$(cat "$TEST_TMP/out")
printf 's3cret' | "$CA_BIN" broker store DEMO_TOKEN >/dev/null
"$CA_BIN" broker issue --session "$session" --stub stub1 --secret DEMO_TOKEN --uid "$(id -u)" \
        --out "$TEST_TMP/cred" 2>"$TEST_TMP/err" || fail "broker issue: $(cat "$TEST_TMP/err")"
expect_status 0 "$CA_BIN" kill "$session"
expect_grep 'capabilities revoked' "$TEST_TMP/out"
check "kill left the container" test "$(api GET "/containers/$session/json" -o /dev/null -w '%{http_code}' || true)" = 404
expect_status 1 "$CA_BIN" broker redeem --credential "$TEST_TMP/cred" --stdout
expect_status 0 "$CA_BIN" kill "$session"
check "events of the killed session are not in order" "$CA_PYTHON3" - "$log" "$session" <<'PY'
import json, sys
types = [e["type"] for e in map(json.loads, open(sys.argv[1])) if e.get("session") == sys.argv[2]]
want = ["session-config", "capabilities-issued", "session-start", "capability-redeemed",
        "capabilities-issued", "capability-revoked", "session-removed"]
it = iter(types)
assert all(t in it for t in want), types
PY
expect_status 0 "$CA_BIN" events verify

# ---- audit: the killed session's signed report, from the log -------------------------------------
expect_status 0 "$CA_BIN" audit "$session" -o "$TEST_TMP/audit.json"
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/audit.json" --text
expect_grep "^session: +$session \(ended\)$" "$TEST_TMP/out"
check "the session's report lacks what the session had" "$CA_PYTHON3" - "$TEST_TMP/audit.json" <<'PY'
import base64, json, sys
p = json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["predicate"]
launch, enf = p["launch"], p["enforcement"]
assert launch["agent"] == "codex" and launch["image_id"].startswith("sha256:"), launch
assert len(launch["image_inputs"]) == 64 and len(launch["agent_init_sha256"]) == 64, launch
assert enf["read_only_root"] is True and enf["no_new_privileges"] is True, enf
assert enf["seccomp"].startswith("sha256:") and enf["network"] == "none", enf
assert enf["capabilities"]["drop"] == ["ALL"], enf
assert p["environment"]["command"] == "launch", p["environment"]
assert len(p["capabilities_issued"]) == 2 and len(p["capabilities_revoked"]) >= 1, p
assert p["state"] == "ended" and p["chain"]["first"]["seq"] < p["chain"]["last"]["seq"], p["chain"]
PY

# ---- doctor --active: our probe in a throwaway session, as every UID --------------------------------
status=0
"$CA_BIN" doctor --active --network none -o "$TEST_TMP/doctor.json" --json >"$TEST_TMP/out" \
        2>"$TEST_TMP/err" || status=$?
check "doctor --active failed a check (status $status): $(cat "$TEST_TMP/out" "$TEST_TMP/err")" \
        test "$status" = 0 -o "$status" = 3
check "doctor --active did not probe every UID" "$CA_PYTHON3" - "$TEST_TMP/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
checks = {c["check"]: c for c in d["checks"]}
for user in ("agentuser", "agentcli", "mcp-server", "helper"):
    c = checks["active-" + user]
    assert c["result"] == "ok" and "attempts blocked" in c["detail"], c
assert checks["active-report"]["result"] == "ok", checks["active-report"]
probes = {p["user"]: p for p in d["probes"]}
names = {r["probe"] for r in probes["agentuser"]["results"]}
for want in ("read /run/coding-agents/control/credential.json", "ptrace pid 1",
             "connect /run/coding-agents/control/broker.sock", "connect metadata 169.254.169.254",
             "connect IPv6 unique-local fd00::1", "resolve a name", "unshare user namespace",
             "mount tmpfs", "capabilities", "write /ca-probe-write", "/proc of other UIDs"):
    assert want in names, want
PY
expect_status 0 "$CA_BIN" audit verify "$TEST_TMP/doctor.json"
expect_grep '"type":"doctor".*' "$log"
check "doctor --active left its session" test "$(api GET '/containers/json?all=1')" = "[]"
# The probe can tell: as root inside a session (what no workload is), it finds what it must.
expect_status 0 "$CA_BIN" launch --network none claude "$ws" -- sleep infinity
session=$(cat "$TEST_TMP/out")
status=0
docker exec -u 0:0 "$session" /usr/lib/coding-agents/bin/ca-probe >"$TEST_TMP/probe.out" || status=$?
check "the probe as root found nothing (status $status)" test "$status" = 1
expect_grep '"probe":"read /run/coding-agents/control/credential.json","blocked":false' \
        "$TEST_TMP/probe.out"
expect_status 0 "$CA_BIN" kill "$session"

# Bad input and missing pieces: clear messages, nothing left behind.
expect_status 2 "$CA_BIN" run --network none nosuchagent "$ws"
expect_status 2 "$CA_BIN" run --network none claude "$TEST_TMP/does-not-exist"
expect_status 2 "$CA_BIN" run --network none claude "$ws" --
expect_status 1 "$CA_BIN" run --network none claude "$ws" --image coding-agents-agent:no-such-tag
expect_grep "no image 'coding-agents-agent:no-such-tag'.*image build" "$TEST_TMP/err"
printf '[mcp_servers.bad]\ncommand = 5\n' >"$TEST_TMP/bad.toml"
expect_status 2 "$CA_BIN" run --network none claude "$ws" --config "$TEST_TMP/bad.toml"
expect_grep 'bad\.toml:2:' "$TEST_TMP/err"

# ---- no leaks: containers, networks, mounts -----------------------------------------------------
check_no_leaks
finish
