/* SPDX-License-Identifier: MIT */
/*
 * Agent CLI credentials through the broker (docs/running-agents.md "Credentials"). The host's
 * credential (Claude's ~/.claude/.credentials.json or ANTHROPIC_API_KEY, Codex's
 * ~/.codex/auth.json, Copilot's ~/.copilot/config.json) is stored in the broker on each launch,
 * and the session gets one single-use capability for it, bound to UID 0 (agent-init), the
 * session's cgroup and agent-init's SHA-256. Only agent-init, inside, redeems it.
 */
#pragma once

#include "image.h"
#include "json.h"
#include "macro.h"

struct ca_error;
struct ca_secret;
struct cli_ctx;

/*
 * Reads the host credential of `agent` into guarded memory (*value, freed with secret_free).
 * -ENOENT with a message naming the file to create (or the variable to set) when there is none.
 */
int credential_load(const char *agent, const struct image_credential **which,
                    struct ca_secret **value, struct ca_error *err) CA_MUST_CHECK;

/* Stores `value` in the broker as which->secret (for the model helper: no capability for
 * agent-init). */
int credential_store(const struct cli_ctx *ctx, const struct image_credential *which,
                     const struct ca_secret *value, struct ca_error *err) CA_MUST_CHECK;

/*
 * Stores `value` in the broker as which->secret, issues the session's capability (uid 0,
 * `cgroup`, agent-init's SHA-256 in hex, single use, short expiry) and writes the credential
 * JSON {capability, key, socket} to `out_file` (0600). *ret_socket: the session's broker
 * socket on the host (allocated).
 */
int credential_issue(const struct cli_ctx *ctx, const char *session,
                     const struct image_credential *which, const struct ca_secret *value,
                     const char *cgroup, const char *agent_init_sha256, const char *out_file,
                     char **ret_socket, struct ca_error *err) CA_MUST_CHECK;

/*
 * The session's MCP servers' capabilities (docs/running-agents.md "MCP servers"): for each
 * stdio server with secrets, control_dir/stubs/<name>.cred, bound to the server's UID, `cgroup`
 * and the stub launcher's SHA-256; for each remote server, control_dir/helpers/<name>.cred
 * bound to its UID and mcp-helper's SHA-256, plus <name>.pem when it trusts a curated bundle.
 * The credentials name the broker socket as the container sees it.
 */
struct manifest;

int credential_issue_servers(const struct cli_ctx *ctx, const char *session,
                             const struct manifest *manifest, const char *cgroup,
                             const char *launcher_sha256, const char *helper_sha256,
                             const char *control_dir, struct ca_error *err) CA_MUST_CHECK;
