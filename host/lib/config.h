/* SPDX-License-Identifier: MIT */
/*
 * The configuration model (ARCHITECTURE §4): config.toml files loaded in order, merged key by
 * key (a later file overrides the keys it sets; arrays and tables given as values are
 * replaced whole), then validated as a whole.
 *
 *   [mcp_servers.<name>]     command/args/env (stdio) or url (Streamable HTTP / SSE)
 *   [network]                allow_domains, allow_ports, registries, max_request_bytes,
 *                            max_reply_bytes
 *   [secrets]                NAME = ["server", ...]: the servers a secret is granted to
 *
 * Sources differ in trust (ARCHITECTURE §4). The user's own files (the config root's, and
 * --config files) are CONFIG_SOURCE_USER; a repository's config.toml is
 * CONFIG_SOURCE_WORKSPACE, merged only once the user approved its content (host/workspace.c).
 * A workspace source cannot grant secrets ([secrets] is refused there) and cannot define a
 * server that a user source defines too (it could change or shadow it); naming a secret in a
 * server is never a grant. Secrets the launcher keeps for itself (names_reserved_secret)
 * can be neither named nor granted, whatever the source.
 *
 * Every error is "file:line:col: message" with bad_input set (exit status 2); nothing is ever
 * written while loading. Secrets appear only as placeholders `${NAME}` / `$NAME` (and `$$` for a
 * literal '$'); the model records which secret names each server needs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "names.h"
#include "macro.h"

struct ca_error;

#define CONFIG_MAX_SERVERS 256

enum config_transport {
        CONFIG_TRANSPORT_STDIO,
        CONFIG_TRANSPORT_HTTP, /* MCP Streamable HTTP */
        CONFIG_TRANSPORT_SSE,  /* legacy HTTP+SSE */
};

enum config_network {
        CONFIG_NETWORK_PROXY,
        CONFIG_NETWORK_NONE,
};

struct config_origin {
        const char *file; /* owned by the config */
        uint32_t line;
        uint32_t col;
};

struct config_kv {
        char *name;
        char *value; /* may hold placeholders */
        struct config_origin origin;
};

struct config_strv {
        char **items;
        size_t len;
        struct config_origin origin;
};

enum config_source {
        CONFIG_SOURCE_USER,      /* the config root's files, --config files: trusted */
        CONFIG_SOURCE_WORKSPACE, /* a repository's config.toml, approved by the user */
};

struct config_server {
        char *name;
        struct config_origin origin; /* where the server's table was (last) written */
        bool from_user;              /* defined (also) by a user source ... */
        struct config_origin user_origin;
        bool from_workspace;         /* ... or by a workspace source */
        struct config_origin workspace_origin;
        bool enabled;
        bool transport_set;
        enum config_transport transport;
        struct config_origin transport_origin;
        /* stdio */
        char *command;
        struct config_origin command_origin;
        struct config_strv args;
        struct config_kv *env;
        size_t nenv;
        enum config_network network;
        struct config_origin network_origin;
        bool network_set;
        /* remote */
        char *url;
        struct config_origin url_origin;
        char *bearer_token_env_var; /* a secret NAME */
        struct config_origin bearer_origin;
        struct config_kv *headers;
        size_t nheaders;
        struct config_strv pins;
        char *trust; /* "system" or a bundle name */
        struct config_origin trust_origin;
        struct config_strv allow_methods; /* optional: the helper forwards only these */
        struct config_strv allow_paths;   /* optional: path prefixes the helper forwards */
        /* derived by config_finish(): sorted, unique secret names */
        struct config_strv secrets;
};

/* One [secrets] entry: the servers `secret` is granted to (a later user file replaces it). */
struct config_grant {
        char *secret;
        struct config_strv servers;
        struct config_origin origin;
};

/*
 * [model.AGENT] (claude, codex, copilot): where the session's model helper reaches the vendor.
 * Read only from the user's own configuration: a workspace's never redirects a login.
 */
struct config_model {
        bool set;
        bool helper_off; /* helper = false: the CLI keeps its login (today's path) */
        char *url;       /* the API's origin (https), NULL: the vendor's */
        char *token_url; /* the OAuth token endpoint (https), NULL: the vendor's */
        char *trust;     /* "system" (NULL) or a bundle name */
        struct config_strv pins;
};

