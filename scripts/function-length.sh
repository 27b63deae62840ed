#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when a function in host/ or container/ is longer than the limit (issue 22: the
# orchestration lives in named phases). A function is what runs from a '{' in column 0 to the
# next '}' in column 0 (house style puts both there).
# Usage: scripts/function-length.sh [MAX_LINES]   (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
max=${1:-120}
status=0
while IFS= read -r file; do
        if ! awk -v max="$max" -v file="$file" '
                /^\{/ { start = NR; name = prev; next }
                /^\}/ && start {
                        len = NR - start - 1
                        if (len > max) {
                                printf "%s:%d: %s: %d lines (at most %d)\n", file, start, name, len, max
                                bad = 1
                        }
                        start = 0
                }
                NF { prev = $0 }
                END { exit bad }
        ' "$file"; then
                status=1
        fi
done < <(find host container -name '*.c' | sort)
exit $status
