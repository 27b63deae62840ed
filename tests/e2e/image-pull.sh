#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `coding-agents image pull` against a real registry (Debian's docker-registry, started here on
# loopback with TLS from a test CA) and the real engine: an image pushed by the engine, signed
# as cosign does by a Sigstore made here (tests/sigstore-forge.py), whose trusted root the pull
# is given. Refused: an unsigned image, a signature of another digest, of another repository,
# by another Sigstore, by a certificate of another authority, by another identity, a forged
# signature, a registry whose certificate authority was not given, a digest the registry does
# not have, a signed image carrying another agent-init; each with an image-refused event and
# nothing pulled or tagged. Pulled: a good signature (alone, and after a bad one), by the
# default identity, by digest, tagged coding-agents-agent:current. The same storage is served
# again behind token authentication (a token endpoint of ours, tests/e2e/registry-token.py),
# GHCR's way: the client and the engine both get pull tokens; a private package is refused.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/e2e/docker-env.sh
. "$(dirname "$0")/docker-env.sh"

command -v docker-registry >/dev/null || skip "docker-registry is needed (Debian: docker-registry)"
command -v openssl >/dev/null || skip "openssl is needed for the test CA"
"$CA_PYTHON3" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is needed"
forge_py="$CA_SOURCE_DIR/tests/sigstore-forge.py"
log="$CODING_AGENTS_CONFIG_DIR/security-events.log"
version=$("$CA_BIN" version | sed -n 's/^coding-agents //p')
identity="https://github.com/$CA_RELEASE_REPOSITORY/.github/workflows/image.yml@refs/tags/v$version"
issuer=https://token.actions.githubusercontent.com

# ---- the registry: TLS on loopback, a CA of our own ----------------------------------------
reg_dir="$TEST_TMP/registry"
mkdir -p "$reg_dir/data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=registry-test-ca -keyout "$reg_dir/ca.key" -out "$reg_dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
        -keyout "$reg_dir/srv.key" -out "$reg_dir/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$reg_dir/ext"
