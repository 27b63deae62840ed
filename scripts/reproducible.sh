#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the release twice, from the same commit, in two fresh build directories with
# different paths, and checks that the two bundles are byte-identical.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
a=$(mktemp -d /tmp/ca-repro-a.XXXXXX)
b=$(mktemp -d /tmp/ca-repro-bb.XXXXXX)
trap 'rm -rf "$a" "$b"' EXIT
make -C "$src" --no-print-directory release RELEASE_BUILD="$a" >/dev/null
make -C "$src" --no-print-directory release RELEASE_BUILD="$b" >/dev/null
ha=$(sha256sum "$a"/coding-agents-*.tar.gz | cut -d' ' -f1)
hb=$(sha256sum "$b"/coding-agents-*.tar.gz | cut -d' ' -f1)
echo "reproducible: $ha ($a)"
echo "reproducible: $hb ($b)"
if [ "$ha" != "$hb" ]; then
        echo "reproducible: the two builds differ" >&2
        exit 1
fi
echo "reproducible: identical"
