/* SPDX-License-Identifier: MIT */
/*
 * Starting a session (`run`, `launch`): the orchestration behind ARCHITECTURE §5, in phases
 * that each do one thing and record what they created, so that the teardown removes exactly
 * that, whatever failed and wherever:
 *
 *   prepare   the workspace and the session's name; the integrity gate; the engine gate; the
 *             image; in proxy mode, the egress network the sidecar goes out through (refused
 *             here, before anything exists, when the engine lacks it); this install's agent-init;
 *             the profiles; the agent CLI's credential
 *   render    the session directory: the agents' files, the manifest, the proxy's files, the
 *             workspace's .git snapshot
 *   issue     the capabilities: the agent credential's (bound to agent-init in the session's
 *             cgroup) and each MCP server's
 *   network   proxy mode: the session's internal network and its egress proxy
 *   create    the session's container, and session-start
 *   follow    launch: start it and print its name; run: attach, start, relay the terminal or
 *             the output, wait for the end (session-stop)
 *   teardown  capabilities revoked; what was created removed (session_teardown) and
 *             session-removed recorded; `launch` tears down only a session that failed to start
 *
 * cmd_session.c parses the command line and makes the one call.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "session.h"

struct cli_ctx;
struct runtime;

#define LAUNCH_MAX_RESOLVERS 8

struct launch_opts {
        struct session_request rq;
        const char *agent;
        const char *image;
        const char *endpoint;
        int64_t memory;
        int64_t pids;
        uint64_t grace;
        char *const *cmd; /* after "--", or NULL */
        int ncmd;
        bool detach;                /* launch */
        bool no_state;              /* --no-state: nothing of the CLI's state in or out */
        bool worktree;              /* --worktree[=BRANCH]: a worktree of its own */
        const char *branch;         /* its branch, or NULL: coding-agents/<session> */
        bool keep;                  /* --keep: the worktree stays after the session */
        const char *egress_network; /* --proxy-network, or NULL: the engine's "bridge" */
        const char *resolvers[LAUNCH_MAX_RESOLVERS];
        size_t nresolvers;
};

/* Runs the phases; returns the exit status (the session's own, for `run`). */
int session_launch(struct cli_ctx *ctx, const struct launch_opts *o);

/*
 * The proxy mode's way out, checked before anything is created: the network `name` must exist
 * on the engine and must not be internal (the sidecar would have no way out and the session
 * would be offline without a word). `named`: the user gave it (--proxy-network). Refusals are
 * bad input (-EINVAL) with the remedy.
 */
int session_egress_network_check(struct runtime *rt, const char *name, bool named,
                                 struct ca_error *err) CA_MUST_CHECK;
