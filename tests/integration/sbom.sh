#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The release SBOM: valid against the official CycloneDX 1.5 JSON schema (from the npm package
# @cyclonedx/cyclonedx-library), every binary with its SHA-256, every library it links mapped
# to its Debian package as pkg:deb/debian/<name>@<version>?arch=<arch>, and deterministic.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

schemas="${CA_NPM_BIN:-}/../@cyclonedx/cyclonedx-library/res/schema"
[ -f "$schemas/bom-1.5.SNAPSHOT.schema.json" ] || skip "CycloneDX schemas not installed (scripts/install-npm.sh)"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
command -v dpkg >/dev/null || skip "dpkg is needed to map libraries to packages"

stage="$TEST_TMP/stage"
mkdir -p "$stage/bin" "$stage/share/doc"
copy_host_programs "$stage/bin"
echo doc >"$stage/share/doc/README"
mkdir -p "$stage/share/coding-agents/docker/agent"
cp "$CA_SOURCE_DIR/docker/agent/package-lock.json" "$stage/share/coding-agents/docker/agent/"
# The Windows launcher, as the release installs it (0644: data on Linux).
[ -n "${CA_WINDOWS_DIR:-}" ] || skip "coding-agents.exe was not built (Debian: gcc-mingw-w64-x86-64)"
install -D -m 0644 "$CA_WINDOWS_DIR/coding-agents.exe" "$stage/share/coding-agents/windows/coding-agents.exe"
export SOURCE_DATE_EPOCH=1700000000
expect_status 0 /usr/bin/python3 "$CA_SOURCE_DIR/packaging/make-sbom.py" "$stage" 0.1.0
cp "$TEST_TMP/out" "$TEST_TMP/sbom.json"
expect_status 0 /usr/bin/python3 "$CA_SOURCE_DIR/packaging/make-sbom.py" "$stage" 0.1.0
check "the SBOM is not deterministic" cmp -s "$TEST_TMP/out" "$TEST_TMP/sbom.json"

check "SBOM invalid or incomplete" /usr/bin/python3 - "$TEST_TMP/sbom.json" "$schemas" "$stage" <<'PY'
import hashlib, json, os, subprocess, sys
import jsonschema
sbom_path, schemas, stage = sys.argv[1:4]
bom = json.load(open(sbom_path))
def load(name):
    return json.load(open(os.path.join(schemas, name)))
schema = load("bom-1.5.SNAPSHOT.schema.json")
store = {}
for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
    s = load(name)
    store[s.get("$id", name)] = s
    store[name.replace(".SNAPSHOT", "")] = s
resolver = jsonschema.RefResolver.from_schema(schema, store=store)
jsonschema.Draft7Validator(schema, resolver=resolver).validate(bom)

apps = [c for c in bom["components"] if c["type"] == "application"]
exe = "share/coding-agents/windows/coding-agents.exe"
assert [a["name"] for a in apps] == ["bin/ca-broker", "bin/ca-engine", "bin/coding-agents", exe], apps
# The launcher carries the mingw-w64 runtime and libgcc, from these packages.
on = [d["dependsOn"] for d in bom["dependencies"] if d["ref"] == "file:" + exe][0]
assert any(p.startswith("pkg:deb/debian/mingw-w64-x86-64-dev@") for p in on), on
assert any(p.startswith("pkg:deb/debian/gcc-mingw-w64-x86-64-win32@") for p in on), on
for app in apps:
    digest = hashlib.sha256(open(os.path.join(stage, app["name"]), "rb").read()).hexdigest()
    assert app["hashes"] == [{"alg": "SHA-256", "content": digest}], app
purls = {c["purl"] for c in bom["components"]
         if c["type"] == "library" and not c["purl"].startswith("pkg:npm/")}
ldd = "".join(subprocess.run(["ldd", os.path.join(stage, a["name"])], capture_output=True,
                             text=True).stdout for a in apps if a["name"] != exe)
libs = sorted({l.split("=>")[1].split()[0] for l in ldd.splitlines() if "=>" in l and "/" in l})
assert libs
# Every linked library's package is listed (several libraries may share one package).
from urllib.parse import quote
def names(lib):
    return {lib, os.path.realpath(lib), "/usr" + lib, os.path.realpath(lib).removeprefix("/usr")}
