#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The broker under systemd (packaging/systemd/): the user units pass systemd-analyze verify; each
# hardening setting the service carries is one systemd-analyze security counts as set; every
# system call the broker makes while serving (traced) is one the unit's filter allows; started
# through systemd-socket-activate the broker takes the socket it is passed (same inode, mode
# 0600, left in place when it stops), answers broker health, stores, issues and redeems, and
# refuses another user even when the socket is opened to everyone.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

for tool in systemd-analyze systemd-socket-activate strace setpriv; do
        command -v "$tool" >/dev/null || skip "$tool is needed"
done
units="$CA_SOURCE_DIR/packaging/systemd"
bin=$(dirname "$CA_BIN")

# ---- the units -----------------------------------------------------------------------------
mkdir -p "$TEST_TMP/units" "$TEST_TMP/xdg-runtime"
chmod 0700 "$TEST_TMP/xdg-runtime"
cp "$units/coding-agents-broker.socket" "$TEST_TMP/units/"
sed "s|^ExecStart=/opt/coding-agents/current/bin/ca-broker |ExecStart=$bin/ca-broker |" \
        "$units/coding-agents-broker.service" >"$TEST_TMP/units/coding-agents-broker.service"
check "the service's ExecStart is not the installed ca-broker" \
        grep -q '^ExecStart=/opt/coding-agents/current/bin/ca-broker serve$' "$units/coding-agents-broker.service"
MANPATH="$CA_BUILD_DIR/cli-docs/man" XDG_RUNTIME_DIR="$TEST_TMP/xdg-runtime" expect_status 0 \
        systemd-analyze verify --user \
        "$TEST_TMP/units/coding-agents-broker.socket" "$TEST_TMP/units/coding-agents-broker.service"
expect_status 0 systemd-analyze security --offline=true --json=short \
        "$TEST_TMP/units/coding-agents-broker.service"
check "a hardening setting of the unit is not in effect" "$CA_PYTHON3" - "$TEST_TMP/out" <<'PY'
import json, sys
got = {c["name"] for c in json.load(open(sys.argv[1])) if c.get("set")}
want = ["NoNewPrivileges=", "MemoryDenyWriteExecute=", "LockPersonality=", "RestrictRealtime=",
        "RestrictSUIDSGID=", "SystemCallArchitectures=", "KeyringMode=", "UMask=",
        "AmbientCapabilities="]
want += ["RestrictNamespaces=~" + n for n in ("user", "pid", "net", "uts", "mnt", "cgroup", "ipc")]
want += ["RestrictAddressFamilies=~" + f for f in ("AF_PACKET", "AF_NETLINK", "AF_(INET|INET6)", "…")]
want += ["SystemCallFilter=~@" + g for g in ("swap", "resources", "reboot", "raw-io", "privileged",
                                             "obsolete", "mount", "module", "debug", "cpu-emulation", "clock")]
missing = [w for w in want if w not in got]
assert not missing, missing
PY

# ---- socket activation ---------------------------------------------------------------------
cfg="$TEST_TMP/cfg"
sock="$cfg/broker.d/run/admin.sock"
mkdir -p "$cfg/broker.d/run"   # what the socket unit's DirectoryMode=0700 makes
chmod -R 0700 "$cfg"
chmod 0711 "$TEST_TMP"   # nobody may pass through to the test below, no further
export CODING_AGENTS_CONFIG_DIR="$cfg"
strace -f -qq -o "$TEST_TMP/trace" systemd-socket-activate --seqpacket -l "$sock" \
        -E CODING_AGENTS_CONFIG_DIR="$cfg" "$bin/ca-broker" serve 2>"$TEST_TMP/activate.log" &
activator=$!
cleanup_broker() {
        [ -z "${broker_pid:-}" ] || kill "$broker_pid" 2>/dev/null || true
        kill "$activator" 2>/dev/null || true
        wait "$activator" 2>/dev/null || true
        cleanup_tmp
}
trap cleanup_broker EXIT
# systemd-socket-activate binds before it waits: the socket appears, then the first client
# starts the broker through it.
inotifywait -qq -t 10 -e create "$cfg/broker.d/run" >/dev/null 2>&1 &
watcher=$!
[ -S "$sock" ] || wait "$watcher" || true
check "systemd-socket-activate did not listen" test -S "$sock"
inode=$(stat -c %i "$sock")
expect_status 0 "$CA_BIN" broker health
expect_grep "^broker: up \\(pid [0-9]+," "$TEST_TMP/out"
broker_pid=$(sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p' "$TEST_TMP/out")
check "the broker bound a socket of its own instead of the one passed" test "$(stat -c %i "$sock")" = "$inode"
check "the passed socket is not 0600" test "$(stat -c %a "$sock")" = 600
printf 'activated-secret' | "$CA_BIN" broker store TOKEN >/dev/null
"$CA_BIN" broker issue --session s1 --stub gh --secret TOKEN --uid 0 --out "$TEST_TMP/cap.json" >/dev/null
expect_status 0 "$CA_BIN" broker redeem --credential "$TEST_TMP/cap.json" --stdout
check "the redeemed value differs" test "$(cat "$TEST_TMP/out")" = activated-secret
# Another user: not even with the socket and its directories open to all (a unit written with
# SocketMode=0666): the broker itself refuses a peer that is not its user.
chmod 0755 "$cfg" "$cfg/broker.d" "$cfg/broker.d/run"
chmod 0666 "$sock"
setpriv --reuid 65534 --regid 65534 --clear-groups "$CA_BIN" broker health >"$TEST_TMP/out" 2>&1 && \
        fail "another user got an answer: $(cat "$TEST_TMP/out")"
check "another user was answered" grep -q "the admin socket serves its owner only" "$TEST_TMP/out"
chmod 0700 "$cfg" "$cfg/broker.d" "$cfg/broker.d/run"
expect_status 0 "$CA_BIN" broker health
# Stopped, the broker leaves the socket to systemd (whose it is).
kill -TERM "$broker_pid"
wait "$activator" || true
check "the broker removed the socket systemd passed it" test -S "$sock"

# Every system call it made is one the unit's SystemCallFilter allows.
systemd-analyze syscall-filter >"$TEST_TMP/groups"
check "the broker makes a system call its unit forbids" "$CA_PYTHON3" - "$TEST_TMP/groups" \
        "$TEST_TMP/trace" "$units/coding-agents-broker.service" <<'PY'
import re, sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    if line.startswith("@"):
        cur = line.split()[0]
        groups[cur] = []
    elif cur and line.startswith("    ") and not line.strip().startswith("#"):
        groups[cur].append(line.strip())
def expand(name):
    out = set()
    for x in groups.get(name, [name]):
        out |= expand(x) if x.startswith("@") and x != name else {x}
    return out
allow, deny = set(), set()
for line in open(sys.argv[3]):
    m = re.match(r"SystemCallFilter=(~?)(.*)", line.strip())
    if m:
        names = set().union(*(expand(n) for n in m.group(2).split()))
        (deny if m.group(1) else allow).update(names)
assert allow, "no allow list in the unit"
used = set()
exec_seen = False
for line in open(sys.argv[2]):
    m = re.match(r"\d+\s+([a-z_0-9]+)\(", line)
    if not m:
        continue
    if m.group(1) == "execve" and "ca-broker" in line:
        exec_seen = True
        continue
    if exec_seen:
        used.add(m.group(1))
assert exec_seen and len(used) > 20, used
bad = sorted(s for s in used if s not in allow or s in deny)
assert not bad, bad
PY
finish
