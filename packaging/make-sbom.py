#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CycloneDX 1.5 SBOM of a staged release (syft is not packaged in Debian, so we write it).

    packaging/make-sbom.py STAGE VERSION > STAGE/sbom.json
    packaging/make-sbom.py --assets STAGE/sbom.json FILE... > coding-agents-<v>.cdx.json

Components: every ELF executable of the stage and the Windows launcher (type application, with
its SHA-256), and every shared library they link (from ldd; for the launcher, the mingw-w64
runtime built into it), mapped with dpkg to its Debian package as
pkg:deb/debian/<name>@<version>?arch=<arch>. Deterministic for a given stage: the timestamp is
SOURCE_DATE_EPOCH and the serial number is derived from the content.

The agent image's npm packages (share/coding-agents/docker/agent/package-lock.json: the agent
CLIs, installed with `npm ci` by `coding-agents image build`) are listed as
pkg:npm/<scope>/<name>@<version> with their SHA-512 from the lockfile, under a container
component for the image: those for this architecture and glibc, which is what npm installs.

--assets: the release's own SBOM, that tree SBOM plus each published file (the bundle, its
debug archive, the Debian package) as a component with its SHA-256 (`make deb` writes it).
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


# What a statically linked program of ours carries inside it (container/CMakeLists.txt links
# the shell shim static): the archives it was linked from, which dpkg maps to their packages.
STATIC_ARCHIVES = ["/usr/lib/x86_64-linux-gnu/libc.a", "/usr/lib/x86_64-linux-gnu/libjansson.a"]


def is_pe(path):
    with open(path, "rb") as f:
        return f.read(2) == b"MZ"


def pe_runtime():
    """What a program cross-compiled with mingw-w64 carries inside it (the Windows launcher):
    the C runtime's start-up code and import libraries, and libgcc. Its DLLs are Windows'."""
    files = ["/usr/x86_64-w64-mingw32/lib/crt2.o"]
    libgcc = subprocess.run(["x86_64-w64-mingw32-gcc", "-print-libgcc-file-name"], check=True,
                            capture_output=True, text=True).stdout.strip()
    return files + [libgcc]


def linked_libraries(path):
    out = subprocess.run(["ldd", path], check=True, capture_output=True, text=True,
                         env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}).stdout
    if "statically linked" in out:
        return [a for a in STATIC_ARCHIVES if os.path.exists(a)]
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts:
            target = parts[parts.index("=>") + 1]
        elif parts and parts[0].startswith("/"):
            target = parts[0]
        else:
            continue  # linux-vdso: no file
        if target.startswith("/"):
            libs.append(target)
    return libs


def candidates(path):
    """The names dpkg may know `path` by (merged /usr aware)."""
    names = [path, os.path.realpath(path)]
    for p in list(names):
        names.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    return names


