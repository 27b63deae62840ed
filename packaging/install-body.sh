# shellcheck shell=sh
# shellcheck disable=SC2154 # BUNDLE_NAME, BUNDLE_SHA256, TOP and PUBKEY come from the header
# The body of install.sh; packaging/make-installer.sh puts the release's values above it:
# BUNDLE_NAME, BUNDLE_SHA256, TOP (the bundle's top directory) and PUBKEY (minisign key).
#
#   sh install.sh [--prefix DIR] [--allow-downgrade] [--require-sigstore]
#
# Offline and before anything is unpacked: the bundle must have the SHA-256 recorded here and
# a minisign signature by the key recorded here. Then the bundled installer runs, which checks
# both again and installs immutably (docs/install.md).
set -eu

die() {
        echo "install.sh: $*" >&2
        exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
bundle=${CODING_AGENTS_BUNDLE:-$here/$BUNDLE_NAME}
[ -f "$bundle" ] || die "'$bundle' not found (put it next to install.sh)"
[ -f "$bundle.minisig" ] || die "'$bundle.minisig' not found"
command -v minisign >/dev/null 2>&1 || die "minisign is needed: apt-get install minisign"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed"
[ "$(id -u)" -eq 0 ] || die "run as root: the install goes where only root can write"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
printf '%s  %s\n' "$BUNDLE_SHA256" "$bundle" | sha256sum -c --quiet - >/dev/null 2>&1 ||
        die "'$bundle' does not have the SHA-256 this installer was made for"
printf '%s\n' "$PUBKEY" >"$work/release.pub"
minisign -Vqm "$bundle" -x "$bundle.minisig" -p "$work/release.pub" ||
        die "the signature of '$bundle' does not verify"

# Verified: take the installer out of the bundle and let it do the rest (install runs in
# ca-engine, which the front execs from beside itself). A Sigstore bundle beside it
# ($bundle.sigstore.json) is verified there against the trusted root the release ships, by
# the release workflow's identity (--require-sigstore refuses a release without one).
root="$TOP/share/coding-agents/sigstore/trusted_root.json"
tar -xzf "$bundle" -C "$work" "$TOP/bin/coding-agents" "$TOP/bin/ca-engine" "$root"
"$work/$TOP/bin/coding-agents" install "$bundle" --pubkey "$work/release.pub" \
        --sha256 "$BUNDLE_SHA256" --trusted-root "$work/$root" "$@"
