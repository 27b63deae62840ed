# SPDX-License-Identifier: MIT
# The "outside world" of a complete session, on the engine docker-env.sh started (sourced, not
# run; used by tests/e2e/complete.sh, bench/sessions.sh and `make demo`): a test network on a
# documentation range (198.51.100.0/24) holding one container of the agent image that runs
# tests/e2e/upstream-mcp.mjs -- an MCP server over HTTPS for upstream.test:8443, its
# certificate from a test CA made here, and the DNS server that names it -- and, on a network
# of its own (10.203.0.0/24, which the host routes to), a "private-range host" (10.203.0.10,
# the same server) that a session's proxy could reach but must refuse. Nothing there routes
# off the machine.
#
#   e2e_sessions_up      what every session test does first: git, docker and openssl present
#                        (else skip), the engine (docker_up), the test's config root ready for
#                        sessions run from this source tree, the agent image. Sets log (the
#                        event log) and image
#   world_up DIR IMAGE   makes the CA and certificate in DIR, starts the upstream; 1 if it did
#                        not come up. Sets: world_ca (the CA bundle), pin (the server key's SPKI
#                        pin), wrong_pin, upstream_token (the credential the upstream demands),
#                        world_log (its request log), private_log (the private host's),
#                        world=(the run/launch options that point a session's proxy at this
#                        world)
#   world_servers PIN TRUST   prints a config.toml with 2 stdio servers (server-everything,
#                        and echo-mcp.mjs from the workspace needing the ECHO_SECRET secret) and
#                        2 remote servers on the upstream (bearer UPSTREAM_TOKEN, trust bundle
#                        TRUST, pinned to PIN), and the [secrets] that grant them: the complete
#                        session of the test and benchmark (a user's own --config file)
#   model_peer_up [OPTIONS...]   the scripted model (model-peer.mjs) in the upstream's container
#                        on upstream.test:9443, with model-peer's OPTIONS (credentials); 1 if it
#                        did not come up. Sets peer_log (its request log)
#   model_config PIN     prints [model.claude], [model.codex] and [model.copilot] pointing the
#                        model helpers at it (trust "e2e-ca", pinned to PIN)
#   complete_world FILE...   what a complete session needs, after e2e_sessions_up: a Claude
#                        login in a HOME of the test's, the world up (world_up), its token and
#                        ECHO_SECRET in the broker, its CA trusted as "e2e-ca", the workspace ws
#                        ($TEST_TMP/repo, holding echo-mcp.mjs and the FILEs from tests/e2e/), and
#                        $TEST_TMP/servers.toml (world_servers pinned to the world's key)
#   world_down           removes the upstream and the networks
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the scripts that source this one

e2e_sessions_up() {
        command -v git >/dev/null || skip "git is needed (the trusted-tree measurement, .git cases)"
        command -v docker >/dev/null || skip "the docker client is needed to poke inside (docker.io)"
        command -v openssl >/dev/null || skip "openssl is needed for the test CA"
        docker_up
        chmod 0711 "$TEST_TMP"
        log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
        mkdir -p "$CODING_AGENTS_CONFIG_DIR/overrides"
        touch "$CODING_AGENTS_CONFIG_DIR/overrides/allow-dirty"
        check "image build failed: $(tail -5 "$TEST_TMP/err" 2>/dev/null)" agent_image
        image=coding-agents-agent:current
}

