/* SPDX-License-Identifier: MIT */
/*
 * Copying an agent CLI's state across a trust boundary (issue 26): from the host's state
 * directory into a session's home at launch, and back at the end. What comes back was written
 * by the agent and is untrusted input, so the copy takes, under the names the agent's list
 * allows at the top, only directories and regular files, never following a link, within
 * limits of size, count and depth; everything else is refused (and reported), never half
 * copied. A check on each file's content (the host's: no stored secret) can refuse it too.
 *
 * Both sides use it: agent-init reads the agent's files as agentcli (the file-system UID,
 * setfsuid) and writes them as root; the host re-checks what agent-init wrote before it
 * replaces the state directory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct ca_error;

struct statecopy_limits {
        uint64_t file_max;  /* bytes in one file */
        uint64_t total_max; /* bytes in all */
        uint32_t files_max; /* files and directories */
        uint32_t depth_max; /* directories below the top */
};

/* 64 MiB a file, 256 MiB in all (half the session's 512 MiB /run/coding-agents tmpfs, which
 * holds it with everything else), 20,000 entries, 16 levels. */
#define STATECOPY_LIMITS_DEFAULT                                                             \
        {                                                                                    \
                (uint64_t) 64 << 20, (uint64_t) 256 << 20, 20000, 16                         \
        }

struct statecopy_opts {
        const char *const *top;     /* the names allowed at the top, NULL-terminated */
        struct statecopy_limits lim;
        int read_fsuid;             /* >= 0: the source is read as this file-system UID */
        int owner;                  /* >= 0: what is written is handed to this UID (and GID) */
        /* The content of each file before it is written: nonzero refuses it (*why set). */
        int (*check)(void *ctx, const uint8_t *data, size_t len, const char **why);
        /* Each refused entry, by its path under the top and the reason. */
        void (*refused)(void *ctx, const char *path, const char *why);
        void *ctx;
};

struct statecopy_result {
        uint32_t files;   /* regular files copied */
        uint32_t refused; /* entries refused */
        uint64_t bytes;   /* bytes copied */
};

/*
 * Copies the allowed entries of the directory `src_dfd` into the directory `dst_dfd`. Names
 * not on o->top are skipped without a word (the CLI's logs, caches, its login, the rendered
 * configuration); an allowed name that already exists in `dst_dfd` is refused. Returns 0 (with
 * *res filled, refusals included), or a negative errno when the copy itself failed (a write,
 * a directory that could not be read): the destination is then incomplete and must be thrown
 * away.
 */
int statecopy_tree(int src_dfd, int dst_dfd, const struct statecopy_opts *o,
                   struct statecopy_result *res, struct ca_error *err) CA_MUST_CHECK;

/* The names of each agent CLI's state at the top of its home: NULL for an unknown agent. */
const char *const *statecopy_agent_top(const char *agent);

/* True for a name that names nothing else: not empty, ".", "..", and no '/' or control
 * character. */
bool statecopy_name_ok(const char *name);
