/* SPDX-License-Identifier: MIT */
/*
 * agent-init's helpers (docs/running-agents.md "Remote MCP servers"): one mcp-helper per remote
 * server of the session manifest, each under the server's own UID, started before the agent
 * and checked through its /healthz; a helper that dies is restarted with a growing delay (an
 * event each time), and at the end its directory is scrubbed.
 *
 * Each helper's directory, IMAGE_HELPER_RUN/<name> (root:<its gid>, 0770, in the container's
 * tmpfs), holds its broker credential (copied from the host's, naming the broker socket as
 * descriptor 3, an O_PATH descriptor agent-init opened: the helper's UID cannot enter the
 * control directory), the local token agent-init made, and its curated trust bundle. The
 * helper's events come back over a pipe, one JSON line each, and agent-init records those of
 * the helper types in the host's log with the session's id and the helper's name.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct manifest;

struct init_helpers;

/*
 * Starts the helpers of the manifest's remote servers (none, or `m` NULL: *ret = NULL). `m`
 * must outlive the helpers. `proxy` (may be NULL) is the egress proxy's URL. Dies when one cannot start or is not healthy: the session must not begin
 * with a server missing.
 */
void init_helpers_start(const struct manifest *m, const char *session, const char *proxy,
                        struct init_helpers **ret);

/* "CODING_AGENTS_TOKEN_<port>=<token>" for each helper, for the agent's environment. */
size_t init_helpers_env(const struct init_helpers *h, const char **env, size_t max);

/* The local token of the helper `name` (for the model helper's placeholder login), or NULL. */
const char *init_helpers_token(const struct init_helpers *h, const char *name);

/* Descriptors to poll (the event pipes and the restart timer); returns how many were set. */
size_t init_helpers_pollfds(const struct init_helpers *h, struct pollfd *pfd, size_t max);

/* After poll: reads events, restarts what is due. */
void init_helpers_dispatch(struct init_helpers *h);

/* A reaped child: true when it was a helper (then a restart is scheduled, unless stopping). */
bool init_helpers_reaped(struct init_helpers *h, pid_t pid, int status);

/* The session is ending: no more restarts. */
void init_helpers_stopping(struct init_helpers *h);

/* Once every process is gone: records what the helpers still had to say, scrubs their
 * directories and the tokens, and frees `h` (NULL is fine). */
void init_helpers_finish(struct init_helpers *h);

/* Whether `pid` is one of the helpers. */
bool init_helpers_owns(const struct init_helpers *h, pid_t pid);
