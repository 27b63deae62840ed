#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the release twice, from the same commit, in two fresh build directories with
# different paths, and checks that the two bundles, and the two archives of debug files beside
# them, are byte-identical.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
a=$(mktemp -d /tmp/ca-repro-a.XXXXXX)
b=$(mktemp -d /tmp/ca-repro-bb.XXXXXX)
trap 'rm -rf "$a" "$b"' EXIT
make -C "$src" --no-print-directory release RELEASE_BUILD="$a" >/dev/null
make -C "$src" --no-print-directory release RELEASE_BUILD="$b" >/dev/null
for d in "$a" "$b"; do
        n=$(find "$d" -maxdepth 1 -name 'coding-agents-*.tar.gz' | wc -l)
        if [ "$n" != 2 ]; then
                echo "reproducible: expected the bundle and its debug files in $d, found $n archives" >&2
                exit 1
        fi
done
ha=$(cd "$a" && sha256sum coding-agents-*.tar.gz)
hb=$(cd "$b" && sha256sum coding-agents-*.tar.gz)
echo "reproducible: $ha ($a)"
echo "reproducible: $hb ($b)"
if [ "$ha" != "$hb" ]; then
        echo "reproducible: the two builds differ:" >&2
        for d in "$a" "$b"; do
                mkdir "$d/x"
                tar -xzf "$d"/coding-agents-*-linux-*[0-9].tar.gz -C "$d/x"
                (cd "$d/x" && find . -type f -exec sha256sum {} + | sort -k2) >"$d/x.sums"
        done
        diff "$a/x.sums" "$b/x.sums" >&2 || true
        exit 1
fi
echo "reproducible: identical"
