#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Immutable blue/green installs: signed bundles, current/previous switching, rollback,
# anti-rollback, refusals (hash, signature, user-writable prefix, traversal and link entries),
# and kill -9 at random moments of an install never leaving a broken `current`. Needs root.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "installs need root"

# The prefix must sit where only root can write: not under /tmp (world-writable, sticky).
base=$(mktemp -d /var/lib/ca-install-test.XXXXXX)
chmod 755 "$base"
prefix="$base/opt"
cleanup() {
        rm -rf "$base"
        cleanup_tmp
}
trap cleanup EXIT

cd "$TEST_TMP"
"$CA_BIN" release keygen --public k.pub --secret k.sec >/dev/null
"$CA_BIN" release keygen --public other.pub --secret other.sec >/dev/null
make_bundle() {
        local version=$1 stage="$TEST_TMP/stage-$1"
        mkdir -p "$stage/bin" "$stage/share/doc"
        copy_host_programs "$stage/bin"
        printf 'release %s\n' "$version" >"$stage/share/doc/VERSION"
        SOURCE_DATE_EPOCH=0 "$CA_BIN" release bundle --version "$version" --stage "$stage" \
                --out "$TEST_TMP/ca-$version.tar.gz" >/dev/null
        "$CA_BIN" release sign --secret k.sec "$TEST_TMP/ca-$version.tar.gz" >/dev/null
}
make_bundle 0.1.0
make_bundle 0.2.0
make_bundle 0.10.0

current() {
        readlink "$prefix/current"
}

