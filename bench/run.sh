#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmarks, each printed as a ratio against a baseline measured in the same run (machines
# are noisy; absolute times mean little). Nothing here is asserted: tests check correctness.
#
#   bench/run.sh [BUILD_DIR]      (BENCH_QUICK=1 for a fast smoke run)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
python=${CA_PYTHON3:-$(command -v python3)}
quick=${BENCH_QUICK:-0}
work=$(mktemp -d /tmp/ca-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ "$quick" = 1 ]; then
        rounds=5 py_rounds=2 events=2000 broker_rounds=50 render_rounds=5 verify_rounds=1
else
        rounds=40 py_rounds=10 events=50000 broker_rounds=2000 render_rounds=200 verify_rounds=7
fi

echo "== TOML: parse a generated ~1 MB config; baseline: Python tomllib, same file, same run"
"$python" - "$work/big.toml" <<'PY'
import sys
out = []
i = 0
while sum(len(s) for s in out) < 1_000_000:
    out.append(f"""[mcp_servers.server{i}]
command = "npx"
args = ["-y", "@example/mcp-server-{i}", "--api-key", "${{API_KEY_{i}}}", "--verbose"]
env = {{ LOG_LEVEL = "debug", REGION = "eu-west-{i % 3}", RETRIES = "3" }}
network = "proxy"
description = '''A multi-line literal
describing server {i}'''
weights = [1.5, 2.25, -3.0e-2, {i}]
updated = 2026-11-{(i % 28) + 1:02d}T10:{i % 60:02d}:00Z

[[mcp_servers.server{i}.tools]]
name = "tool-{i}"
enabled = true
timeout_ms = {i * 7 % 10000}

""")
    i += 1
open(sys.argv[1], "w").write("".join(out))
PY
toml_out=$("$build/bench/bench-toml" "$work/big.toml" "$rounds")
ours=$(echo "$toml_out" | awk '/toml_parse_seconds/ {print $2}')
first=$(echo "$toml_out" | awk '/toml_parse_first_seconds/ {print $2}')
theirs=$("$python" - "$work/big.toml" "$py_rounds" <<'PY'
import statistics, sys, time, tomllib
data = open(sys.argv[1], "rb").read().decode()
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    tomllib.loads(data)
    times.append(time.perf_counter() - t)
print(f"{statistics.median(times):.9f}")
PY
)
size=$(stat -c %s "$work/big.toml")
awk -v o="$ours" -v f="$first" -v t="$theirs" -v s="$size" 'BEGIN {
        printf "file: %d bytes\n", s
        printf "coding-agents toml_parse: %.2f ms (%.0f MB/s; goal >= 100 MB/s)\n", o * 1000, s / o / 1e6
        printf "  its first parse, on fresh memory: %.2f ms (%.0f MB/s)\n", f * 1000, s / f / 1e6
        printf "python tomllib:           %.2f ms\n", t * 1000
        printf "ratio (tomllib / ours): %.1fx faster (goal >= 20x)\n", t / o
}'

echo
echo "== Render: 3 agents x 20 servers; baseline: Python tomllib load + json dumps, same run"
"$python" - "$work/render.toml" <<'PY'
import sys
out = []
for i in range(20):
    if i % 2:
        out.append(f'[mcp_servers.remote{i}]\nurl = "https://mcp{i}.example.com/mcp"\n'
                   f'bearer_token_env_var = "TOKEN_{i}"\n'
                   f'pins = ["sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]\n\n')
    else:
        out.append(f'[mcp_servers.stdio{i}]\ncommand = "npx"\n'
                   f'args = ["-y", "@example/server-{i}", "--key", "${{KEY_{i}}}"]\n'
                   f'env = {{ LEVEL = "debug", REGION = "eu" }}\n\n')
