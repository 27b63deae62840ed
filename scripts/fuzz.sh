#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every libFuzzer target in BUILD_DIR/fuzz, starting from the committed seeds
# (tests/fuzz/seeds/<target>/) plus, for TOML, the toml-test cases, within a total budget of
# SECONDS split evenly across the targets (at least 10 s each): adding a target does not make
# the run longer. Fails on the first crash, leak or timeout; the reproducer is left in the work
# directory it prints.
#
#   scripts/fuzz.sh [BUILD_DIR] [TOTAL_SECONDS]
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build-fuzz}" && pwd)
budget=${2:-600}
toml_suite=${CA_TOML_TEST_DIR:-$src/../shared/toml-test}
work=$(mktemp -d /tmp/ca-fuzz.XXXXXX)

shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ "${#targets[@]}" -eq 0 ]; then
        echo "fuzz.sh: no fuzz targets in '$build/fuzz' (build with -DCA_FUZZ=ON)" >&2
        exit 1
fi
seconds=$((budget / ${#targets[@]}))
[ "$seconds" -ge 10 ] || seconds=10
for t in "${targets[@]}"; do
        name=$(basename "$t")
        corpus="$work/$name"
        mkdir -p "$corpus"
        seeds="$src/tests/fuzz/seeds/${name#fuzz_}"
        if [ -d "$seeds" ]; then
                cp "$seeds"/* "$corpus"/
        fi
        if [ "$name" = fuzz_toml ] || [ "$name" = fuzz_config ]; then
                if [ -d "$toml_suite/valid" ]; then
                        find "$toml_suite/valid" "$toml_suite/invalid" -name '*.toml' -size -64k \
                                -exec cp -t "$corpus" {} + 2>/dev/null || true
                fi
        fi
        echo "fuzz.sh: $name for ${seconds}s (corpus $corpus)"
        (cd "$work" && "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -max_len=65536 -print_final_stats=1 "$corpus" >"$work/$name.log" 2>&1) || {
                tail -n 40 "$work/$name.log" >&2
                echo "fuzz.sh: $name FAILED; reproducer and log in $work" >&2
                exit 1
        }
        grep -E '^stat::number_of_executed_units' "$work/$name.log" || true
done
rm -rf "$work"
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s each (budget ${budget}s) without findings"
