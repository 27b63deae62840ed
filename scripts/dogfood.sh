#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make dogfood`: the release as users get it. Signs the freshly built bundle with a
# throwaway key, installs it with its own install.sh into a temporary root-owned prefix, and
# runs the same smoke tests against the installed binary (prod) and the build tree's (dev).
#
#   scripts/dogfood.sh RELEASE_BUILD_DIR DEV_BUILD_DIR      (as root)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
release_build=$(cd "${1:-$src/build-release}" && pwd)
build=$(cd "${2:-$src/build}" && pwd)
if [ "$(id -u)" -ne 0 ]; then
        echo "dogfood.sh: run as root (installs need a root-owned prefix)" >&2
        exit 1
fi
# The bundle, not the debug files beside it (*.debug.tar.gz).
bundle=$(find "$release_build" -maxdepth 1 -name 'coding-agents-*-linux-*.tar.gz' ! -name '*.debug.tar.gz')
work=$(mktemp -d /tmp/ca-dogfood.XXXXXX)
base=$(mktemp -d /var/lib/ca-dogfood.XXXXXX)
chmod 755 "$base"
trap 'rm -rf "$work" "$base"' EXIT

say() {
        printf '\n== %s\n' "$*"
}

say "sign with a throwaway key, write install.sh"
"$build/bin/coding-agents" release keygen --public "$work/k.pub" --secret "$work/k.sec" >/dev/null
cp "$bundle" "$work/"
b="$work/$(basename "$bundle")"
"$build/bin/coding-agents" release sign --secret "$work/k.sec" "$b"
minisign -Vqm "$b" -p "$work/k.pub"
bash "$src/packaging/make-installer.sh" "$b" "$work/k.pub" >"$work/install.sh"

say "install with install.sh"
sh "$work/install.sh" --prefix "$base/opt"

smoke() {
        local bin=$1 want=$2 cfg
        cfg=$(mktemp -d "$work/cfg.XXXXXX")
        say "smoke tests: $bin ($want)"
        CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" env --json | tee "$work/env.json"
        grep -q "\"profile\": \"$want\"" "$work/env.json"
        CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" --version
        mkdir -p "$cfg/ws"
        printf '[mcp_servers.everything]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-everything"]\n' \
                >"$cfg/ws/config.toml"
        CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" config check --workspace "$cfg/ws"
        # The repository's own config.toml counts only once approved.
        if CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" render --agent all --workspace "$cfg/ws" \
                --out "$cfg/unapproved" --session-id dogfood 2>/dev/null; then
                echo "dogfood.sh: an unapproved workspace config rendered" >&2
                exit 1
        fi
        CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" config approve "$cfg/ws"
        # A dev tree with local changes renders only with the override (and says so).
        mkdir -p "$cfg/overrides" && touch "$cfg/overrides/allow-dirty"
        CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" render --agent all --workspace "$cfg/ws" \
                --out "$cfg/session" --session-id dogfood
        CODING_AGENTS_CONFIG_DIR="$cfg" "$bin" events verify
}
smoke "$base/opt/current/bin/coding-agents" prod
"$base/opt/current/bin/coding-agents" verify
smoke "$build/bin/coding-agents" dev
say "dogfood: ok"