# One dpkg -S for all of them (each call reads dpkg's whole database).
owned = {}
for line in subprocess.run(["dpkg", "-S"] + sorted(set().union(*map(names, libs))),
                           capture_output=True, text=True).stdout.splitlines():
    pkg, sep, path = line.partition(": /")
    if sep:
        owned["/" + path] = pkg.split(",")[0].split(":")[0]
for lib in libs:
    owner = next((owned[p] for p in names(lib) if p in owned), None)
    assert owner, lib
    assert any(p.startswith(f"pkg:deb/debian/{quote(owner, safe='')}@") for p in purls), (lib, owner)
for p in purls:
    assert p.startswith("pkg:deb/debian/") and "?arch=" in p, p
assert any(p.startswith("pkg:deb/debian/libsodium23@") for p in purls)
assert any(p.startswith("pkg:deb/debian/libjansson4@") for p in purls)
assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"

# The agent image's npm packages: the three CLIs and this platform's native parts, with the
# lockfile's SHA-512, under the image component.
npm = {c["purl"]: c for c in bom["components"] if c.get("purl", "").startswith("pkg:npm/")}
cpu = {"x86_64": "x64", "aarch64": "arm64"}[os.uname().machine]
for want in ("pkg:npm/%40anthropic-ai/claude-code@", "pkg:npm/%40openai/codex@",
             "pkg:npm/%40github/copilot@", f"pkg:npm/%40openai/codex-linux-{cpu}@"):
    assert any(p.startswith(want) for p in npm), (want, sorted(npm))
assert not any("darwin" in p or "win32" in p or "musl" in p for p in npm), sorted(npm)
assert all(len(c["hashes"][0]["content"]) == 128 for c in npm.values())
image = [d for d in bom["dependencies"] if d["ref"] == "image:coding-agents-agent"][0]
assert sorted(image["dependsOn"]) == sorted(npm)
PY

# The release's SBOM (make deb): the tree's, plus each published file with its SHA-256; valid.
head -c 4096 /dev/urandom >"$TEST_TMP/coding-agents-0.1.0-linux-x86_64.tar.gz"
head -c 4096 /dev/urandom >"$TEST_TMP/coding-agents_0.1.0_amd64.deb"
expect_status 0 /usr/bin/python3 "$CA_SOURCE_DIR/packaging/make-sbom.py" --assets "$TEST_TMP/sbom.json" \
        "$TEST_TMP/coding-agents-0.1.0-linux-x86_64.tar.gz" "$TEST_TMP/coding-agents_0.1.0_amd64.deb"
check "the release SBOM is invalid or lacks a published file" /usr/bin/python3 - "$TEST_TMP/out" \
        "$TEST_TMP/sbom.json" "$schemas" "$TEST_TMP" <<'PY'
import hashlib, json, os, sys
import jsonschema
bom, tree, schemas, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
def load(name):
    return json.load(open(os.path.join(schemas, name)))
schema = load("bom-1.5.SNAPSHOT.schema.json")
store = {}
for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
    s = load(name)
    store[s.get("$id", name)] = s
    store[name.replace(".SNAPSHOT", "")] = s
jsonschema.Draft7Validator(schema, resolver=jsonschema.RefResolver.from_schema(schema, store=store)).validate(bom)
files = {c["name"]: c for c in bom["components"] if c["type"] == "file"}
assert sorted(files) == ["coding-agents-0.1.0-linux-x86_64.tar.gz", "coding-agents_0.1.0_amd64.deb"], files
for name, c in files.items():
    assert c["hashes"][0]["content"] == hashlib.sha256(open(os.path.join(d, name), "rb").read()).hexdigest()
assert files["coding-agents_0.1.0_amd64.deb"]["purl"] == "pkg:deb/coding-agents/coding-agents@0.1.0?arch=amd64"
assert [c for c in bom["components"] if c["type"] != "file"] == tree["components"]
assert bom["serialNumber"] != tree["serialNumber"]
PY
finish
