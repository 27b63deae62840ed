#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sessions on the Docker engine: `coding-agents run claude WS -- true` (integrity check, engine
# gate, render, credential through the broker, hardened create + start, agent-init, removal,
# revocation) vs a bare Engine API create + start + wait + remove of the same image running
# `true` (no network, as sessions), same engine, same run; the host-side time before the
# container starts, without the engine's own work (what `run` prints with CODING_AGENTS_TIMING=1);
# and a complete session -- 2 stdio servers behind stubs, 2 remote servers behind helpers
# through the squid sidecar to an HTTPS upstream (tests/e2e/world.sh) -- from launch until the
# MCP SDK's client inside has called every server, against the runtime-only launch (`run
# --network none`) until its command runs; `doctor` (passive, warm engine) against `runtime
# check` alone (goal: under 200 ms whole), and `doctor --active` against a session's whole run
# (goal: under 5 s). Nothing is asserted.
#
#   bench/sessions.sh BUILD_DIR [ROUNDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
rounds=${2:-20}
bin="$build/bin/coding-agents"
python=/usr/bin/python3
root=${CA_E2E_ROOT:-/var/tmp/coding-agents-e2e}
if [ "$(id -u)" -ne 0 ] || ! command -v dockerd >/dev/null; then
        echo "sessions benchmark: skipped, needs root and dockerd"
        [ "${CI:-}" != true ] || exit 1
        exit 0
