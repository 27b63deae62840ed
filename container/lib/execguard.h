/* SPDX-License-Identifier: MIT */
/*
 * What the agent CLI's process tree may execute (ARCHITECTURE §8b), and the pieces of the
 * supervisor's decision that do not touch the kernel: container/exec_guard.c does the rest.
 *
 * The list: the CLIs' own tree (IMAGE_AGENTS_DIR), node, env (the CLIs' `#!/usr/bin/env node`),
 * git and its helpers (the CLIs' own status and history; the repository's executable config is
 * off for it, see agent-init), exec-guard itself (a CLI the tree starts again), and the shell
 * shim (the image's bash and dash), whose execs are "routed": the shim hands the command to the
 * task runner, which runs it as the workload user. Anything else is refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

enum guard_verdict {
        GUARD_ALLOW,
        GUARD_ROUTE,
        GUARD_DENY,
};

struct guard_entry {
        const char *path;
        bool dir;    /* the path and everything beneath it */
        bool routed; /* the shell shim */
};

extern const struct guard_entry guard_list[];
extern const size_t guard_list_len;

/* The verdict for a file by its canonical path (symlinks resolved, as the kernel gave it):
 * anything else (relative, with "//", "." or ".." components) is GUARD_DENY. */
enum guard_verdict guard_decide(const char *canonical);

/*
 * The path, as this process can open it, of what `pid` asked to execute: `path` (as read from
 * its memory) relative to its directory (execve, or execveat with AT_FDCWD) or to its
 * descriptor `dirfd` (execveat), "/proc/self/..." and "/dev/fd/..." meaning pid's own, and an
 * empty path with AT_EMPTY_PATH the descriptor itself. Returns 0, -ENOENT for an empty path
 * without AT_EMPTY_PATH, -ENAMETOOLONG when it does not fit `size`.
 */
int guard_target(pid_t pid, bool at, int dirfd, const char *path, int flags, char *out,
                 size_t size) CA_MUST_CHECK;

/*
 * Reads a NUL-terminated string at `addr` from `memfd` (an open /proc/PID/mem) into `buf`:
 * page by page, so that a string ending before an unmapped page is read whole. Returns its
 * length, -ENAMETOOLONG when `size` holds no NUL, -EFAULT when it cannot be read.
 */
ssize_t guard_read_string(int memfd, uint64_t addr, char *buf, size_t size) CA_MUST_CHECK;

/* The program's name for the events: the last component of `path`, at most 64 bytes of it. */
void guard_program_name(const char *path, char *out, size_t size);
