#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Windows launcher (coding-agents.exe, cross-compiled with mingw-w64) under wine, against a
# stand-in wsl.exe (tests/windows/wsl-standin.c) that records the arguments it receives: the
# path translation table, hostile arguments arriving byte for byte, exit statuses, Ctrl-C and
# the terminal's size, the distribution chosen and WSL 1 refused, and `install` refusing a
# bundle with another hash. What the launcher asks wsl.exe to run is then run for real, here,
# in a mount namespace where /mnt/z is this machine's / (wine's drive Z:): coding-agents runs,
# and a signed release installs through its own install.sh. Needs root, wine64, mingw-w64.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "${CA_WINDOWS_DIR:-}" ] || skip "coding-agents.exe was not built (Debian: gcc-mingw-w64-x86-64)"
wine_bin=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$wine_bin" ] || skip "wine is not installed (Debian: wine64)"
[ "$(id -u)" -eq 0 ] || skip "running what the launcher composes needs a mount namespace (root)"
command -v minisign >/dev/null || skip "minisign is not installed"
"$CA_PYTHON3" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"

export WINEPREFIX="$TEST_TMP/wine" WINEDEBUG=-all LANG=C.UTF-8 WINEDLLOVERRIDES="mscoree=;mshtml="
unset DISPLAY WAYLAND_DISPLAY
base=$(mktemp -d /var/lib/ca-windows-test.XXXXXX)
chmod 755 "$base"
stop_wine() {
        "$(dirname "$wine_bin")/wineserver" -k 2>/dev/null || true
        rm -rf "$base"
        cleanup_tmp
}
trap stop_wine EXIT

exe="$CA_WINDOWS_DIR/coding-agents.exe"
winpath() { # the Windows spelling of a path on this machine (wine's drive Z: is /)
        printf 'Z:%s' "${1//\//\\}"
}
export CODING_AGENTS_WSL_EXE
CODING_AGENTS_WSL_EXE=$(winpath "$CA_WINDOWS_DIR/wsl-standin.exe")
export WSL_STANDIN_LOG="$TEST_TMP/wsl.log" WSL_STANDIN_DISTROS='*Debian:2,Ubuntu:2,Old:1'
launch() {
        : >"$WSL_STANDIN_LOG"
        "$wine_bin" "$exe" "$@"
}
# The calls the stand-in recorded, one JSON array of arguments per line.
calls() {
        "$CA_PYTHON3" - "$WSL_STANDIN_LOG" <<'EOF'
import json, sys
call = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line == "call":
        call = []
    elif line == "end":
        print(json.dumps(call))
    else:
        call.append(bytes.fromhex(line).decode("utf-8", "surrogateescape"))
EOF
}
# The arguments of the last call after its fixed part (wsl.exe options, script, working dir).
last_args() {
        calls | tail -n 1 | "$CA_PYTHON3" -c 'import json, sys
c = json.loads(sys.stdin.read())
print(json.dumps(c[c.index("coding-agents") + 1:]))'
}
no_exec_call() {
        check "wsl.exe ran a command: $(calls | tail -n +2)" [ "$(calls | grep -c -- '--exec' || true)" = 0 ]
}

mkdir -p "$TEST_TMP/work/sub/dir"
cd "$TEST_TMP/work"
work_wsl="/mnt/z$TEST_TMP/work"

# 1. The path translation table; after '--', nothing is translated.
# shellcheck disable=SC1003 # Windows paths end in backslashes
expect_status 0 launch run 'C:\src\repo' 'c:/src/x' 'D:\' 'C:\Program Files\a b' \
        '\\wsl$\Debian\home\u' '\\wsl.localhost\debian\etc' '//wsl.localhost/Debian/srv' \
        '\\?\C:\long\p' '--workspace=D:\w' '--out=.\o\p' '.\rel\p' '..\up' 'sub\dir' 'sub\dir\new.tar' \
        'not\there' '/usr/bin' 'C:' -- 'C:\after' '.\kept'
"$CA_PYTHON3" - "$(last_args)" "$work_wsl" <<'EOF' || fail "path translation"
import json, sys
got, want = json.loads(sys.argv[1]), [
    sys.argv[2], "run", "/mnt/c/src/repo", "/mnt/c/src/x", "/mnt/d/", "/mnt/c/Program Files/a b",
    "/home/u", "/etc", "/srv", "/mnt/c/long/p", "--workspace=/mnt/d/w", "--out=./o/p", "./rel/p",
    "../up", "sub/dir", "sub/dir/new.tar", "not\\there", "/usr/bin", "C:", "--", "C:\\after",
    ".\\kept"]
