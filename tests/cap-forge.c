/* SPDX-License-Identifier: MIT */
/*
 * cap-forge IN OUT FIELD=VALUE...: the capability forger of the attack tests. It plays a holder
 * who has a credential file ({capability, key, socket}: what every helper and stub launcher
 * holds) and re-signs the capability's record with the key it was given, after changing what
 * it likes:
 *
 *   secrets=A,B   the secrets it names        max_uses=N     the use count
 *   expiry=T      the end of its window       not_before=T   the start of its window
 *   binary=none   no binary binding           binary=HEX     another binary's SHA-256
 *   stub=NAME     the stub it names           id=HEX         another capability's id
 *
 * and writes the forged credential to OUT (0600). A broker that acts on what the holder
 * presents instead of its own record of what it issued redeems the forgery.
 *
 * cap-forge --update CRED NAME VALUE: the holder of CRED writes VALUE back as secret NAME (the
 * broker's update op, meant for the model helper's refreshed login only). Exit 0 when the
 * broker took it, 1 when it refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "broker_client.h"
#include "brokercred.h"
#include "buf.h"
#include "capability.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "parse.h"
#include "secret.h"

static int set_field(struct capability *c, const char *field, const char *value)
{
        uint64_t v = 0;

        if (strcmp(field, "secrets") == 0) {
                char copy[1024];
                char *save = NULL;

                (void) snprintf(copy, sizeof(copy), "%s", value);
                c->nsecrets = 0;
                for (char *t = strtok_r(copy, ",", &save); t && c->nsecrets < CAP_MAX_SECRETS;
                     t = strtok_r(NULL, ",", &save))
                        (void) snprintf(c->secrets[c->nsecrets++], sizeof(c->secrets[0]), "%s", t);
                return 0;
        }
        if (strcmp(field, "stub") == 0) {
                (void) snprintf(c->stub, sizeof(c->stub), "%s", value);
                return 0;
        }
        if (strcmp(field, "binary") == 0) {
                if (strcmp(value, "none") == 0) {
                        c->has_binary = false;
                        return 0;
                }
                c->has_binary = true;
                return sodium_hex2bin(c->binary_sha256, CAP_HASH_LEN, value, strlen(value), NULL,
                                      NULL, NULL) == 0 ? 0 : -EINVAL;
        }
        if (strcmp(field, "id") == 0)
                return sodium_hex2bin(c->id, CAP_ID_LEN, value, strlen(value), NULL, NULL, NULL) ==
                                       0 ? 0 : -EINVAL;
        if (parse_uint(value, 0, UINT64_MAX, &v) < 0)
                return -EINVAL;
        if (strcmp(field, "max_uses") == 0 && v >= 1 && v <= 65535)
                c->max_uses = (uint16_t) v;
        else if (strcmp(field, "expiry") == 0)
                c->expiry = v;
        else if (strcmp(field, "not_before") == 0)
                c->not_before = v;
        else
                return -EINVAL;
        return 0;
}

static int update(const char *file, const char *name, const char *value)
{
        struct broker_credential cred;
        struct ca_error err = {0};
        struct ca_secret *v = secret_new_from(value, strlen(value));
        int r;

        if (!v || brokercred_load(file, &cred, &err) < 0) {
                (void) fprintf(stderr, "cap-forge: %s\n", err.msg);
                secret_free(v);
                return 2;
        }
        r = broker_update(cred.socket, cred.capability, cred.key, name, v, &err);
        brokercred_clear(&cred);
        secret_free(v);
        if (r < 0)
                (void) fprintf(stderr, "cap-forge: refused: %s\n", err.msg);
        return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
        struct ca_error err = {0};
        struct buf in = BUF_INIT, out = BUF_INIT;
        json_t *cred = NULL;
        struct capability c;
        uint8_t key[CAP_KEY_LEN];
        char text[CAP_TEXT_MAX + 1];
        const char *cap, *keyhex;
        int r = 1;

        if (argc == 5 && strcmp(argv[1], "--update") == 0)
                return sodium_init() < 0 ? 2 : update(argv[2], argv[3], argv[4]);
        if (argc < 3) {
                (void) fputs("usage: cap-forge IN OUT FIELD=VALUE... | --update CRED NAME VALUE\n",
                             stderr);
                return 2;
        }
        if (sodium_init() < 0 || fileio_read_path(argv[1], 65536, &in, &err) < 0 ||
            ca_json_parse(in.data, in.len, argv[1], &cred, &err) < 0) {
                (void) fprintf(stderr, "cap-forge: %s\n", err.msg);
                goto out;
        }
        cap = json_string_value(json_object_get(cred, "capability"));
        keyhex = json_string_value(json_object_get(cred, "key"));
        if (!cap || !keyhex ||
            sodium_hex2bin(key, sizeof(key), keyhex, strlen(keyhex), NULL, NULL, NULL) != 0 ||
            capability_parse(cap, &c) != CAP_OK) {
                (void) fputs("cap-forge: not a credential\n", stderr);
                goto out;
        }
        for (int i = 3; i < argc; i++) {
                char *eq = strchr(argv[i], '=');

                if (!eq) {
                        (void) fprintf(stderr, "cap-forge: '%s' is not FIELD=VALUE\n", argv[i]);
                        goto out;
                }
                *eq = '\0';
                if (set_field(&c, argv[i], eq + 1) < 0) {
                        (void) fprintf(stderr, "cap-forge: bad field '%s'\n", argv[i]);
                        goto out;
                }
        }
        /* Re-signed with the only key a holder has. */
        if (capability_encode(&c, key, text, sizeof(text)) < 0 ||
            json_object_set_new(cred, "capability", json_string(text)) < 0 ||
            ca_json_pretty(cred, &out, &err) < 0 ||
            fileio_write_atomic(argv[2], out.data, out.len, 0600, &err) < 0) {
                (void) fprintf(stderr, "cap-forge: cannot forge: %s\n", err.msg);
                goto out;
        }
        (void) printf("%s\n", text);
        r = 0;
out:
        sodium_memzero(key, sizeof(key));
        json_decref(cred);
        buf_clear(&in);
        buf_clear(&out);
        return r;
}
