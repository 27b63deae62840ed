#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# release bundle is reproducible: the same files staged twice (with different mtimes, owners
# and modes on disk) give byte-identical tarballs; entries are sorted, owned by root, dated
# SOURCE_DATE_EPOCH; the unpacked bundle passes sha256sum -c; symlinks are refused.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

stage() {
        local d=$1
        mkdir -p "$d/bin" "$d/share/doc/coding-agents" "$d/share/coding-agents/docker/profiles"
        copy_host_programs "$d/bin"
        printf 'docs\n' >"$d/share/doc/coding-agents/README.md"
        printf '{}\n' >"$d/share/coding-agents/docker/profiles/seccomp.json"
}
stage "$TEST_TMP/a"
stage "$TEST_TMP/b"
# Same bytes, different metadata on disk.
touch -d '2001-02-03 04:05:06' "$TEST_TMP/b/share/doc/coding-agents/README.md"
chmod 600 "$TEST_TMP/b/share/coding-agents/docker/profiles/seccomp.json"
chown 65534:65534 "$TEST_TMP/b/bin/coding-agents" 2>/dev/null || true

export SOURCE_DATE_EPOCH=1700000000
expect_status 0 "$CA_BIN" release bundle --version 0.1.0 --stage "$TEST_TMP/a" --out "$TEST_TMP/a.tar.gz"
expect_status 0 "$CA_BIN" release bundle --version 0.1.0 --stage "$TEST_TMP/b" --out "$TEST_TMP/b.tar.gz"
check "bundles differ" cmp "$TEST_TMP/a.tar.gz" "$TEST_TMP/b.tar.gz"
expect_status 0 "$CA_BIN" release bundle --version 0.1.0 --stage "$TEST_TMP/a" --out "$TEST_TMP/a2.tar.gz"
check "rebuilding changed the bundle" cmp "$TEST_TMP/a.tar.gz" "$TEST_TMP/a2.tar.gz"

tar -tvzf "$TEST_TMP/a.tar.gz" --full-time >"$TEST_TMP/listing"
awk '{print $NF}' "$TEST_TMP/listing" >"$TEST_TMP/names"
check "entries not sorted" env LC_ALL=C sort -c "$TEST_TMP/names"
check "an entry is not root-owned" [ "$(awk '{print $2}' "$TEST_TMP/listing" | sort -u)" = root/root ]
expect_grep '2023-11-14 22:13:20 coding-agents-0.1.0/SHA256SUMS$' "$TEST_TMP/listing"
expect_grep '^-rwxr-xr-x .* coding-agents-0.1.0/bin/coding-agents$' "$TEST_TMP/listing"
expect_grep '^-rw-r--r-- .* coding-agents-0.1.0/share/coding-agents/docker/profiles/seccomp.json$' "$TEST_TMP/listing"
# No gzip timestamp (bytes 4-7 of the header are zero).
check "gzip header carries a timestamp" [ "$(od -An -tx1 -j4 -N4 "$TEST_TMP/a.tar.gz" | tr -d ' ')" = 00000000 ]

mkdir "$TEST_TMP/unpacked"
tar -xzf "$TEST_TMP/a.tar.gz" -C "$TEST_TMP/unpacked"
# shellcheck disable=SC2016 # the inner script takes the directory as "$1"
check "sha256sum -c fails in the unpacked bundle" bash -c 'cd "$1" && sha256sum -c --quiet SHA256SUMS' _ "$TEST_TMP/unpacked/coding-agents-0.1.0"
expect_status 0 "$CA_BIN" verify "$TEST_TMP/unpacked/coding-agents-0.1.0"

ln -s /etc/passwd "$TEST_TMP/a/share/link"
expect_status 1 "$CA_BIN" release bundle --version 0.1.0 --stage "$TEST_TMP/a" --out "$TEST_TMP/c.tar.gz"
expect_grep "is not a regular file" "$TEST_TMP/err"
check "a failed bundle left a file" [ ! -e "$TEST_TMP/c.tar.gz" ]
expect_status 2 "$CA_BIN" release bundle --version '../x' --stage "$TEST_TMP/a" --out "$TEST_TMP/c.tar.gz"
finish
