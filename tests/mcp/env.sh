# SPDX-License-Identifier: MIT
# A real MCP upstream with a broker-held credential, for mcp-helper's test and benchmark
# (sourced by tests/integration/helper.sh and bench/helper.sh). Needs CA_BIN, CA_SOURCE_DIR and
# CODING_AGENTS_CONFIG_DIR.
#
#   mcp_missing            prints what is missing (node, openssl, the npm peers, mcp-helper)
#   mcp_up DIR             a test CA and server certificate, the broker holding the upstream
#                          credential, a local token, and tests/npm/mcp-upstream.mjs over HTTPS
#   start_helper NAME URL ARGS...   an mcp-helper for URL; sets $port and $helper_pid
#   mcp_down               stops everything started here
#
# Sets: npm_dir helper origin up_port token credential spki_pin wrong_pin upstream_fd; in DIR:
# helper-test-ca.pem other-ca.pem srv.pem token upstream.log
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the scripts that source this one

npm_dir="$CA_SOURCE_DIR/tests/npm"
helper="$(dirname "$CA_BIN")/mcp-helper"
mcp_pids=()

mcp_missing() {
        command -v node >/dev/null || echo "node"
        command -v openssl >/dev/null || echo "openssl"
        [ -d "$npm_dir/node_modules/@modelcontextprotocol/sdk" ] ||
                echo "tests/npm (scripts/install-npm.sh)"
        [ -x "$helper" ] || echo "mcp-helper (not built)"
}

mcp_down() {
        local p
        for p in "${mcp_pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${mcp_pids[@]}"; do wait "$p" 2>/dev/null || true; done
        mcp_pids=()
}

mkca() {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj "/CN=$2" -keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}

mcp_up() {
        local t=$1 ready line
        mcp_dir=$t
        # A test CA, a server certificate for 127.0.0.1, and an unrelated CA.
        mkca "$t" helper-test-ca
        mkca "$t" other-ca
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
                -keyout "$t/srv.key" -out "$t/srv.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$t/ext"
        openssl x509 -req -in "$t/srv.csr" -CA "$t/helper-test-ca.pem" -CAkey "$t/helper-test-ca.key" \
                -CAcreateserial -days 2 -extfile "$t/ext" -out "$t/srv.pem" 2>/dev/null
        spki_pin="sha256//$(openssl x509 -in "$t/srv.pem" -pubkey -noout |
                openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
        wrong_pin="sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

        # The broker holds the upstream credential.
        credential="upstream-credential-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        printf '%s' "$credential" >"$t/upstream-credential"
        mkfifo "$t/broker.ready"
        "$CA_BIN" broker serve --ready-fd 3 3>"$t/broker.ready" 2>"$t/broker.err" &
        mcp_pids+=($!)
        IFS= read -r -n 1 ready <"$t/broker.ready" || return 1
        [ "$ready" = 1 ] || return 1
        printf '%s' "$credential" | "$CA_BIN" broker store UPSTREAM_TOKEN >/dev/null
        head -c 32 /dev/urandom | base64 >"$t/token"
        token=$(cat "$t/token")

        # The upstream: the MCP SDK's servers behind Node's https.
        mkfifo "$t/upstream.fifo"
        (cd "$npm_dir" && exec node mcp-upstream.mjs --port 0 --cert "$t/srv.pem" --key "$t/srv.key" \
                --credential-file "$t/upstream-credential" --log "$t/upstream.log") \
                >"$t/upstream.fifo" 2>"$t/upstream.err" &
        mcp_pids+=($!)
        # Kept open: the upstream reports cancelled streams there ("gone PATH after N").
        exec {upstream_fd}<"$t/upstream.fifo"
        IFS= read -r -u "$upstream_fd" line || return 1
        up_port=${line#ready }
        : >>"$t/upstream.log"
        origin="https://127.0.0.1:$up_port"
}

n_helpers=0
start_helper() {
        local name=$1 url=$2 fifo line hfd
        shift 2
        n_helpers=$((n_helpers + 1))
        "$CA_BIN" broker issue --session helper-test --stub "$name$n_helpers" --secret UPSTREAM_TOKEN \
                --uid 0 --out "$mcp_dir/$name.cred" >/dev/null
        fifo="$mcp_dir/$name.$n_helpers.fifo"
        mkfifo "$fifo"
        "$helper" --name "$name" --upstream "$url" --listen 127.0.0.1:0 \
                --credential "$mcp_dir/$name.cred" --token-file "$mcp_dir/token" \
                --events "$CODING_AGENTS_CONFIG_DIR/security-events.log" --session helper-test "$@" \
                >"$fifo" 2>"$mcp_dir/$name.err" &
        helper_pid=$!
        mcp_pids+=("$helper_pid")
        exec {hfd}<"$fifo"
        port=0
        IFS= read -r -u "$hfd" line || return 1
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) .*/\1/p' <<<"$line")
}
