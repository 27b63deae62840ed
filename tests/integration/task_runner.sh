#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The task runner and the shell shim (issue 18; in the image since its second part): a shell the
# client UID (the agent CLI's) runs becomes a command of the workload UID, with the caller's
# stdio, directory and filtered environment; exit statuses, signals and a killed caller behave
# as for a direct exec (Ctrl-Z and fg too); other UIDs get the real shell; nobody else reaches
# the runner.
# shellcheck disable=SC2016 # single-quoted commands expand in the command, not here
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (the runner changes UID)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed"
bin=$(dirname "$CA_BIN")
if [ ! -x "$bin/task-runner" ] || [ ! -x "$bin/ca-shell-test" ]; then
        skip "task-runner and ca-shell-test are not built"
fi

cli=60011 user=60012 other=60013
t=$TEST_TMP
chmod 0755 "$t"
mkdir -p "$t/shells" "$t/bin" "$t/home" "$t/ws" "$t/elsewhere"
ln -s /usr/bin/bash "$t/shells/bash"
ln -s /usr/bin/dash "$t/shells/dash"
cp "$bin/ca-shell-test" "$t/bin/bash"
ln "$t/bin/bash" "$t/bin/sh"
chmod 0755 "$t/bin" "$t/shells" "$t/elsewhere"
chown "$user:$user" "$t/home"
chmod 0777 "$t/ws"

runner_pid=
cleanup() {
        [ -z "$runner_pid" ] || { kill "$runner_pid" 2>/dev/null; wait "$runner_pid" 2>/dev/null || true; }
        cleanup_tmp
}
trap cleanup EXIT
mkfifo "$t/runner.fifo"
"$bin/task-runner" --listen "$t/runner.sock" --client-uid "$cli" --as "$user" \
        --shells "$t/shells" --home "$t/home" --allow-cwd "$t/ws" \
        >"$t/runner.fifo" 2>"$t/runner.err" &
runner_pid=$!
IFS= read -r line <"$t/runner.fifo"
[ "$line" = "task-runner: listening on $t/runner.sock" ] || fail "the runner did not start: $line"

# as_exec UID [ENV...] CMD...: becomes CMD as UID in the workspace, with the shim's settings
# (run in the background, $! is then the shim itself); as: the same in a subshell.
as_exec() {
        local uid=$1
        shift
        cd "$t/ws" && exec setpriv --reuid "$uid" --regid "$uid" --clear-groups env -i PATH=/usr/bin:/bin \
                CA_SHELL_SOCKET="$t/runner.sock" CA_SHELL_SHELLS="$t/shells" CA_SHELL_CLIENT_UID="$cli" "$@"
}
as() { (as_exec "$@"); }

# ---- the client's shells run as the workload user, with its stdio ------------------------------
expect_status 0 as "$cli" "$t/bin/bash" -c 'id -u; pwd'
expect_grep "^$user\$" "$t/out"
expect_grep "^$t/ws\$" "$t/out"
expect_status 3 as "$cli" "$t/bin/bash" -c 'exit 3'
check "stdin did not reach the command" test "$(echo through-stdin | as "$cli" "$t/bin/sh" -c 'cat')" = through-stdin
expect_status 0 as "$cli" "$t/bin/sh" -c 'echo written >file; echo err >&2'
expect_grep '^err$' "$t/err"
check "the command's file is not the workload user's" test "$(stat -c %u "$t/ws/file")" = "$user"
# sh is dash, bash is bash (by the path the shim was run by).
expect_status 0 as "$cli" "$t/bin/sh" -c 'readlink /proc/$$/exe'
expect_grep '^/usr/bin/dash$' "$t/out"
expect_status 0 as "$cli" "$t/bin/bash" -c 'echo $BASH_VERSION'
expect_grep '^[0-9]' "$t/out"

# ---- the environment: the caller's, minus what is not a workload's business --------------------
expect_status 0 as "$cli" CODING_AGENTS_TOKEN_52100=tok ANTHROPIC_API_KEY=key OPENAI_API_KEY=k2 \
        GITHUB_TOKEN=g CLAUDE_CONFIG_DIR=/x MY_SECRET=s BASH_FUNC_f%%='() { id; }' \
        LD_PRELOAD=/x.so KEEP_ME=yes HOME=/run/agentcli "$t/bin/bash" -c env
expect_grep '^KEEP_ME=yes$' "$t/out"
expect_grep "^HOME=$t/home\$" "$t/out"
expect_grep '^USER=agentuser$' "$t/out"
# (Whole names and values: a substring such as "k2" can turn up in the test's random paths.)
expect_no_grep '^(CODING_AGENTS_TOKEN_[0-9]+|ANTHROPIC_API_KEY|OPENAI_API_KEY|GITHUB_TOKEN|CLAUDE_CONFIG_DIR|MY_SECRET|BASH_FUNC_[^=]*|LD_PRELOAD)=' "$t/out"
expect_no_grep '=(tok|key|k2|g|/x|s|/x\.so|/run/agentcli)$' "$t/out"

# ---- where commands may run ----------------------------------------------------------------------
expect_status 126 bash -c "cd '$t/elsewhere' && setpriv --reuid $cli --regid $cli --clear-groups env -i \
        CA_SHELL_SOCKET='$t/runner.sock' CA_SHELL_SHELLS='$t/shells' CA_SHELL_CLIENT_UID=$cli '$t/bin/bash' -c 'id -u'"
expect_grep "commands run in /workspace or /tmp, not in '$t/elsewhere'" "$t/err"
ln -s "$t/elsewhere" "$t/ws/escape"
expect_status 126 bash -c "cd '$t/ws/escape' && setpriv --reuid $cli --regid $cli --clear-groups env -i \
        CA_SHELL_SOCKET='$t/runner.sock' CA_SHELL_SHELLS='$t/shells' CA_SHELL_CLIENT_UID=$cli '$t/bin/bash' -c 'id -u'"

