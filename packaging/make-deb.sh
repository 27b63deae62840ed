#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A Debian package of a release bundle: the very tree the bundle holds (with its SHA256SUMS),
# unpacked under /usr/lib/coding-agents/releases/<version>, the integrity gate run before it is
# made current. Reproducible: the same bundle and SOURCE_DATE_EPOCH give the same bytes.
#
#   packaging/make-deb.sh BUNDLE OUTDIR [VERSION]
#
# VERSION relabels the package and its release directory (tests build an upgrade from one
# bundle); by default it is the bundle's own. Layout (docs/install.md, "Debian package"):
#   /usr/lib/coding-agents/releases/<v>/      the release, owned by the package
#   /usr/lib/coding-agents/current, previous  symlinks the maintainer scripts switch with one
#                                             rename each (upgrades keep the one before)
#   /usr/bin/coding-agents                    an alternative pointing through current
#   /usr/share/man, bash-completion, zsh, fish, /usr/lib/systemd/user   from the release
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
        echo "usage: make-deb.sh BUNDLE OUTDIR [VERSION]" >&2
        exit 2
fi
bundle=$1
outdir=$2
top=$(tar -tzf "$bundle" | sed -n "1s|/.*||p")
case "$top" in
coding-agents-[0-9]*) ;;
*)
        echo "make-deb.sh: '$bundle' is not a release bundle (top directory '$top')" >&2
        exit 2
        ;;
esac
version=${3:-${top#coding-agents-}}
arch=$(dpkg --print-architecture)
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$bundle")}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
lib=/usr/lib/coding-agents
rel="$pkg$lib/releases/$version"

mkdir -p "$rel" "$pkg/DEBIAN"
# install and uninstall leave a packaged prefix to apt (host/lib/install.h).
printf 'This directory belongs to the Debian package coding-agents.\n' >"$pkg$lib/managed-by-dpkg"
tar -xzf "$bundle" -C "$rel" --strip-components=1 --no-same-owner
release_share="$rel/share"
# What Debian looks for where Debian looks: man pages (gzipped), completions, user units.
mkdir -p "$pkg/usr/share/man/man1" "$pkg/usr/share/doc/coding-agents" "$pkg/usr/lib/systemd/user"
for page in "$release_share"/man/man1/*.1; do
        name=${page##*/}
        gzip -9n <"$page" >"$pkg/usr/share/man/man1/$name.gz"
done
install -D -m 0644 "$release_share/bash-completion/completions/coding-agents" \
        "$pkg/usr/share/bash-completion/completions/coding-agents"
install -D -m 0644 "$release_share/zsh/vendor-completions/_coding-agents" \
        "$pkg/usr/share/zsh/vendor-completions/_coding-agents"
install -D -m 0644 "$release_share/fish/vendor_completions.d/coding-agents.fish" \
        "$pkg/usr/share/fish/vendor_completions.d/coding-agents.fish"
for unit in "$release_share"/coding-agents/systemd/user/*; do
        sed -e "s|/opt/coding-agents/current/|$lib/current/|g" "$unit" \
                >"$pkg/usr/lib/systemd/user/$(basename "$unit")"
done
cp "$here/deb/copyright" "$pkg/usr/share/doc/coding-agents/copyright"
install -D -m 0644 "$here/deb/lintian-overrides" "$pkg/usr/share/lintian/overrides/coding-agents"
printf 'coding-agents (%s) unstable; urgency=medium\n\n  * Release %s (see the release notes).\n\n -- coding-agents maintainers <security@coding-agents.invalid>  %s\n' \
        "$version" "$version" "$(LC_ALL=C date -u -d "@$epoch" '+%a, %d %b %Y %H:%M:%S +0000')" |
        gzip -9n >"$pkg/usr/share/doc/coding-agents/changelog.gz"

# The dependencies: the Debian packages of the libraries the programs load (as the SBOM).
depends=$(find "$rel/bin" -type f -exec sh -c 'readelf -d "$1" 2>/dev/null' _ {} \; |
        sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u | while read -r so; do
                path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64|x32|AArch64|64bit/ {print $NF; exit}')
                [ -n "$path" ] || path=$(ldconfig -p | awk -v so="$so" '$1 == so {print $NF; exit}')
                [ -n "$path" ] || continue
                { dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null; } |
                        sed -n '1s/:.*//p'
        done | sort -u | while read -r p; do
                v=$(dpkg-query -W -f='${Version}' "$p" | sed 's/-[^-]*$//')
                printf '%s (>= %s), ' "$p" "$v"
        done | sed 's/, $//')

for script in postinst prerm postrm; do
        sed -e "s|@VERSION@|$version|g" "$here/deb/$script" >"$pkg/DEBIAN/$script"
        chmod 0755 "$pkg/DEBIAN/$script"
done
# Standard modes (Debian's): directories and programs 0755, everything else 0644.
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -type f ! -path "$pkg/DEBIAN/*" -exec chmod 0644 {} +
find "$rel/bin" -type f -exec chmod 0755 {} +
chmod 0755 "$pkg"/DEBIAN/postinst "$pkg"/DEBIAN/prerm "$pkg"/DEBIAN/postrm
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: coding-agents
Version: $version
Architecture: $arch
Maintainer: coding-agents maintainers <security@coding-agents.invalid>
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: https://github.com/coding-agents/coding-agents
Description: run AI coding agents in hardened containers, secrets kept on the host
 coding-agents runs Claude Code, Codex CLI and Copilot CLI in hardened
 containers on the Docker engine. A host secret broker hands out single-use
 capabilities, MCP servers run behind per-server stubs and helper proxies,
 egress goes through a filtering proxy, and every decision lands in a
 tamper-evident event log.
 .
 This package installs one release under /usr/lib/coding-agents, verified
 against its SHA256SUMS before it is made current; the previous one is kept
 for rollback.
EOF
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
        xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"
find "$pkg" -exec touch -h -d "@$epoch" {} +
mkdir -p "$outdir"
out="$outdir/coding-agents_${version}_$arch.deb"
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out" >/dev/null
echo "$out"
