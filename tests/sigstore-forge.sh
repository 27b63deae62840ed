#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `release verify-sigstore` end to end against a Sigstore of our own making
# (tests/sigstore-forge.py: a certificate authority, a CT log and a Rekor log of OpenSSL keys
# made here, a Merkle tree built here): bundles v0.1, v0.2 and v0.3 verify; each field that
# verification depends on, broken by itself with everything else consistent, is refused with
# exit 1 and the check that failed named; so is the same bundle under a trusted root with one
# field changed.
#
#   tests/sigstore-forge.sh BIN_DIR
set -euo pipefail
ca="$1/coding-agents"
forge=(/usr/bin/python3 "$(dirname "$0")/sigstore-forge.py")
work=$(mktemp -d /tmp/ca-sigstore-forge.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
        echo "sigstore-forge: FAIL: $*" >&2
        exit 1
}
id=https://github.com/coding-agents/coding-agents/.github/workflows/release.yml@refs/tags/v1.2.3
issuer=https://token.actions.githubusercontent.com

"${forge[@]}" init "$work/keys"
"${forge[@]}" root "$work/keys" "$work/root.json"
head -c 100000 /dev/urandom >"$work/artifact"

# verify STATUS TEXT BUNDLE [ROOT [IDENTITY]]
verify() {
        local want=$1 text=$2 bundle=$3 root=${4:-$work/root.json} who=${5:-$id} got=0
        "$ca" release verify-sigstore --bundle "$bundle" --trusted-root "$root" \
                --certificate-identity "$who" --certificate-oidc-issuer "$issuer" \
                "$work/artifact" >"$work/out" 2>&1 || got=$?
        [ "$got" = "$want" ] || fail "exit $got, not $want, for $bundle: $(cat "$work/out")"
        grep -qF -- "$text" "$work/out" || fail "$bundle: no '$text' in: $(cat "$work/out")"
}

for format in v0.1 v0.2 v0.3; do
        "${forge[@]}" sign "$work/keys" "$work/artifact" "$work/$format.json" \
                --identity "$id" --issuer "$issuer" --format "$format"
        verify 0 "verified: $work/artifact, signed by $id" "$work/$format.json"
done
# The right bundle, the wrong expectation: another tag of the same workflow, another repository.
verify 1 "is not for" "$work/v0.3.json" "$work/root.json" "${id%v1.2.3}v1.2.4"
verify 1 "is not for" "$work/v0.3.json" "$work/root.json" "${id/coding-agents\/coding-agents/fork/coding-agents}"

# Each flip, and the check that must name it.
declare -A want=(
        [san]="the certificate is not for '$id'"
        [issuer]="the certificate's OIDC issuer is not '$issuer'"
        [untrusted-ca]="does not chain to a certificate authority of the trusted root"
        [expired]="was not valid at the signing time"
        [not-yet-valid]="was not valid at the signing time"
        [no-codesign]="is not for code signing"
        [no-sct]="no CT log of the trusted root signed a timestamp"
        [sct-signature]="no CT log of the trusted root signed a timestamp"
        [sct-unknown-log]="no CT log of the trusted root signed a timestamp"
        [sct-other-tbs]="no CT log of the trusted root signed a timestamp"
        [signature]="the signature does not verify over the artifact"
        [digest]="the bundle's message digest is not the artifact's"
        [body-hash]="the log entry is for another artifact"
        [body-signature]="the log entry is of another signature"
        [body-cert]="the log entry is of another certificate or key"
        [set]="signed entry timestamp: the signature does not verify"
        [proof-hash]="the inclusion proof does not lead to its root"
        [proof-index]="the inclusion proof does not lead to its root"
        [tree-size]="the checkpoint is of another tree than the proof"
        [checkpoint-signature]="the checkpoint: the signature does not verify"
        [checkpoint-root]="the checkpoint is of another tree than the proof"
        [checkpoint-origin]="the checkpoint is of another log"
        [log-id]="the trusted root knows no log by its id"
        [future]="was integrated in the future"
        [chain-root]="carries a root certificate"
        [root:ca-window]="does not chain to a certificate authority of the trusted root"
        [root:log-window]="outside the window of the log's key"
        [root:ct-window]="no CT log of the trusted root signed a timestamp"
        [root:other-ca]="does not chain to a certificate authority of the trusted root"
        [root:log-key]="signed entry timestamp: the signature does not verify"
)
n=0
while read -r flip; do
        [ -n "${want[$flip]:-}" ] || fail "flip '$flip' has no expected check in this test"
        case "$flip" in
        root:*)
                "${forge[@]}" root "$work/keys" "$work/flipped-root.json" --flip "${flip#root:}"
                verify 1 "${want[$flip]}" "$work/v0.3.json" "$work/flipped-root.json"
                ;;
        *)
                format=v0.3
                # Only v0.1 and v0.2 bundles carry a chain (that could hold a root).
                [ "$flip" = chain-root ] && format=v0.1
                "${forge[@]}" sign "$work/keys" "$work/artifact" "$work/flipped.json" \
                        --identity "$id" --issuer "$issuer" --format "$format" --flip "$flip"
                verify 1 "${want[$flip]}" "$work/flipped.json"
                ;;
        esac
        n=$((n + 1))
done < <("${forge[@]}" flips)
[ "$n" = "${#want[@]}" ] || fail "the forge knows $n flips, this test ${#want[@]}"

# A v0.1 bundle proves inclusion by its signed entry timestamp alone: a broken one is refused.
"${forge[@]}" sign "$work/keys" "$work/artifact" "$work/flipped.json" --identity "$id" \
        --issuer "$issuer" --format v0.1 --flip set
verify 1 "signed entry timestamp: the signature does not verify" "$work/flipped.json"
echo "sigstore-forge: ok: 3 formats verify, $n flipped fields refused by the check named"
