#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Release signatures interoperate with Debian's real minisign in both directions, and any
# flipped byte (file, signature, trusted comment) is refused by both.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

command -v minisign >/dev/null || skip "minisign is not installed (Debian package minisign)"
cd "$TEST_TMP"
head -c 200000 /dev/urandom >bundle.tar.gz

expect_status 0 "$CA_BIN" release keygen --public k.pub --secret k.sec
check "secret key mode" [ "$(stat -c %a k.sec)" = 600 ]
expect_status 1 "$CA_BIN" release keygen --public k2.pub --secret k.sec
expect_grep "cannot create secret key" "$TEST_TMP/err"
expect_status 0 "$CA_BIN" release sign --secret k.sec --comment "version:0.1.0 file:bundle.tar.gz" bundle.tar.gz
check "no signature file" [ -s bundle.tar.gz.minisig ]

# Ours -> minisign.
expect_status 0 minisign -Vm bundle.tar.gz -p k.pub
expect_grep "Trusted comment: version:0.1.0 file:bundle.tar.gz" "$TEST_TMP/out"
expect_status 0 "$CA_BIN" release verify --public k.pub bundle.tar.gz
expect_grep "^trusted comment: version:0.1.0 file:bundle.tar.gz$" "$TEST_TMP/out"

# A flipped byte in the file: both refuse.
cp bundle.tar.gz flipped.tar.gz
flip_byte flipped.tar.gz 1000
check "the byte changed" bash -c "! cmp -s bundle.tar.gz flipped.tar.gz"
cp bundle.tar.gz.minisig flipped.tar.gz.minisig
expect_status 1 minisign -Vm flipped.tar.gz -p k.pub
expect_status 1 "$CA_BIN" release verify --public k.pub flipped.tar.gz
expect_grep "does not verify" "$TEST_TMP/err"

# A changed trusted comment: both refuse.
sed 's/^trusted comment: version:0.1.0/trusted comment: version:9.9.9/' bundle.tar.gz.minisig >changed.minisig
expect_status 1 minisign -Vm bundle.tar.gz -p k.pub -x changed.minisig
expect_status 1 "$CA_BIN" release verify --public k.pub --sig changed.minisig bundle.tar.gz
expect_grep "trusted comment .* does not verify" "$TEST_TMP/err"

# A flipped byte in the signature line: both refuse.
"$CA_PYTHON3" - bundle.tar.gz.minisig badsig.minisig <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
raw = bytearray(base64.b64decode(lines[1]))
raw[20] ^= 1
lines[1] = base64.b64encode(bytes(raw)).decode()
open(sys.argv[2], "w").write("\n".join(lines))
PY
expect_status 1 minisign -Vm bundle.tar.gz -p k.pub -x badsig.minisig
expect_status 1 "$CA_BIN" release verify --public k.pub --sig badsig.minisig bundle.tar.gz

# Another key: refused.
expect_status 0 "$CA_BIN" release keygen --public o.pub --secret o.sec
expect_status 1 "$CA_BIN" release verify --public o.pub bundle.tar.gz
expect_grep "another key" "$TEST_TMP/err"

# minisign -> ours.
minisign -G -W -p m.pub -s m.sec >/dev/null 2>&1
minisign -S -W -s m.sec -m bundle.tar.gz -x m.minisig -t 'made by minisign' >/dev/null 2>&1
expect_status 0 "$CA_BIN" release verify --public m.pub --sig m.minisig bundle.tar.gz
expect_grep "^trusted comment: made by minisign$" "$TEST_TMP/out"
expect_status 1 "$CA_BIN" release verify --public m.pub --sig m.minisig flipped.tar.gz
finish
