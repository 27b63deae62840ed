#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages that building and testing need. As root, missing packages
# are installed with apt-get; otherwise the missing ones are listed and the script fails.
#
#   scripts/install-deps.sh [--lint] [--fuzz]
#     --lint   also clang-tidy, cppcheck, shellcheck
#     --fuzz   also clang and its libFuzzer runtime
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config python3 ca-certificates
      libsodium-dev libssl-dev libcurl4-openssl-dev libjansson-dev libseccomp-dev libcap-dev
      libmicrohttpd-dev libarchive-dev libcmocka-dev
      git util-linux inotify-tools minisign python3-yaml python3-jsonschema python3-securesystemslib python3-cryptography man-db lintian systemd strace
      squid dnsmasq-base iproute2 bind9-dnsutils curl wrk nginx
      docker.io podman debootstrap mmdebstrap debian-archive-keyring apparmor
      gcc-mingw-w64-x86-64 wine64 docker-registry)
for arg in "$@"; do
        case "$arg" in
        --lint) pkgs+=(clang clang-tidy cppcheck shellcheck) ;;
        --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
        *)
                echo "install-deps.sh: unknown option '$arg'" >&2
                exit 2
                ;;
        esac
done

missing=()
for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps.sh: missing Debian packages: ${missing[*]}" >&2
        echo "install-deps.sh: run as root, or: sudo apt-get install ${missing[*]}" >&2
        exit 1
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
