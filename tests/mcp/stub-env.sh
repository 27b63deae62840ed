# SPDX-License-Identifier: MIT
# The stub launcher for a session rendered from a config, for tests/integration/stub.sh and
# bench/stub.sh. Needs CA_BIN and CODING_AGENTS_CONFIG_DIR; root.
#
#   stub_up DIR CONFIG CREDS_DIR AGENT_UID NAME...
#       renders CONFIG into DIR/session, starts mcp-stub-launcher on DIR/stub.sock, links
#       DIR/bin/mcp-stub-NAME for each NAME; sets manifest, launcher, stub_bin_dir and exports
#       CODING_AGENTS_STUB_SOCKET
#   stub_uid NAME            the server's UID from the manifest
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the scripts that source this one

stub_bin_dir=$(dirname "$CA_BIN")

stub_up() {
        local dir=$1 config=$2 creds=$3 agent_uid=$4 line lfd s
        shift 4
        mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides"
        # The session is rendered from this (possibly uncommitted) tree on purpose.
        touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
        "$CA_BIN" render --agent claude --config "$config" --out "$dir/session" \
                --session stubtest >/dev/null || return 1
        manifest="$dir/session/manifest.json"
        mkfifo "$dir/launcher.fifo"
        "$stub_bin_dir/mcp-stub-launcher" --manifest "$manifest" --socket "$dir/stub.sock" \
                --agent-uid "$agent_uid" --credentials "$creds" \
                --events "$CODING_AGENTS_CONFIG_DIR/security-events.log" \
                >"$dir/launcher.fifo" 2>"$dir/launcher.err" &
        launcher=$!
        exec {lfd}<"$dir/launcher.fifo"
        IFS= read -r -u "$lfd" line || return 1
        [ "$line" = ready ] || return 1
        mkdir -p "$dir/bin"
        chmod 0755 "$dir/bin"
        for s in "$@"; do
                ln -f "$stub_bin_dir/mcp-stub" "$dir/bin/mcp-stub-$s"
        done
        export CODING_AGENTS_STUB_SOCKET="$dir/stub.sock"
}

stub_uid() {
        node -e 'const m=require(process.argv[1]); console.log(m.servers.find(s=>s.name===process.argv[2]).uid)' \
                "$manifest" "$1"
}
