#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The runbooks' commands (docs/runbooks/*.md) run as written, so that the docs cannot rot: every
# `sh` block, in order, each in its own `bash -e -o pipefail` with `coding-agents` on PATH and
# the variables the pages name exported (a block whose first line is `# exits N` must exit N,
# any other 0), against a live session of the complete kind (a remote server behind its helper,
# a stdio server behind its stub, the session's squid) on the real engine, an installed release
# with a previous one, and a broker killed with SIGKILL. Each page's output must also show what
# the page is about (the events it reads, the pins it rotates, the rollback it makes).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"
# shellcheck source=tests/e2e/world.sh
. "$(dirname "$0")/world.sh"

command -v minisign >/dev/null || skip "minisign is not installed"
"$CA_PYTHON3" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
e2e_sessions_up

complete_world probe.mjs

expect_status 0 "$CA_BIN" launch claude "$ws" --config "$TEST_TMP/servers.toml" "${world[@]}" -- sleep infinity
session=$(cat "$TEST_TMP/out")
api GET "/containers/$session-proxy/json" >"$TEST_TMP/proxy.json"
proxy_ip=$("$CA_PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["NetworkSettings"]["Networks"][sys.argv[2]]["IPAddress"])' \
        "$TEST_TMP/proxy.json" "$session")
# Something for the pages to find: a workload knocking at the helper, and at the metadata service
# through the proxy.
docker exec -u 1000:1000 "$session" node /workspace/probe.mjs post http://127.0.0.1:52100/mcp >/dev/null 2>&1 || true
docker exec -u 1000:1000 "$session" node /workspace/probe.mjs proxy "$proxy_ip:3128" \
        http://169.254.169.254/latest/meta-data/ >/dev/null 2>&1 || true

# `coding-agents` as the pages call it.
mkdir -p "$TEST_TMP/path"
ln -s "$CA_BIN" "$TEST_TMP/path/coding-agents"
export PATH="$TEST_TMP/path:$PATH"

# The runbook pages' blocks, each to a file: BLOCKS/<page>/<n>.sh
"$CA_PYTHON3" - "$CA_SOURCE_DIR/docs/runbooks" "$TEST_TMP/blocks" <<'PY'
import os, re, sys
src, out = sys.argv[1:]
for page in sorted(os.listdir(src)):
    if not page.endswith(".md") or page == "README.md":
        continue
    blocks = re.findall(r"(?ms)^```sh\n(.*?)^```$", open(os.path.join(src, page)).read())
    assert blocks, f"{page}: no sh block"
    d = os.path.join(out, page[:-3])
    os.makedirs(d)
    for i, b in enumerate(blocks, 1):
        open(os.path.join(d, f"{i:02d}.sh"), "w").write(b)
PY
check "a runbook page is not run by this test" test \
        "$(find "$TEST_TMP/blocks" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = \
        "audit-reports broker-recovery helper-health integrity-failure kill-switch proxy-denials rotate-pin substitute-endpoint "

# run_page PAGE: every block of docs/runbooks/PAGE.md, its output in $TEST_TMP/PAGE.out.
run_page() {
        local page=$1 block want got
        mkdir -p "$TEST_TMP/work-$page"
        : >"$TEST_TMP/$page.out"
        for block in "$TEST_TMP/blocks/$page"/*.sh; do
                want=0
                if [[ "$(head -n 1 "$block")" =~ ^#\ exits\ ([0-9]+)$ ]]; then
                        want=${BASH_REMATCH[1]}
                fi
                got=0
                (cd "$TEST_TMP/work-$page" && bash -e -o pipefail "$block") >>"$TEST_TMP/$page.out" 2>&1 || got=$?
                if [ "$got" != "$want" ]; then
                        fail "runbooks/$page.md block $(basename "$block" .sh) exited $got, not $want:
$(cat "$block")
$(tail -n 20 "$TEST_TMP/$page.out")"
                else
                        pass
                fi
        done
}
page_shows() { # PAGE REGEX: the page's output holds it
        expect_grep "$2" "$TEST_TMP/$1.out"
}
export SESSION=$session

run_page helper-health
page_shows helper-health "helper-health .*helper=remote"
page_shows helper-health "helper-denied .*reason=peer-uid"
page_shows helper-health "$session"

export CONFIG="$TEST_TMP/proxy.toml"
: >"$CONFIG"
run_page proxy-denials
page_shows proxy-denials "proxy-denied .*rule=metadata"
page_shows proxy-denials "^[1-9][0-9]*$"

run_page audit-reports
page_shows audit-reports "$session"
check "the report was not written" test -s "$TEST_TMP/work-audit-reports/$session.report.json"

# The upstream's next key, announced: a certificate for a new key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=upstream.test \
        -keyout "$TEST_TMP/next.key" -out "$TEST_TMP/next.pem" 2>/dev/null
next_pin="sha256//$(openssl x509 -in "$TEST_TMP/next.pem" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)"
export TRUST=e2e-pins HOST=upstream.test PORT=8443 CONNECT=198.51.100.10:8443 NEW_CERT="$TEST_TMP/next.pem"
run_page rotate-pin
check "rotate-pin did not compute the server's pin" grep -qxF "$pin" "$TEST_TMP/rotate-pin.out"
check "rotate-pin did not compute the next pin" grep -qxF "$next_pin" "$TEST_TMP/rotate-pin.out"
page_shows rotate-pin "e2e-pins  pins, 2 pin\\(s\\)"
page_shows rotate-pin "e2e-pins  pins, 1 pin\\(s\\)"
page_shows rotate-pin "trust-changed"

cp "$TEST_TMP/servers.toml" "$TEST_TMP/move.toml"
export CONFIG="$TEST_TMP/move.toml" SERVER=remote NEW_URL=https://staging.upstream.test:8443/mcp
run_page substitute-endpoint
page_shows substitute-endpoint "staging.upstream.test"
check "substitute-endpoint did not put the configuration back" cmp -s "$TEST_TMP/servers.toml" "$CONFIG"

run_page kill-switch
page_shows kill-switch "capability-revoked .*session=$session"
check "the kill switch left the container" test \
        "$(api GET "/containers/$session/json" -o /dev/null -w '%{http_code}' || true)" = 404

broker=$("$CA_BIN" broker health | sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p')
kill -KILL "$broker"
run_page broker-recovery
page_shows broker-recovery "^broker: up \\(pid [0-9]+"
page_shows broker-recovery "UPSTREAM_TOKEN"
check "the broker did not come back as another process" test \
        "$("$CA_BIN" broker health | sed -n 's/^broker: up (pid \([0-9]*\),.*/\1/p')" != "$broker"

# An installed release with a previous one, the current one damaged.
base=$(mktemp -d /var/lib/ca-runbooks-test.XXXXXX)
chmod 755 "$base"
trap 'rm -rf "$base"; docker_down; cleanup_tmp' EXIT
(
        cd "$TEST_TMP"
        signed_release 0.3.0 0.3.1
        for v in 0.3.0 0.3.1; do
                "$CA_BIN" install "rel/coding-agents-$v-linux-x86_64.tar.gz" --pubkey k.pub \
                        --prefix "$base/opt" >/dev/null
        done
) >"$TEST_TMP/install.log" 2>&1 || fail "installing two releases: $(tail -5 "$TEST_TMP/install.log")"
damaged="$base/opt/releases/0.3.1/share/coding-agents/sigstore/trusted_root.json"
chmod u+w "$damaged"
printf ' ' >>"$damaged"
export PREFIX="$base/opt"
run_page integrity-failure
page_shows integrity-failure "trusted_root.json"
check "the rollback did not go back to 0.3.0" test "$(readlink "$base/opt/current")" = releases/0.3.0

world_down
check_no_leaks
finish
