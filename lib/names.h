/* SPDX-License-Identifier: MIT */
/*
 * Names and placeholders that both sides of the trust boundary agree on: secret names and the
 * `${NAME}` / `$NAME` placeholders that name them, the secrets the launcher keeps for itself,
 * SPKI pins, trust bundle names, and the size limits of requests and replies. The host's
 * configuration model (host/lib/config.c) validates with these; the broker, the capability
 * format, the stub sandbox and the helpers check with the same rules.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * Scans `s` for placeholders and calls `cb` with each secret name (not NUL-terminated).
 * Returns 0, the first negative value `cb` returned, or -EINVAL for bad syntax with a short
 * static reason in *ret_reason and the byte offset in *ret_offset.
 */
int names_scan_placeholders(const char *s, int (*cb)(void *userdata, const char *name,
                                                      size_t len),
                             void *userdata, const char **ret_reason,
                             size_t *ret_offset) CA_MUST_CHECK;

/* True for "sha256//" + the base64 of a 32-byte SPKI hash. */
bool names_pin_ok(const char *s);

/* True for a trust bundle name: 1-64 of [a-z0-9._-], not starting with '.' or '-'. */
bool names_trust_ok(const char *s);

/* True for a valid secret / environment variable name: [A-Za-z_][A-Za-z0-9_]*, <= 128. */
bool names_secret_ok(const char *s, size_t len);

/*
 * Secrets the launcher stores for itself (the agent CLIs' logins: AGENT_*; anything of its own:
 * CODING_AGENTS_*). Never released to an MCP server or helper: config refuses them, and the
 * broker refuses to issue or redeem them for any but the launcher's own stubs.
 */
bool names_reserved_secret(const char *name);

/* The launcher's own capability stubs ("agent-cli": agent-init's login capability;
 * "model-api": the model helper's). No MCP server may take one of these names. */
bool names_launcher_stub(const char *name);

/* Server names become user names (mcp_<name>, mcp_https_<name>), which Linux caps at 32. */
#define NAMES_SERVER_MAX 22

/* True for an MCP server name: 1-22 of [a-z0-9_-], starting with a letter or digit. */
bool names_server_ok(const char *s, size_t n);

/* Egress size caps (ARCHITECTURE §9): 10 MB request bodies, 100 MB replies. */
#define LIMIT_REQUEST_DEFAULT ((uint64_t) 10 << 20)
#define LIMIT_REPLY_DEFAULT ((uint64_t) 100 << 20)
#define LIMIT_BODY_MAX ((uint64_t) 1 << 40)