openssl x509 -req -in "$reg_dir/srv.csr" -CA "$reg_dir/ca.pem" -CAkey "$reg_dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$reg_dir/ext" -out "$reg_dir/srv.pem" 2>/dev/null
# start_registry NAME [AUTH_YAML]: a registry on a free loopback port over the shared storage;
# sets `started` to its host:port. Ready when it says so (an inotify-driven tail).
start_registry() {
        local name=$1 auth=${2:-} port
        port=$("$CA_PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        cat >"$reg_dir/$name.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $reg_dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $reg_dir/srv.pem
    key: $reg_dir/srv.key
$auth
EOF
        : >"$reg_dir/$name.log"
        docker-registry serve "$reg_dir/$name.yml" >"$reg_dir/$name.log" 2>&1 &
        pids+=("$!")
        timeout 60 grep -q -m1 'listening on' <(tail -n +1 -f "$reg_dir/$name.log") ||
                { cat "$reg_dir/$name.log" >&2; fail "the registry $name did not start"; exit 1; }
        started="127.0.0.1:$port"
}
pids=()
docker_up
trap 'kill "${pids[@]}" 2>/dev/null || true; docker_down; cleanup_tmp' EXIT
start_registry open
registry=$started

# The same storage behind token authentication (GHCR's way): a token endpoint of our own,
# whose signing certificate the registry trusts.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=registry-token-signer -keyout "$reg_dir/token.key" -out "$reg_dir/token.pem" 2>/dev/null
mkfifo "$reg_dir/token.fifo"
"$CA_PYTHON3" "$e2e_dir/registry-token.py" --cert "$reg_dir/srv.pem" --key "$reg_dir/srv.key" \
        --sign-cert "$reg_dir/token.pem" --sign-key "$reg_dir/token.key" --issuer test-issuer \
        --service test-registry --log "$reg_dir/token-requests" >"$reg_dir/token.fifo" 2>"$reg_dir/token.err" &
pids+=("$!")
read -r _ token_port <"$reg_dir/token.fifo" || { cat "$reg_dir/token.err" >&2; exit 1; }
start_registry token "auth:
  token:
    realm: https://127.0.0.1:$token_port/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $reg_dir/token.pem"
registry_token=$started

# ---- Sigstores: ours (the trusted root handed to the pull) and a stranger's -----------------
"$CA_PYTHON3" "$forge_py" init "$TEST_TMP/forge"
"$CA_PYTHON3" "$forge_py" init "$TEST_TMP/other-forge"
"$CA_PYTHON3" "$forge_py" root "$TEST_TMP/forge" "$TEST_TMP/root.json"
pull=("$CA_BIN" image pull --quiet --ca-file "$reg_dir/ca.pem" --trusted-root "$TEST_TMP/root.json")

# The agent image the shared engine may hold stays what it was.
current_before=$(api GET /images/coding-agents-agent:current/json 2>/dev/null |
        "$CA_PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["Id"])' || true)
restore_current() {
        if [ -n "$current_before" ]; then
                api POST "/images/$current_before/tag?repo=coding-agents-agent&tag=current" >/dev/null
        else
                api DELETE /images/coding-agents-agent:current >/dev/null 2>&1 || true
        fi
}
current_id() {
        api GET /images/coding-agents-agent:current/json 2>/dev/null |
                "$CA_PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["Id"])' || true
}

# held: how many images of the test registry the engine holds.
held() {
        api GET /images/json | "$CA_PYTHON3" -c '
import json, sys
print(sum(1 for i in json.load(sys.stdin)
          if any(r.startswith(sys.argv[1] + "/") for r in (i.get("RepoTags") or []) + (i.get("RepoDigests") or []))))' "$registry"
}

# push NAME TAG AGENT_INIT_HEX: a one-file image made by the engine, pushed to the registry,
# then forgotten by the engine (so that a pull must fetch it). Prints its manifest digest.
push() {
        local name=$1 tag=$2 init=$3 dir="$TEST_TMP/img-$RANDOM"
        mkdir -p "$dir/root"
        printf '%s %s\n' "$name" "$tag" >"$dir/root/what"
        tar -C "$dir/root" -cf "$dir/root.tar" .
        api POST "/images/create?fromSrc=-&repo=$registry/$name&tag=$tag&changes=LABEL%20io.coding-agents.agent-init%3D$init" \
                -H 'Content-Type: application/x-tar' --data-binary "@$dir/root.tar" >/dev/null
        api POST "/images/$registry/$name/push?tag=$tag" -H 'X-Registry-Auth: e30=' >"$dir/push"
        api DELETE "/images/$registry/$name:$tag" >/dev/null
        "$CA_PYTHON3" -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    assert "error" not in m, m["error"]
    if "aux" in m and "Digest" in m["aux"]:
        print(m["aux"]["Digest"])' "$dir/push"
}

# sign REPO DIGEST [forge args...]: a cosign signature of DIGEST in REPO, pushed beside it.
sign() {
        local repo=$1 digest=$2
        shift 2
        "$CA_PYTHON3" "$forge_py" cosign-sign "$TEST_TMP/forge" "$registry" "$repo" "$digest" \
                --identity "$identity" --issuer "$issuer" --ca "$reg_dir/ca.pem" "$@"
}

# refused WHY PATTERN ARGS...: the pull exits 1 saying PATTERN, records image-refused, and the
# engine neither holds the image nor moved coding-agents-agent:current.
refused() {
        local why=$1 pattern=$2 before
        shift 2
        before=$(current_id)
        expect_status 1 "${pull[@]}" "$@" || return 0
        expect_grep "image refused: .*$pattern" "$TEST_TMP/err"
        check "$why: no image-refused event" grep -q '"type":"image-refused"' "$log"
        check "$why: coding-agents-agent:current moved" test "$(current_id)" = "$before"
        check "$why: the engine holds an image of the registry" test "$(held)" = 0
        : >"$log"
}

agent_init=$(sha256sum "$(dirname "$CA_BIN")/agent-init" | cut -d' ' -f1)
repo=$(printf '%s' "$CA_RELEASE_REPOSITORY/agent" | tr '[:upper:]' '[:lower:]')
good=$(push "$repo" "v$version" "$agent_init")
check "the engine's push gave no digest" test -n "$good"

# ---- usage ------------------------------------------------------------------------------------
expect_status 2 "$CA_BIN" image pull a b
expect_status 2 "$CA_BIN" image pull agent:v1
expect_grep 'names no registry' "$TEST_TMP/err"
expect_status 2 "$CA_BIN" image pull "$registry/Upper/case"
expect_status 2 "$CA_BIN" image pull "$registry/$repo@sha256:123"
expect_status 0 "$CA_BIN" image pull --help
expect_grep 'image\.yml@refs/tags/v' "$TEST_TMP/out"

# image build --mirror (image.yml's snapshot.debian.org): the base comes from there, and only a
# URL is taken. Nothing listens on the discard port: mmdebstrap fails at once, and nothing
# half-made is left in the cache for a later build to take.
expect_status 2 "$CA_BIN" image build --mirror ftp://mirror.invalid/debian
expect_status 2 env SOURCE_DATE_EPOCH=12x "$CA_BIN" image build
expect_grep 'SOURCE_DATE_EPOCH must be a number' "$TEST_TMP/err"
expect_status 1 "$CA_BIN" image build --quiet --cache "$TEST_TMP/build-cache" \
        --mirror http://127.0.0.1:9/debian/
expect_grep '^image: base [0-9a-f]{16}: mmdebstrap from http://127\.0\.0\.1:9/debian$' "$TEST_TMP/err"
expect_grep 'mmdebstrap exited with status [1-9]' "$TEST_TMP/err"
check "a failed mmdebstrap left a base in the cache: $(ls "$TEST_TMP/build-cache")" \
        test -z "$(find "$TEST_TMP/build-cache" -maxdepth 1 -name 'base-*')"

# ---- refusals ---------------------------------------------------------------------------------
refused "unsigned" "is not signed" "$registry/$repo:v$version"
# Not trusting a certificate authority it was not given.
expect_status 1 "$CA_BIN" image pull --quiet --trusted-root "$TEST_TMP/root.json" "$registry/$repo:v$version"
expect_grep 'image refused: .*(certificate|SSL)' "$TEST_TMP/err"
: >"$log"

# A signature of another image, placed at this one's signature tag.
other=$(push "$repo" other "$agent_init")
sign "$repo" "$good" --signed-digest "$other"
refused "another digest" "of another image \($other\)" "$registry/$repo:v$version"
# Of this digest, but for another repository.
sign "$repo" "$good" --signed-repo "$registry/someone/else"
refused "another repository" "for the repository '$registry/someone/else'" "$registry/$repo:v$version"
# By another Sigstore: a certificate no authority of the trusted root issued (another key).
"$CA_PYTHON3" "$forge_py" cosign-sign "$TEST_TMP/other-forge" "$registry" "$repo" "$good" \
        --identity "$identity" --issuer "$issuer" --ca "$reg_dir/ca.pem"
refused "another Sigstore" "the trusted root knows no log" "$registry/$repo:v$version"
# A certificate by another authority (another key), logged in our log.
sign "$repo" "$good" --flip untrusted-ca
refused "another authority" "does not chain to a certificate authority of the trusted root" \
        "$registry/$repo:v$version"
# By our Sigstore, but another identity (another workflow of the repository).
"$CA_PYTHON3" "$forge_py" cosign-sign "$TEST_TMP/forge" "$registry" "$repo" "$good" \
        --identity "${identity/image.yml/release.yml}" --issuer "$issuer" --ca "$reg_dir/ca.pem"
refused "another identity" "the certificate is not for '$identity' \(it names '${identity/image.yml/release.yml}'\)" "$registry/$repo:v$version"
# A forged signature (the certificate and log entry are good, the signature is not over this
# payload).
sign "$repo" "$good" --flip signature
refused "a bad signature" "signature" "$registry/$repo:v$version"
# A digest the registry does not have.
refused "unknown digest" "has no" "$registry/$repo@sha256:$(printf x | sha256sum | cut -d' ' -f1)"
# A package the token endpoint will not hand out anonymously (GHCR's private packages).
refused "a private package" "refused an anonymous pull of private/agent .*is the image public" \
        "$registry_token/private/agent:v1"
# Signed properly, but the image carries another agent-init: not this install's image.
stale=$(push "$repo" stale "$(printf stale | sha256sum | cut -d' ' -f1)")
sign "$repo" "$stale"
refused "another agent-init" "another agent-init" "$registry/$repo:stale"

# ---- a good pull: a bad signature first, then the good one --------------------------------------
"$CA_PYTHON3" "$forge_py" cosign-sign "$TEST_TMP/other-forge" "$registry" "$repo" "$good" \
        --identity "$identity" --issuer "$issuer" --ca "$reg_dir/ca.pem"
sign "$repo" "$good" --append
expect_status 0 "${pull[@]}" "$registry/$repo:v$version"
expect_grep "^$registry/$repo@$good \(coding-agents-agent:current\), signed by $identity" "$TEST_TMP/out"
check "no image-pulled event with the digest" grep -q "\"digest\":\"$good\".*\"type\":\"image-pulled\"" "$log"
id=$(current_id)
check "coding-agents-agent:current is not the pulled image" "$CA_PYTHON3" -c '
import json, sys
img = json.load(sys.stdin)
assert img["Id"] == sys.argv[1], img["Id"]
assert sys.argv[2] in img["RepoDigests"], img["RepoDigests"]' "$id" "$registry/$repo@$good" \
        < <(api GET "/images/$registry/$repo@$good/json")
# By digest as well (the tag is then not consulted).
expect_status 0 "${pull[@]}" "$registry/$repo@$good"

# ---- behind token authentication: the bearer dance, for us and for the engine ------------------
# The signature names the repository where it was made; this registry is another name for it.
expect_status 1 "${pull[@]}" "$registry_token/$repo:v$version"
expect_grep "image refused: .*for the repository '$registry/$repo', not '$registry_token/$repo'" "$TEST_TMP/err"
sign "$repo" "$good" --append --signed-repo "$registry_token/$repo"
: >"$reg_dir/token-requests"
expect_status 0 "${pull[@]}" "$registry_token/$repo:v$version"
expect_grep "^$registry_token/$repo@$good " "$TEST_TMP/out"
check "the pull asked the token endpoint for no pull token, or the engine did not" "$CA_PYTHON3" -c '
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
want = "repository:%s:pull" % sys.argv[2]
ours = [r for r in reqs if r["user_agent"].startswith("coding-agents/")]
engine = [r for r in reqs if not r["user_agent"].startswith("coding-agents/")]
assert ours and all(r["scope"] == want and r["granted"] and r["service"] == "test-registry" for r in ours), reqs
assert engine and any(r["granted"] for r in engine), reqs' "$reg_dir/token-requests" "$repo"

restore_current
api DELETE "/images/$registry/$repo@$good" >/dev/null 2>&1 || true
api DELETE "/images/$registry_token/$repo@$good" >/dev/null 2>&1 || true
check_no_leaks
kill "${pids[@]}" 2>/dev/null || true
finish
