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
"$CA_BIN" release keygen --public k.pub --secret k.sec >/dev/null
"$CA_BIN" release keygen --public o.pub --secret o.sec >/dev/null
mkdir -p stage/bin rel
copy_host_programs stage/bin
name=coding-agents-0.3.0-linux-x86_64.tar.gz
"$CA_BIN" release bundle --version 0.3.0 --stage stage --out "rel/$name" >/dev/null
"$CA_BIN" release sign --secret k.sec "rel/$name" >/dev/null
bash "$CA_SOURCE_DIR/packaging/make-installer.sh" "rel/$name" k.pub >rel/install.sh
check "installer is not valid sh" sh -n rel/install.sh

expect_status 0 sh rel/install.sh --prefix "$base/opt"
check "install.sh did not install" [ "$(readlink "$base/opt/current")" = releases/0.3.0 ]
expect_status 0 "$base/opt/current/bin/coding-agents" verify

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
