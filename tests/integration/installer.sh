#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The generated install.sh: installs a signed release; refuses a bundle with another hash or
# a bad signature before unpacking anything, and then changes nothing. Needs root, minisign.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "installs need root"
command -v minisign >/dev/null || skip "minisign is not installed"
base=$(mktemp -d /var/lib/ca-installer-test.XXXXXX)
chmod 755 "$base"
cleanup() {
        rm -rf "$base"
        cleanup_tmp
}
trap cleanup EXIT

cd "$TEST_TMP"
# The release ships a Sigstore trusted root: here one of our own making (tests/sigstore-forge.py),
# so that the test can sign as the release workflow would.
"$CA_PYTHON3" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
forge=("$CA_PYTHON3" "$CA_SOURCE_DIR/tests/sigstore-forge.py")
signed_release 0.3.0
"$CA_BIN" release keygen --public o.pub --secret o.sec >/dev/null
name=coding-agents-0.3.0-linux-x86_64.tar.gz
bash "$CA_SOURCE_DIR/packaging/make-installer.sh" "rel/$name" k.pub >rel/install.sh
check "installer is not valid sh" sh -n rel/install.sh
workflow=https://github.com/coding-agents/coding-agents/.github/workflows/release.yml
issuer=https://token.actions.githubusercontent.com
sigstore_sign() { # IDENTITY [FLIP]
        "${forge[@]}" sign keys "rel/$name" "rel/$name.sigstore.json" --identity "$1" \
                --issuer "$issuer" ${2:+--flip "$2"}
}

# Without a Sigstore bundle: installed on the hash and minisign alone, and said so; but not
# when one is required.
expect_status 1 sh rel/install.sh --prefix "$base/opt" --require-sigstore
expect_grep "refusing to install .*Sigstore.*$name.sigstore.json" "$TEST_TMP/err"
check "a refused install left a release" [ ! -e "$base/opt/current" ]
expect_status 0 sh rel/install.sh --prefix "$base/opt"
expect_grep "^no Sigstore bundle came with it: verified by key and SHA-256 only" "$TEST_TMP/out"
check "install.sh did not install" [ "$(readlink "$base/opt/current")" = releases/0.3.0 ]
expect_status 0 "$base/opt/current/bin/coding-agents" verify
check "no Sigstore bundle recorded, yet one is" [ ! -e "$base/opt/releases/0.3.0.sigstore.json" ]
check "the bundle's SHA-256 is not recorded" grep -q "^$(sha256sum "rel/$name" | cut -d' ' -f1)  $name\$" \
        "$base/opt/releases/0.3.0.sha256"
doctor_sigstore() { # RESULT TEXT: doctor's sigstore check of the release installed in $base/opt
        CODING_AGENTS_CONFIG_DIR="$TEST_TMP/cfg" DOCKER_HOST="unix://$TEST_TMP/no-engine.sock" \
                "$base/opt/current/bin/coding-agents" doctor --json >"$TEST_TMP/doctor" || true
        "$CA_PYTHON3" -c 'import json, sys
c = {c["check"]: c for c in json.load(open(sys.argv[1]))["checks"]}["sigstore"]
assert c["result"] == sys.argv[2] and sys.argv[3] in c["detail"], c' "$TEST_TMP/doctor" "$@"
}
check "doctor: no Sigstore bundle is not a warning" doctor_sigstore warn "without a Sigstore bundle"
rm -rf "$base/opt"

# Signed by the release workflow at the tag of 0.3.0: verified, recorded, and doctor verifies
# it again later.
sigstore_sign "$workflow@refs/tags/v0.3.0"
expect_status 0 sh rel/install.sh --prefix "$base/opt" --require-sigstore
expect_grep "^signed by $workflow@refs/tags/v0.3.0 \\(Sigstore, issuer $issuer\\)" "$TEST_TMP/out"
check "the Sigstore bundle is not recorded" cmp -s "rel/$name.sigstore.json" \
        "$base/opt/releases/0.3.0.sigstore.json"
check "doctor: the Sigstore bundle does not verify" doctor_sigstore ok "signed by $workflow@refs/tags/v0.3.0"
# The record changed behind the install's back (another bundle's hash): doctor fails it.
chmod u+w "$base/opt/releases/0.3.0.sha256"
# (its first hex digit changed: 0 becomes 1, anything else 0)
sed -i 's/^0/g/; s/^[1-9a-f]/0/; s/^g/1/' "$base/opt/releases/0.3.0.sha256"
check "doctor: a wrong recorded hash passes" doctor_sigstore fail "does not verify: the bundle's message digest"
rm -rf "$base/opt"

# Signed by someone else, or by the workflow at another tag, or with a broken log entry: refused
# before anything is installed, with the check that failed.
while IFS='|' read -r who flip why; do
        sigstore_sign "$who" "$flip"
        expect_status 1 sh rel/install.sh --prefix "$base/opt"
        expect_grep "refusing to install .*: Sigstore: .*$why" "$TEST_TMP/err"
        check "a refused install ($who $flip) left a release" [ ! -e "$base/opt/current" ]
done <<EOF
https://github.com/fork/coding-agents/.github/workflows/release.yml@refs/tags/v0.3.0||the certificate is not for '$workflow@refs/tags/v0.3.0'
$workflow@refs/tags/v0.2.0||the certificate is not for
$workflow@refs/heads/main||the certificate is not for
$workflow@refs/tags/v0.3.0|issuer|OIDC issuer is not '$issuer'
$workflow@refs/tags/v0.3.0|proof-hash|the inclusion proof does not lead to its root
$workflow@refs/tags/v0.3.0|digest|the bundle's message digest is not the artifact's
EOF
rm -f "rel/$name.sigstore.json"

# Another bundle under the same name: the SHA-256 check stops it.
cp "rel/$name" good.tar.gz
printf 'x' >>"rel/$name"
expect_status 1 sh rel/install.sh --prefix "$base/opt2"
expect_grep "does not have the SHA-256" "$TEST_TMP/err"
check "a refused install created the prefix" [ ! -e "$base/opt2" ]
# The right hash but a signature by another key: minisign stops it.
cp good.tar.gz "rel/$name"
"$CA_BIN" release sign --secret o.sec "rel/$name" >/dev/null
expect_status 1 sh rel/install.sh --prefix "$base/opt2"
expect_grep "signature of .* does not verify" "$TEST_TMP/err"
check "a refused install created the prefix" [ ! -e "$base/opt2" ]
finish
