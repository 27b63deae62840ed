#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The release workflow cannot run here; keep it valid YAML with the structure docs/releasing.md
# describes (tag trigger, OIDC permission, test, minisign and cosign signing, publishing).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"
check "release workflow" /usr/bin/python3 - "$CA_SOURCE_DIR/.github/workflows/release.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
on = d.get("on", d.get(True))
assert on["push"]["tags"] == ["v*"], on
assert d["permissions"] == {"contents": "write", "id-token": "write"}
steps = d["jobs"]["release"]["steps"]
runs = " ".join(s.get("run", "") for s in steps)
uses = [s.get("uses", "") for s in steps]
assert "make test" in runs and "make release" in runs and "cosign sign-blob" in runs
assert "release verify" in runs
# The trusted root shipped is checked against the newest @sigstore/tuf before anything is built,
# the release binaries carry this repository as the signer, and our own verifier checks the
# cosign bundle by the identity install will expect.
names = [s.get("name", s.get("uses", "")) for s in steps]
assert "sigstore-root.sh --latest" in runs
assert names.index("Trusted root is current") < names.index("Test"), names
assert 'RELEASE_REPOSITORY="$GITHUB_REPOSITORY"' in runs
assert "release verify-sigstore" in runs and ".github/workflows/release.yml@$GITHUB_REF" in runs
# The Debian package is built from the same bundle, SHA256SUMS of every published file is signed
# both ways, and all of it is published.
assert "make deb" in runs and "release sign --secret \"$RUNNER_TEMP/release.sec\" build-release/SHA256SUMS" in runs
assert "build-release/coding-agents_*.deb build-release/SHA256SUMS; do" in runs
files = next(s for s in steps if s.get("uses", "").startswith("softprops/"))["with"]["files"]
for f in ("coding-agents_*.deb", "SHA256SUMS", "SHA256SUMS.minisig", "*.sigstore.json"):
    assert "build-release/" + f in files.split(), f
assert any(u.startswith("sigstore/cosign-installer@") for u in uses)
assert any(u.startswith("actions/checkout@") for u in uses)
PY
finish