fi
work=$(mktemp -d /tmp/ca-bench-sessions.XXXXXX)
chmod 0711 "$work"
dockerd_pid=
# shellcheck source=tests/e2e/world.sh
. "$src/tests/e2e/world.sh"
cleanup() {
        local broker
        docker rm -f ca-bench-hand-proxy ca-bench-hand-agent >/dev/null 2>&1 || true
        docker network rm ca-bench-hand >/dev/null 2>&1 || true
        world_down
        broker=$("$bin" broker health 2>/dev/null | sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p')
        [ -z "$broker" ] || kill "$broker" 2>/dev/null || true
        [ -z "$dockerd_pid" ] || { kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; }
        rm -rf "$work"
}
trap cleanup EXIT
export CODING_AGENTS_CONFIG_DIR="$work/config" HOME="$work/home"
mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides" "$HOME/.claude" "$work/ws" "$root/cache"
chmod 0700 "$root/cache"
touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
printf '{"token":"bench"}' >"$HOME/.claude/.credentials.json"
mkfifo "$work/fifo"
"$python" "$src/tests/e2e/socket-activate.py" --notify "$work/fifo" "$work/docker.sock" -- \
        dockerd -H fd:// --data-root "$root/docker" --exec-root "$work/exec" \
        --pidfile "$work/dockerd.pid" --iptables=false --ip-masq=false --bridge=none \
        --log-level=warn >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
read -r _ <"$work/fifo"
export DOCKER_HOST="unix://$work/docker.sock"
"$bin" image build --cache "$root/cache" --quiet >/dev/null 2>&1
world_up "$work/world" coding-agents-agent:current
printf '%s' "$upstream_token" | "$bin" broker store UPSTREAM_TOKEN >/dev/null
printf 'bench-secret' | "$bin" broker store ECHO_SECRET >/dev/null
"$bin" trust add bench-ca --bundle "$world_ca" >/dev/null
cp "$src/tests/e2e/echo-mcp.mjs" "$src/tests/e2e/session-client.mjs" "$work/ws/"
chmod 0755 "$work/ws"
chmod 0644 "$work/ws"/*.mjs
world_servers "$pin" bench-ca >"$work/servers.toml"
# The by-hand baseline's proxy directory, rendered once before anything is timed.
"$bin" proxy config --config "$work/servers.toml" --out "$work/hand-proxy" \
        --root /etc/coding-agents/proxy --resolver 198.51.100.10 >/dev/null
mkdir -p "$work/hand-proxy/run"
cp "$world_ca" "$work/ws/hand-ca.pem"
chmod 0644 "$work/ws/hand-ca.pem"

HAND_TOKEN=$upstream_token "$python" - "$bin" "$work/docker.sock" "$work/ws" "$rounds" "$work/servers.toml" \
        "$work/hand-proxy" "${world[@]}" <<'PY'
import http.client, json, os, socket, statistics, subprocess, sys, time

binary, sock, ws, rounds, servers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
hand_proxy = sys.argv[6]
world = sys.argv[7:]

class UnixHTTP(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock)

def call(conn, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, "/v1.41" + path, body=data,
                 headers={"Content-Type": "application/json"} if data else {})
    r = conn.getresponse()
    out = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {out[:200]}")
    return json.loads(out) if out else None

def bare():
    conn = UnixHTTP("localhost")
    t = time.perf_counter()
    cid = call(conn, "POST", "/containers/create", {
        "Image": "coding-agents-agent:current", "Entrypoint": ["true"], "Cmd": [],
        "NetworkDisabled": True, "HostConfig": {"NetworkMode": "none"}})["Id"]
    call(conn, "POST", f"/containers/{cid}/start")
    t_started = time.perf_counter()
    call(conn, "POST", f"/containers/{cid}/wait")
    call(conn, "DELETE", f"/containers/{cid}?force=1")
    end = time.perf_counter()
    conn.close()
    return end - t, t_started - t

def ours():
    env = dict(os.environ, CODING_AGENTS_TIMING="1")
    t = time.perf_counter()
    p = subprocess.run([binary, "run", "claude", ws, "--network", "none", "--", "true"], env=env,
                       capture_output=True, text=True)
    end = time.perf_counter()
    if p.returncode != 0:
        raise SystemExit(f"run failed: {p.stderr[-400:]}")
    host = [l for l in p.stderr.splitlines() if "timing: host" in l][0].split()
    return end - t, float(host[3]) / 1e3

def stamped(args):
    """Launch until the command inside printed its CLOCK_MONOTONIC stamp, and the whole run."""
    t = time.monotonic_ns()
    p = subprocess.run([binary, "run", "claude", ws] + args, capture_output=True, text=True,
                       env=dict(os.environ, CODING_AGENTS_TIMING="1"))
    end = time.monotonic_ns()
    for line in p.stderr.splitlines():
        if "timing: phases" in line or "timing: proxy" in line:
            kind = "phases" if "phases" in line else "proxy"
            words = [w for w in line.split("timing: ")[1].split()[1:] if w != "ms"]
            for k, v in zip(words[0::2], words[1::2]):
                PHASES.setdefault((len(args) > 4, kind, k), []).append(float(v))
    stamps = [json.loads(l)["connected_at_ns"] for l in p.stdout.splitlines()
              if l.startswith('{"connected_at_ns"')]
    if p.returncode != 0 or not stamps:
        raise SystemExit(f"run failed: {p.stdout[-400:]} {p.stderr[-400:]}")
    return (int(stamps[0]) - t) / 1e9, (end - t) / 1e9

stamp = ["node", "-e", 'console.log(JSON.stringify({connected_at_ns: String(process.hrtime.bigint())}))']
client = ["node", "/workspace/session-client.mjs", "stdio:everything", "stdio:echo",
          "http:remote:52100", "http:remote2:52101"]

def runtime_only():
    return stamped(["--network", "none", "--"] + stamp)

def follow_logs(conn, cid, want):
    """Reads the container's output (from its start) until a line containing `want`."""
    conn.request("GET", f"/v1.41/containers/{cid}/logs?follow=1&stdout=1&stderr=1")
    r = conn.getresponse()
    seen = b""
    while want not in seen:
        chunk = r.read1(65536)
        if not chunk:
            raise SystemExit(f"container ended before {want!r}: {seen[-400:]!r}")
        seen += chunk
    r.close()
    return seen

PHASES = {}

IMAGE = "coding-agents-agent:current"
HAND_NET, HAND_SUBNET, HAND_PROXY_IP = "ca-bench-hand", "10.222.0.0/24", "10.222.0.2"

def by_hand():
    """The same session built by hand: the session's network, the squid sidecar (a proxy
    directory rendered beforehand), the agent container, and in it the same MCP client calling
    the same servers spawned directly, the remote ones straight through squid. Bare Engine API
    calls, nothing checked, rendered, issued or redeemed. Launch until every server answered."""
    conn = UnixHTTP("localhost")
    try:
        return by_hand_timed(conn)
    finally:
        for c in ("agent", "proxy"):
            try:
                call(conn, "DELETE", f"/containers/{HAND_NET}-{c}?force=1")
            except SystemExit:
                pass
        try:
            call(conn, "DELETE", f"/networks/{HAND_NET}")
        except SystemExit:
            pass
        conn.close()

def by_hand_timed(conn):
    t = time.monotonic_ns()
    call(conn, "POST", "/networks/create", {
        "Name": HAND_NET, "Driver": "bridge", "Internal": True, "CheckDuplicate": True,
        "IPAM": {"Config": [{"Subnet": HAND_SUBNET}]},
        "Options": {"com.docker.network.bridge.inhibit_ipv4": "true"}})
    px = call(conn, "POST", f"/containers/create?name={HAND_NET}-proxy", {
        "Image": IMAGE, "Entrypoint": ["/usr/lib/coding-agents/bin/egress-proxy"],
        "Cmd": ["run", "--dir", "/etc/coding-agents/proxy", "--listen-subnet", HAND_SUBNET],
        "Env": ["CODING_AGENTS_CONFIG_DIR=/run/coding-agents-proxy"], "WorkingDir": "/",
        "HostConfig": {"NetworkMode": HAND_NET, "Binds": [f"{hand_proxy}:/etc/coding-agents/proxy:ro"],
                       "Tmpfs": {"/run/coding-agents-proxy": "mode=0700,size=16m",
                                 "/etc/coding-agents/proxy/run": "mode=0755,size=256m",
                                 "/tmp": "mode=1777,size=16m"},
                       "CapDrop": ["ALL"], "CapAdd": ["CHOWN", "DAC_OVERRIDE", "KILL",
                                                      "NET_BIND_SERVICE", "SETGID", "SETUID"]},
        "NetworkingConfig": {"EndpointsConfig": {HAND_NET: {"IPAMConfig": {"IPv4Address": HAND_PROXY_IP}}}}})["Id"]
    call(conn, "POST", "/networks/ca-e2e-world/connect", {"Container": px})
    call(conn, "POST", f"/containers/{px}/start")
    follow_logs(UnixHTTP("localhost"), px, b"proxy ready")
    spawn = {"everything": ["/opt/coding-agents/agents/node_modules/.bin/mcp-server-everything", "stdio"],
             "echo": ["node", "/workspace/echo-mcp.mjs"]}
    env = [f"HTTPS_PROXY=http://{HAND_PROXY_IP}:3128", "NODE_EXTRA_CA_CERTS=/workspace/hand-ca.pem",
           "ECHO_SECRET=bench-secret", f"CLIENT_BEARER={os.environ['HAND_TOKEN']}"]
    env += [f"CLIENT_SPAWN_{k}={json.dumps(v)}" for k, v in spawn.items()]
    env += [f"CLIENT_URL_{k}=https://upstream.test:8443/mcp" for k in ("remote", "remote2")]
    ag = call(conn, "POST", f"/containers/create?name={HAND_NET}-agent", {
        "Image": IMAGE, "Entrypoint": ["node"], "WorkingDir": "/workspace", "Env": env,
        "Cmd": ["/workspace/session-client.mjs", "spawn:everything", "spawn:echo",
                "tunnel:remote", "tunnel:remote2"],
        "HostConfig": {"NetworkMode": HAND_NET, "Binds": [f"{ws}:/workspace:ro"]}})["Id"]
    call(conn, "POST", f"/containers/{ag}/start")
    out = follow_logs(UnixHTTP("localhost"), ag, b"connected_at_ns")
    stamp = int(out.split(b'"connected_at_ns":"')[1].split(b'"')[0])
    return (stamp - t) / 1e9

def complete():
    return stamped(["--config", servers] + world + ["--"] + client)

bare(); ours(); runtime_only(); complete(); by_hand()  # warm the engine's caches and the broker
b_total, b_start, o_total, o_host = [], [], [], []
for _ in range(rounds):
    tot, st = bare(); b_total.append(tot); b_start.append(st)
    tot, host = ours(); o_total.append(tot); o_host.append(host)
bt, ot = statistics.median(b_total), statistics.median(o_total)
bs, oh = statistics.median(b_start), statistics.median(o_host)
print(f"launch to exit (create, start, `true`, wait, remove): ours {ot*1e3:.0f} ms, "
      f"bare Engine API {bt*1e3:.0f} ms: {ot/bt:.2f}x (goal <= 1.3x), {rounds} rounds")
print(f"host-side work before the container starts (engine excluded): {oh*1e3:.1f} ms, "
      f"{oh/bs*100:.0f}% of the bare create+start ({bs*1e3:.0f} ms)")
r_up, r_all, c_up, c_all = [], [], [], []
for _ in range(max(3, rounds // 2)):
    up, whole = runtime_only(); r_up.append(up); r_all.append(whole)
    up, whole = complete(); c_up.append(up); c_all.append(whole)
ru, cu = statistics.median(r_up), statistics.median(c_up)
ra, ca = statistics.median(r_all), statistics.median(c_all)
print(f"launch to all servers connected (2 stdio + 2 remote through the sidecar, the SDK's client "
      f"called each): {cu*1e3:.0f} ms vs the runtime-only launch to its command: {ru*1e3:.0f} ms: "
      f"{cu/ru:.2f}x; whole runs {ca*1e3:.0f} vs {ra*1e3:.0f} ms: {ca/ra:.2f}x, {len(c_up)} rounds")
h_up, s_up = [], []
for _ in range(max(3, rounds // 2)):
    s_up.append(complete()[0])
    h_up.append(by_hand())
hu, su = statistics.median(h_up), statistics.median(s_up)
print(f"launch to all servers connected: the session {su*1e3:.0f} ms ({min(s_up)*1e3:.0f}-{max(s_up)*1e3:.0f}) "
      f"vs the same session built by hand with bare Engine API calls {hu*1e3:.0f} ms "
      f"({min(h_up)*1e3:.0f}-{max(h_up)*1e3:.0f}): {su/hu:.2f}x (goal <= 1.3x), {len(h_up)} rounds interleaved")
for kind in ("phases", "proxy"):
    parts = [f"{k} {statistics.median(v):.0f}" for (c, kd, k), v in PHASES.items() if c and kd == kind]
    if parts:
        print(f"  the complete session's {kind} (CODING_AGENTS_TIMING, medians, ms): " + ", ".join(parts))
PY

"$python" - "$bin" "$rounds" "$work/ws" <<'PY'
import statistics, subprocess, sys, time

binary, rounds, ws = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def timed(args, ok=(0, 3)):
    t = time.perf_counter()
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    end = time.perf_counter()
    if p.returncode not in ok:
        raise SystemExit(f"{args[0]} failed ({p.returncode}): {p.stdout[-400:]} {p.stderr[-400:]}")
    return end - t

timed(["runtime", "check"], (0,)); timed(["doctor"])
check = statistics.median(timed(["runtime", "check"], (0,)) for _ in range(rounds))
doctor = statistics.median(timed(["doctor"]) for _ in range(rounds))
print(f"doctor (every passive check, warm engine): {doctor*1e3:.0f} ms vs `runtime check` alone "
      f"{check*1e3:.0f} ms: {doctor/check:.2f}x (goal: under 200 ms whole), {rounds} rounds")
n = 3
active = statistics.median(timed(["doctor", "--active", "--network", "none"]) for _ in range(n))
session = statistics.median(timed(["run", "claude", ws, "--network", "none", "--", "true"], (0,))
                            for _ in range(n))
print(f"doctor --active (a throwaway session, the probe as 4 UIDs, signed): {active:.2f} s vs one "
      f"session's whole run {session:.2f} s: {active/session:.2f}x (goal: under 5 s), {n} rounds")
PY
