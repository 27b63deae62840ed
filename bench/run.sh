#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmarks, each printed as a ratio against a baseline measured in the same run (machines
# are noisy; absolute times mean little). Nothing here is asserted: tests check correctness.
#
#   bench/run.sh [BUILD_DIR]      (BENCH_QUICK=1 for a fast smoke run)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
# The baselines' Python: Debian's own where there is one (a version manager's shim on PATH would
# add its own start-up to every whole-process figure), else the first on PATH.
if [ -x /usr/bin/python3 ]; then default_python=/usr/bin/python3; else default_python=$(command -v python3); fi
python=${CA_PYTHON3:-$default_python}
quick=${BENCH_QUICK:-0}
work=$(mktemp -d /tmp/ca-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Everything printed also goes to a log: the summary at the end is every line that states a goal.
exec 3>&1 4>&2 > >(tee "$work/all.log") 2>&1
tee_pid=$!

if [ "$quick" = 1 ]; then
        rounds=5 py_rounds=2 events=2000 broker_rounds=512 render_rounds=5 verify_rounds=3 exec_rounds=10
else
        rounds=40 py_rounds=10 events=50000 broker_rounds=2048 render_rounds=200 verify_rounds=11 exec_rounds=200
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
echo "== Commands, whole process: each against /bin/true, interleaved A B A B, same environment"
# The front (coding-agents) maps libc, libsodium, jansson and libcrypt only (tests/links.sh).
export CODING_AGENTS_CONFIG_DIR="$work/startup-config"
mkdir -p "$work/startup-ws" "$work/startup-out" "$work/startup-out2" "$CODING_AGENTS_CONFIG_DIR/overrides"
# The development build renders from this tree even with uncommitted changes (bench runs).
touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
# The remote servers' secrets are granted, as a user's config would.
{
        cat "$work/render.toml"
        echo "[secrets]"
        for i in $(seq 0 19); do
                if [ $((i % 2)) = 1 ]; then echo "TOKEN_$i = [\"remote$i\"]"; else echo "KEY_$i = [\"stdio$i\"]"; fi
        done
} >"$work/startup.toml"
"$build/bin/coding-agents" broker health >/dev/null
cmake --install "$build" --prefix "$work/stage" >/dev/null
# As make release stages it: the programs without their DWARF (packaging/split-debug.sh).
bash "$src/packaging/split-debug.sh" "$work/stage" "$work/stage-debug"
"$build/bin/coding-agents" release sums "$work/stage" >/dev/null
startup_row() {
        local what=$1 goal=$2
        shift 2
        "$build/bench/bench-exec" "$exec_rounds" -- "$@" -- /bin/true | awk -v w="$what" -v g="$goal" '
                {v[$1] = $2}
                END {printf "%-36s %7.2f ms (p10 %.2f, p90 %.2f) vs /bin/true %.2f ms: %.2fx (goal %s)\n",
                             w, v["a_median_ms"], v["a_p10_ms"], v["a_p90_ms"], v["b_median_ms"], v["ratio"], g}'
}
ca="$build/bin/coding-agents"
startup_row "version" "<= 2x" "$ca" version
startup_row "env" "<= 2x" "$ca" env
startup_row "config check (20 servers)" "<= 2x" "$ca" config check --config "$work/startup.toml" --workspace "$work/startup-ws"
startup_row "events verify" "<= 2x" "$ca" events verify
startup_row "broker health (daemon up)" "<= 2x" "$ca" broker health
startup_row "trust list" "<= 2x" "$ca" trust list
startup_row "verify (the release tree)" "<= 2x" "$ca" verify "$work/stage"
startup_row "render --agent all (20 servers)" "report" "$ca" render --agent all --out "$work/startup-out/%N" \
        --config "$work/startup.toml" --workspace "$work/startup-ws" --ignore-workspace-config
"$build/bench/bench-exec" "$exec_rounds" -- "$ca" render --agent all --out "$work/startup-out2/%N" \
        --config "$work/startup.toml" --workspace "$work/startup-ws" --ignore-workspace-config -- \
        "$python" -c "import json, tomllib
for _ in range(3):
    json.dumps(tomllib.load(open('$work/startup.toml', 'rb')), sort_keys=True, indent=2)" |
        awk '{v[$1] = $2} END {printf "render whole process vs python3 (tomllib load + json dumps x3, whole process): %.2f ms vs %.2f ms: %.1fx faster (goal >= 10x)\n", v["a_median_ms"], v["b_median_ms"], 1 / v["ratio"]}'
"$build/bench/bench-exec" "$exec_rounds" --cwd-b "$work/stage" -- "$ca" verify "$work/stage" -- \
        "$(command -v sha256sum)" -c --quiet SHA256SUMS |
        awk '{v[$1] = $2} END {printf "verify vs sha256sum -c on the release tree itself: %.2f ms vs %.2f ms: %.2fx faster (goal > 1x)\n", v["a_median_ms"], v["b_median_ms"], 1 / v["ratio"]}'
pkill -f "^ca-broker serve" 2>/dev/null || true
unset CODING_AGENTS_CONFIG_DIR

echo
echo "== Integrity: coding-agents verify vs sha256sum -c, 50 MB in 200 files, same run"
mkdir -p "$work/release/share"
for i in $(seq 1 200); do
        head -c 262144 /dev/urandom >"$work/release/share/file$i"
done
CODING_AGENTS_CONFIG_DIR="$work/verify-config" "$build/bin/coding-agents" release sums "$work/release" >/dev/null
CODING_AGENTS_CONFIG_DIR="$work/verify-config" "$build/bench/bench-exec" "$verify_rounds" \
        --cwd-b "$work/release" -- "$build/bin/coding-agents" verify "$work/release" -- \
        "$(command -v sha256sum)" -c --quiet SHA256SUMS |
        awk '{v[$1] = $2} END {
                printf "coding-agents verify: %.1f ms (p10 %.1f, p90 %.1f)\n", v["a_median_ms"], v["a_p10_ms"], v["a_p90_ms"]
                printf "sha256sum -c:         %.1f ms (p10 %.1f, p90 %.1f)\n", v["b_median_ms"], v["b_p10_ms"], v["b_p90_ms"]
                printf "verify vs sha256sum -c, 50 MiB: %.1fx faster (goal >= 3x)\n", 1 / v["ratio"]
        }'

