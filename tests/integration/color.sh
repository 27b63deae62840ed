#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Coloured output (doctor's verdicts) follows https://no-color.org: --color=auto colours a
# terminal only, never a pipe, a TERM=dumb terminal or one where NO_COLOR is set; always and
# never (and a bare --color, which is always) win over NO_COLOR; anything else is a usage error.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

export DOCKER_HOST="unix://$TEST_TMP/no-engine.sock"
esc=$'\033['
# doctor [ENV=VALUE...] -- ARGS: doctor's text output, through a pipe.
piped() {
        "$CA_BIN" doctor "$@" >"$TEST_TMP/out" 2>&1 || true
}
# On a terminal (a pty the test opens), with the environment given.
on_tty() {
        "$CA_PYTHON3" - "$CA_BIN" "$@" >"$TEST_TMP/out" <<'PY'
import os, pty, sys
env = dict(os.environ)
args = []
for a in sys.argv[2:]:
    if "=" in a and not a.startswith("-"):
        k, v = a.split("=", 1)
        env[k] = v
    else:
        args.append(a)
pid, fd = pty.fork()
if pid == 0:
    os.execve(sys.argv[1], [sys.argv[1], "doctor", *args], env)
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
PY
}
colored() {
        grep -qF "${esc}" "$TEST_TMP/out"
}
plain() {
        ! colored
}

piped
check "a pipe got colour" plain
check "doctor printed no verdicts" grep -Eq '^(ok|warn|fail) ' "$TEST_TMP/out"
piped --color=always
check "--color=always gave no colour" colored
check "the fail verdict is not bold red" grep -qF "${esc}1;31mfail${esc}0m" "$TEST_TMP/out"
piped --color
check "a bare --color gave no colour" colored
on_tty TERM=xterm NO_COLOR=
check "a terminal got no colour" colored
on_tty TERM=xterm NO_COLOR=1
check "NO_COLOR was not honoured" plain
on_tty TERM=dumb NO_COLOR=
check "a dumb terminal got colour" plain
on_tty TERM=xterm NO_COLOR=1 --color=always
check "--color=always lost to NO_COLOR" colored
on_tty TERM=xterm NO_COLOR= --color=never
check "--color=never coloured a terminal" plain
piped --json --color=always
check "--json got colour" plain
expect_status 2 "$CA_BIN" doctor --color=sometimes
expect_grep "takes auto, always or never" "$TEST_TMP/err"
finish