open(sys.argv[1], "w").write("".join(out))
PY
mkdir -p "$work/render-c" "$work/render-py"
read -r _ ours ours_write < <("$build/bench/bench-render" "$work/render.toml" "$work/render-c" "$render_rounds")
theirs=$("$python" - "$work/render.toml" "$work/render-py" "$render_rounds" <<'PY'
import json, os, statistics, sys, time, tomllib
path, outdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for i in range(rounds):
    t = time.perf_counter()
    for agent in ("claude", "codex", "copilot"):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        json.dumps(data, sort_keys=True, indent=2)
    times.append(time.perf_counter() - t)
print(f"{statistics.median(times):.9f}")
PY
)
awk -v o="$ours" -v w="$ours_write" -v t="$theirs" 'BEGIN {
        printf "coding-agents render (load x3, manifest, 3 agent files): %.3f ms\n", o * 1000
        printf "python minimum (tomllib load x3 + json dumps x3):         %.3f ms\n", t * 1000
        printf "ratio (python / ours): %.1fx faster (goal >= 10x)\n", t / o
        printf "with the atomic write of the session directory: %.3f ms (file system bound)\n", w * 1000
}'

echo
echo "== Integrity: coding-agents verify vs sha256sum -c, 50 MB in 200 files, same run"
mkdir -p "$work/release/share"
for i in $(seq 1 200); do
        head -c 262144 /dev/urandom >"$work/release/share/file$i"
done
CODING_AGENTS_CONFIG_DIR="$work/verify-config" "$build/bin/coding-agents" release sums "$work/release" >/dev/null
"$python" - "$build/bin/coding-agents" "$work/release" "$work/verify-config" "$verify_rounds" <<'PY'
import os, statistics, subprocess, sys, time
ca, rel, cfg, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
env = dict(os.environ, CODING_AGENTS_CONFIG_DIR=cfg)
def run(cmd, cwd=None):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
ours_cmd, theirs_cmd = [ca, "verify", rel], ["sha256sum", "-c", "--quiet", "SHA256SUMS"]
run(ours_cmd); run(theirs_cmd, cwd=rel)  # warm the page cache
ours = statistics.median(run(ours_cmd) for _ in range(rounds))
theirs = statistics.median(run(theirs_cmd, cwd=rel) for _ in range(rounds))
print(f"coding-agents verify: {ours * 1000:.1f} ms ({os.cpu_count()} cores)")
print(f"sha256sum -c:         {theirs * 1000:.1f} ms")
print(f"ratio (sha256sum / ours): {theirs / ours:.1f}x faster (goal >= 3x)")
PY

echo
echo "== Event log: hash-chained appends vs plain appends, same run"
"$build/bench/bench-audit" "$work" "$events"

echo
echo "== Broker: issue+redeem and redeem vs a bare SEQPACKET round trip with one fd, same run"
mkdir -m 700 "$work/broker"
"$build/bench/bench-broker" "$build/bin/ca-broker" "$work/broker" "$broker_rounds"
pkill -f "^ca-broker serve" 2>/dev/null || true

echo
echo "== Egress: wrk through squid vs straight to the same nginx, closed netns topology, same run"
if [ "$quick" = 1 ]; then egress_secs=2; else egress_secs=10; fi
bash "$src/bench/egress.sh" "$build" "$egress_secs"

echo
echo "== MCP helper: POST latency and SSE throughput through mcp-helper vs direct HTTPS, same run"
if [ "$quick" = 1 ]; then helper_rounds=200; else helper_rounds=3000; fi
bash "$src/bench/helper.sh" "$build" "$helper_rounds"

echo
echo "== Model helper: first streamed byte and a 10 MB streamed answer through mcp-helper --model vs direct HTTPS, same run"
if [ "$quick" = 1 ]; then model_rounds=50; else model_rounds=500; fi
bash "$src/bench/model.sh" "$build" "$model_rounds"

echo
echo "== MCP stubs: spawn -> initialize and stdio throughput through mcp-stub vs direct, same run"
if [ "$quick" = 1 ]; then stub_rounds=3; else stub_rounds=20; fi
bash "$src/bench/stub.sh" "$build" "$stub_rounds"

echo
echo "== Task runner: sh -c true and make -j2 through the shell shim and the runner vs direct, same run"
if [ "$quick" = 1 ]; then runner_cmds=100 runner_rounds=1; else runner_cmds=1000 runner_rounds=5; fi
bash "$src/bench/runner.sh" "$build" "$runner_cmds" "$runner_rounds"

echo
echo "== sessions: run -> exit of a hardened session vs a bare Engine API container, same run"
if [ "$quick" = 1 ]; then session_rounds=3; else session_rounds=20; fi
bash "$src/bench/sessions.sh" "$build" "$session_rounds"
