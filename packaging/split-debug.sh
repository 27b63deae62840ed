#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Moves the debug information out of a staged release's programs:
#
#   packaging/split-debug.sh STAGE DEBUG_DIR
#
# Each ELF file under STAGE/bin keeps its code and symbol table (a backtrace still names
# functions) and loses its DWARF, which goes to DEBUG_DIR/.build-id/xx/yyyy.debug, the layout
# gdb and debuginfod look up by build id. The release tree is then about 40% of its size, and
# `coding-agents verify`, which hashes all of it before every launch, does that much less
# work (docs/performance.md). The debug files ship beside the bundle, not in it.
set -euo pipefail

if [ $# -ne 2 ]; then
        echo "usage: $0 STAGE DEBUG_DIR" >&2
        exit 2
fi
stage=$1
debug=$2
mkdir -p "$debug"
for f in "$stage"/bin/*; do
        if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi
        # Only ELF files (the magic bytes), not scripts.
        [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || continue
        id=$(readelf -n "$f" | awk '/Build ID:/ {print $3}')
        if [ -z "$id" ]; then
                echo "split-debug: $f has no build id" >&2
                exit 1
        fi
        out="$debug/.build-id/${id:0:2}/${id:2}.debug"
        mkdir -p "$(dirname "$out")"
        objcopy --only-keep-debug "$f" "$out"
        chmod 0644 "$out"
        objcopy --strip-debug "$f"
done
