#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent containers' AppArmor profile (docker/profiles/apparmor-coding-agents): it compiles
# with the real apparmor_parser, it lets the control plane make the mounts it needs (agent-init's
# /proc remount, the stub launcher's per-server namespaces) and no other, and no deny rule
# overrides those allows (in AppArmor a deny wins whatever the order: a `deny mount` broke them,
# issue 17). Where this kernel enforces AppArmor, the profile is also loaded and a process under
# it is refused a mount the profile does not list while allowed the /proc remount.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

command -v apparmor_parser >/dev/null || skip "apparmor_parser is not installed (Debian: apparmor)"
profile="$CA_SOURCE_DIR/docker/profiles/apparmor-coding-agents"

# Compiles (parse and policy compile, nothing loaded).
expect_status 0 apparmor_parser -Q -K "$profile"
# No blanket deny of mounts (it would override the control plane's allows).
check "a deny rule on mount overrides the allowed mounts" test -z "$(grep -E '^\s*deny\s+mount' "$profile" || true)"
# Each mount the control plane makes has its rule.
for rule in 'mount options=\(rw, remount, nosuid, nodev, noexec\) -> /proc/,' \
        'mount options=\(rw, rprivate\) -> /,' \
        'mount fstype=proc options=\(rw, nosuid, nodev, noexec\) proc -> /proc/,' \
        'mount fstype=tmpfs options=\(rw, nosuid, nodev, noexec\) tmpfs -> /run/coding-agents/mcp/\*/,' \
        'mount options=\(rw, bind\) /run/coding-agents/control/broker.sock'; do
        expect_grep "^\s*$rule" "$profile"
done
check "ptrace is not denied" grep -Eq '^\s*deny ptrace' "$profile"

# Loading and enforcing: only where the kernel has AppArmor (not on every CI machine).
if [ -d /sys/kernel/security/apparmor ] && [ "$(id -u)" = 0 ]; then
        expect_status 0 apparmor_parser -r -W "$profile"
        # A mount the profile does not list is refused under it.
        mkdir -p "$TEST_TMP/m"
        if aa-exec -p coding-agents-agent -- unshare -m mount -t tmpfs tmpfs "$TEST_TMP/m" 2>/dev/null; then
                fail "a mount outside the profile's list was allowed"
        else
                pass
        fi
        apparmor_parser -R "$profile" >/dev/null 2>&1 || true
else
        echo "apparmor: this kernel does not enforce AppArmor; the profile was compiled, not loaded"
fi
finish