#define CONFIG_MODEL_AGENTS 3 /* claude, codex, copilot (render.h's order) */

struct config {
        struct config_server *servers; /* sorted by name after config_finish() */
        size_t nservers;
        struct config_grant *grants;
        size_t ngrants;
        struct config_strv allow_domains;
        uint16_t *allow_ports;
        size_t nallow_ports;
        struct config_strv registries; /* names from config_registry_domains() */
        uint64_t max_request_bytes;    /* 0 = LIMIT_REQUEST_DEFAULT */
        uint64_t max_reply_bytes;      /* 0 = LIMIT_REPLY_DEFAULT */
        char **files; /* every file name seen, owned here */
        size_t nfiles;
        struct config_model models[CONFIG_MODEL_AGENTS];
};

#define CONFIG_INIT {0}


/*
 * The domains of a named package registry ("npm", "pypi", ...), as allow_domains entries, in a
 * NULL-terminated static array; NULL for an unknown name.
 */
const char *const *config_registry_domains(const char *name);
/* A comma-separated list of the known registry names, for messages. */
const char *config_registry_names(void);

static inline uint64_t config_max_request(const struct config *cfg)
{
        return cfg->max_request_bytes ? cfg->max_request_bytes : LIMIT_REQUEST_DEFAULT;
}

static inline uint64_t config_max_reply(const struct config *cfg)
{
        return cfg->max_reply_bytes ? cfg->max_reply_bytes : LIMIT_REPLY_DEFAULT;
}

/* Parses one TOML source of the given trust and merges it over what `cfg` holds. */
int config_merge_source(struct config *cfg, const char *data, size_t len, const char *name,
                        enum config_source source, struct ca_error *err) CA_MUST_CHECK;

/* config_merge_source() of a user source. */
int config_merge_buf(struct config *cfg, const char *data, size_t len, const char *name,
                     struct ca_error *err) CA_MUST_CHECK;

struct toml_doc;
/* Merges an already parsed user source (one file parsed once, merged into several agents'
 * configurations). The configuration keeps nothing of `doc`. */
int config_merge_doc(struct config *cfg, const struct toml_doc *doc,
                     struct ca_error *err) CA_MUST_CHECK;

/* Reads `path` and merges it as a user source (a missing file is an error: callers decide
 * what is optional). */
int config_merge_file(struct config *cfg, const char *path, struct ca_error *err) CA_MUST_CHECK;

/*
 * Validates the merged model (transport vs. command/url, keys that apply only to one kind of
 * server), derives each server's secret names, refuses reserved secrets anywhere, and sorts
 * servers by name.
 */
int config_finish(struct config *cfg, struct ca_error *err) CA_MUST_CHECK;

/* True when the user's configuration grants `secret` to the server `server`. */
bool config_granted(const struct config *cfg, const char *server, const char *secret);

/*
 * Every secret an enabled server names must be granted to it ([secrets] of a user source).
 * The first one that is not fails (-EINVAL, bad input) at the placeholder's file:line:col,
 * with the exact line to add to `grant_file` (the user's config.toml; NULL: "your
 * config.toml").
 */
int config_check_grants(const struct config *cfg, const char *grant_file,
                        struct ca_error *err) CA_MUST_CHECK;

/* Where `server` names `secret` (its first placeholder, or bearer_token_env_var). */
struct config_origin config_secret_origin(const struct config_server *s, const char *secret);



/* Loads and merges `paths` in order, then config_finish(). */
int config_load(struct config *cfg, const char *const *paths, size_t npaths,
                struct ca_error *err) CA_MUST_CHECK;

/* Frees everything; `cfg` is CONFIG_INIT afterwards. */
void config_clear(struct config *cfg);

const struct config_server *config_find_server(const struct config *cfg, const char *name);

const char *config_transport_name(enum config_transport t);
const char *config_network_name(enum config_network n);





/* A JSON array of the strings / a JSON object of the pairs (NULL on OOM). */
json_t *config_strv_json(const struct config_strv *v);
json_t *config_kv_json(const struct config_kv *kv, size_t n);

static inline void config_clearp(struct config *cfg)
{
        config_clear(cfg);
}
#define _cleanup_config_ __attribute__((cleanup(config_clearp)))
