#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The trust zones (docs/layout.md), checked on what was linked: no container program carries a
# host-only function (host/lib, host/), and the host program carries no container-only one
# (container/lib). A module linked into the wrong side fails here, whatever the include paths
# let through.
# Usage: tests/zones.sh LIBCAHOST.a LIBCACLI.a LIBCACONTAINER.a HOST_PROGRAM CONTAINER_PROGRAM...
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 LIBCAHOST LIBCACLI LIBCACONTAINER HOST_PROGRAM CONTAINER_PROGRAM..." >&2; exit 2; }
command -v nm >/dev/null || { echo "zones.sh: nm (binutils) is needed" >&2; exit 1; }
cahost=$1 cacli=$2 cacontainer=$3 host_program=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The functions a library defines (global text symbols), one per line, sorted.
defined() { nm -g --defined-only "$1" 2>/dev/null | awk '$2 == "T" { print $3 }' | sort -u; }
# Every function a program has (its symbol table keeps them, local or not).
functions() { nm --defined-only "$1" | awk '$2 ~ /^[Tt]$/ { print $3 }' | sort -u; }

{ defined "$cahost"; defined "$cacli"; } | sort -u >"$tmp/host-only"
defined "$cacontainer" >"$tmp/container-only"
for f in "$tmp/host-only" "$tmp/container-only"; do
        [ -s "$f" ] || { echo "zones.sh: no functions found in a zone library ($f): check the arguments" >&2; exit 1; }
done
status=0
for prog in "$@"; do
        functions "$prog" >"$tmp/prog"
        [ -s "$tmp/prog" ] || { echo "zones.sh: $prog has no symbol table (stripped?)" >&2; exit 1; }
        if comm -12 "$tmp/host-only" "$tmp/prog" | grep -q .; then
                echo "zones.sh: container program $(basename "$prog") links host-only code:" >&2
                comm -12 "$tmp/host-only" "$tmp/prog" | head -20 | sed 's/^/  /' >&2
                status=1
        fi
done
functions "$host_program" >"$tmp/prog"
if comm -12 "$tmp/container-only" "$tmp/prog" | grep -q .; then
        echo "zones.sh: the host program links container-only code:" >&2
        comm -12 "$tmp/container-only" "$tmp/prog" | head -20 | sed 's/^/  /' >&2
        status=1
fi
[ $status = 0 ] && echo "zones.sh: $(($# + 1)) programs, each on its own side"
exit $status
