/* SPDX-License-Identifier: MIT */
/* The CLI side of the admin socket (broker.h): one request, the daemon started when needed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "broker_client.h"
#include "broker_proto.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "usock.h"

/* ---- auto-start ----------------------------------------------------------------------------- */

int broker_ensure_running(const char *broker_exe, const char *config_root, struct ca_error *err)
{
        _cleanup_free_ char *admin = broker_admin_socket(config_root);
        _cleanup_free_ char *dir = broker_dir(config_root);
        _cleanup_free_ char *logfile = NULL;
        _cleanup_free_ char *envroot = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        int p[2] = {-1, -1};
        pid_t pid;
        char c = 0;
        ssize_t n;
        int fd;
        int r;

        if (!admin || !dir)
                return ca_error_setx(err, ENOMEM, "out of memory");
        fd = usock_connect(admin, NULL);
        if (fd >= 0) {
                (void) close(fd);
                return 0;
        }
        r = fileio_mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        logfile = paths_join(dir, "daemon.log");
        if (asprintf(&envroot, "CODING_AGENTS_CONFIG_DIR=%s", config_root) < 0)
                envroot = NULL;
        if (!logfile || !envroot)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (pipe2(p, O_CLOEXEC) < 0)
                return ca_error_set(err, errno, "pipe2 failed");

        {
                char *const argv[] = {(char *) CLI_BROKER_PROGRAM, (char *) "serve",
                                      (char *) "--ready-fd", (char *) "3", NULL};
                /* An allow-listed environment: the root, and nothing else to inherit. */
                char *const envp[] = {envroot, (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                      (char *) "LC_ALL=C", NULL};

                posix_spawn_file_actions_init(&fa);
                posix_spawnattr_init(&attr);
                sigemptyset(&none);
                posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
                posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
                posix_spawn_file_actions_addopen(&fa, 2, logfile,
                                                 O_WRONLY | O_APPEND | O_CREAT, 0600);
                /* dup2 onto 3 clears close-on-exec for exactly that descriptor. */
                posix_spawn_file_actions_adddup2(&fa, p[1], 3);
                /* Nothing else: the daemon must not hold what this process had open (an
                 * engine connection a library left inheritable, for one). */
                posix_spawn_file_actions_addclosefrom_np(&fa, 4);
                posix_spawnattr_setsigmask(&attr, &none);
                posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
                r = posix_spawn(&pid, broker_exe, &fa, &attr, argv, envp);
                posix_spawn_file_actions_destroy(&fa);
                posix_spawnattr_destroy(&attr);
        }
        (void) close(p[1]);
        if (r != 0) {
                (void) close(p[0]);
                return ca_error_set(err, r, "cannot start the broker '%s'", broker_exe);
        }
        do {
                n = read(p[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        (void) close(p[0]);
        if (n != 1) {
                /* It exited before being ready: perhaps another daemon won the lock. */
                int status = 0;
                (void) waitpid(pid, &status, 0);
                fd = usock_connect(admin, NULL);
                if (fd >= 0) {
                        (void) close(fd);
                        return 0;
                }
                return ca_error_setx(err, EIO, "the broker did not start; see '%s'", logfile);
        }
        return 0;
}

int broker_admin_call(const struct cli_ctx *ctx, json_t *req, const int *fds, size_t nfds,
                      json_t **ret, struct ca_error *err)
{
        _cleanup_json_ json_t *owned = req;
        _cleanup_free_ char *sock = broker_admin_socket(ctx->config_root);
        _cleanup_free_ char *exe = cli_sibling(CLI_BROKER_PROGRAM);
        int r;

        if (!sock || !req || !exe)
                return ca_error_setx(err, ENOMEM, "out of memory");
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