def debian_packages(paths):
    """{path: (name, version, arch)} of the packages owning `paths`: one dpkg -S and one
    dpkg-query for all of them (each call reads dpkg's whole database)."""
    queries = sorted({c for p in paths for c in candidates(p)})
    owners = {}
    out = subprocess.run(["dpkg", "-S"] + queries, capture_output=True, text=True).stdout
    for line in out.splitlines():
        # "libsodium23:amd64: /usr/lib/..." (a diversion line has no ": /")
        owner, sep, file = line.partition(": /")
        if sep:
            owners.setdefault("/" + file, owner.split(",")[0].strip())
    names = sorted(set(owners.values()))
    info = {}
    if names:
        out = subprocess.run(["dpkg-query", "-W", "-f",
                              "${binary:Package} ${Package} ${Version} ${Architecture}\\n"] + names,
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            qualified, name, version, arch = line.split()
            info[qualified] = info[name] = (name, version, arch)
    found = {}
    for path in paths:
        owner = next((owners[c] for c in candidates(path) if c in owners), None)
        if owner is None:
            raise SystemExit(f"make-sbom: no Debian package owns {path}")
        found[path] = info[owner]
    return found


def purl(name, version, arch):
    return (f"pkg:deb/debian/{urllib.parse.quote(name, safe='')}@{urllib.parse.quote(version, safe='')}"
            f"?arch={urllib.parse.quote(arch, safe='')}")


NPM_CPU = {"x86_64": "x64", "aarch64": "arm64"}


def npm_components(stage):
    """The image's npm packages, and the container component that depends on them."""
    lock_path = os.path.join(stage, "share/coding-agents/docker/agent/package-lock.json")
    if not os.path.exists(lock_path):
        return None, []
    lock = json.load(open(lock_path))
    cpu = NPM_CPU.get(os.uname().machine, os.uname().machine)
    comps, seen = [], set()
    for key in sorted(lock.get("packages", {})):
        meta = lock["packages"][key]
        if not key.startswith("node_modules/"):
            continue
        if ("os" in meta and "linux" not in meta["os"]) or ("cpu" in meta and cpu not in meta["cpu"]) \
                or "musl" in meta.get("libc", []):
            continue
        name = key[len("node_modules/"):].split("/node_modules/")[-1]
        scope, _, base = name.rpartition("/")
        p = "pkg:npm/" + (urllib.parse.quote(scope, safe="") + "/" if scope else "") + \
            f"{urllib.parse.quote(base, safe='')}@{urllib.parse.quote(meta['version'], safe='')}"
        # The same package at the same version can sit in several node_modules directories:
        # one component (bom-refs are unique).
        if p in seen:
            continue
        seen.add(p)
        c = {"type": "library", "bom-ref": p, "name": base, "version": meta["version"], "purl": p}
        if scope:
            c["group"] = scope
        integrity = meta.get("integrity", "")
        if integrity.startswith("sha512-"):
            c["hashes"] = [{"alg": "SHA-512",
                            "content": base64.b64decode(integrity[7:]).hex()}]
        comps.append(c)
    image = {"type": "container", "bom-ref": "image:coding-agents-agent",
             "name": "coding-agents-agent",
             "description": "the agent image built by `coding-agents image build`"}
    return image, comps


def assets_bom(tree_sbom, files):
    """The release's SBOM: the tree's, with every published file (the bundle, the Debian
    package, ...) as a component of its own holding the tree's programs."""
    bom = json.load(open(tree_sbom))
    version = bom["metadata"]["component"]["version"]
    apps = [c["bom-ref"] for c in bom["components"] if c["type"] == "application"]
    assets = []
    for path in files:
        name = os.path.basename(path)
        comp = {"type": "file", "bom-ref": f"asset:{name}", "name": name, "version": version,
                "hashes": [{"alg": "SHA-256", "content": sha256(path)}]}
        if name.endswith(".deb"):
            arch = name.rsplit("_", 1)[1][:-len(".deb")]
            comp["purl"] = f"pkg:deb/coding-agents/coding-agents@{version}?arch={arch}"
        assets.append(comp)
    bom["components"] = assets + bom["components"]
    bom["dependencies"] = [{"ref": a["bom-ref"], "dependsOn": apps} for a in assets] + \
        bom["dependencies"]
    digest = hashlib.sha256(json.dumps(bom["components"], sort_keys=True).encode()).hexdigest()
    bom["serialNumber"] = uuid.uuid5(uuid.NAMESPACE_URL, f"coding-agents/{version}/{digest}").urn
    return bom


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--assets":
        json.dump(assets_bom(sys.argv[2], sys.argv[3:]), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return
    if len(sys.argv) != 3:
        raise SystemExit("usage: make-sbom.py STAGE VERSION\n"
                         "       make-sbom.py --assets TREE-SBOM FILE...")
    stage, version = sys.argv[1], sys.argv[2]
    apps, libs, deps, linked = [], {}, [], {}
    for root, dirs, files in os.walk(stage):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, stage)
            if os.path.islink(path):
                continue
            if os.access(path, os.X_OK) and is_elf(path):
                linked[rel] = linked_libraries(path)
            elif name.endswith(".exe") and is_pe(path):
                linked[rel] = pe_runtime()
            else:
                continue
            apps.append({"type": "application", "bom-ref": f"file:{rel}", "name": rel,
                         "version": version,
                         "hashes": [{"alg": "SHA-256", "content": sha256(path)}]})
    owners = debian_packages(sorted({lib for libs_of in linked.values() for lib in libs_of}))
    for app in apps:
        on = []
        for lib in linked[app["name"]]:
            pkg = owners[lib]
            p = purl(*pkg)
            libs[p] = {"type": "library", "bom-ref": p, "name": pkg[0], "version": pkg[1],
                       "purl": p}
            on.append(p)
        deps.append({"ref": app["bom-ref"], "dependsOn": sorted(set(on))})
    components = apps + [libs[k] for k in sorted(libs)]
    image, npm = npm_components(stage)
    if image:
        components += [image] + npm
        deps.append({"ref": image["bom-ref"], "dependsOn": [c["bom-ref"] for c in npm]})
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    digest = hashlib.sha256(json.dumps(components, sort_keys=True).encode()).hexdigest()
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": uuid.uuid5(uuid.NAMESPACE_URL, f"coding-agents/{version}/{digest}").urn,
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
            "component": {"type": "application", "bom-ref": "coding-agents",
                          "name": "coding-agents", "version": version},
            "tools": {"components": [{"type": "application", "name": "make-sbom.py"}]},
        },
        "components": components,
        "dependencies": [{"ref": "coding-agents",
                          "dependsOn": [a["bom-ref"] for a in apps] + ([image["bom-ref"]] if image else [])}]
                        + deps,
    }
    json.dump(bom, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