# First install: verified, immutable, current.
sha=$(sha256sum ca-0.1.0.tar.gz | cut -d' ' -f1)
expect_status 0 "$CA_BIN" install ca-0.1.0.tar.gz --pubkey k.pub --sha256 "$sha" --prefix "$prefix"
expect_grep "^signed by key [0-9A-F]{16}\$" "$TEST_TMP/out"
check "current after first install: $(current)" [ "$(current)" = releases/0.1.0 ]
check "installed binary is writable" [ "$(stat -c %a "$prefix/releases/0.1.0/bin/coding-agents")" = 555 ]
check "installed doc is writable" [ "$(stat -c %a "$prefix/releases/0.1.0/share/doc/VERSION")" = 444 ]
expect_status 0 "$CA_BIN" verify "$prefix/current"
# Which key vouched for it is recorded beside it (minisign's id of k.pub), read-only.
keyid=$("$CA_PYTHON3" -c 'import base64, sys
print(base64.b64decode(open(sys.argv[1]).read().splitlines()[1])[2:10][::-1].hex().upper())' k.pub)
check "the signer record is not the key's id" test "$(cat "$prefix/releases/0.1.0.signer")" = "key id $keyid"
check "the signer record is writable" test "$(stat -c %a "$prefix/releases/0.1.0.signer")" = 444
# The installed binary knows it is prod (its own config root); the build tree's is dev.
xdg="$TEST_TMP/xdg"
CODING_AGENTS_CONFIG_DIR='' XDG_CONFIG_HOME="$xdg" expect_status 0 "$prefix/current/bin/coding-agents" env --json
check "installed binary not prod" "$CA_PYTHON3" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["profile"]=="prod" and d["version"]=="0.1.0" and d["config_root"]==sys.argv[2]+"/coding-agents", d' "$TEST_TMP/out" "$xdg"
CODING_AGENTS_CONFIG_DIR='' XDG_CONFIG_HOME="$xdg" expect_status 0 "$CA_BIN" env --shell
expect_grep "^CODING_AGENTS_PROFILE='dev'$" "$TEST_TMP/out"
expect_grep "^CODING_AGENTS_CONFIG_ROOT='$xdg/coding-agents-dev'$" "$TEST_TMP/out"
expect_grep '"type":"env-detect"' "$xdg/coding-agents/security-events.log"

# A prod session setup verifies the release first, and measures the release itself.
mkdir -p "$TEST_TMP/ws"
printf '[mcp_servers.x]\ncommand = "c"\n' >"$TEST_TMP/ws/config.toml"
prod_render() {
        CODING_AGENTS_CONFIG_DIR="$TEST_TMP/prodcfg" "$prefix/current/bin/coding-agents" render \
                --agent claude --workspace "$TEST_TMP/ws" --session-id s --out "$1"
}
CODING_AGENTS_CONFIG_DIR="$TEST_TMP/prodcfg" expect_status 0 "$prefix/current/bin/coding-agents" \
        config approve "$TEST_TMP/ws"
expect_status 0 prod_render "$TEST_TMP/prod-session"
expect_grep '"kind":"release"' "$TEST_TMP/prod-session/manifest.json"
# doctor: the install's check passes on the intact release, fails on a tampered one (the
# engine's check fails here too: there is none at DOCKER_HOST).
prod_doctor() {
        CODING_AGENTS_CONFIG_DIR="$TEST_TMP/prodcfg" DOCKER_HOST="unix://$TEST_TMP/no-engine.sock" \
                "$prefix/current/bin/coding-agents" doctor --json
}
doctor_says() {
        "$CA_PYTHON3" -c 'import json, sys
d = {c["check"]: c for c in json.load(open(sys.argv[1]))["checks"]}
c = d[sys.argv[2]]
assert c["result"] == sys.argv[3] and sys.argv[4] in c["detail"], c' "$TEST_TMP/out" "$@"
}
expect_status 1 prod_doctor
check "doctor: the intact install is not ok" doctor_says install ok "files match SHA256SUMS"
check "doctor: the signing key is not reported" doctor_says signing-key ok "against key $keyid"
check "doctor: no engine is not a failure" doctor_says engine fail "cannot reach the engine"
chmod u+w "$prefix/releases/0.1.0/share/doc/VERSION"
echo tampered >>"$prefix/releases/0.1.0/share/doc/VERSION"
expect_status 1 prod_doctor
check "doctor: the tampered install is not a failure" doctor_says install fail \
        "does not match its SHA256SUMS"
expect_grep '"remedy": "coding-agents rollback, or install the release again"' "$TEST_TMP/out"
expect_grep '"type":"doctor"' "$TEST_TMP/prodcfg/security-events.log"
expect_status 1 prod_render "$TEST_TMP/prod-session2"
expect_grep "failed its integrity check" "$TEST_TMP/err"
check "a refused session wrote output" [ ! -e "$TEST_TMP/prod-session2" ]
expect_grep '"type":"integrity-failed"' "$TEST_TMP/prodcfg/security-events.log"
expect_no_grep '"type":"session-config".*"session":"s".*prod-session2' "$TEST_TMP/prodcfg/security-events.log"
# A prod `run` refuses the same way before anything else: no engine is asked (there is none at
# DOCKER_HOST, which would be the error otherwise), no credential read, no container.
CODING_AGENTS_CONFIG_DIR="$TEST_TMP/prodcfg" DOCKER_HOST="unix://$TEST_TMP/no-engine.sock" \
        HOME="$TEST_TMP/nohome" expect_status 1 "$prefix/current/bin/coding-agents" run claude "$TEST_TMP/ws"
expect_grep "failed its integrity check" "$TEST_TMP/err"
expect_no_grep "engine|credential" "$TEST_TMP/err"
check "a refused run left no integrity-failed event" test "$(grep -c '"type":"integrity-failed"' "$TEST_TMP/prodcfg/security-events.log")" -ge 2
expect_no_grep '"type":"(session-start|runtime-blocked)"' "$TEST_TMP/prodcfg/security-events.log"

# Upgrade keeps the old one as previous; rollback swaps them back.
expect_status 0 "$CA_BIN" install ca-0.2.0.tar.gz --pubkey k.pub --prefix "$prefix"
check "current after upgrade" [ "$(current)" = releases/0.2.0 ]
check "previous after upgrade" [ "$(readlink "$prefix/previous")" = releases/0.1.0 ]
expect_status 0 "$CA_BIN" rollback --prefix "$prefix"
check "current after rollback" [ "$(current)" = releases/0.1.0 ]
check "previous after rollback" [ "$(readlink "$prefix/previous")" = releases/0.2.0 ]
# 0.10.0 > 0.2.0 numerically.
expect_status 0 "$CA_BIN" install ca-0.10.0.tar.gz --pubkey k.pub --prefix "$prefix"
check "0.10.0 not current" [ "$(current)" = releases/0.10.0 ]

# Anti-rollback: an older version needs --allow-downgrade, which is recorded.
expect_status 1 "$CA_BIN" install ca-0.2.0.tar.gz --pubkey k.pub --prefix "$prefix"
expect_grep "refusing a downgrade" "$TEST_TMP/err"
check "a refused downgrade switched" [ "$(current)" = releases/0.10.0 ]
expect_status 0 "$CA_BIN" install ca-0.2.0.tar.gz --pubkey k.pub --prefix "$prefix" --allow-downgrade
check "allowed downgrade" [ "$(current)" = releases/0.2.0 ]
expect_grep '"override":"allow-downgrade"' "$CODING_AGENTS_CONFIG_DIR/security-events.log"

# Refusals: nothing changes, nothing is left behind.
refuse() {
        local pattern=$1
        shift
        expect_status 1 "$CA_BIN" install "$@" --prefix "$prefix"
        expect_grep "$pattern" "$TEST_TMP/err"
        check "a refused install switched current" [ "$(current)" = releases/0.2.0 ]
}
refuse "expected $(printf '0%.0s' $(seq 64))" ca-0.1.0.tar.gz --pubkey k.pub --sha256 "$(printf '0%.0s' $(seq 64))"
refuse "another key" ca-0.1.0.tar.gz --pubkey other.pub
cp ca-0.10.0.tar.gz tampered.tar.gz
cp ca-0.10.0.tar.gz.minisig tampered.tar.gz.minisig
flip_byte tampered.tar.gz 500
refuse "does not verify" tampered.tar.gz --pubkey k.pub
# Each refusal is on record (install-refused), with the bundle and the reason.
expect_grep '"type":"install-refused"' "$CODING_AGENTS_CONFIG_DIR/security-events.log"
expect_grep '"bundle":"tampered.tar.gz".*"reason":"[^"]*does not verify' "$CODING_AGENTS_CONFIG_DIR/security-events.log"

# Hostile bundles, properly signed: traversal, absolute paths, links, two top directories.
"$CA_PYTHON3" - "$TEST_TMP" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def make(name, entries):
    with tarfile.open(f"{d}/{name}.tar.gz", "w:gz") as t:
        for path, kind, target in entries:
            info = tarfile.TarInfo(path)
            if kind == "file":
                data = b"x"
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, target
                t.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, target
                t.addfile(info)
make("traversal", [("coding-agents-9.0.0/../../escape", "file", None)])
make("absolute", [("/coding-agents-9.0.0/x", "file", None)])
make("symlink", [("coding-agents-9.0.0/bin", "symlink", "/usr/bin")])
make("hardlink", [("coding-agents-9.0.0/a", "file", None), ("coding-agents-9.0.0/b", "hardlink", "/etc/shadow")])
make("twotops", [("coding-agents-9.0.0/a", "file", None), ("other/b", "file", None)])
PY
for evil in traversal absolute symlink hardlink twotops; do
        "$CA_BIN" release sign --secret k.sec "$evil.tar.gz" >/dev/null
        refuse "refusing bundle entry" "$evil.tar.gz" --pubkey k.pub
done
check "an escape was written" [ ! -e "$base/escape" ] && check "leftovers" [ -z "$(find "$prefix/releases" -maxdepth 1 -name '.incoming-*')" ]

# A prefix someone else can write to is refused.
chmod 777 "$prefix"
expect_status 1 "$CA_BIN" install ca-0.10.0.tar.gz --pubkey k.pub --prefix "$prefix"
expect_grep "writable by others than root" "$TEST_TMP/err"
chmod 755 "$prefix"
expect_status 2 "$CA_BIN" install ca-0.10.0.tar.gz --pubkey k.pub --prefix relative/prefix

# kill -9 at random moments of installs, alternating versions: `current` always names a
# complete release that verifies.
bad=0
for i in $(seq 1 40); do
        v=0.2.0
        [ $((i % 2)) -eq 0 ] && v=0.10.0
        "$CA_BIN" install "ca-$v.tar.gz" --pubkey k.pub --prefix "$prefix" --allow-downgrade \
                >/dev/null 2>&1 &
        pid=$!
        # Fault injection timing (not synchronisation): 0-19 ms into the install.
        sleep "0.0$((RANDOM % 20))"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        if ! "$CA_BIN" verify "$prefix/current" >/dev/null 2>&1; then
                bad=$((bad + 1))
                fail "iteration $i: current ($(current)) does not verify"
        fi
done
check "$bad broken installs" [ "$bad" -eq 0 ]
# The next install cleans up whatever the kills left.
expect_status 0 "$CA_BIN" install ca-0.10.0.tar.gz --pubkey k.pub --prefix "$prefix" --allow-downgrade
check "leftovers after a clean install" [ -z "$(find "$prefix" -maxdepth 2 -name '.incoming-*' -o -maxdepth 2 -name '.*.tmp')" ]

# A bundle swapped between its verification and its unpacking (issue 17): a watcher replaces
# the file with an unsigned release the moment the installer has read it twice (hash, then
# signature). What was verified must be what is unpacked: the installer reads one private copy.
make_bundle 0.20.0
rm ca-0.20.0.tar.gz.minisig
cp ca-0.2.0.tar.gz swap.tar.gz
cp ca-0.2.0.tar.gz.minisig swap.tar.gz.minisig
# (A leftover of an interrupted install with many files: cleaning it up holds the installer
# between the checks and the unpacking long enough for the swap to win, were it possible.)
mkdir -p "$prefix/releases/.incoming-slow"
(cd "$prefix/releases/.incoming-slow" && seq 1 30000 | xargs touch)
mkfifo watch.fifo
inotifywait -m -q -e close_nowrite --format x swap.tar.gz >watch.fifo 2>/dev/null &
watcher=$!
exec {wfd}<watch.fifo
(
        IFS= read -r -u "$wfd" _ && IFS= read -r -u "$wfd" _ && mv ca-0.20.0.tar.gz swap.tar.gz
) &
swapper=$!
expect_status 0 "$CA_BIN" install swap.tar.gz --pubkey k.pub --prefix "$prefix" --allow-downgrade \
        --sha256 "$(sha256sum ca-0.2.0.tar.gz | cut -d' ' -f1)"
kill "$watcher" "$swapper" 2>/dev/null || true
wait "$watcher" "$swapper" 2>/dev/null || true
exec {wfd}<&-
check "an unsigned release was installed: $(current)" [ "$(current)" = releases/0.2.0 ]
check "the unsigned release is on disk" [ ! -e "$prefix/releases/0.20.0" ]

expect_status 0 "$CA_BIN" uninstall --prefix "$prefix"
check "uninstall left current" [ ! -e "$prefix/current" ] && check "uninstall left releases" [ ! -e "$prefix/releases" ]
finish
