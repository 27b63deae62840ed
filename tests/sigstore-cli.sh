#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `coding-agents release verify-sigstore` on the Sigstore conformance suite's cases: exit 0 for
# a bundle that verifies (by identity, by key, by artifact or by digest), 1 with the failed
# check named for one that does not, 2 for a malformed bundle or a usage error.
#
#   tests/sigstore-cli.sh BIN_DIR CONFORMANCE_DIR
set -euo pipefail
ca="$1/coding-agents"
suite="$2/bundle-verify"
good_root="$2/trusted_root.public_good.json"
id=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
issuer=https://token.actions.githubusercontent.com
work=$(mktemp -d /tmp/ca-sigstore-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
        echo "sigstore-cli: FAIL: $*" >&2
        exit 1
}
[ -d "$suite" ] || fail "the conformance suite is missing ($suite)"

# expect STATUS TEXT -- ARGS...: the exit status and a piece of the output.
expect() {
        local want=$1 text=$2 got=0
        shift 3
        "$ca" release verify-sigstore "$@" >"$work/out" 2>&1 || got=$?
        [ "$got" = "$want" ] || fail "exit $got, not $want, for $*: $(cat "$work/out")"
        grep -qF -- "$text" "$work/out" || fail "no '$text' in: $(cat "$work/out")"
}
by_id=(--trusted-root "$good_root" --certificate-identity "$id" --certificate-oidc-issuer "$issuer")

expect 0 "verified: $suite/a.txt, signed by $id" -- \
        --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" "${by_id[@]}" "$suite/a.txt"
expect 0 "verified: sha256:" -- --bundle "$suite/happy-path-v0.1/bundle.sigstore.json" "${by_id[@]}" \
        sha256:"$(sha256sum "$suite/a.txt" | cut -d' ' -f1)"
expect 0 "signed by the key" -- --bundle "$suite/managed-key-happy-path/bundle.sigstore.json" \
        --trusted-root "$good_root" \
        --key "$suite/managed-key-happy-path/key.pub" "$suite/a.txt"
# Another identity, another issuer, another artifact, a broken signature.
expect 1 "is not for 'https://github.com/someone-else'" -- \
        --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" --trusted-root "$good_root" \
        --certificate-identity https://github.com/someone-else --certificate-oidc-issuer "$issuer" \
        "$suite/a.txt"
expect 1 "OIDC issuer is not" -- --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" \
        --trusted-root "$good_root" --certificate-identity "$id" \
        --certificate-oidc-issuer https://accounts.google.com "$suite/a.txt"
printf 'not a.txt\n' >"$work/other"
expect 1 "not verified: the bundle's message digest is not the artifact's" -- \
        --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" "${by_id[@]}" "$work/other"
expect 1 "not verified: the signature does not verify" -- \
        --bundle "$suite/signature-mismatch_fail/bundle.sigstore.json" "${by_id[@]}" "$suite/a.txt"
# Malformed input and usage errors: 2.
expect 2 "premature end of input" -- --bundle "$suite/bundle-malformed-json_fail/bundle.sigstore.json" \
        "${by_id[@]}" "$suite/a.txt"
expect 2 "is not a PEM public key" -- --bundle "$suite/managed-key-wrong-key_fail/bundle.sigstore.json" \
        --trusted-root "$good_root" --key "$suite/managed-key-wrong-key_fail/key.pub" "$suite/a.txt"
expect 2 "not sha256: and 64 hex digits" -- --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" \
        "${by_id[@]}" sha256:abcd
expect 2 "needs --bundle" -- --certificate-identity "$id" \
        --certificate-oidc-issuer "$issuer" "$suite/a.txt"
expect 2 "or --key" -- --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" \
        --trusted-root "$good_root" --certificate-identity "$id" "$suite/a.txt"
expect 2 "cannot open" -- --bundle "$work/missing.json" "${by_id[@]}" "$suite/a.txt"
expect 2 "cannot open" -- --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" \
        --trusted-root "$work/missing.json" --certificate-identity "$id" \
        --certificate-oidc-issuer "$issuer" "$suite/a.txt"
# A Rekor v2 entry has no time of its own: the timestamp authority's time must fall inside the
# window of the log's key, as an integration time must for a v1 entry (a retired log key
# cannot vouch for entries made after it was retired).
/usr/bin/python3 - "$suite/rekor2-happy-path/trusted_root.json" >"$work/retired.json" <<'PY'
import json, sys
root = json.load(open(sys.argv[1]))
for log in root["tlogs"]:
    log["publicKey"]["validFor"] = {"start": "2019-01-01T00:00:00Z", "end": "2020-01-01T00:00:00Z"}
json.dump(root, sys.stdout)
PY
expect 1 "outside the window of the log's key" -- \
        --bundle "$suite/rekor2-happy-path/bundle.sigstore.json" --trusted-root "$work/retired.json" \
        --certificate-identity "$id" --certificate-oidc-issuer "$issuer" "$suite/a.txt"
expect 0 "usage: coding-agents release verify-sigstore" -- --help
# Without --trusted-root: the public-good root this build ships (packaging/sigstore/) verifies
# a bundle Sigstore's production services made, and refuses one made by the staging services
# (which verifies under its own root).
expect 0 "verified: $suite/a.txt, signed by $id" -- \
        --bundle "$suite/happy-path-v0.3/bundle.sigstore.json" --certificate-identity "$id" \
        --certificate-oidc-issuer "$issuer" "$suite/a.txt"
expect 0 "verified: " -- --bundle "$suite/rekor2-happy-path/bundle.sigstore.json" \
        --trusted-root "$suite/rekor2-happy-path/trusted_root.json" \
        --certificate-identity "$id" --certificate-oidc-issuer "$issuer" "$suite/a.txt"
expect 1 "by a timestamp authority of the trusted root" -- \
        --bundle "$suite/rekor2-happy-path/bundle.sigstore.json" --certificate-identity "$id" \
        --certificate-oidc-issuer "$issuer" "$suite/a.txt"
echo "sigstore-cli: ok"
