/* SPDX-License-Identifier: MIT */
/* Agent CLI credentials through the broker (credential.h). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "cli.h"
#include "broker_proto.h"
#include "brokercred.h"
#include "manifest.h"
#include "buf.h"
#include "cleanup.h"
#include "credential.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "secret.h"

/* Credentials live a few minutes: agent-init redeems its one at start. */
#define CREDENTIAL_TTL 300
/* MCP servers' capabilities last the session (revoked with it, 1 day at most): a stdio server
 * redeems at each start of its stub, a helper at each (re)start. */
#define SERVER_CREDENTIAL_TTL 86400
#define SERVER_STUB_USES 64
#define SERVER_HELPER_USES 8

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

int credential_store(const struct cli_ctx *ctx, const struct image_credential *which,
                     const struct ca_secret *value, struct ca_error *err)
{
        if (broker_admin_store(ctx, which->secret, value, NULL, err) < 0)
                return ca_error_prefix(err, "storing the %s credential in the broker",
                                       which->agent);
        return 0;
}

int credential_issue(const struct cli_ctx *ctx, const char *session,
                     const struct image_credential *which, const struct ca_secret *value,
                     const char *cgroup, const char *agent_init_sha256, const char *out_file,
                     char **ret_socket, struct ca_error *err)
{
        const char *const secrets[] = {which->secret};
        const struct broker_issue req = {
                .session = session,
                .stub = IMAGE_CREDENTIAL_STUB,
                .secrets = secrets,
                .nsecrets = 1,
                .uid = 0,
                .cgroup = cgroup,
                .binary_sha256 = agent_init_sha256,
                .ttl = CREDENTIAL_TTL,
                .max_uses = 1,
        };
        struct broker_issued issued;
        int r;

        r = credential_store(ctx, which, value, err);
        if (r < 0)
                return r;
        r = broker_admin_issue(ctx, &req, &issued, err);
        if (r < 0)
                return ca_error_prefix(err, "issuing the %s credential's capability",
                                       which->agent);
        /* The socket as agent-init sees it (bind-mounted there); the host's path is returned. */
        r = brokercred_write(out_file, issued.capability, issued.key_hex, IMAGE_BROKER_SOCKET,
                             NULL, 0, err);
        if (r >= 0) {
                *ret_socket = strdup(issued.socket);
                if (!*ret_socket)
                        r = ca_error_setx(err, ENOMEM, "out of memory");
        }
        broker_issued_clear(&issued);
        return r;
}

/* One server's capability: its secrets, bound to its UID, the session's cgroup and the binary
 * that redeems (the stub launcher's sandbox child, or mcp-helper), written to dir/<name>.cred
 * with the in-container socket path. */
static int issue_server(const struct cli_ctx *ctx, const char *session,
                        const struct manifest_server *srv, const char *cgroup,
                        const char *binary_sha256, const char *dir, unsigned max_uses,
                        struct ca_error *err)
{
        struct broker_issue req = {
                .session = session,
                .stub = srv->name,
                .secrets = srv->secrets.items,
                .nsecrets = srv->secrets.len,
                .uid = (uint32_t) srv->uid,
                .cgroup = cgroup,
                .binary_sha256 = binary_sha256,
                .ttl = SERVER_CREDENTIAL_TTL,
                .max_uses = (uint16_t) max_uses,
        };
        const char *only_bearer[1] = {srv->bearer};
        struct broker_issued issued;
        _cleanup_free_ char *file = NULL;
        int r;

        /* A helper's capability holds its upstream bearer token and nothing else (mcp-helper
         * sends the first secret it redeems as `Authorization: Bearer`). */
        if (srv->transport != MANIFEST_STDIO) {
                if (srv->secrets.len > (srv->bearer ? 1u : 0u))
                        return ca_error_input(err,
                                              "remote MCP server '%s': placeholders in its url "
                                              "or headers are not supported in sessions yet "
                                              "(only bearer_token_env_var)",
                                              srv->name);
                req.secrets = only_bearer;
                req.nsecrets = srv->bearer ? 1 : 0;
        }
        r = broker_admin_issue(ctx, &req, &issued, err);
        if (r < 0)
                return ca_error_prefix(err,
                                       "issuing MCP server '%s' its capability (its secrets "
                                       "must be in the broker: coding-agents broker store NAME)",
                                       srv->name);
        if (asprintf(&file, "%s/%s.cred", dir, srv->name) < 0) {
                file = NULL;
                broker_issued_clear(&issued);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        /* The socket as the container sees it. */
        r = brokercred_write(file, issued.capability, issued.key_hex, IMAGE_BROKER_SOCKET, NULL,
                             0, err);
        broker_issued_clear(&issued);
        return r;
}

/* A remote server's trust bundle (`trust = "NAME"`), copied next to its credential. */
static int copy_bundle(const char *config_root, const struct manifest_server *srv,
                       const char *dir, struct ca_error *err)
{
        const char *trust = srv->trust;
        const char *name = srv->name;
        _cleanup_buf_ struct buf pem = BUF_INIT;
        _cleanup_free_ char *src = NULL, *dst = NULL;

        if (!trust || strcmp(trust, "system") == 0)
                return 0;
        if (asprintf(&src, "%s/trust-overrides/%s.pem", config_root, trust) < 0 ||
            asprintf(&dst, "%s/%s.pem", dir, name) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fileio_read_path(src, (size_t) 4 << 20, &pem, err) < 0)
                return ca_error_prefix(err, "MCP server '%s' trusts '%s'", name, trust);
        return fileio_write_atomic(dst, pem.data, pem.len, 0600, err);
}

int credential_issue_servers(const struct cli_ctx *ctx, const char *session,
                             const struct manifest *manifest, const char *cgroup,
                             const char *launcher_sha256, const char *helper_sha256,
                             const char *control_dir, struct ca_error *err)
{
        _cleanup_free_ char *stubs = paths_join(control_dir, "stubs");
        _cleanup_free_ char *helpers = paths_join(control_dir, "helpers");
        if (!stubs || !helpers)
                return ca_error_setx(err, ENOMEM, "out of memory");
        if (fileio_mkdir_p(stubs, 0700, err) < 0 || fileio_mkdir_p(helpers, 0700, err) < 0)
                return -EIO;
        for (size_t i = 0; i < manifest->nservers; i++) {
                const struct manifest_server *srv = &manifest->servers[i];
                bool stdio = srv->transport == MANIFEST_STDIO;

                if (stdio && srv->secrets.len == 0)
                        continue;
                if (stdio ? issue_server(ctx, session, srv, cgroup, launcher_sha256, stubs,
                                         SERVER_STUB_USES, err) < 0
                          : issue_server(ctx, session, srv, cgroup, helper_sha256, helpers,
                                         SERVER_HELPER_USES, err) < 0 ||
                                    copy_bundle(ctx->config_root, srv, helpers, err) < 0)
                        return -EIO;
        }
        return 0;
}
