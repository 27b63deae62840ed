#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the npm packages the integration tests use as real peers (tests/npm: the agent CLIs
# at pinned versions, from the committed lockfile). Skipped quietly when npm is missing: the
# tests that need these peers then skip, which fails under CI=true.
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/npm"
if ! command -v npm >/dev/null; then
        echo "install-npm.sh: npm not found; tests that need npm peers will skip" >&2
        exit 0
fi
stamp="$dir/node_modules/.installed-from-lock"
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
        exit 0
fi
echo "install-npm.sh: installing test peers into $dir"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
touch "$stamp"
