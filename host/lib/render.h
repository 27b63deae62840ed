/* SPDX-License-Identifier: MIT */
/*
 * Session rendering (ARCHITECTURE §4-5): the merged configuration becomes a session manifest
 * and, per agent CLI, the MCP configuration it reads after relocation (see
 * ../shared/AGENT-CONFIGS.md):
 *
 *   claude   <out>/claude/.claude.json       (CLAUDE_CONFIG_DIR)
 *   codex    <out>/codex/config.toml         (CODEX_HOME)
 *   copilot  <out>/copilot/mcp-config.json   (COPILOT_HOME)
 *
 * stdio servers become `mcp-stub-<name>` with no arguments; remote servers become
 * http://127.0.0.1:<port>/mcp (or /sse) served by mcp-helper, with the per-session helper token
 * passed by *reference* to an environment variable set at launch: `${CODING_AGENTS_TOKEN_<port>}`
 * in headers (Claude and Copilot expand it; checked by experiment) and `bearer_token_env_var`
 * for Codex. So no rendered file holds a secret or a token, and the same inputs and session id
 * always give byte-identical files.
 *
 * Codex speaks no legacy SSE: an SSE server is left out of Codex's file with a warning (the
 * helper does not translate SSE into Streamable HTTP).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "manifest.h"
#include "macro.h"

struct ca_error;

enum render_agent {
        RENDER_CLAUDE,
        RENDER_CODEX,
        RENDER_COPILOT,
        RENDER_AGENTS,
};


const char *render_agent_name(enum render_agent a);
/* "claude" ... or -EINVAL. */
int render_agent_from_name(const char *name);
/* The directory and file each agent reads: "claude", ".claude.json" ... */
const char *render_agent_file(enum render_agent a);

/*
 * The model helper of a session (ARCHITECTURE §8): rendered as the manifest's "model-api"
 * server (uid MANIFEST_MODEL_UID, port MANIFEST_MODEL_PORT) for the one agent it fronts, and,
 * for Codex, as the model provider of its config.toml. The other CLIs are pointed at it by
 * agent-init (their environment and placeholder login).
 */
struct render_model {
        enum render_agent agent;
        const char *vendor;     /* modelcred_vendor_name() */
        const char *secret;     /* the broker secret holding the login */
        const char *origin;     /* https://HOST[:PORT] */
        const char *token_url;  /* NULL: not refreshable */
        const char *trust;      /* "system" or a bundle name */
        const char *const *pins;
        size_t npins;
        const json_t *placeholder; /* the CLI's placeholder login, or NULL */
};

struct render_opts {
        const char *session;      /* session id (capability_valid_session) */
        unsigned agents;          /* bit (1 << enum render_agent) per agent */
        bool network_set;         /* --network given */
        enum config_network network;
        const char *const *disable; /* --disable NAME... */
        size_t ndisable;
        const json_t *tree;       /* trusted-tree measurement, copied into the manifest */
        const struct render_model *model; /* NULL: the CLI keeps its login */
};

struct render_result {
        json_t *manifest;
        struct buf files[RENDER_AGENTS]; /* empty for agents not rendered */
        json_t *warnings;                /* array of strings */
};

/*
 * Renders the session. `cfgs[a]` is the merged, finished configuration for agent `a` (NULL for
 * agents not rendered). A server defined differently for two agents is refused (-EINVAL,
 * bad input). Returns 0 and fills `out`, which the caller clears with render_result_clear().
 */
int render_build(const struct config *const cfgs[RENDER_AGENTS], const struct render_opts *o,
                 struct render_result *out, struct ca_error *err) CA_MUST_CHECK;

void render_result_clear(struct render_result *r);

/*
 * Writes the manifest (canonical JSON) and the agent files into `dir`, which must not exist
 * or be empty: everything goes into a temporary sibling that is renamed into place at the end,
 * so a failure leaves nothing behind. Stores the manifest's SHA-256 (hex) in `sha256`.
 */
int render_write(const struct render_result *r, const char *dir, char sha256[65],
                 struct ca_error *err) CA_MUST_CHECK;
