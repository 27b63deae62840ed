/* SPDX-License-Identifier: MIT */
/* Agent CLI credentials through the broker (credential.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "broker_proto.h"
#include "buf.h"
#include "cleanup.h"
#include "credential.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "secret.h"

/* Credentials live a few minutes: agent-init redeems its one at start. */
#define CREDENTIAL_TTL 300

int credential_load(const char *agent, const struct image_credential **which,
                    struct ca_secret **value, struct ca_error *err)
{
        const char *home = secure_getenv("HOME");
        char tried[512] = "";
        size_t used = 0;

        for (size_t i = 0; i < IMAGE_NCREDENTIALS; i++) {
                const struct image_credential *c = &image_credentials[i];
                int n = 0;

                if (strcmp(c->agent, agent) != 0)
                        continue;
                if (c->host_file && home && home[0] == '/') {
                        _cleanup_free_ char *path = NULL;
                        _cleanup_close_ int fd = -1;

                        if (asprintf(&path, "%s/%s", home, c->host_file) < 0)
                                return ca_error_setx(err, ENOMEM, "out of memory");
                        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd >= 0) {
                                int r = secret_read_fd(fd, false, value, err);

                                if (r < 0)
                                        return ca_error_prefix(err, "reading '%s'", path);
                                *which = c;
                                return 0;
                        }
                        if (errno != ENOENT)
                                return ca_error_set(err, errno, "cannot read '%s'", path);
                        n = snprintf(tried + used, sizeof(tried) - used, "%s%s",
                                     used ? " or " : "", path);
                } else if (c->host_env) {
                        const char *v = secure_getenv(c->host_env);

                        if (v && *v) {
                                *value = secret_new_from(v, strlen(v));
                                if (!*value)
                                        return ca_error_setx(err, ENOMEM,
                                                             "cannot allocate secure memory");
                                *which = c;
                                return 0;
                        }
                        n = snprintf(tried + used, sizeof(tried) - used, "%sset %s",
                                     used ? " or " : "", c->host_env);
                }
                if (n > 0 && used + (size_t) n < sizeof(tried))
                        used += (size_t) n;
        }
        return ca_error_setx(err, ENOENT,
                             "no %s credential on this host: log in with the %s CLI here first "
                             "(create %s); it is handed to the session through the broker",
                             agent, agent, used ? tried : "its credential file");
}

int credential_issue(const struct cli_ctx *ctx, const char *session,
                     const struct image_credential *which, const struct ca_secret *value,
                     const char *cgroup, const char *agent_init_sha256, const char *out_file,
                     char **ret_socket, struct ca_error *err)
{
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_json_ json_t *issued = NULL;
        _cleanup_json_ json_t *cred = NULL;
        _cleanup_buf_ struct buf out = BUF_INIT;
        _cleanup_close_ int memfd = -1;
        const char *sock;
        int r;

        memfd = broker_secret_memfd(value, err);
        if (memfd < 0)
                return memfd;
        r = broker_admin_call(ctx, json_pack("{s:s, s:s}", "op", "store", "name", which->secret),
                              &memfd, 1, &reply, err);
        if (r < 0)
                return ca_error_prefix(err, "storing the %s credential in the broker",
                                       which->agent);
        r = broker_admin_call(ctx,
                              json_pack("{s:s, s:s, s:s, s:[s], s:i, s:s, s:s, s:i, s:i}", "op",
                                        "issue", "session", session, "stub", IMAGE_CREDENTIAL_STUB,
                                        "secrets", which->secret, "uid", 0, "cgroup", cgroup,
                                        "binary_sha256", agent_init_sha256, "ttl", CREDENTIAL_TTL, "max_uses",
                                        1),
                              NULL, 0, &issued, err);
        if (r < 0)
                return ca_error_prefix(err, "issuing the %s credential's capability",
                                       which->agent);
        sock = json_string_value(json_object_get(issued, "socket"));
        cred = json_pack("{s:O, s:O, s:s}", "capability", json_object_get(issued, "capability"),
                         "key", json_object_get(issued, "key"), "socket",
                         sock ? sock : "");
        if (!cred || !sock || ca_json_pretty(cred, &out, err) < 0)
                return ca_error_setx(err, EPROTO, "the broker's answer to issue is incomplete");
        r = fileio_write_atomic(out_file, out.data, out.len, 0600, err);
        sodium_memzero(out.data, out.len);
        if (r < 0)
                return r;
        *ret_socket = strdup(sock);
        return *ret_socket ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}
