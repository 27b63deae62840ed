/* SPDX-License-Identifier: MIT */
/* The CLI side of the admin socket (broker.h): one request, the daemon started when needed. */
#include <errno.h>
#include <unistd.h>

#include "broker.h"
#include "broker_client.h"
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

