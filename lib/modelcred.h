/* SPDX-License-Identifier: MIT */
/*
 * Vendor logins of the agent CLIs, as the model helper (mcp-helper --model, ARCHITECTURE §8)
 * and the host's session launch see them. Free of I/O, so it is unit tested and fuzzed.
 *
 * A login is the content of a broker secret (image.h's image_credentials):
 *
 *   AGENT_CLAUDE_API_KEY      an Anthropic API key                      -> x-api-key
 *   AGENT_CLAUDE_CREDENTIALS  Claude Code's .credentials.json: {"claudeAiOauth": {"accessToken",
 *                             "refreshToken", "expiresAt" (ms), ...}}   -> Bearer, refreshable
 *   AGENT_CODEX_AUTH          Codex's auth.json: {"OPENAI_API_KEY": K} (an API key) or
 *                             {"tokens": {"id_token", "access_token", "refresh_token",
 *                             "account_id"}, "last_refresh"} (a ChatGPT login) -> Bearer
 *   AGENT_COPILOT_TOKEN       a GitHub token (the CLI's COPILOT_GITHUB_TOKEN) -> Bearer
 *
 * The agent CLI gets a placeholder instead (modelcred_placeholder): the same document with every
 * credential replaced (the local token goes where the access token or key was, a refresh token
 * that is no token, a far expiry, an id_token with its signature removed), so the CLI behaves as
 * with its login and sends the helper its local token. The helper sends the real credential
 * upstream (modelcred_auth_header) and refreshes OAuth logins itself (modelcred_refresh_body,
 * modelcred_refresh_apply); the refreshed document (modelcred_document) goes back to the broker.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "macro.h"

struct ca_error;
struct ca_secret;

enum modelcred_vendor {
        MODELCRED_ANTHROPIC, /* api.anthropic.com */
        MODELCRED_OPENAI,    /* api.openai.com/v1 (an API key) */
        MODELCRED_CHATGPT,   /* chatgpt.com/backend-api (a ChatGPT login) */
        MODELCRED_COPILOT,   /* api.githubcopilot.com */
};

struct modelcred {
        enum modelcred_vendor vendor;
        bool oauth;                /* refreshable */
        struct ca_secret *access;  /* the key or the access token */
        struct ca_secret *refresh; /* NULL unless oauth */
        int64_t expires_ms;        /* Unix ms; 0: not known */
        json_t *doc;               /* the login document (NULL for a bare key) */
};

#define MODELCRED_INIT {0}

/* "anthropic", "openai", "chatgpt", "copilot". */
const char *modelcred_vendor_name(enum modelcred_vendor v);
int modelcred_vendor_from_name(const char *name); /* or -EINVAL */

/* The vendor's API origin and OAuth token endpoint (NULL: none), as the vendor publishes them. */
const char *modelcred_default_origin(enum modelcred_vendor v);
const char *modelcred_default_token_url(enum modelcred_vendor v);

/*
 * The request paths the model helper forwards for `vendor` (prefixes, NULL-terminated): the
 * model APIs the CLIs use, never an endpoint that mints a longer-lived credential from the
 * login (Anthropic's /api/oauth/.../create_api_key, ChatGPT's session endpoints). NULL: all.
 */
const char *const *modelcred_default_paths(enum modelcred_vendor v);

/*
 * Whether `fresh` (a login written back from a session) is a refresh of `old`: the same kind
 * and vendor, and the same document apart from the tokens and their times -- so that what comes
 * back from the container can change the tokens, never the account or anything else.
 */
bool modelcred_same_login(const struct modelcred *old, const struct modelcred *fresh);

/*
 * Parses the login held by broker secret `secret` (one of the names above). Returns 0, or
 * -EINVAL (not a login of that kind; the message never quotes the content), or -ENOTSUP for a
 * secret the helper does not front (the agent then keeps today's path).
 */
int modelcred_parse(const char *secret, const void *data, size_t len, struct modelcred *out,
                    struct ca_error *err) CA_MUST_CHECK;

void modelcred_clear(struct modelcred *c);

/*
 * The header that carries the credential upstream: "x-api-key: K" for an Anthropic API key,
 * "Authorization: Bearer T" otherwise. In secure memory.
 */
int modelcred_auth_header(const struct modelcred *c, struct ca_secret **ret,
                          struct ca_error *err) CA_MUST_CHECK;

/* True when an OAuth login expires within `margin_ms` of `now_ms` (false when not known). */
bool modelcred_expiring(const struct modelcred *c, int64_t now_ms, int64_t margin_ms);

/* The refresh_token grant's JSON body for the vendor's token endpoint. In secure memory. */
int modelcred_refresh_body(const struct modelcred *c, struct ca_secret **ret,
                           struct ca_error *err) CA_MUST_CHECK;

/*
 * Applies a token endpoint's answer ({access_token, refresh_token?, expires_in?, id_token?}) at
 * `now_ms`: the credential and its document now hold the new tokens. -EINVAL for an answer
 * without an access token (nothing changes).
 */
int modelcred_refresh_apply(struct modelcred *c, const char *answer, size_t len, int64_t now_ms,
                            struct ca_error *err) CA_MUST_CHECK;

/* The login document as the CLI's file holds it (compact JSON), for the broker. */
int modelcred_document(const struct modelcred *c, struct ca_secret **ret,
                       struct ca_error *err) CA_MUST_CHECK;

/*
 * The placeholder the agent CLI gets, without any credential: for a document login, the
 * document with the access token replaced by "" (agent-init puts the helper's local token there,
 * modelcred_placeholder_fill), the refresh token by a word that is no token, the expiry far
 * ahead, and an id_token reduced to its claims (no signature). NULL document for a bare key.
 */
int modelcred_placeholder(const struct modelcred *c, int64_t now_ms, json_t **ret,
                          struct ca_error *err) CA_MUST_CHECK;

/* Puts `token` where the placeholder document of `vendor` holds the access token. */
int modelcred_placeholder_fill(json_t *doc, enum modelcred_vendor vendor, const char *token,
                               struct ca_error *err) CA_MUST_CHECK;

/*
 * Makes jansson zero what it frees (the helper parses logins with it): process-wide, call once
 * before any thread.
 */
void modelcred_zeroing_json(void);

static inline void modelcred_clearp(struct modelcred *c)
{
        modelcred_clear(c);
}

#define _cleanup_modelcred_ __attribute__((cleanup(modelcred_clearp)))
