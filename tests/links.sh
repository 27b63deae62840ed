#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What each program maps, read from its dynamic section (not from timing): the front
# (coding-agents) and the broker daemon carry no libcurl, libarchive or OpenSSL, and no
# libsystemd; the container programs no libarchive; mcp-helper no libcurl. Then the proof that the split holds at run
# time: the front alone in a directory, without ca-engine beside it, still runs every command
# that must start like C, and an engine command says which program it could not run.
# Usage: tests/links.sh BIN_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
command -v readelf >/dev/null || { echo "links.sh: readelf (binutils) is needed" >&2; exit 1; }
bin=$1
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

needed() { readelf -d "$1" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }'; }

# refuse PROGRAM PATTERN WHY: PROGRAM must not record a library matching PATTERN.
refuse() {
        if needed "$bin/$1" | grep -Eq "$2"; then
                echo "links.sh: $1 links $(needed "$bin/$1" | grep -E "$2" | tr '\n' ' ')($3)" >&2
                status=1
        fi
}
# only PROGRAM LIB...: PROGRAM records exactly these libraries (and libc, and the sanitizers'
# runtimes in a sanitizer build).
only() {
        local prog=$1 extra
        shift
        extra=$(needed "$bin/$prog" | grep -vE '^lib(a|ub)san\.so' |
                grep -vxF -e libc.so.6 "${@/#/-e}" || true)
        if [ -n "$extra" ]; then
                echo "links.sh: $prog links more than $* : $(echo "$extra" | tr '\n' ' ')" >&2
                status=1
        fi
}

front_forbidden='^lib(curl|archive|ssl|crypto|systemd|gnutls|xml2)\.'
refuse coding-agents "$front_forbidden" "commands that start like C"
refuse ca-broker "$front_forbidden" "the process holding the master key"
only ca-broker libsodium.so.23 libjansson.so.4
only coding-agents libsodium.so.23 libjansson.so.4 libcrypt.so.1
# The programs that call crypt_r must record libcrypt even where a sanitizer runtime defines
# crypt_r (an interceptor that calls the real one): --as-needed would drop it.
for prog in coding-agents ca-engine; do
        needed "$bin/$prog" | grep -qx 'libcrypt.so.1' || {
                echo "links.sh: $prog does not record libcrypt (crypt_r would resolve to nothing)" >&2
                status=1
        }
done
for prog in agent-init mcp-stub mcp-stub-launcher egress-proxy mcp-helper task-runner ca-shell \
        exec-guard ca-probe; do
        refuse "$prog" '^lib(archive|systemd|xml2)\.' "a container program"
done
for prog in mcp-stub mcp-stub-launcher egress-proxy agent-init; do
        refuse "$prog" '^lib(curl|ssl|crypto)\.' "no TLS in this program"
done
# The helper holds a session's upstream credentials: TLS through OpenSSL, HTTP of its own
# (container/httpc.c), libmicrohttpd towards the agent, nothing else.
refuse mcp-helper '^lib(curl|ldap|gssapi|krb5|ssh|rtmp|nghttp)' "the process holding upstream credentials"
only mcp-helper libsodium.so.23 libjansson.so.4 libcrypto.so.3 libssl.so.3 libmicrohttpd.so.12
# The shell shim, which every shell in the agent image execs first, is static and position
# independent (container/CMakeLists.txt), except in a sanitizer build (which records the
# sanitizer runtime): no loader, no relocations, and still randomised.
if ! needed "$bin/ca-shell" | grep -q 'san\.so'; then
        if [ -n "$(needed "$bin/ca-shell")" ] || readelf -l "$bin/ca-shell" | grep -q INTERP ||
                ! readelf -h "$bin/ca-shell" | grep -q 'DYN '; then
                echo "links.sh: ca-shell is not a static position-independent program" >&2
                status=1
        fi
fi

# The front on its own.
cp "$bin/coding-agents" "$tmp/coding-agents"
export CODING_AGENTS_CONFIG_DIR="$tmp/config"
printf '[mcp_servers.a]\ncommand = "npx"\nargs = ["-y", "x"]\n' >"$tmp/config.toml"
for cmd in "version" "env" "config check --config $tmp/config.toml" "events verify" \
        "trust list" "verify --help" "render --help" "broker --help" "audit --help"; do
        # shellcheck disable=SC2086 # the command's words
        if ! "$tmp/coding-agents" $cmd >"$tmp/out" 2>&1; then
                echo "links.sh: 'coding-agents $cmd' needs more than the front: $(head -3 "$tmp/out")" >&2
                status=1
        fi
done
if "$tmp/coding-agents" list >"$tmp/out" 2>&1 || ! grep -q "cannot run '$tmp/ca-engine'" "$tmp/out"; then
        echo "links.sh: an engine command did not go to ca-engine: $(head -3 "$tmp/out")" >&2
        status=1
fi
[ $status = 0 ] && echo "links.sh: each program maps what it needs; the front runs alone"
exit $status
