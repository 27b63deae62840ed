#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package (packaging/make-deb.sh), installed into a fresh debootstrap chroot whose apt
# resolves the dependencies from this machine's Debian mirror: lintian finds nothing; two builds
# are the same bytes; apt-get install ./coding-agents_*.deb gives a working version, verify and
# doctor; dpkg --verify is clean; an upgrade keeps the previous release and rollback returns to
# it; install and uninstall leave apt's prefix alone; remove and purge leave nothing behind.
# Needs root, debootstrap, lintian and a reachable Debian mirror.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "a chroot needs root"
for tool in debootstrap lintian dpkg-deb; do
        command -v "$tool" >/dev/null || skip "$tool is needed"
done
CA_E2E_ROOT=${CA_E2E_ROOT:-/var/tmp/coding-agents-e2e}
root="$TEST_TMP/root"
cleanup_chroot() {
        umount "$root/proc" 2>/dev/null || true
        cleanup_tmp
}
trap cleanup_chroot EXIT

# ---- a release bundle of this build, and its packages ---------------------------------------
cmake --install "$CA_BUILD_DIR" --prefix "$TEST_TMP/stage" >/dev/null
rm -rf "$TEST_TMP/stage/include" "$TEST_TMP/stage/lib"
SOURCE_DATE_EPOCH=1700000000 "$CA_BIN" release bundle --version 0.1.0 --stage "$TEST_TMP/stage" \
        --out "$TEST_TMP/coding-agents-0.1.0-linux-x86_64.tar.gz" >/dev/null
make_deb() { # OUTDIR [VERSION]
        SOURCE_DATE_EPOCH=1700000000 bash "$CA_SOURCE_DIR/packaging/make-deb.sh" \
                "$TEST_TMP/coding-agents-0.1.0-linux-x86_64.tar.gz" "$@"
}
arch=$(dpkg --print-architecture)
make_deb "$TEST_TMP/debs" >/dev/null
make_deb "$TEST_TMP/again" >/dev/null
deb="$TEST_TMP/debs/coding-agents_0.1.0_$arch.deb"
check "two builds of the package differ" cmp -s "$deb" "$TEST_TMP/again/coding-agents_0.1.0_$arch.deb"
# The upgrade: the same build relabelled 0.1.1 (the test has one build to package).
make_deb "$TEST_TMP/debs" 0.1.1 >/dev/null
deb2="$TEST_TMP/debs/coding-agents_0.1.1_$arch.deb"
# Tags the package overrides itself (usr/share/lintian/overrides, each with its reason) are not
# reported; any other error or warning is.
lintian --fail-on error,warning "$deb" >"$TEST_TMP/lintian" 2>&1 || fail "lintian: $(cat "$TEST_TMP/lintian")"
grep -v "running with root privileges is not recommended" "$TEST_TMP/lintian" >"$TEST_TMP/lintian.said" || true
check "lintian said something: $(cat "$TEST_TMP/lintian.said")" test ! -s "$TEST_TMP/lintian.said"
dpkg-deb -c "$deb" >"$TEST_TMP/contents"
check "the package lacks the release's SHA256SUMS" grep -q "./usr/lib/coding-agents/releases/0.1.0/SHA256SUMS$" "$TEST_TMP/contents"
check "the package lacks a man page" grep -q "./usr/share/man/man1/coding-agents-run.1.gz$" "$TEST_TMP/contents"
check "the package lacks the broker's user units" grep -q "./usr/lib/systemd/user/coding-agents-broker.socket$" "$TEST_TMP/contents"
check "the package lacks the bash completion" grep -q "./usr/share/bash-completion/completions/coding-agents$" "$TEST_TMP/contents"

# ---- a fresh Debian, its apt on this machine's mirror (the chroot is cached between runs) ---
mirror=$("$CA_PYTHON3" - <<'PY'
import glob, re
for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
    try:
        text = open(f).read()
    except OSError:
        continue
    for stanza in text.split("\n\n"):
        if "bookworm" in stanza and "main" in stanza:
            m = re.search(r"^URIs:\s*(\S+)", stanza, re.M) or re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", stanza, re.M)
            if m and "debian" in m.group(1):
                print(m.group(1))
                raise SystemExit
PY
)
[ -n "$mirror" ] || skip "no Debian bookworm mirror in this machine's apt sources"
cache="$CA_E2E_ROOT/deb-chroot-bookworm.tar"
if [ ! -f "$cache" ]; then
        mkdir -p "$CA_E2E_ROOT"
        debootstrap --variant=minbase bookworm "$TEST_TMP/fresh" "$mirror" >"$TEST_TMP/debootstrap.log" 2>&1 ||
                fail "debootstrap from $mirror: $(tail -5 "$TEST_TMP/debootstrap.log")"
        tar -C "$TEST_TMP/fresh" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
        rm -rf "$TEST_TMP/fresh"