world_up() {
        world_dir=$1 world_image=$2
        mkdir -p "$world_dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj /CN=world-test-ca -keyout "$world_dir/ca.key" -out "$world_dir/ca.pem" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=upstream.test \
                -keyout "$world_dir/srv.key" -out "$world_dir/srv.csr" 2>/dev/null
        printf 'subjectAltName=DNS:upstream.test\nbasicConstraints=CA:FALSE\n' >"$world_dir/ext"
        openssl x509 -req -in "$world_dir/srv.csr" -CA "$world_dir/ca.pem" -CAkey "$world_dir/ca.key" \
                -CAcreateserial -days 2 -extfile "$world_dir/ext" -out "$world_dir/srv.pem" 2>/dev/null
        world_ca="$world_dir/ca.pem"
        pin="sha256//$(openssl x509 -in "$world_dir/srv.pem" -pubkey -noout |
                openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
        wrong_pin="sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        upstream_token="upstream-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        printf '%s' "$upstream_token" >"$world_dir/credential"
        cp "$(dirname "${BASH_SOURCE[0]}")/upstream-mcp.mjs" "$world_dir/"
        world_log="$world_dir/log"
        : >"$world_log"
        chmod 0755 "$world_dir"
        chmod 0644 "$world_dir"/*
        private_log="$world_dir/private.log"
        : >"$private_log"
        chmod 0644 "$private_log" "$world_log"
        docker network create --subnet 198.51.100.0/24 ca-e2e-world >/dev/null || return 1
        docker network create --subnet 10.203.0.0/24 ca-e2e-private >/dev/null || return 1
        world_start ca-e2e-upstream ca-e2e-world 198.51.100.10 log || return 1
        world_start ca-e2e-private ca-e2e-private 10.203.0.10 private.log || return 1
        world=(--proxy-network ca-e2e-world --proxy-resolver 198.51.100.10)
}

# world_start NAME NETWORK ADDRESS LOG: one upstream-mcp.mjs container, ready (its first line
# says it listens: read from its output, not waited for).
world_start() {
        local name=$1 network=$2 address=$3 log=$4 line logs_pid
        docker run -d --name "$name" --network "$network" --ip "$address" \
                -v "$world_dir:/up" --entrypoint /usr/local/bin/node "$world_image" /up/upstream-mcp.mjs \
                --cert /up/srv.pem --key /up/srv.key --credential-file /up/credential \
                --log "/up/$log" --name upstream.test --address 198.51.100.10 >/dev/null ||
                return 1
        mkfifo "$world_dir/$name.fifo"
        docker logs -f "$name" >"$world_dir/$name.fifo" 2>&1 &
        logs_pid=$!
        IFS= read -r line <"$world_dir/$name.fifo" || line=
        kill "$logs_pid" 2>/dev/null || true
        wait "$logs_pid" 2>/dev/null || true
        [ "$line" = ready ]
}

world_servers() {
        local pin=$1 trust=$2 name
        cat <<EOF
[mcp_servers.everything]
command = "/opt/coding-agents/agents/node_modules/.bin/mcp-server-everything"
args = ["stdio"]

[mcp_servers.echo]
command = "node"
args = ["/workspace/echo-mcp.mjs"]
env = { ECHO_SECRET = "\${ECHO_SECRET}" }
EOF
        for name in remote remote2; do
                cat <<EOF

[mcp_servers.$name]
url = "https://upstream.test:8443/mcp"
bearer_token_env_var = "UPSTREAM_TOKEN"
trust = "$trust"
pins = ["$pin"]
EOF
        done
        cat <<EOF

[secrets]
ECHO_SECRET = ["echo"]
UPSTREAM_TOKEN = ["remote", "remote2"]
EOF
}

model_peer_up() {
        local line
        cp "$(dirname "${BASH_SOURCE[0]}")/model-peer.mjs" "$world_dir/"
        chmod 0644 "$world_dir/model-peer.mjs"
        peer_log="$world_dir/model.log"
        : >"$peer_log"
        chmod 0666 "$peer_log"
        mkfifo "$world_dir/peer.fifo"
        docker exec ca-e2e-upstream node /up/model-peer.mjs --listen 198.51.100.10:9443 \
                --cert /up/srv.pem --key /up/srv.key --log /up/model.log "$@" \
                >"$world_dir/peer.fifo" 2>&1 &
        IFS= read -r line <"$world_dir/peer.fifo" || line=
        exec 7<"$world_dir/peer.fifo" # keep its output drained
        [ "$line" = "model-peer listening on https://198.51.100.10:9443" ]
}

model_config() {
        local pin=$1 a
        for a in claude codex copilot; do
                printf '[model.%s]\nurl = "https://upstream.test:9443"\ntoken_url = "https://upstream.test:9443/v1/oauth/token"\ntrust = "e2e-ca"\npins = ["%s"]\n\n' "$a" "$pin"
        done
}

complete_world() {
        local f
        export HOME="$TEST_TMP/home"
        mkdir -p "$HOME/.claude"
        printf '{"token":"%s"}' "$(head -c 48 /dev/urandom | base64 -w0)" >"$HOME/.claude/.credentials.json"
        chmod 0600 "$HOME/.claude/.credentials.json"
        check "the upstream did not start" world_up "$TEST_TMP/up" "$image"
        printf '%s' "$upstream_token" | "$CA_BIN" broker store UPSTREAM_TOKEN >/dev/null
        printf 'echo-secret-%s' "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" |
                "$CA_BIN" broker store ECHO_SECRET >/dev/null
        expect_status 0 "$CA_BIN" trust add e2e-ca --bundle "$world_ca"
        ws="$TEST_TMP/repo"
        mkdir -p "$ws"
        chmod 0777 "$ws"
        for f in echo-mcp.mjs "$@"; do
                # shellcheck disable=SC2154 # e2e_dir comes from docker-env.sh
                cp "$e2e_dir/$f" "$ws/"
        done
        chmod 0644 "$ws"/*.mjs
        world_servers "$pin" e2e-ca >"$TEST_TMP/servers.toml"
}

world_down() {
        docker rm -f ca-e2e-upstream ca-e2e-private >/dev/null 2>&1 || true
        docker network rm ca-e2e-world ca-e2e-private >/dev/null 2>&1 || true
}
