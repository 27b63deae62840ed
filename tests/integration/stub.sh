#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mcp-stub and mcp-stub-launcher with real MCP servers (server-everything, server-filesystem,
# and tests/npm/mcp-probe-server.mjs that reports what it can see from inside its sandbox),
# the real broker, the manifest from `coding-agents render`, and the MCP SDK's stdio client
# running as the agent's UID. Root is needed for namespaces and UIDs.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

npm_dir="$CA_SOURCE_DIR/tests/npm"
bin_dir=$(dirname "$CA_BIN")
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, UIDs)"
command -v node >/dev/null || skip "node is needed for the MCP peers"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed"
[ -d "$npm_dir/node_modules/@modelcontextprotocol/server-everything" ] ||
        skip "tests/npm is not installed (scripts/install-npm.sh)"
[ -x "$bin_dir/mcp-stub-launcher" ] || skip "mcp-stub-launcher was not built"

agent=60123
pids=()
stop_all() {
        local p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_all; [ -n "${KEEP:-}" ] || cleanup_tmp' EXIT
trap 'echo "stub.sh: line $LINENO: a command failed (status $?)" >&2' ERR
t=$TEST_TMP
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
# Servers run as their own UIDs: they must be able to reach what the test gives them.
chmod 0711 "$t"
mkdir -m 0755 "$t/files" "$t/bin"
echo "a file for the filesystem server" >"$t/files/visible.txt"
everything="$npm_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
filesystem="$npm_dir/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"
cat >"$t/exiter.py" <<'PY'
import os, signal, sys
signal.signal(signal.SIGTERM, lambda *_: os._exit(42))
print("ready", flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[:1] == ["exit"]:
        os._exit(int(cmd[1]))
    if cmd[:1] == ["kill"]:
        os.kill(os.getpid(), signal.SIGKILL)
    print(line.strip(), flush=True)
PY
chmod 0644 "$t/exiter.py"

cat >"$t/config.toml" <<TOML
[mcp_servers.everything]
command = "node"
args = ["$everything", "stdio"]

[mcp_servers.filesystem]
command = "node"
args = ["$filesystem", "$t/files"]

[mcp_servers.probe]
command = "node"
args = ["$npm_dir/mcp-probe-server.mjs", "--key=\${PROBE_KEY}"]
env = { PROBE_TOKEN = "\${PROBE_TOKEN}" }
network = "none"

[mcp_servers.cat]
command = "cat"

[mcp_servers.exiter]
command = "/usr/bin/python3"
args = ["$t/exiter.py"]

[mcp_servers.missing]
command = "/nonexistent/server"

[secrets]
PROBE_KEY = ["probe"]
PROBE_TOKEN = ["probe"]
TOML
# shellcheck source=tests/mcp/stub-env.sh
. "$CA_SOURCE_DIR/tests/mcp/stub-env.sh"
mkdir -m 0700 "$t/creds"
stub_up "$t" "$t/config.toml" "$t/creds" "$agent" everything filesystem probe cat exiter missing nosuch ||
        { fail "the launcher did not start: $(cat "$t/launcher.err" 2>/dev/null)"; finish; }
pids+=("$launcher")
uid_of() { stub_uid "$1"; }
probe_uid=$(uid_of probe)
cat_uid=$(uid_of cat)

# ---- the broker, holding the probe's secrets ----
mkfifo "$t/broker.ready"
"$CA_BIN" broker serve --ready-fd 3 3>"$t/broker.ready" 2>"$t/broker.err" &
broker_pid=$!
pids+=("$broker_pid")
IFS= read -r -n 1 ready <"$t/broker.ready" || ready=""
check "the broker is ready" [ "$ready" = 1 ] || { cat "$t/broker.err" >&2; finish; }
printf 'probe-key-value' | "$CA_BIN" broker store PROBE_KEY >/dev/null
printf 'probe-token-value' | "$CA_BIN" broker store PROBE_TOKEN >/dev/null
issue_probe() {
        "$CA_BIN" broker issue --session stubtest --stub probe --secret PROBE_KEY --secret PROBE_TOKEN \
                --uid "$probe_uid" --out "$t/creds/probe.cred" >/dev/null
}
issue_probe

# ---- the stubs the agent runs ----
# Background jobs call setpriv directly, so that $! is the stub itself.
as_agent() { setpriv --reuid "$agent" --regid "$agent" --clear-groups "$@"; }
py=/usr/bin/python3
client() { (cd "$npm_dir" && as_agent node mcp-client.mjs stdio "$@"); }
check "no setuid bit on the stub" [ ! -u "$bin_dir/mcp-stub" ]

# ==== real servers through their stubs, exactly as when spawned directly ====
expect_status 0 client --command "$t/bin/mcp-stub-everything"
cp "$t/out" "$t/via-stub"
expect_status 0 client --command node --arg "$everything" --arg stdio
check "server-everything answers the same through the stub" cmp -s "$t/via-stub" "$t/out"
expect_grep '"echo":"Echo: hello through the stub"' "$t/via-stub"
expect_status 0 client --command "$t/bin/mcp-stub-filesystem" --call "list_directory={\"path\":\"$t/files\"}"
expect_grep 'visible.txt' "$t/out"

# ==== secrets: environment, placeholders in args, files; never in events ====
# A listener on the host's loopback: reachable from here, not from a network = "none" server.
mkfifo "$t/listen.fifo"
"$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    s.accept()[0].close()' >"$t/listen.fifo" &
pids+=($!)
exec {lsn}<"$t/listen.fifo"
IFS= read -r -u "$lsn" lport || lport=1
check "the host listener is reachable from the host" bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
expect_status 0 client --command "$t/bin/mcp-stub-probe" --call 'env_hash={"name":"PROBE_TOKEN"}' \
        --call 'arg_hash={"index":0}' --call 'whoami={}' --call "connect={\"host\":\"127.0.0.1\",\"port\":$lport}" \
        --call "kill={\"pid\":$launcher}" --call 'ptrace={"pid":1}' --call 'fds={}' --call 'proc={}'
cp "$t/out" "$t/probe"
expect_grep "\"env_hash\":\"$(sha probe-token-value)\"" "$t/probe"
expect_grep "\"arg_hash\":\"$(sha --key=probe-key-value)\"" "$t/probe"
expect_grep "\"whoami\":\"uid=$probe_uid pid=2\"" "$t/probe"
# What Docker masks in a container's /proc is masked in the server's too (issue 17): the files
# read empty (a /dev/null), and /proc/sys is read-only.
# (a kernel may lack /proc/kcore and /proc/sched_debug)
expect_grep '"proc":"/proc/kcore:(0|ENOENT) /proc/keys:0 /proc/timer_list:0 /proc/sched_debug:(0|ENOENT) core_pattern:(EROFS|EACCES)"' "$t/probe"
expect_grep '"connect":"(ENETUNREACH|ECONNREFUSED)"' "$t/probe"
expect_grep '"kill":"ESRCH"' "$t/probe"
expect_grep '"ptrace":"1"' "$t/probe"
expect_no_grep 'fds":"[^"]*(stub.sock|\.cred|security-events|broker)' "$t/probe"
issue_probe
expect_status 0 client --command "$t/bin/mcp-stub-probe" --call 'file_hash={"name":"PROBE_KEY"}'
expect_grep "\"file_hash\":\"$(sha probe-key-value)\"" "$t/out"
expect_status 1 client --command "$t/bin/mcp-stub-probe" --call 'file_hash={"name":".broker.sock"}'
check "a capability is single-use: the second start is refused" grep -q "sandbox setup failed at 'redeem'" "$t/err"
issue_probe
expect_status 0 client --command "$t/bin/mcp-stub-probe" --call 'file_hash={"name":".broker.sock"}'
expect_grep '"file_hash":"ENOENT"' "$t/out"
expect_grep '"name":"probe".*"outcome":"failed".*"type":"stub-stop"' "$log"
expect_no_grep 'probe-key-value|probe-token-value' "$log"
expect_grep "\"stub\":\"probe\",\"uid\":$probe_uid,.*\"type\":\"capability-redeemed\"" "$log"

# ==== hostile checks from the agent's UID against a running server ====
mkfifo "$t/cat.in" "$t/cat.out"
setpriv --reuid "$agent" --regid "$agent" --clear-groups "$t/bin/mcp-stub-cat" <"$t/cat.in" \
        >"$t/cat.out" 2>"$t/cat.err" &
cat_stub=$!
exec {cin}>"$t/cat.in"
exec {cout}<"$t/cat.out"
echo "ping" >&"$cin"
IFS= read -r -u "$cout" line || line=""
check "the cat server answers ($line)" [ "$line" = ping ]
# It answered, so it runs: find it by its UID (the stub-start event may still be on its way).
cat_pid=$(pgrep -u "$cat_uid" -x cat || true)
check "the server runs as its own UID" grep -Eq "^Uid:\\s+$cat_uid\\s+$cat_uid" "/proc/$cat_pid/status"
check "no capabilities at all" grep -Eq '^CapBnd:\s+0+$' "/proc/$cat_pid/status"
check "no effective capabilities" grep -Eq '^CapEff:\s+0+$' "/proc/$cat_pid/status"
check "no_new_privs" grep -Eq '^NoNewPrivs:\s+1$' "/proc/$cat_pid/status"
check "seccomp filter mode" grep -Eq '^Seccomp:\s+2$' "/proc/$cat_pid/status"
fds=$(find "/proc/$cat_pid/fd" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
check "fds: exactly 0, 1, 2 ($fds)" [ "$fds" = "0 1 2 " ]
check "its stdin is the fifo the agent opened" [ "$(stat -L -c %i "/proc/$cat_pid/fd/0")" = "$(stat -c %i "$t/cat.in")" ]
check "the agent cannot read its environment" as_agent bash -c "! cat /proc/$cat_pid/environ 2>/dev/null"
check "the agent cannot read its memory" as_agent bash -c "! head -c 1 /proc/$cat_pid/mem 2>/dev/null"
check "the agent cannot enter its tmpfs" as_agent bash -c "! ls /proc/$cat_pid/root/run/mcp/cat 2>/dev/null"
check "the agent cannot ptrace it" as_agent "$py" -c \
        "import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(0 if l.ptrace(16,$cat_pid,0,0)!=0 else 1)"
exec {cin}>&-
if wait "$cat_stub"; then pass; else fail "the cat stub did not exit 0"; fi
exec {cout}<&-
check "no process of the server's UID is left" bash -c "! pgrep -u $cat_uid >/dev/null"
expect_grep "\"name\":\"cat\",\"network\":\"proxy\",\"pid\":$cat_pid,.*\"type\":\"stub-start\"" "$log"
expect_grep "\"name\":\"cat\",.*\"outcome\":\"exited\",\"pid\":$cat_pid,\"status\":0,.*\"type\":\"stub-stop\"" "$log"
check "nothing is mounted under /run/mcp on the host" bash -c "! grep -q ' /run/mcp/' /proc/mounts"

# ==== exit statuses and signals ====
stub_status() {
        local s=0
        as_agent "$t/bin/mcp-stub-exiter" >/dev/null 2>&1 || s=$?
        echo "$s"
}
check "exit 7 comes back" [ "$(echo 'exit 7' | stub_status)" = 7 ]
check "a server killed by SIGKILL: 137" [ "$(echo 'kill' | stub_status)" = 137 ]
mkfifo "$t/ex.in" "$t/ex.out"
setpriv --reuid "$agent" --regid "$agent" --clear-groups "$t/bin/mcp-stub-exiter" <"$t/ex.in" \
        >"$t/ex.out" &
ex=$!
exec {ein}>"$t/ex.in"
exec {eout}<"$t/ex.out"
IFS= read -r -u "$eout" line || line=""
check "the exiter is ready ($line)" [ "$line" = ready ]
kill -TERM "$ex"
status=0
wait "$ex" || status=$?
check "SIGTERM is forwarded: the server's handler exits 42 (got $status)" [ "$status" = 42 ]
exec {ein}>&- {eout}<&-

# ==== 50 stubs at once ====
par=()
for i in $(seq 50); do
        (echo "hello $i" | as_agent "$t/bin/mcp-stub-cat" >"$t/par.$i" 2>&1) &
        par+=($!)
done
ok=0
for i in $(seq 50); do
        wait "${par[$((i - 1))]}" || true
        if grep -qx "hello $i" "$t/par.$i"; then ok=$((ok + 1)); fi
done
check "50 concurrent stubs each got their own answer ($ok)" [ "$ok" = 50 ]

# ==== refusals: one line, status 1, an event; nothing left behind ====
expect_status 1 as_agent "$t/bin/mcp-stub-nosuch"
expect_grep '^mcp-stub-nosuch: no stdio MCP server of that name in this session$' "$t/err"
expect_status 1 "$t/bin/mcp-stub-cat" </dev/null
expect_grep "only the agent's user may start servers" "$t/err"
expect_status 1 as_agent "$t/bin/mcp-stub-missing" </dev/null
expect_grep "sandbox setup failed at 'execve'" "$t/err"
expect_status 2 as_agent "$bin_dir/mcp-stub"
expect_status 2 as_agent "$t/bin/mcp-stub-cat" extra-argument
expect_status 0 "$bin_dir/mcp-stub-launcher" --help
expect_status 2 "$bin_dir/mcp-stub-launcher" --manifest "$t/nope.json" --socket "$t/x.sock" \
        --agent-uid 1 --credentials "$t/creds"
# The broker down: redemption fails cleanly.
issue_probe
kill "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
expect_status 1 as_agent "$t/bin/mcp-stub-probe" </dev/null
expect_grep "sandbox setup failed at 'redeem'" "$t/err"
expect_grep '"reason":"only the agent.s user may start servers".*"type":"stub-stop"' "$log"
CODING_AGENTS_STUB_SOCKET="$t/absent.sock" expect_status 1 as_agent "$t/bin/mcp-stub-cat"
expect_grep 'cannot reach the stub launcher' "$t/err"

# The launcher stops on SIGTERM and removes its socket.
kill -TERM "$launcher"
status=0
wait "$launcher" || status=$?
check "the launcher exits 0 on SIGTERM ($status)" [ "$status" = 0 ]
check "its socket is gone" [ ! -e "$t/stub.sock" ]
check "no server process is left" bash -c "! pgrep -u $probe_uid >/dev/null && ! pgrep -u $cat_uid >/dev/null"
expect_status 0 "$CA_BIN" events verify
finish