fi
mkdir -p "$root"
tar -C "$root" -xf "$cache"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
in_root() {
        chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"
}
cp "$deb" "$deb2" "$root/tmp/"
in_root apt-get update -qq >"$TEST_TMP/apt.log" 2>&1 || fail "apt-get update: $(tail -5 "$TEST_TMP/apt.log")"

# ---- install, use, verify ------------------------------------------------------------------
in_root apt-get install -y -qq "/tmp/${deb##*/}" >"$TEST_TMP/apt.log" 2>&1 ||
        fail "apt-get install: $(tail -10 "$TEST_TMP/apt.log")"
check "current is not the installed release" test "$(readlink "$root/usr/lib/coding-agents/current")" = releases/0.1.0
expect_status 0 in_root coding-agents version
expect_grep '^coding-agents 0\.1\.0$' "$TEST_TMP/out"
expect_status 0 in_root coding-agents verify
expect_status 0 in_root coding-agents env --json
expect_grep '"profile": "prod"' "$TEST_TMP/out"
expect_status 0 in_root dpkg --verify coding-agents
check "dpkg --verify reports a change: $(cat "$TEST_TMP/out")" test ! -s "$TEST_TMP/out"
in_root coding-agents doctor --json >"$TEST_TMP/doctor.json" 2>/dev/null || true
check "doctor does not find the package's release intact" "$CA_PYTHON3" -c '
import json, sys
c = {c["check"]: c for c in json.load(open(sys.argv[1]))["checks"]}
assert c["install"]["result"] == "ok" and "release 0.1.0" in c["install"]["detail"], c["install"]' \
        "$TEST_TMP/doctor.json"
check "the man page is not where man looks" test -f "$root/usr/share/man/man1/coding-agents.1.gz"
# install and uninstall leave apt's releases to apt.
expect_status 1 in_root coding-agents uninstall
expect_grep "belongs to the Debian package" "$TEST_TMP/err"
check "uninstall removed the package's release" test -d "$root/usr/lib/coding-agents/releases/0.1.0"

# ---- upgrade, rollback ---------------------------------------------------------------------
in_root apt-get install -y -qq "/tmp/${deb2##*/}" >"$TEST_TMP/apt.log" 2>&1 ||
        fail "the upgrade: $(tail -10 "$TEST_TMP/apt.log")"
check "current is not the upgrade" test "$(readlink "$root/usr/lib/coding-agents/current")" = releases/0.1.1
check "previous is not the release before" test "$(readlink "$root/usr/lib/coding-agents/previous")" = releases/0.1.0
expect_status 0 in_root sh -c 'cd /usr/lib/coding-agents/releases/0.1.0 && sha256sum -c --quiet SHA256SUMS'
expect_status 0 in_root dpkg --verify coding-agents
check "dpkg --verify reports a change after the upgrade: $(cat "$TEST_TMP/out")" test ! -s "$TEST_TMP/out"
expect_status 0 in_root coding-agents rollback
check "rollback did not return to 0.1.0" test "$(readlink "$root/usr/lib/coding-agents/current")" = releases/0.1.0
expect_status 0 in_root coding-agents verify
expect_status 0 in_root coding-agents rollback
check "a second rollback did not return to 0.1.1" test "$(readlink "$root/usr/lib/coding-agents/current")" = releases/0.1.1

# ---- remove, purge -------------------------------------------------------------------------
mkdir -p "$root/root/.config/coding-agents"
echo keep >"$root/root/.config/coding-agents/mine"
expect_status 0 in_root apt-get remove -y -qq coding-agents
check "remove left /usr/lib/coding-agents: $(ls -a "$root/usr/lib/coding-agents" 2>&1)" test ! -e "$root/usr/lib/coding-agents"
check "remove left /usr/bin/coding-agents" test ! -e "$root/usr/bin/coding-agents" -a ! -L "$root/usr/bin/coding-agents"
check "remove touched the user's config root" test -f "$root/root/.config/coding-agents/mine"
expect_status 0 in_root apt-get purge -y -qq coding-agents
expect_grep "Left in place, as each user's own: ~/.config/coding-agents" "$TEST_TMP/err"
check "purge left the package known to dpkg" sh -c "! chroot '$root' dpkg -s coding-agents >/dev/null 2>&1"
check "purge left /usr/lib/coding-agents" test ! -e "$root/usr/lib/coding-agents"
check "an alternative is left" test ! -e "$root/var/lib/dpkg/alternatives/coding-agents"
finish
