#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# packaging/split-debug.sh on a staged program: the program loses its DWARF and keeps its
# symbol table and its behaviour; the debug file, found by build id, carries the DWARF.
#
#   tests/split-debug.sh BIN_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$1
work=$(mktemp -d /tmp/ca-split-debug.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
        echo "split-debug: FAIL: $*" >&2
        exit 1
}

mkdir -p "$work/stage/bin"
cp "$bin/coding-agents" "$work/stage/bin/"
printf '#!/bin/sh\necho a script\n' >"$work/stage/bin/a-script"
cp "$work/stage/bin/a-script" "$work/script.orig"
grep -q '\.debug_info' <<<"$(readelf -S "$bin/coding-agents")" || fail "the input has no DWARF to move"
id=$(readelf -n "$bin/coding-agents" | awk '/Build ID:/ {print $3}')
[ -n "$id" ] || fail "the input has no build id"

bash "$src/packaging/split-debug.sh" "$work/stage" "$work/debug"

out="$work/stage/bin/coding-agents"
dbg="$work/debug/.build-id/${id:0:2}/${id:2}.debug"
sections=$(readelf -S "$out")
if grep -q '\.debug_' <<<"$sections"; then fail "the program still carries DWARF"; fi
grep -q '\.symtab' <<<"$sections" || fail "the program lost its symbol table"
[ "$(readelf -n "$out" | awk '/Build ID:/ {print $3}')" = "$id" ] || fail "the build id changed"
[ -f "$dbg" ] || fail "no debug file at .build-id/${id:0:2}/${id:2}.debug"
lines=$(readelf --debug-dump=decodedline "$dbg" 2>/dev/null || true)
grep -q '^main\.c' <<<"$lines" || fail "the debug file has no line table for main.c"
[ "$(stat -c %s "$out")" -lt "$(stat -c %s "$bin/coding-agents")" ] || fail "the program did not shrink"
"$out" version | grep -q '^coding-agents ' || fail "the stripped program does not run"
cmp -s "$work/stage/bin/a-script" "$work/script.orig" || fail "a script was modified"
# Usage errors exit 2.
set +e
bash "$src/packaging/split-debug.sh" "$work/stage" >/dev/null 2>&1
[ $? = 2 ] || fail "a missing argument does not exit 2"
set -e
echo "split-debug: ok"
