/* SPDX-License-Identifier: MIT */
/*
 * The session manifest (ARCHITECTURE §5 "Render"): what the host's rendering writes into a
 * session's configuration (manifest.json, canonical JSON) and every reader inside and outside
 * the container (agent-init, its helpers, the stub launcher, the host's capability issuing)
 * needs. This module owns its shape: it loads and validates a manifest once, completely, and
 * hands out typed servers; render (host/lib/render.c) builds it and checks its own output with
 * manifest_from_json() before writing it, so writer and readers cannot disagree.
 *
 *   {"version": 1, "session": ID, "network": "proxy"|"none", "agents": [...],
 *    "servers": [{"name", "user", "uid", "transport": "stdio"|"http"|"sse", "agents": [...],
 *                 "secrets": [...],
 *                 stdio:  "command", "args": [...], "env": {...}, "network", "stub",
 *                 remote: "url", "bearer_token_env_var" (or null), "headers": {...}, "pins",
 *                         "trust", "allow_methods"?, "allow_paths"?,
 *                         "helper": {"listen": "127.0.0.1:PORT", "port", "local_path",
 *                                    "origin", "local_token": {"env": NAME}},
 *                         "model"?: {"vendor", "token_url", "placeholder"}}, ...],
 *    ...}  (other top-level members: tree, disabled, warnings; kept, not interpreted)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"
#include "macro.h"

struct ca_error;

#define MANIFEST_MAX ((size_t) 16 << 20)
/* UIDs the rendering gives servers: helpers 57000-60999, stubs 61000-64999. */
#define MANIFEST_HELPER_UID_BASE 57000
#define MANIFEST_STUB_UID_BASE 61000
#define MANIFEST_UID_RANGE 4000
#define MANIFEST_PORT_BASE 52100
/* The model helper (a remote server named "model-api" with a "model" member): its UID, below
 * the helpers' range, and its port, below theirs. */
#define MANIFEST_MODEL_NAME "model-api"
#define MANIFEST_MODEL_UID 56999
#define MANIFEST_MODEL_PORT 52099

enum manifest_transport {
        MANIFEST_STDIO,
        MANIFEST_HTTP,
        MANIFEST_SSE,
};

struct manifest_kv {
        const char *name;
        const char *value; /* may hold placeholders */
};

struct manifest_strv {
        const char **items;
        size_t len;
};

struct manifest_server {
        const char *name;
        const char *user;
        uid_t uid;
        enum manifest_transport transport;
        unsigned agents; /* bit (1 << n) for agent n of manifest_agent_names */
        struct manifest_strv secrets;
        /* stdio */
        const char *command;
        struct manifest_strv args;
        struct manifest_kv *env;
        size_t nenv;
        bool network_none;
        /* remote */
        const char *url;
        const char *bearer; /* a secret name, or NULL */
        struct manifest_kv *headers;
        size_t nheaders;
        struct manifest_strv pins;
        const char *trust; /* "system" or a bundle name */
        struct manifest_strv allow_methods;
        struct manifest_strv allow_paths;
        const char *listen; /* "127.0.0.1:PORT" */
        uint16_t port;
        const char *local_path;
        const char *token_env; /* the agent's variable holding the local token */
        /* the model helper ("model": {"vendor", "token_url", "placeholder"}) */
        const char *model_vendor;       /* NULL: an MCP server */
        const char *model_token_url;    /* NULL: none */
        const json_t *model_placeholder; /* the CLI's placeholder login, or NULL */
        const json_t *json;    /* the entry itself (borrowed from the manifest) */
};

struct manifest {
        json_t *json; /* owns every string above */
        const char *session;
        bool network_none;
        unsigned agents;
        struct manifest_server *servers;
        size_t nservers;
};

#define MANIFEST_INIT {0}

/* "claude", "codex", "copilot": bit n of `agents` is manifest_agent_names[n]. */
extern const char *const manifest_agent_names[3];

/*
 * Validates `j` as a manifest, completely, and fills `out` (which takes a reference to `j`).
 * Returns 0, or -EINVAL with what is wrong (bad input) in `err`; `out` is then empty.
 */
int manifest_from_json(json_t *j, struct manifest *out, struct ca_error *err) CA_MUST_CHECK;

/* Parses and validates manifest bytes (`name` for messages). */
int manifest_parse(const char *data, size_t len, const char *name, struct manifest *out,
                   struct ca_error *err) CA_MUST_CHECK;

/* Reads (at most MANIFEST_MAX, not following a link), parses and validates `path`. */
int manifest_load(const char *path, struct manifest *out, struct ca_error *err) CA_MUST_CHECK;

void manifest_clear(struct manifest *m);

/* The server named `name`, or NULL. */
const struct manifest_server *manifest_find(const struct manifest *m, const char *name);

/* "stdio", "http", "sse". */
const char *manifest_transport_name(enum manifest_transport t);

static inline void manifest_clearp(struct manifest *m)
{
        manifest_clear(m);
}
#define _cleanup_manifest_ __attribute__((cleanup(manifest_clearp)))
