/* SPDX-License-Identifier: MIT */
/*
 * The stub launcher's work for one mcp-stub connection (ARCHITECTURE §7, docs/stubs.md), as a
 * library so that agent-init can host it as well as the mcp-stub-launcher program: check the
 * caller and the name against the session manifest, then run the server in its sandbox (a
 * PID namespace whose PID 1 relays signals; mount and, for network = "none", network
 * namespaces; a secrets tmpfs; the server's own UID with no capabilities, no_new_privs and the
 * seccomp filter; the capability redeemed as that UID; the agent's fds as 0/1/2), relay the
 * stub's signals, and report the exit status. stub-start / stub-stop events go to `events`.
 */
#pragma once

#include <sys/types.h>

#include "macro.h"

struct manifest;

struct launcher_cfg {
        const struct manifest *manifest; /* the session manifest (manifest.h) */
        uid_t agent_uid;        /* the only caller allowed */
        const char *cred_dir;   /* <cred_dir>/<name>.cred: broker credentials */
        const char *events;     /* event log path, or NULL */
        const char *run_dir;    /* parent of the per-server tmpfs, e.g. /run/mcp */
        const char *session;    /* for the events, or NULL */
        void *seccomp;          /* from sandbox_seccomp_build() */
        struct launcher_shared *shared; /* launcher_shared_new(), or NULL */
};

/*
 * State the per-connection processes share (issue 17): the aggregation of refusals, which a
 * caller could otherwise repeat without end, one event each. Created by the accepting parent
 * before it forks (shared anonymous memory with a process-shared lock); never freed (it lives
 * as long as the launcher). NULL on failure (refusals are then recorded one by one).
 */
struct launcher_shared *launcher_shared_new(void);

/*
 * Serves one connected stub to the end. Must run in a process of its own, forked for this
 * connection, single-threaded (it unshares a PID namespace and forks the sandbox); the caller
 * then _exit()s with the return value: 0 when the server ran (its status went to the stub),
 * 1 when the request was refused or the sandbox could not be set up (the stub got one line
 * saying why). The forked sandbox processes never return from here.
 */
int launcher_serve_stub(const struct launcher_cfg *cfg, int conn);
