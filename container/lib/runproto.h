/* SPDX-License-Identifier: MIT */
/*
 * The protocol between the shell shim (ca-shell, what the agent CLI's process tree runs as
 * bash and sh) and the task runner (ARCHITECTURE §8b), on a Unix stream socket: frames of a
 * 4-byte big-endian length and that many bytes of canonical JSON, at most RUNPROTO_MAX.
 *
 *   shim -> runner   {"op":"run","shell":"bash"|"dash","argv":[...],"env":[...],"cwd":DIR}
 *                    with exactly 3 fds (SCM_RIGHTS, on the frame's first byte): the shim's
 *                    stdin, stdout and stderr, which become the command's 0, 1, 2
 *                    {"op":"signal","signo":S}   forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH,
 *                                                SIGSTOP (the shim's Ctrl-Z) or SIGCONT
 *   runner -> shim   {"op":"exit","status":X}    the command ended: X is a wait status
 *                    {"op":"error","message":M}  it could not start: M is one line
 *
 * The shim's end of the connection closing (the CLI killed it) kills the command's process
 * group.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"
#include "macro.h"

struct ca_error;

#define RUNPROTO_MAX ((size_t) 2 << 20)
#define RUNPROTO_MAX_ARGS 8192

enum run_op {
        RUN_OP_RUN,
        RUN_OP_SIGNAL,
        RUN_OP_EXIT,
        RUN_OP_ERROR,
};

struct run_msg {
        enum run_op op;
        const char *shell;       /* run: "bash" or "dash" */
        const char **argv;       /* run: NULL-terminated, argv[0] first */
        size_t argc;
        const char **env;        /* run: NULL-terminated NAME=value strings */
        size_t envc;
        const char *cwd;         /* run: absolute */
        int value;               /* signal: signo; exit: wait status */
        const char *message;     /* error */
        json_t *json;            /* owns the strings */
};

/*
 * Parses one frame's payload. Returns 0, or -EINVAL for anything malformed: unknown op or
 * fields, a shell other than bash or dash, an empty argv, strings with NUL bytes, an env entry
 * without '=', a relative cwd, a signal outside the seven, a message with control characters.
 */
int run_msg_parse(const char *data, size_t len, struct run_msg *out,
                  struct ca_error *err) CA_MUST_CHECK;
void run_msg_clear(struct run_msg *m);

/* Sends `msg` (taken) as one frame, with `nfds` descriptors. 0 or -errno. */
int run_send(int sock, json_t *msg, const int *fds, size_t nfds) CA_MUST_CHECK;

/*
 * Receives one frame into *buf (allocated, NUL-terminated), up to `max_fds` descriptors into
 * `fds` (O_CLOEXEC; *nfds how many). Returns the payload's length, 0 at the peer's end, or
 * -errno (-EMSGSIZE for a frame over RUNPROTO_MAX).
 */
ssize_t run_recv(int sock, char **buf, int *fds, size_t max_fds, size_t *nfds) CA_MUST_CHECK;

/*
 * A stream socket at `path` (a stale one replaced) for one client: mode 0600, then owned by
 * `uid`:`gid` (root without CAP_FOWNER cannot chmod it once it is the client's), listening.
 * The task runner's and the exec supervisor's. Returns the fd or -errno.
 */
int run_listen(const char *path, uid_t uid, gid_t gid) CA_MUST_CHECK;

/* Connects a stream socket to `path`. Returns the fd or -errno. */
int run_connect(const char *path) CA_MUST_CHECK;

/* Which real shell a shim invoked under `execfn` (the path it was executed by) stands for:
 * "bash" for .../bash and .../rbash, "dash" otherwise (sh, dash). */
const char *run_shell_for(const char *execfn);

/* Whether the variable NAME=value stays in a command's environment: not the helpers' tokens,
 * API keys, vendor settings, the CLIs' configuration paths or their own git settings. */
bool run_env_kept(const char *entry);
