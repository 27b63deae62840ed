#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pty-run.py [--after TEXT] INPUT -- COMMAND [ARGS...]

Runs COMMAND on a new pseudo-terminal of 40 rows and 120 columns, types the bytes of the file
INPUT into it (with --after, only once TEXT has appeared on the screen: a program that switches
its terminal to raw mode may discard what was typed before), copies everything the terminal
shows to stdout and exits with COMMAND's status: a user at a terminal, for the tests of `run`
and `connect`. Like a terminal, it answers the queries full-screen programs send (device
attributes, version, cursor position): tmux waits for those answers and takes keys typed
meanwhile for them.
"""
import fcntl
import os
import re
import pty
import struct
import sys
import termios

# What a terminal shows without printing: escape sequences (a console that redraws character by
# character, as wine's does, wraps each in them), for finding TEXT on the screen.
CONTROL = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|[\x00-\x08\x0e-\x1f]")

ANSWERS = [
    (b"\x1b[>q", b"\x1bP>|pty-run 1.0\x1b\\"),  # XTVERSION
    (b"\x1b[>c", b"\x1b[>0;10;1c"),              # secondary device attributes
    (b"\x1b[c", b"\x1b[?1;2c"),                  # primary device attributes
    (b"\x1b[6n", b"\x1b[1;1R"),                  # cursor position
]


def main():
    args = sys.argv[1:]
    after = None
    if len(args) > 2 and args[0] == "--after":
        after, args = args[1].encode(), args[2:]
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    data = open(args[0], "rb").read()
    pid, master = pty.fork()
    if pid == 0:
        # The size is set before the command starts: set by the parent, it would race with a
        # command that reads it at once.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execvp(args[2], args[2:])
    typed = False
    if after is None:
        os.write(master, data)
        typed = True
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last user is gone
            break
        if not chunk:
            break
        seen = len(out)
        out += chunk
        # Queries ending in the new bytes (they may start in the previous chunk).
        start = max(0, seen - 8)
        window = bytes(out[start:])
        for query, answer in ANSWERS:
            pos = window.find(query)
            while pos >= 0:
                if start + pos + len(query) > seen:
                    os.write(master, answer)
                pos = window.find(query, pos + 1)
        if not typed and (after in out or after in re.sub(CONTROL, b"", bytes(out))):
            os.write(master, data)
            typed = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(out))
    return os.waitstatus_to_exitcode(status) & 0xFF


sys.exit(main())
