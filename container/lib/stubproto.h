/* SPDX-License-Identifier: MIT */
/*
 * The protocol between mcp-stub and the stub launcher (ARCHITECTURE §7): SOCK_SEQPACKET, one
 * canonical JSON object per message (sent with broker_send/broker_recv, so the framing and the
 * SCM_RIGHTS handling are the broker's, already fuzzed and tested).
 *
 *   stub -> launcher   {"op":"spawn","name":N}   with exactly 3 fds: the stub's stdin, stdout,
 *                                                stderr, which become the server's 0, 1, 2
 *                      {"op":"signal","signo":S} forward SIGINT, SIGTERM or SIGHUP
 *   launcher -> stub   {"op":"started","pid":P}  the server runs (P: its pid on the host)
 *                      {"op":"exit","status":X}  it exited: X is the stub's exit status
 *                      {"op":"error","message":M} it could not start: M is one line
 */
#pragma once

#include <stddef.h>

#include "names.h"
#include "json.h"
#include "macro.h"

enum stub_op {
        STUB_OP_SPAWN,
        STUB_OP_SIGNAL,
        STUB_OP_STARTED,
        STUB_OP_EXIT,
        STUB_OP_ERROR,
};

struct stub_msg {
        enum stub_op op;
        char name[NAMES_SERVER_MAX + 1]; /* spawn */
        int value;                             /* signal: signo; started: pid; exit: status */
        char message[256];                     /* error */
};

/*
 * Parses one message. Returns 0, or -EINVAL for anything malformed: unknown op, a name that
 * is not a server name, a signal other than SIGINT/SIGTERM/SIGHUP, an exit status outside
 * 0..255, a pid < 1, a message with control characters.
 */
int stub_msg_parse(const char *data, size_t len, struct stub_msg *out) CA_MUST_CHECK;

/* A new JSON object for `m` (NULL on OOM). */
json_t *stub_msg_json(const struct stub_msg *m);

/* The server name in a stub's argv[0] ("…/mcp-stub-<name>"), or NULL. */
const char *stub_name_from_argv0(const char *argv0);