echo
echo "== Sigstore: release verify-sigstore vs release verify (minisign) of a 10 MB tarball, same run"
head -c 10485760 /dev/urandom >"$work/ten.tar.gz"
"$ca" release keygen --public "$work/ten.pub" --secret "$work/ten.sec" >/dev/null
"$ca" release sign --secret "$work/ten.sec" "$work/ten.tar.gz" >/dev/null
# A Sigstore of our own making signs it as the release workflow would (tests/sigstore-forge.py).
sig_id=https://github.com/coding-agents/coding-agents/.github/workflows/release.yml@refs/tags/v1.0.0
"$python" "$src/tests/sigstore-forge.py" init "$work/forge"
"$python" "$src/tests/sigstore-forge.py" root "$work/forge" "$work/forge-root.json"
"$python" "$src/tests/sigstore-forge.py" sign "$work/forge" "$work/ten.tar.gz" "$work/ten.sigstore.json" \
        --identity "$sig_id" --issuer https://token.actions.githubusercontent.com
CODING_AGENTS_CONFIG_DIR="$work/verify-config" "$build/bench/bench-exec" "$exec_rounds" -- \
        "$ca" release verify-sigstore --bundle "$work/ten.sigstore.json" --trusted-root "$work/forge-root.json" \
        --certificate-identity "$sig_id" --certificate-oidc-issuer https://token.actions.githubusercontent.com \
        "$work/ten.tar.gz" -- "$ca" release verify --public "$work/ten.pub" "$work/ten.tar.gz" |
        awk '{v[$1] = $2} END {printf "verify-sigstore vs release verify (minisign), 10 MB: %.2f ms vs %.2f ms: %.2fx (goal <= 1.5x)\n", v["a_median_ms"], v["b_median_ms"], v["ratio"]}'

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

exec >&3 2>&4
wait "$tee_pid"
echo
echo "== Summary: every measure that states a goal, as printed above"
grep -E 'goal' "$work/all.log" | grep -v '^== ' | sed 's/^ *//' | awk '{printf "  %s\n", $0}'
