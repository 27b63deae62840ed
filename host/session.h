/* SPDX-License-Identifier: MIT */
/*
 * Host-side session plumbing shared by `render`, `run` and `launch`: the integrity gate,
 * session names, and rendering (config sources, trusted-tree measurement, manifest and agent
 * files, events).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "capability.h"
#include "config.h"
#include "macro.h"
#include "render.h"

struct ca_error;
struct cli_ctx;

#define SESSION_MAX_ITEMS 64

struct session_request {
        unsigned agents;                /* bit (1 << enum render_agent) per agent */
        const char *configs[SESSION_MAX_ITEMS];
        size_t nconfigs;
        const char *disable[SESSION_MAX_ITEMS];
        size_t ndisable;
        const char *workspace;
        const char *session;
        const char *out;
        bool network_set;
        enum config_network network;
};

/*
 * The integrity gate in front of anything that sets up a session (profile_preflight): prod
 * refuses a release that no longer matches its SHA256SUMS, dev records that it runs unverified.
 */
int session_integrity(const struct cli_ctx *ctx, const char *session,
                      struct ca_error *err) CA_MUST_CHECK;

/* "<agent>-<repo>-<6 hex>" (agent "all" for several), [A-Za-z0-9._-] only. */
void session_default_name(unsigned agents, const char *workspace, char *out, size_t outlen);

/*
 * Renders rq into rq->out: loads the configuration sources, measures the trusted tree (refusing
 * a dirty development tree without the allow-dirty override), writes the manifest and agent
 * files, and records override-used and session-config events. `sources` (may be NULL) receives
 * the configuration files read. The caller clears `res`.
 */
int session_render(const struct cli_ctx *ctx, const struct session_request *rq,
                   struct render_result *res, char sha[65], json_t *sources,
                   struct ca_error *err) CA_MUST_CHECK;

/* Records an event in the config root's log (fields are consumed). Failures are printed. */
int session_emit(const char *config_root, enum audit_type type, const char *session,
                 json_t *fields);
