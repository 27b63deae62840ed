/* SPDX-License-Identifier: MIT */
/*
 * Whether a session's agent CLI reaches its vendor through the model helper (ARCHITECTURE §8,
 * docs/security-model.md "The agent CLI's login"), and the login's way back to the host.
 *
 * The helper fronts the login when the host's login is one it understands (lib/modelcred), the
 * session has a way out (not --network none) and the user did not switch it off
 * ([model.AGENT] helper = false). Otherwise the CLI keeps today's path (agent-init hands it the
 * login) and `why` says so, for run's output.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>

#include "config.h"
#include "image.h"
#include "json.h"
#include "macro.h"
#include "render.h"

struct ca_error;
struct ca_secret;
struct cli_ctx;

#define SESSION_MODEL_MAX_PINS 16

struct session_model {
        bool helper; /* through the model helper */
        enum render_agent agent;
        const char *vendor;
        const char *secret;
        char origin[512];
        char token_url[512]; /* "" when not refreshable */
        char trust[64];
        char *pins[SESSION_MODEL_MAX_PINS];
        size_t npins;
        json_t *placeholder;  /* the CLI's placeholder login, or NULL */
        char why[320];        /* today's path: the reason */
        char host_file[PATH_MAX]; /* the login's file on the host, "" for a variable */
        uint8_t login_sha256[32]; /* the login as read at launch */
        /* The session's helpers log in to the sidecar's squid with this (its vendor's hosts are
         * theirs alone); squid gets only the hash. Zeroed by session_model_clear. */
        char proxy_password[65];
        char proxy_passwd[160]; /* "helper:<SHA-512 crypt hash>" */
        /* the render options pointing into the above */
        struct render_model render;
};

/*
 * Decides for the session's `agent` (its configuration `cfg`), the login `which`/`value` the
 * host read, and the network: fills `out`. Bad input (a [model] URL that does not parse) is
 * refused; a login the helper does not understand keeps today's path.
 */
int session_model_plan(enum render_agent agent, const struct config *cfg,
                       const struct image_credential *which, const struct ca_secret *value,
                       bool network_none, struct session_model *out,
                       struct ca_error *err) CA_MUST_CHECK;

/*
 * Writes the helpers' proxy password (not the hash) to DIR/proxy-auth (0600), where agent-init
 * hands it to each helper. Nothing to do without the model helper.
 */
int session_model_proxy_auth(const struct session_model *m, const char *dir,
                             struct ca_error *err) CA_MUST_CHECK;

/*
 * Records what the end of the session needs to write a refreshed login back (the secret's name,
 * the host file, the login's SHA-256 at launch; nothing secret) in DIR/model-login.json.
 */
int session_model_record(const struct session_model *m, const char *dir,
                         struct ca_error *err) CA_MUST_CHECK;

/*
 * At the session's end (session_teardown, for `run` and `rm` alike), with the record in DIR: a
 * login the helper refreshed (the broker's export) is written to the host's login file
 * atomically, and only when the file still holds what was read at launch (never over a newer
 * login). Says what it did. 0 (also when there is nothing to do), or -errno.
 */
int session_model_write_back(const char *config_root, const char *session, const char *dir,
                             struct ca_error *err) CA_MUST_CHECK;

void session_model_clear(struct session_model *m);
