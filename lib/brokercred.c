/* SPDX-License-Identifier: MIT */
/* The broker credential file (brokercred.h). */
#include "brokercred.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "broker_client.h"
#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "parse.h"

void brokercred_clear(struct broker_credential *c)
{
        sodium_memzero(c, sizeof(*c));
}

int brokercred_parse(const char *data, size_t len, const char *name,
                     struct broker_credential *out, struct ca_error *err)
{
        _cleanup_json_ json_t *doc = NULL;
        struct capability cap;
        const char *text, *hex, *sock;
        int r;

        memset(out, 0, sizeof(*out));
        r = ca_json_parse(data, len, name, &doc, err);
        if (r < 0)
                return r;
        text = json_string_value(json_object_get(doc, "capability"));
        hex = json_string_value(json_object_get(doc, "key"));
        sock = json_string_value(json_object_get(doc, "socket"));
        if (!json_is_object(doc) || !text || !hex || !sock)
                return ca_error_input(err, "'%s' is not a broker credential "
                                           "({capability, key, socket})",
                                      name);
        {
                const char *k;
                json_t *v;

                json_object_foreach(doc, k, v) {
                        if (strcmp(k, "capability") != 0 && strcmp(k, "key") != 0 &&
                            strcmp(k, "socket") != 0 && strcmp(k, "id") != 0 &&
                            strcmp(k, "expiry") != 0)
                                return ca_error_input(err, "'%s': unknown member '%s'", name, k);
                }
        }
        switch (capability_parse(text, &cap)) {
        case CAP_OK:
                break;
        case CAP_BAD_VERSION:
                return ca_error_input(err,
                                      "'%s' holds a capability of a format this broker no longer "
                                      "accepts (%.5s; this version issues %s): issue it again",
                                      name, text, CAP_PREFIX);
        default:
                return ca_error_input(err, "'%s' holds no valid capability", name);
        }
        if (strlen(hex) != (size_t) 2 * CAP_KEY_LEN || !parse_hex(hex, out->key, CAP_KEY_LEN))
                return ca_error_input(err, "'%s': the key is not %d hex digits", name,
                                      2 * CAP_KEY_LEN);
        if (strlen(sock) > BROKERCRED_SOCKET_MAX || (sock[0] && sock[0] != '/'))
                return ca_error_input(err, "'%s': the socket is not an absolute path", name);
        (void) snprintf(out->capability, sizeof(out->capability), "%s", text);
        (void) snprintf(out->socket, sizeof(out->socket), "%s", sock);
        return 0;
}

int brokercred_load(const char *path, struct broker_credential *out, struct ca_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                                    O_CLOEXEC);
        _cleanup_buf_ struct buf b = BUF_INIT;
        struct stat st;
        int r;

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open the credential '%s'", path);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return ca_error_input(err, "the credential '%s' is not a regular file", path);
        r = fileio_read_fd(fd, BROKERCRED_MAX, &b, err);
        if (r >= 0)
                r = brokercred_parse(b.data ? b.data : "", b.len, path, out, err);
        if (b.data)
                sodium_memzero(b.data, b.len);
        return r;
}

int brokercred_format(const char *capability, const char *key_hex, const char *socket,
                      const char *id, int64_t expiry, struct buf *out, struct ca_error *err)
{
        _cleanup_json_ json_t *doc = NULL;

        doc = json_pack("{s:s, s:s, s:s}", "capability", capability ? capability : "", "key",
                        key_hex ? key_hex : "", "socket", socket ? socket : "");
        if (doc && id)
                (void) json_object_set_new(doc, "id", json_string(id));
        if (doc && expiry > 0)
                (void) json_object_set_new(doc, "expiry", json_integer(expiry));
        if (!doc)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return ca_json_pretty(doc, out, err);
}

int brokercred_write(const char *path, const char *capability, const char *key_hex,
                     const char *socket, const char *id, int64_t expiry, struct ca_error *err)
{
        _cleanup_buf_ struct buf out = BUF_INIT;
        struct broker_credential check;
        int r;

        r = brokercred_format(capability, key_hex, socket, id, expiry, &out, err);
        /* What is written is what a reader accepts: refused here rather than there. */
        if (r >= 0)
                r = brokercred_parse(out.data, out.len, path, &check, err);
        brokercred_clear(&check);
        if (r >= 0)
                r = fileio_write_atomic(path, out.data, out.len, 0600, err);
        if (out.data)
                sodium_memzero(out.data, out.len);
        return r;
}

int brokercred_write_as(const char *path, const struct broker_credential *c, const char *socket,
                        struct ca_error *err)
{
        char hex[CAP_KEY_LEN * 2 + 1];
        int r;

        (void) sodium_bin2hex(hex, sizeof(hex), c->key, sizeof(c->key));
        r = brokercred_write(path, c->capability, hex, socket, NULL, 0, err);
        sodium_memzero(hex, sizeof(hex));
        return r;
}

int brokercred_redeem(const struct broker_credential *c, const char *socket_override,
                      struct broker_redeemed *got, size_t max, struct ca_error *err)
{
        const char *sock = socket_override ? socket_override : c->socket;

        if (!sock[0])
                return ca_error_input(err, "the credential names no broker socket");
        return broker_redeem(sock, c->capability, c->key, got, max, err);
}
