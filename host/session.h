/* SPDX-License-Identifier: MIT */
/*
 * Host-side session plumbing shared by `render`, `run` and `launch`: the integrity gate,
 * session names, and rendering (config sources, trusted-tree measurement, manifest and agent
 * files, events).
 */
#pragma once

#include "session_model.h"

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "capability.h"
#include "cli.h"
#include "config.h"
#include "macro.h"
#include "render.h"

struct ca_error;
struct cli_ctx;

#define SESSION_MAX_ITEMS 64

struct session_request {
        unsigned agents;                /* bit (1 << enum render_agent) per agent */
        const char *configs[CLI_MAX_CONFIGS];
        size_t nconfigs;
        const char *disable[SESSION_MAX_ITEMS];
        size_t ndisable;
        const char *workspace;
        bool ignore_workspace_config; /* --ignore-workspace-config */
        const char *session;
        const char *out;
        bool network_set;
        enum config_network network;
        /* Also render the egress proxy's files (proxy config --root PROXY_ROOT) here: */
        const char *proxy_out;
        const char *const *resolvers;
        size_t nresolvers;
        /* A session's launch: the CLI's login as the host read it, and where the decision on
         * the model helper goes (session_model.h). NULL for `render`. */
        const struct image_credential *login;
        const struct ca_secret *login_value;
        struct session_model *model;
};

/* The proxy mode's sidecar container: "<session>-proxy" (its network is "<session>"). */
void session_proxy_name(const char *session, char *out, size_t size);

/* Where a session's sidecar finds its rendered proxy directory. */
#define SESSION_PROXY_ROOT "/etc/coding-agents/proxy"

struct runtime;

struct session_proxy_opts {
        const char *session;
        const char *image;          /* the agent image: it carries coding-agents, squid, dnsmasq */
        const char *proxy_dir;      /* the rendered proxy directory on the host */
        const char *events_log;     /* the host's security event log */
        const char *egress_network; /* the sidecar's way out */
        const char *cgroup_parent;
        const char *seccomp_json;
        unsigned port;              /* squid's */
};

/*
 * Proxy mode: creates the session's internal network (named after the session) and its
 * sidecar ("<session>-proxy", also on `egress_network`), starts it and waits until it is
 * ready; `url` gets "http://<its address on the session network>:<port>". On failure what was
 * created stays for session_remove() to take away.
 */
int session_proxy_start(struct runtime *rt, const struct session_proxy_opts *o, char *url,
                        size_t url_size, struct ca_error *err) CA_MUST_CHECK;

/* The non-loopback nameservers of the host's /etc/resolv.conf (malloc'd strings in out[]). */
int session_default_resolvers(char **out, size_t max, size_t *n) CA_MUST_CHECK;

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

/* ---- sessions on the engine ------------------------------------------------------------------ */

struct runtime;

#define SESSION_APPARMOR_PROFILE "coding-agents-agent"

/* <config root>/sessions/<name> (allocated; NULL on OOM). */
char *session_dir(const char *config_root, const char *name);

/* The docker/ directory of this install (prod: the release's share/coding-agents/docker; dev:
 * the source tree's). */
int session_docker_dir(char *out, size_t size, struct ca_error *err) CA_MUST_CHECK;

/* The Sigstore trusted root this install ships (prod: the release's
 * share/coding-agents/sigstore/trusted_root.json; dev: packaging/sigstore/ of the source). */
int session_trusted_root(char *out, size_t size, struct ca_error *err) CA_MUST_CHECK;

/* Warns when the image's agent-init is not this install's (SHA-256 hex): a stale image. */
void session_check_image(const json_t *image_inspect, const char *ref,
                         const char *agent_init_sha256);

/* True when the image carries this install's agent-init (its label matches the hash). */
bool session_image_current(const json_t *image_inspect, const char *agent_init_sha256);

/* True when the kernel has our session AppArmor profile loaded. */
bool session_apparmor_profile_loaded(void);

/*
 * Finds the session's container: 1 (and its inspect object when `ret` is not NULL) when it
 * exists, 0 when there is none. A container of that name that is not a coding-agents session
 * is refused (-EPERM): we never touch what we did not create.
 */
int session_lookup(struct runtime *rt, const char *name, json_t **ret,
                   struct ca_error *err) CA_MUST_CHECK;

/* The snapshot of the workspace's .git a session is checked against when it is removed. */
#define SESSION_GIT_SNAPSHOT "git-snapshot.json"

/* Records the snapshot (workspace_git_snapshot) in the session's directory. */
int session_git_snapshot(const char *config_root, const char *name, const char *workspace,
                         struct ca_error *err) CA_MUST_CHECK;

/* What a session has on the engine: `run`/`launch` record it as they create it, `rm` and
 * `kill` look it up. */
struct session_parts {
        bool container; /* the session's container, named after it */
        bool sidecar;   /* proxy mode: its egress proxy, "<name>-proxy" */
        bool network;   /* proxy mode: its internal network, named after it */
};

/*
 * Removes what `parts` names (forced; gone already is fine), containers before the network
 * (whose stale endpoints are taken away when it is the session's), then the session directory;
 * records session-removed whatever happened (with "left": what could not be removed) and, when
 * the workspace's .git changed against the session's snapshot, workspace-git-changed. A part
 * that cannot be removed does not stop the rest; the call then fails (-EIO) naming the count.
 */
int session_teardown(const char *config_root, struct runtime *rt, const char *name,
                     const struct session_parts *parts, struct ca_error *err) CA_MUST_CHECK;

/* session_teardown() of everything the session may have: the container when it exists (`ours`:
 * the caller created it in this process, no need to look it up), sidecar and network. */
int session_remove(const char *config_root, struct runtime *rt, const char *name, bool ours,
                   struct ca_error *err) CA_MUST_CHECK;

/* Removes the session directory only (best effort). */
void session_remove_dir(const char *config_root, const char *name);

/*
 * The cgroup a session's container is created under, so that the broker can bind the session's
 * capabilities to it before the container exists: *parent for the engine's CgroupParent and
 * *path, the prefix of the container's cgroup as the host sees it in /proc/<pid>/cgroup.
 * cgroupfs: "/coding-agents/<session>" (both); systemd: the slice
 * "codingagents-<session>.slice" and "/codingagents.slice/codingagents-<session>.slice".
 */
int session_cgroup(const char *session, bool systemd, char **parent, char **path) CA_MUST_CHECK;
