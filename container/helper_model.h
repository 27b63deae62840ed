/* SPDX-License-Identifier: MIT */
/*
 * mcp-helper's model mode (--model VENDOR, ARCHITECTURE §8): the helper fronts a vendor's model
 * API for the agent CLI. The CLI holds a placeholder (the helper's local token); the helper
 * holds the login it redeemed from the broker, sends the real credential upstream, refreshes an
 * OAuth login itself (before it expires, and once on a 401) and writes the refreshed login back
 * to the broker. It counts what passes for the session's model-usage event.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "brokercred.h"
#include "json.h"
#include "macro.h"
#include "modelcred.h"

struct ca_error;
struct ca_secret;
struct httpc_options;

struct model_state {
        enum modelcred_vendor vendor;
        char token_url[512]; /* "" when the login is not refreshable */
        char secret[128];    /* the broker secret holding the login */
        struct broker_credential bc; /* to write a refreshed login back */
        const char *broker_socket;
        pthread_mutex_t lock;
        struct modelcred cred;      /* under lock */
        struct ca_secret *header;   /* under lock: the upstream credential header */
        uint64_t generation;        /* under lock: +1 per refresh */
        /* usage (model-usage) */
        atomic_ullong requests, bytes_up, bytes_down, refreshes, refresh_failures;
        atomic_ullong status[6]; /* by class: [1] 1xx ... [5] 5xx, [0] no answer */
};

/* The vendor of --model, or -EINVAL. */
int model_vendor(const char *name);

/*
 * Takes the redeemed login (`secret` names it) and the credential it came with. Returns 0, or
 * -EINVAL when the login is not one of `vendor`'s.
 */
int model_init(struct model_state *m, enum modelcred_vendor vendor, const char *token_url,
               const char *secret, const struct ca_secret *value,
               const struct broker_credential *bc, const char *broker_socket,
               struct ca_error *err) CA_MUST_CHECK;

/* A copy of the current upstream credential header (free with free_header), and its
 * generation. NULL when out of memory. */
char *model_header(struct model_state *m, uint64_t *generation);
void model_free_header(char *h);

/* True when the login should be refreshed before the next request. */
bool model_needs_refresh(struct model_state *m);

/*
 * Refreshes the login through the token endpoint, unless someone already did since
 * `generation`. Writes the new login back to the broker. 0 (refreshed or nothing to do), or
 * -errno with the reason in `err`; `fields` gets the event's details either way.
 */
int model_refresh(struct model_state *m, const struct httpc_options *up, uint64_t generation,
                  json_t *fields, struct ca_error *err);

/* Counts one request (its body size, the status answered: 0 for none, and bytes back). */
void model_count(struct model_state *m, uint64_t up, long status, uint64_t down);

/* The model-usage event's fields. */
json_t *model_usage(struct model_state *m);

/* Whether a request header goes upstream in model mode: everything but the hop-by-hop ones,
 * Host, the client's credentials, cookies and proxy headers. */
bool model_forward_request_header(const char *name);
/* Whether a response header comes back: everything but hop-by-hop ones and cookies. */
bool model_forward_response_header(const char *name);

void model_clear(struct model_state *m);
