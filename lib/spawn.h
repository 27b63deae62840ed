/* SPDX-License-Identifier: MIT */
/*
 * Running plain child processes: posix_spawn with an argv array and an allow-listed
 * environment, stdio wired explicitly (anything not given is /dev/null), every child reaped.
 * Never a shell. Sandboxed children (stubs) get their own code in the stubs issue.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

struct buf;
struct ca_error;

struct spawn_req {
        const char *path;   /* absolute path, or a bare name when search_path is set */
        bool search_path;   /* look `path` up in PATH (never for privileged spawns) */
        char *const *argv;  /* NULL-terminated; argv[0] included */
        char *const *envp;  /* NULL-terminated allow-listed environment */
        const char *cwd;    /* NULL: inherit */
        int stdin_fd;       /* -1: /dev/null */
        int stdout_fd;      /* -1: /dev/null */
        int stderr_fd;      /* -1: /dev/null */
};

#define SPAWN_REQ_INIT {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1}

/* Starts the child. Returns 0 and its pid, or a negative errno (exec failures included). */
int spawn_start(const struct spawn_req *req, pid_t *ret_pid, struct ca_error *err) CA_MUST_CHECK;

/* Reaps `pid`. Returns its exit status, or 128 + signal number when killed. */
int spawn_wait(pid_t pid, struct ca_error *err) CA_MUST_CHECK;

/*
 * Runs the child to completion with its stdout captured into `out` (at most `max` bytes; a
 * child that writes more is killed and -EFBIG returned). Returns the exit status as
 * spawn_wait does.
 */
int spawn_capture(const struct spawn_req *req, size_t max, struct buf *out,
                  struct ca_error *err) CA_MUST_CHECK;

/*
 * The absolute path of `command`: itself when it contains a '/', else the first executable
 * regular file named `command` in the fixed search path /usr/local/bin:/usr/bin:/bin (never
 * the caller's PATH: the launcher is privileged). Returns a new string or NULL (errno set).
 */
char *spawn_find_command(const char *command);
