/* SPDX-License-Identifier: MIT */
/* coding-agents install|rollback|uninstall: immutable blue/green installs of release bundles. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "install.h"
#include "json.h"
#include "paths.h"
#include "profile.h"
#include "session.h"

static const char usage[] =
        "usage: coding-agents install BUNDLE --pubkey KEY [--sig SIG] [--sha256 HEX]\n"
        "                             [--sigstore FILE] [--trusted-root FILE] [--require-sigstore]\n"
        "                             [--prefix DIR] [--allow-downgrade]\n"
        "       coding-agents rollback [--prefix DIR]\n"
        "       coding-agents uninstall [--prefix DIR]\n"
        "\n"
        "Installs a signed release bundle into DIR/releases/<version> (default prefix\n"
        "/opt/coding-agents): the SHA-256 (when given) and the minisign signature are checked\n"
        "first, entries that are not plain files and directories under one top directory are\n"
        "refused. A Sigstore bundle (--sigstore, else BUNDLE.sigstore.json when there is one;\n"
        "--require-sigstore refuses a release without one) must verify offline against the\n"
        "trusted root (--trusted-root, else the one this install ships) as signed by the\n"
        "release workflow of " CA_RELEASE_REPOSITORY " at the tag of the bundle's version.\n"
        "Then the unpacked release must match its SHA256SUMS, and only then does DIR/current\n"
        "switch to it (one rename; the old one stays as DIR/previous). The prefix and its\n"
        "parents must be owned by root and writable by nobody else. Installing an older\n"
        "version than the current one needs --allow-downgrade (recorded as an override-used\n"
        "event). rollback swaps current and previous; uninstall removes both links and every\n"
        "release (both act on the install they run from, else on /opt/coding-agents; a Debian\n"
        "package's releases are dpkg's to remove: apt remove coding-agents).\n";

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct install_request *req,
                 int nargs)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"pubkey", required_argument, NULL, 'k'},
                {"sig", required_argument, NULL, 's'},
                {"sha256", required_argument, NULL, 'x'},
                {"sigstore", required_argument, NULL, 'g'},
                {"trusted-root", required_argument, NULL, 't'},
                {"require-sigstore", no_argument, NULL, 'r'},
                {"prefix", required_argument, NULL, 'p'},
                {"allow-downgrade", no_argument, NULL, 'd'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'k':
                        req->pubkey = optarg;
                        break;
                case 's':
                        req->sig = optarg;
                        break;
                case 'x':
                        req->sha256 = optarg;
                        break;
                case 'g':
                        req->sigstore = optarg;
                        break;
                case 't':
                        req->trusted_root = optarg;
                        break;
                case 'r':
                        req->require_sigstore = true;
                        break;
                case 'p':
                        req->prefix = optarg;
                        break;
                case 'd':
                        req->allow_downgrade = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != nargs)
                return cli_usage_error(ctx, nargs ? "install takes one BUNDLE"
                                                  : "unexpected argument");
        return -1;
}

/* A refused install is an enforcement decision: on record, with the reason (install-refused). */
static void record_refusal(const struct cli_ctx *ctx, const char *bundle,
                           const struct ca_error *e)
{
        (void) session_emit(ctx->config_root, AUDIT_INSTALL_REFUSED, NULL,
                            json_pack("{s:s, s:s, s:s}", "installer", "coding-agents install",
                                      "bundle", bundle ? bundle : "", "reason", e->msg));
}

static void record_downgrade(const struct cli_ctx *ctx, const struct install_result *res)
{
        _cleanup_free_ char *log = paths_events_log(ctx->config_root);
        struct ca_error err = {0};
        json_t *f = json_pack("{s:s, s:s, s:s}", "override", "allow-downgrade", "version",
                              res->version, "from", res->previous);

        if (!log || audit_emit(log, AUDIT_OVERRIDE_USED, NULL, f, &err) < 0)
                (void) cli_error("cannot record the downgrade: %s, ignoring", err.msg);
        json_decref(f);
}

int cmd_install(int argc, char **argv, struct cli_ctx *ctx)
{
        struct install_request req = {.prefix = INSTALL_DEFAULT_PREFIX};
        struct install_result res;
        struct ca_error err = {0};
        char root[PATH_MAX];
        int r = parse(argc, argv, ctx, &req, 1);

        if (r >= 0)
                return r;
        if (!req.pubkey)
                return cli_usage_error(ctx, "install needs --pubkey: the release signing key");
        req.bundle = argv[optind];
        if (!req.trusted_root && session_trusted_root(root, sizeof(root), &err) == 0)
                req.trusted_root = root;
        ca_error_clear(&err);
        if (install_bundle(&req, &res, &err) < 0) {
                record_refusal(ctx, req.bundle, &err);
                return cli_fail(&err);
        }
        if (res.downgrade)
                record_downgrade(ctx, &res);
        (void) printf("installed %s in %s/releases/%s%s%s\n", res.version, req.prefix,
                      res.version, res.previous[0] ? "; previous " : "", res.previous);
        (void) printf("signed by key %s\n", res.signer);
        if (res.identity[0])
                (void) printf("signed by %s (Sigstore, issuer %s)\n", res.identity,
                              INSTALL_RELEASE_ISSUER);
        else
                (void) printf("no Sigstore bundle came with it: verified by key%s only\n",
                              req.sha256 ? " and SHA-256" : "");
        return cli_finish(CLI_OK);
}

/* rollback and uninstall act on the install this program runs from (a .deb's is
 * /usr/lib/coding-agents), else on the default prefix. */
static const char *own_prefix(struct profile_info *p)
{
        profile_detect(NULL, p);
        return p->profile == PATHS_PROFILE_PROD ? p->prefix : INSTALL_DEFAULT_PREFIX;
}

int cmd_rollback(int argc, char **argv, struct cli_ctx *ctx)
{
        struct profile_info prof;
        struct install_request req = {.prefix = own_prefix(&prof)};
        struct install_result res;
        struct ca_error err = {0};
        int r = parse(argc, argv, ctx, &req, 0);

        if (r >= 0)
                return r;
        if (install_rollback(req.prefix, &res, &err) < 0)
                return cli_fail(&err);
        (void) printf("current %s (was %s)\n", res.version, res.previous);
        return cli_finish(CLI_OK);
}

int cmd_uninstall(int argc, char **argv, struct cli_ctx *ctx)
{
        struct profile_info prof;
        struct install_request req = {.prefix = own_prefix(&prof)};
        struct ca_error err = {0};
        int r = parse(argc, argv, ctx, &req, 0);

        if (r >= 0)
                return r;
        if (install_uninstall(req.prefix, &err) < 0)
                return cli_fail(&err);
        (void) printf("uninstalled from %s\n", req.prefix);
        return cli_finish(CLI_OK);
}
