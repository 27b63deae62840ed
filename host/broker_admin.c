/* SPDX-License-Identifier: MIT */
/* The CLI side of the admin socket (broker.h): one request, the daemon started when needed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "broker_client.h"
#include "broker_proto.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "json.h"

const char *broker_self_exe(void)
{
        static char path[4096];
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

        if (n <= 0)
                return NULL;
        path[n] = '\0';
        return path;
}

int broker_admin_call(const struct cli_ctx *ctx, json_t *req, const int *fds, size_t nfds,
                      json_t **ret, struct ca_error *err)
{
        _cleanup_json_ json_t *owned = req;
        _cleanup_free_ char *sock = broker_admin_socket(ctx->config_root);
        const char *exe = broker_self_exe();
        int r;

        if (!sock || !req)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (!exe)
                return ca_error_set(err, errno, "cannot find our own executable");
        /* A daemon that dies mid-request (crash, kill -9) is waited for and replaced: admin
         * operations are safe to repeat. Redemptions are never retried this way. */
        for (int attempt = 0;; attempt++) {
                pid_t peer = 0;

                r = broker_ensure_running(exe, ctx->config_root, err);
                if (r < 0)
                        return r;
                r = broker_call_peer(sock, req, fds, nfds, ret, NULL, 0, NULL, &peer, err);
                if (attempt == 3 || (r != -ECONNRESET && r != -EPIPE && r != -ECONNREFUSED &&
                                     r != -ENOENT))
                        return r;
                if (peer > 0 && broker_wait_exit(peer, 10000) < 0)
                        return r;
        }
}

int broker_admin_store(const struct cli_ctx *ctx, const char *name, const struct ca_secret *value,
                       bool *ret_unchanged, struct ca_error *err)
{
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_close_ int memfd = broker_secret_memfd(value, err);
        int r;

        if (memfd < 0)
                return memfd;
        r = broker_admin_call(ctx, json_pack("{s:s, s:s}", "op", "store", "name", name), &memfd, 1,
                              &reply, err);
        if (r >= 0 && ret_unchanged)
                *ret_unchanged = json_is_true(json_object_get(reply, "unchanged"));
        return r;
}

void broker_issued_clear(struct broker_issued *out)
{
        sodium_memzero(out, sizeof(*out));
}

static int copy_field(const json_t *reply, const char *key, char *out, size_t size)
{
        const char *v = json_string_value(json_object_get(reply, key));

        return v && strlen(v) < size ? snprintf(out, size, "%s", v) : -1;
}

int broker_admin_issue(const struct cli_ctx *ctx, const struct broker_issue *req,
                       struct broker_issued *out, struct ca_error *err)
{
        _cleanup_json_ json_t *reply = NULL;
        json_t *secrets = json_array();
        json_t *msg;
        int r;

        memset(out, 0, sizeof(*out));
        for (size_t i = 0; secrets && i < req->nsecrets; i++)
                (void) json_array_append_new(secrets, json_string(req->secrets[i]));
        msg = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:i}", "op", "issue", "session",
                        req->session, "stub", req->stub, "secrets", secrets, "uid",
                        (json_int_t) req->uid, "ttl", (json_int_t) req->ttl, "max_uses",
                        (int) (req->max_uses ? req->max_uses : 1));
        if (msg && req->cgroup)
                (void) json_object_set_new(msg, "cgroup", json_string(req->cgroup));
        if (msg && req->binary_sha256)
                (void) json_object_set_new(msg, "binary_sha256", json_string(req->binary_sha256));
        r = broker_admin_call(ctx, msg, NULL, 0, &reply, err);
        if (r < 0)
                return r;
        if (copy_field(reply, "capability", out->capability, sizeof(out->capability)) < 0 ||
            copy_field(reply, "key", out->key_hex, sizeof(out->key_hex)) < 0 ||
            copy_field(reply, "id", out->id, sizeof(out->id)) < 0 ||
            copy_field(reply, "socket", out->socket, sizeof(out->socket)) < 0) {
                broker_issued_clear(out);
                return ca_error_setx(err, EPROTO, "the broker's answer to issue is incomplete");
        }
        out->expiry = json_integer_value(json_object_get(reply, "expiry"));
        /* The answer held the proof key too. */
        {
                const char *k = json_string_value(json_object_get(reply, "key"));

                if (k)
                        sodium_memzero((char *) k, strlen(k));
        }
        return 0;
}

int broker_admin_revoke_session(const struct cli_ctx *ctx, const char *session,
                                struct ca_error *err)
{
        _cleanup_json_ json_t *reply = NULL;

        return broker_admin_call(ctx, json_pack("{s:s, s:s}", "op", "revoke", "session", session),
                                 NULL, 0, &reply, err);
}

int broker_admin_revoke_cap(const struct cli_ctx *ctx, const char *id, struct ca_error *err)
{
        _cleanup_json_ json_t *reply = NULL;

        return broker_admin_call(ctx, json_pack("{s:s, s:s}", "op", "revoke", "cap", id), NULL,
                                 0, &reply, err);
}

int broker_admin_query(const struct cli_ctx *ctx, const char *op, const char *name, json_t **ret,
                       struct ca_error *err)
{
        json_t *msg = json_pack("{s:s}", "op", op);

        if (msg && name)
                (void) json_object_set_new(msg, strcmp(op, "dump") == 0 ? "session" : "name",
                                           json_string(name));
        return broker_admin_call(ctx, msg, NULL, 0, ret, err);
}

int broker_admin_export(const char *config_root, const char *session, const char *name,
                        struct ca_secret **ret, struct ca_error *err)
{
        _cleanup_free_ char *sock = broker_admin_socket(config_root);
        _cleanup_json_ json_t *req = json_pack("{s:s, s:s, s:s}", "op", "export", "session",
                                               session, "name", name);
        _cleanup_json_ json_t *reply = NULL;
        int fd = -1;
        size_t nfds = 0;
        int r;

        *ret = NULL;
        if (!sock || !req)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = broker_call(sock, req, NULL, 0, &reply, &fd, 1, &nfds, err);
        if (r < 0)
                return r;
        if (json_is_true(json_object_get(reply, "updated")) && nfds == 1)
                r = broker_secret_from_memfd(fd, ret, err);
        if (nfds == 1)
                (void) close(fd);
        return r;
}
