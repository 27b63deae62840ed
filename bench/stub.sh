#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mcp-stub: time from spawn to the `initialize` response of server-everything through its stub
# vs spawning the same server directly, and 100 MB through a `cat` server via its stub vs
# `cat` directly (zero copy: the server has the agent's own pipes). Same run, both as the same
# unprivileged UID; nothing is asserted.
#
#   bench/stub.sh BUILD_DIR [ROUNDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
rounds=${2:-20}
export CA_BIN="$build/bin/coding-agents"
python=/usr/bin/python3
npm_dir="$src/tests/npm"
everything="$npm_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
if [ "$(id -u)" -ne 0 ] || [ ! -f "$everything" ] || ! command -v node >/dev/null; then
        echo "stub benchmark: skipped, needs root, node and tests/npm"
        [ "${CI:-}" != true ] || exit 1
        exit 0
fi
work=$(mktemp -d /tmp/ca-bench-stub.XXXXXX)
chmod 0711 "$work"
export CODING_AGENTS_CONFIG_DIR="$work/config"
# shellcheck source=tests/mcp/stub-env.sh
. "$src/tests/mcp/stub-env.sh"
launcher=""
trap '[ -z "$launcher" ] || kill "$launcher" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cat >"$work/config.toml" <<TOML
[mcp_servers.everything]
command = "node"
args = ["$everything", "stdio"]

[mcp_servers.cat]
command = "cat"
TOML
mkdir -m 0700 "$work/creds"
stub_up "$work" "$work/config.toml" "$work/creds" 60124 everything cat

setpriv --reuid 60124 --regid 60124 --clear-groups "$python" - "$work/bin" "$(command -v node)" \
        "$everything" "$rounds" <<'PY'
import json, os, statistics, subprocess, sys, time
bindir, node, everything, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "bench", "version": "1"}}}).encode() + b"\n"

def to_initialize(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdin.write(init); p.stdin.flush()
    line = p.stdout.readline()
    dt = time.perf_counter() - t
    assert b'"result"' in line, line
    p.stdin.close(); p.wait()
    return dt

stub, direct = [bindir + "/mcp-stub-everything"], [node, everything, "stdio"]
to_initialize(stub); to_initialize(direct)  # warm caches
s = statistics.median(to_initialize(stub) for _ in range(rounds))
d = statistics.median(to_initialize(direct) for _ in range(rounds))
print(f"spawn -> initialize (server-everything, median of {rounds}): direct {d*1000:.1f} ms | "
      f"stub {s*1000:.1f} ms | ratio {s/d:.3f}x, +{(s-d)*1000:.1f} ms (goal <= 1.05x + 5 ms)")

def through(cmd, size=100 << 20):
    src = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=src.stdout, stdout=subprocess.PIPE)
    src.stdout.close()
    n = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    p.wait(); src.wait()
    assert n == size, n
    return time.perf_counter() - t

through([bindir + "/mcp-stub-cat"]); through(["cat"])
for mb in (100, 1000):
    s = statistics.median(through([bindir + "/mcp-stub-cat"], mb << 20) for _ in range(5))
    d = statistics.median(through(["cat"], mb << 20) for _ in range(5))
    print(f"{mb} MB through cat (incl. start-up): direct {mb/d:.0f} MB/s | stub {mb/s:.0f} MB/s | "
          f"throughput ratio {d/s:.2f}x (goal 1.0 +- noise: zero copy)")
PY
