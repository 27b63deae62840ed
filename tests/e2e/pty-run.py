#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pty-run.py INPUT -- COMMAND [ARGS...]

Runs COMMAND on a new pseudo-terminal of 40 rows and 120 columns, types the bytes of the file
INPUT into it, copies everything the terminal shows to stdout and exits with COMMAND's status:
a user at a terminal, for the tests of `run` and `connect`.
"""
import fcntl
import os
import pty
import struct
import sys
import termios


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    data = open(sys.argv[1], "rb").read()
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[3], sys.argv[3:])
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.write(master, data)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last user is gone
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(out))
    return os.waitstatus_to_exitcode(status) & 0xFF


sys.exit(main())
