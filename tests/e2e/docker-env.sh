# SPDX-License-Identifier: MIT
# A real Docker engine for the e2e tests, started by the test itself (sourced, not run).
#
#   docker_up     starts dockerd on $TEST_TMP/docker.sock (socket activation: ready at once),
#                 without iptables or a default bridge (the tests make the networks they
#                 need, on documentation ranges, and nothing routes off the machine), its images kept in
#                 $CA_E2E_ROOT (default /var/tmp/coding-agents-e2e) so that the agent image is
#                 built once per machine and input change (CTest runs e2e tests one at a time).
#                 Exports DOCKER_HOST. Stopped (and its mounts gone) at exit, as is a broker
#                 daemon the test's commands started.
#   api METHOD PATH [curl args]   one Engine API call, body on stdout
#   agent_image   builds (or finds) the agent image with `coding-agents image build`
#   check_no_leaks   at a test's end: every event the test's log holds is in the catalogue with
#                 only its fields (docs/events.md); no container, no network but host/none, no
#                 session directory; then stops the engine and checks that none of its mounts
#                 is left
# shellcheck shell=bash

CA_E2E_ROOT=${CA_E2E_ROOT:-/var/tmp/coding-agents-e2e}
e2e_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

docker_down() {
        local broker
        broker=$("$CA_BIN" broker health 2>/dev/null | sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p' || true)
        [ -z "$broker" ] || kill "$broker" 2>/dev/null || true
        if [ -n "${dockerd_pid:-}" ]; then
                kill -TERM "$dockerd_pid" 2>/dev/null || true
                wait "$dockerd_pid" 2>/dev/null || true
                dockerd_pid=
        fi
        # dockerd unmounts what it mounted; a crashed one may leave its exec root mounted.
        if [ -d "$TEST_TMP/exec" ]; then
                { grep -o " $TEST_TMP/exec[^ ]*" /proc/self/mountinfo || true; } | sort -r |
                        while read -r m; do umount -l "$m" 2>/dev/null || true; done
        fi
}

docker_up() {
        command -v dockerd >/dev/null || skip "dockerd not installed (Debian: docker.io)"
        [ "$(id -u)" = 0 ] || skip "the Docker engine needs root"
        mkdir -p "$CA_E2E_ROOT"
        mkfifo "$TEST_TMP/dockerd.fifo"
        "$CA_PYTHON3" "$e2e_dir/socket-activate.py" --notify "$TEST_TMP/dockerd.fifo" \
                "$TEST_TMP/docker.sock" -- \
                dockerd -H fd:// --data-root "$CA_E2E_ROOT/docker" --exec-root "$TEST_TMP/exec" \
                --pidfile "$TEST_TMP/dockerd.pid" --iptables=false --ip-masq=false \
                --bridge=none --log-level=warn >"$TEST_TMP/dockerd.log" 2>&1 &
        dockerd_pid=$!
        export DOCKER_HOST="unix://$TEST_TMP/docker.sock"
        trap 'docker_down; cleanup_tmp' EXIT
        read -r _ <"$TEST_TMP/dockerd.fifo"
        # The first call waits in the socket's backlog until the engine is up.
        api GET /_ping >/dev/null || {
                cat "$TEST_TMP/dockerd.log" >&2
                return 1
        }
        # The engine's data root is the tests' own: what an interrupted run left goes, so that
        # the leak checks start from nothing.
        local id
        for id in $(api GET '/containers/json?all=1' | "$CA_PYTHON3" -c \
                'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))'); do
                api DELETE "/containers/$id?force=1&v=1" >/dev/null
        done
        for id in $(api GET /networks | "$CA_PYTHON3" -c \
                'import json,sys; print(" ".join(n["Id"] for n in json.load(sys.stdin) if n["Name"] not in ("host", "none", "bridge")))'); do
                api DELETE "/networks/$id" >/dev/null
        done
}

api() {
        local method=$1 path=$2
        shift 2
        curl -sf --max-time 600 --unix-socket "$TEST_TMP/docker.sock" -X "$method" \
                "http://localhost/v1.41$path" "$@"
}

agent_image() {
        mkdir -p "$CA_E2E_ROOT/cache"
        chmod 0700 "$CA_E2E_ROOT/cache"
        "$CA_BIN" image build --cache "$CA_E2E_ROOT/cache" --quiet
}

check_no_leaks() {
        local events="$CODING_AGENTS_CONFIG_DIR/security-events.log"
        if [ -e "$events" ]; then
                "$CA_BIN" events types --json >"$TEST_TMP/types.json"
                check "an event outside the catalogue (docs/events.md)" "$CA_PYTHON3" -c '
import json, sys
cat = {e["type"]: set(e["fields"]) for e in json.load(open(sys.argv[2]))}
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    extra = set(e.get("fields", {})) - cat[e["type"]]
    assert not extra, (n, e["type"], sorted(extra))' "$events" "$TEST_TMP/types.json"
        fi
        check "containers left: $(api GET '/containers/json?all=1')" \
                test "$(api GET '/containers/json?all=1')" = "[]"
        check "networks left beyond host/none" "$CA_PYTHON3" -c '
import json, sys; names = sorted(n["Name"] for n in json.loads(sys.stdin.read())); assert names == ["host", "none"], names' \
                < <(api GET /networks)
        check "session directories left" test -z "$(ls -A "$CODING_AGENTS_CONFIG_DIR/sessions")"
        docker_down
        check "mounts left under the engine's exec root" \
                test -z "$(grep " $TEST_TMP/exec" /proc/self/mountinfo || true)"
}
