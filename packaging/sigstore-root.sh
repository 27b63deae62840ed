#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Sigstore public-good trusted root that releases ship (share/coding-agents/sigstore/
# trusted_root.json), so that Sigstore bundles verify offline. It comes from the TUF seeds
# embedded in the npm package @sigstore/tuf (the root npm itself and sigstore-js start from):
# the package's tarball is fetched with `npm pack`, its SHA-512 checked against the one pinned
# here, and the trusted root taken out of its seeds.json.
#
#   packaging/sigstore-root.sh            write packaging/sigstore/trusted_root.json from the
#                                         pinned version
#   packaging/sigstore-root.sh --check    fail when the committed file is not that
#   packaging/sigstore-root.sh --latest   fail when the newest @sigstore/tuf has another
#                                         trusted root than the committed one (the release
#                                         workflow runs this: a release ships a current root)
#
# To move to a newer @sigstore/tuf: set VERSION and INTEGRITY (the "integrity" npm prints for
# it: npm view @sigstore/tuf@X dist.integrity), run this script, review the diff, commit.
set -euo pipefail

VERSION=5.0.1
INTEGRITY=sha512-ofwYu9iXeMm85zPh0cauUXzXtIFNfHI1o9Ux1e0Eil6shsbx+8bAe58fhiU1FcHdOIxOkyDhZzD6Gu6uPnzoUg==
SEED=https://tuf-repo-cdn.sigstore.dev

here=$(cd "$(dirname "$0")" && pwd)
committed="$here/sigstore/trusted_root.json"
mode="write"
case "${1:-}" in
"") ;;
--check) mode=check ;;
--latest) mode=latest ;;
-h | --help)
        sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
*)
        echo "sigstore-root.sh: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
esac
command -v npm >/dev/null || {
        echo "sigstore-root.sh: npm is needed" >&2
        exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$VERSION
if [ "$mode" = latest ]; then
        version=$(npm view @sigstore/tuf version)
fi
(cd "$work" && npm pack "@sigstore/tuf@$version" --loglevel=error >/dev/null)
tarball=$(find "$work" -maxdepth 1 -name 'sigstore-tuf-*.tgz')
if [ "$mode" != latest ]; then
        got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
        if [ "$got" != "$INTEGRITY" ]; then
                echo "sigstore-root.sh: @sigstore/tuf@$VERSION has $got, not the pinned $INTEGRITY" >&2
                exit 1
        fi
fi
tar -xzf "$tarball" -C "$work" package/seeds.json
/usr/bin/python3 - "$work/package/seeds.json" "$SEED" >"$work/trusted_root.json" <<'EOF'
import base64, json, sys
seeds = json.load(open(sys.argv[1]))
root = json.loads(base64.b64decode(seeds[sys.argv[2]]["targets"]["trusted_root.json"]))
assert root["mediaType"].startswith("application/vnd.dev.sigstore.trustedroot+json")
json.dump(root, sys.stdout, indent=2, sort_keys=True)
sys.stdout.write("\n")
EOF
case "$mode" in
write)
        mv "$work/trusted_root.json" "$committed"
        echo "sigstore-root.sh: $committed from @sigstore/tuf@$VERSION"
        ;;
check | latest)
        if ! cmp -s "$work/trusted_root.json" "$committed"; then
                echo "sigstore-root.sh: $committed is not the trusted root of @sigstore/tuf@$version:" >&2
                diff -u "$committed" "$work/trusted_root.json" | head -40 >&2 || true
                echo "sigstore-root.sh: refresh it (VERSION, INTEGRITY, then run this script) and commit" >&2
                exit 1
        fi
        echo "sigstore-root.sh: $committed is the trusted root of @sigstore/tuf@$version"
        ;;
esac
