/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the vendor logins (lib/modelcred): the first byte picks the secret kind,
 * the rest is its content, then a token endpoint's answer after a NUL. What parses gives an
 * auth header, a placeholder that holds none of its tokens, and survives a refresh answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "json.h"
#include "modelcred.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"AGENT_CLAUDE_CREDENTIALS", "AGENT_CODEX_AUTH",
                                    "AGENT_CLAUDE_API_KEY", "AGENT_COPILOT_TOKEN"};

/* No string value of the placeholder holds the token (keys are ours, and so are the fixed
 * words: the refresh placeholder and the time stamp). */
static void no_token_in(const json_t *v, const char *key, const struct ca_secret *s)
{
        const char *k;
        json_t *item;
        size_t i;

        if (!v || !s || s->len < 8)
                return;
        if (json_is_string(v)) {
                const char *t = json_string_value(v);

                if (strcmp(t, "coding-agents-placeholder") != 0 &&
                    !(key && strcmp(key, "last_refresh") == 0) &&
                    memmem(t, json_string_length(v), s->buf, s->len))
                        __builtin_trap();
                return;
        }
        json_object_foreach((json_t *) v, k, item)
                no_token_in(item, k, s);
        json_array_foreach(v, i, item)
                no_token_in(item, NULL, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct modelcred c = MODELCRED_INIT;
        struct ca_error err = {0};
        struct ca_secret *hdr = NULL, *doc = NULL;
        const uint8_t *nul;
        size_t len;
        json_t *ph = NULL;

        if (size < 1 || sodium_init() < 0)
                return 0;
        nul = memchr(data + 1, 0, size - 1);
        len = nul ? (size_t) (nul - data - 1) : size - 1;
        if (modelcred_parse(kinds[data[0] % 4], data + 1, len, &c, &err) < 0) {
                if (!err.msg[0])
                        __builtin_trap();
                return 0;
        }
        if (modelcred_auth_header(&c, &hdr, &err) < 0 || !c.access)
                __builtin_trap();
        if (modelcred_placeholder(&c, 0, &ph, &err) < 0)
                __builtin_trap();
        no_token_in(ph, NULL, c.access);
        no_token_in(ph, NULL, c.refresh);
        if (ph && modelcred_placeholder_fill(ph, c.vendor, "tok", &err) < 0)
                __builtin_trap();
        if (nul && c.oauth) {
                size_t rest = size - (size_t) (nul - data) - 1;

                if (modelcred_refresh_apply(&c, (const char *) nul + 1, rest, 1000, &err) == 0 &&
                    c.doc && modelcred_document(&c, &doc, &err) < 0)
                        __builtin_trap();
        }
        json_decref(ph);
        secret_free(hdr);
        secret_free(doc);
        modelcred_clear(&c);
        return 0;
}