# ---- signals and endings --------------------------------------------------------------------------
# trapping SIG STATUS: a shim whose command says "got-SIG" and exits with STATUS on SIG, once it
# said "ready"; $shim is the shim, descriptor 7 the command's output. (The FIFO stays open on 7
# from the first line to the last: a reader that closed it between lines would let the trap's
# echo meet a FIFO without a reader, and SIGPIPE end the command instead.)
trapping() {
        exec 7<&- 2>/dev/null || true
        rm -f "$t/ready"
        mkfifo "$t/ready"
        as_exec "$cli" "$t/bin/bash" -c "trap 'echo got-$1; exit $2' $1; echo ready; sleep 1000 & wait" \
                >"$t/ready" 2>&1 &
        shim=$!
        exec 7<"$t/ready"
        IFS= read -r -u 7 line
        [ "$line" = ready ] || fail "the command did not start: $line"
}
# SIGTERM to the shim reaches the command's process group; the shim ends as the command did.
trapping TERM 7
kill -TERM "$shim" 2>/dev/null || true
IFS= read -r -u 7 line || true
status=0
wait "$shim" || status=$?
check "SIGTERM did not reach the command (it said '$line')" test "$line" = got-TERM
check "the shim did not end with the command's status ($status)" test "$status" = 7
# A window size change (SIGWINCH to the shim) reaches the command too.
trapping WINCH 0
kill -WINCH "$shim"
IFS= read -r -t 20 -u 7 line || line=nothing
kill -TERM "$shim" 2>/dev/null || true
wait "$shim" || true
check "SIGWINCH did not reach the command (it said '$line')" test "$line" = got-WINCH
exec 7<&-
# Ctrl-Z (SIGTSTP to the shim) stops the command's group and the shim; fg (SIGCONT) continues
# both. (A stop is only seen in /proc: each wait below is for that state, at most 20 s.)
rm -f "$t/ready"
mkfifo "$t/ready"
as_exec "$cli" "$t/bin/bash" -c 'echo $$; exec sleep 1000' >"$t/ready" 2>&1 &
shim=$!
IFS= read -r cmd <"$t/ready"
# until_state PID WANT: until the process's state (T: stopped) is, or is not (!T), WANT.
until_state() {
        timeout 20 bash -c 'want=$2; while s=$(sed "s/.*) \(.\).*/\1/" "/proc/$1/stat") || exit 1;
                case $want in !*) [ "$s" = "${want#!}" ] ;; *) [ "$s" != "$want" ] ;; esac; do
                        sleep 0.05; done' state "$1" "$2"
}
kill -TSTP "$shim"
check "Ctrl-Z did not stop the command" until_state "$cmd" T
check "Ctrl-Z did not stop the shim" until_state "$shim" T
kill -CONT "$shim"
check "fg did not continue the command" until_state "$cmd" '!T'
kill -TERM "$shim"
wait "$shim" 2>/dev/null || true
# On a terminal whose session the shim leads (a CLI's pseudo-terminal), the command gets it as
# its controlling terminal, in the foreground: /dev/tty opens, as in a direct exec.
check "the command did not get the shim's terminal as its controlling terminal" "$CA_PYTHON3" - \
        "$cli" "$t" <<'PY'
import os, pty, sys
cli, t = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(t + "/ws")
    os.execvp("setpriv", ["setpriv", "--reuid", cli, "--regid", cli, "--clear-groups", "env", "-i",
              "PATH=/usr/bin:/bin", "CA_SHELL_SOCKET=" + t + "/runner.sock",
              "CA_SHELL_SHELLS=" + t + "/shells", "CA_SHELL_CLIENT_UID=" + cli, t + "/bin/bash", "-c",
              'id -u; [ "$(ps -o tpgid= -p $$ | tr -d " ")" = "$(ps -o pgid= -p $$ | tr -d " ")" ] && echo foreground; '
              ': </dev/tty && echo has-ctty'])
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
text = out.decode(errors="replace")
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, text)
assert "has-ctty" in text and "foreground" in text, text
PY
# A command killed by a signal: so is the shim.
status=0
as "$cli" "$t/bin/bash" -c 'kill -KILL $$' || status=$?
check "the shim did not end by SIGKILL ($status)" test "$status" = 137
# The caller killed (a CLI's timeout kills the shell it started): the command's group goes too.
rm -f "$t/ready"
mkfifo "$t/ready"
as_exec "$cli" "$t/bin/bash" -c 'echo $$; exec sleep 1000' >"$t/ready" 2>&1 &
shim=$!
IFS= read -r cmd <"$t/ready"
kill -KILL "$shim"
wait "$shim" 2>/dev/null || true
check "the command outlived the caller that was killed" timeout 20 tail --pid="$cmd" -f /dev/null

# ---- others: the real shell at once; the runner serves its client only ---------------------------
expect_status 0 as "$other" "$t/bin/bash" -c 'id -u'
expect_grep "^$other\$" "$t/out"
check "another UID reached the runner's socket" bash -c "! setpriv --reuid $other --regid $other --clear-groups \
        python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' '$t/runner.sock' 2>/dev/null"
# No runner: the client's command does not run at all (never a fallback to running it itself).
kill "$runner_pid"
wait "$runner_pid" 2>/dev/null || true
runner_pid=
expect_status 126 as "$cli" "$t/bin/bash" -c 'echo ran >"$PWD/ran"'
check "a command ran without the runner" test ! -e "$t/ws/ran"
finish
