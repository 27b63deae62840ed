# SPDX-License-Identifier: MIT
# The "outside world" of a complete session, on the engine docker-env.sh started (sourced, not
# run; used by tests/e2e/complete.sh, bench/sessions.sh and `make demo`): a test network on a
# documentation range (198.51.100.0/24) holding one container of the agent image that runs
# tests/e2e/upstream-mcp.mjs -- an MCP server over HTTPS for upstream.test:8443, its
# certificate from a test CA made here, and the DNS server that names it. Nothing there routes
# off the machine.
#
#   world_up DIR IMAGE   makes the CA and certificate in DIR, starts the upstream; 1 if it did
#                        not come up. Sets: world_ca (the CA bundle), pin (the server key's SPKI
#                        pin), wrong_pin, upstream_token (the credential the upstream demands),
#                        world_log (its request log), world=(the run/launch options that point
#                        a session's proxy at this world)
#   world_down           removes the upstream and the network
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the scripts that source this one

world_up() {
        local up=$1 image=$2 line logs_pid
        mkdir -p "$up"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj /CN=world-test-ca -keyout "$up/ca.key" -out "$up/ca.pem" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=upstream.test \
                -keyout "$up/srv.key" -out "$up/srv.csr" 2>/dev/null
        printf 'subjectAltName=DNS:upstream.test\nbasicConstraints=CA:FALSE\n' >"$up/ext"
        openssl x509 -req -in "$up/srv.csr" -CA "$up/ca.pem" -CAkey "$up/ca.key" \
                -CAcreateserial -days 2 -extfile "$up/ext" -out "$up/srv.pem" 2>/dev/null
        world_ca="$up/ca.pem"
        pin="sha256//$(openssl x509 -in "$up/srv.pem" -pubkey -noout |
                openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
        wrong_pin="sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        upstream_token="upstream-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        printf '%s' "$upstream_token" >"$up/credential"
        cp "$(dirname "${BASH_SOURCE[0]}")/upstream-mcp.mjs" "$up/"
        world_log="$up/log"
        : >"$world_log"
        chmod 0755 "$up"
        chmod 0644 "$up"/*
        docker network create --subnet 198.51.100.0/24 ca-e2e-world >/dev/null || return 1
        docker run -d --name ca-e2e-upstream --network ca-e2e-world --ip 198.51.100.10 \
                -v "$up:/up" --entrypoint /usr/local/bin/node "$image" /up/upstream-mcp.mjs \
                --cert /up/srv.pem --key /up/srv.key --credential-file /up/credential \
                --log /up/log --name upstream.test --address 198.51.100.10 >/dev/null || return 1
        # Its first line says it listens (read from its output, not waited for).
        mkfifo "$up/upstream.fifo"
        docker logs -f ca-e2e-upstream >"$up/upstream.fifo" 2>&1 &
        logs_pid=$!
        IFS= read -r line <"$up/upstream.fifo" || line=
        kill "$logs_pid" 2>/dev/null || true
        wait "$logs_pid" 2>/dev/null || true
        world=(--proxy-network ca-e2e-world --proxy-resolver 198.51.100.10)
        [ "$line" = ready ]
}

world_down() {
        docker rm -f ca-e2e-upstream >/dev/null 2>&1 || true
        docker network rm ca-e2e-world >/dev/null 2>&1 || true
}
