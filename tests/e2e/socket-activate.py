#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""socket-activate.py [--notify FIFO] SOCKET -- COMMAND [ARGS...]

Binds and listens on the Unix socket SOCKET, then execs COMMAND with it as fd 3 and
LISTEN_FDS=1 / LISTEN_PID (systemd socket activation, which dockerd -H fd:// and podman system
service both take). The socket is listening before the engine starts, so clients need no
readiness wait: their connections queue until the engine accepts them. With --notify, the line
"listening" is written to FIFO once the socket listens (so the caller knows it exists).
"""
import os
import socket
import sys


def main():
    args = sys.argv[1:]
    notify = None
    if len(args) > 2 and args[0] == "--notify":
        notify, args = args[1], args[2:]
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    path, command = args[0], args[2:]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o660)
    s.listen(128)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
        s.close()
    os.set_inheritable(3, True)
    env = dict(os.environ)
    env["LISTEN_FDS"] = "1"
    env["LISTEN_PID"] = str(os.getpid())
    env["LISTEN_FDNAMES"] = os.path.basename(path)
    if notify:
        with open(notify, "w") as f:
            f.write("listening\n")
    os.execvpe(command[0], command, env)


sys.exit(main())