# last_args starts after "coding-agents": the working directory, then the arguments.
if got != want:
    for g, w in zip(got, want):
        if g != w:
            print(f"got {g!r}, want {w!r}", file=sys.stderr)
    sys.exit(1)
EOF
pass
check "the distribution is not the default" [ "$(calls | tail -n 1 | "$CA_PYTHON3" -c 'import json,sys; c=json.loads(sys.stdin.read()); print(c[:3])')" = "['-d', 'Debian', '--exec']" ]
check "wsl.exe was not asked for its distributions first" [ "$(calls | head -n 1)" = '["--list", "--verbose"]' ]

# Paths the distribution cannot reach are refused (exit 2), and nothing runs.
for bad in '\\fileserver\share\x' '\\wsl$\Ubuntu\home' '--in=\\fileserver\s' '\\.\pipe\x'; do
        expect_status 2 launch run "$bad"
        expect_grep "cannot reach|another WSL distribution" "$TEST_TMP/err"
        no_exec_call
done

# 2. Hostile arguments arrive byte for byte (wine turns this argv into a Windows command line;
# the launcher splits it, builds wsl.exe's, and the stand-in's C runtime splits that).
# shellcheck disable=SC1003,SC2016 # the backslashes and the $(...) are the point
hostile=('a b' 'q"x' 'tail\' 'tail\\' 'back\"q' '"' '' '\' '&|<>^%PATH%!' $'t\tb' $'new\nline'
        'ünï€😀' '$(id);rm -rf /' '--x="y z"' '  lead' 'trail  ' '""' 'a\\b\' "it's")
expect_status 0 launch "${hostile[@]}"
"$CA_PYTHON3" - "$(last_args)" "${hostile[@]}" <<'EOF' || fail "hostile arguments changed on the way"
import json, sys
got = json.loads(sys.argv[1])[1:]
want = [a.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape") for a in sys.argv[2:]]
if got != want:
    print(f"got {got!r}\nwant {want!r}", file=sys.stderr)
    sys.exit(1)
EOF
pass
# ... and after '--' too.
expect_status 0 launch run -- "${hostile[@]}"
check "hostile arguments after -- changed" [ "$(last_args)" = "$("$CA_PYTHON3" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$work_wsl" run -- "${hostile[@]}")" ]

# 3. Exit statuses come back.
for code in 0 1 3 127 130 255; do
        WSL_STANDIN_EXIT=$code expect_status "$code" launch version
done

# 4. Ctrl-C at a terminal: the launcher stays, coding-agents (here the stand-in) gets it and
# its status comes back; the terminal's size is the launcher's own.
printf '\003' >"$TEST_TMP/ctrl-c"
got=0
WSL_STANDIN_CTRLC=1 "$CA_PYTHON3" "$CA_SOURCE_DIR/tests/e2e/pty-run.py" --after "waiting-for-ctrl-c" \
        "$TEST_TMP/ctrl-c" -- "$wine_bin" "$exe" run >"$TEST_TMP/pty" 2>&1 || got=$?
check "after Ctrl-C the launcher exited $got, not 130 (the stand-in's)" [ "$got" = 130 ]
"$CA_PYTHON3" -c 'import re, sys
screen = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", open(sys.argv[1], "rb").read())
if b"console=120x40" not in screen:
    sys.exit(repr(screen[:600]))' "$TEST_TMP/pty" || fail "the stand-in did not see the terminal's 120x40"

# 5. Which distribution: CODING_AGENTS_WSL_DISTRO, --wsl-distribution, else the default;
# WSL 1 refused with the remedy; none, or no WSL, explained.
CODING_AGENTS_WSL_DISTRO=ubuntu expect_status 0 launch version
check "CODING_AGENTS_WSL_DISTRO was not used" grep -q '"-d", "Ubuntu"' <(calls)
CODING_AGENTS_WSL_DISTRO=Ubuntu expect_status 0 launch --wsl-distribution=Debian version
check "--wsl-distribution was not used" grep -q '"-d", "Debian"' <(calls)
check "--wsl-distribution was passed on" [ "$(last_args)" = "[\"$work_wsl\", \"version\"]" ]
expect_status 1 launch --wsl-distribution=Old version
expect_grep "runs on WSL 1.*wsl --set-version Old 2" "$TEST_TMP/err"
no_exec_call
WSL_STANDIN_DISTROS='*Old:1' expect_status 1 launch version
expect_grep "WSL 1" "$TEST_TMP/err"
CODING_AGENTS_WSL_DISTRO=Nope expect_status 1 launch version
expect_grep "no WSL distribution is named 'Nope'.* Debian Ubuntu Old" "$TEST_TMP/err"
WSL_STANDIN_DISTROS='' expect_status 1 launch version
expect_grep "no WSL distribution is installed: run 'wsl --install" "$TEST_TMP/err"
CODING_AGENTS_WSL_EXE='Z:\nowhere\wsl.exe' expect_status 1 launch version
expect_grep "WSL is not installed" "$TEST_TMP/err"
expect_status 0 launch --wsl-help
expect_grep "usage: coding-agents.exe" "$TEST_TMP/err"

# 6. What the launcher composed, run for real: the fixed part of the last call executed as the
# distribution would (/mnt/z is /), with an installed coding-agents and without one.
as_wsl() { # [--installed DIR] : runs the last recorded call's command in a mount namespace
        local bin=${1:-}
        calls | tail -n 1 >"$TEST_TMP/call.json"
        # shellcheck disable=SC2016 # the script's $1 and $@ are its own
        unshare -m --propagation private sh -c '
                mount -t tmpfs -o mode=755 none /mnt && mkdir /mnt/z && mount --bind / /mnt/z &&
                mount -t tmpfs -o mode=755 none /opt || exit 90
                if [ -n "$1" ]; then
                        mkdir -p /opt/coding-agents/current/bin && cp "$1"/* /opt/coding-agents/current/bin/
                fi
                shift
                exec "$@"' as-wsl "$bin" "$CA_PYTHON3" -c 'import json, os, sys
c = json.load(open(sys.argv[1]))
argv = c[c.index("--exec") + 1:]
os.execv(argv[0], argv)' "$TEST_TMP/call.json"
}
mkdir -p "$TEST_TMP/bin"
copy_host_programs "$TEST_TMP/bin"
expect_status 0 launch version
expect_status 0 as_wsl "$TEST_TMP/bin"
expect_grep "^coding-agents [0-9]" "$TEST_TMP/out"
expect_status 0 launch env
expect_status 0 as_wsl "$TEST_TMP/bin"
expect_status 0 launch config check 'C:\nonexistent\config.toml' --bogus-option
expect_status 2 as_wsl "$TEST_TMP/bin"
expect_status 127 as_wsl ""
expect_grep "coding-agents is not installed in this WSL distribution: run coding-agents.exe install" \
        "$TEST_TMP/err"

# 7. install: a signed release with its install.sh, checked here, then installed by install.sh
# in the distribution (as root); one with another hash, no signature, or another installer's
# name is refused before anything runs there.
cd "$TEST_TMP"
signed_release 0.3.0
name=coding-agents-0.3.0-linux-x86_64.tar.gz
bash "$CA_SOURCE_DIR/packaging/make-installer.sh" "rel/$name" k.pub >rel/install.sh
cd rel
expect_status 0 launch install "$name" --prefix "$base/opt"
expect_grep "has the SHA-256 of its install.sh; installing into WSL distribution 'Debian'" "$TEST_TMP/err"
check "install did not run install.sh as root: $(calls | tail -n 1)" [ "$(calls | tail -n 1)" = \
        "[\"-d\", \"Debian\", \"-u\", \"root\", \"--exec\", \"/bin/sh\", \"/mnt/z$TEST_TMP/rel/install.sh\", \"--prefix\", \"$base/opt\"]" ]
expect_status 0 as_wsl
check "install.sh did not install" [ "$(readlink "$base/opt/current")" = releases/0.3.0 ]
expect_status 0 "$base/opt/current/bin/coding-agents" verify

mkdir ../bad ../nosig ../noinst
cp "$name" "$name.minisig" install.sh ../bad/
flip_byte "../bad/$name" 100
cd ../bad
expect_status 1 launch install "$name"
expect_grep "does not have the SHA-256 its install.sh was made for: refusing it \(nothing was run in WSL\)" \
        "$TEST_TMP/err"
no_exec_call
cp "../rel/$name" ../rel/install.sh ../nosig/
cd ../nosig
expect_status 1 launch install "$name"
expect_grep "minisig' not found" "$TEST_TMP/err"
no_exec_call
cp "../rel/$name" "../rel/$name.minisig" ../noinst/
cp "$name" other.tar.gz
cp ../rel/install.sh .
expect_status 1 launch install other.tar.gz
expect_grep "installs $name, not other.tar.gz" "$TEST_TMP/err"
no_exec_call
cd ../noinst
expect_status 1 launch install "$name"
expect_grep "install.sh' not found" "$TEST_TMP/err"
no_exec_call
expect_status 2 launch install
expect_status 0 launch install --help
expect_grep "install BUNDLE" "$TEST_TMP/err"

finish
