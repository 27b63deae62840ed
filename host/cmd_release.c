/* SPDX-License-Identifier: MIT */
/* coding-agents release keygen|sign|verify: minisign-compatible Ed25519 release signatures. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "bundle.h"
#include "parse.h"
#include "sign.h"
#include "sums.h"

static const char usage[] =
        "usage: coding-agents release keygen --public FILE --secret FILE\n"
        "       coding-agents release sign --secret FILE [--comment TEXT] [--sig OUT] FILE\n"
        "       coding-agents release verify --public FILE [--sig SIG] FILE\n"
        "       coding-agents release verify-sigstore --bundle FILE --trusted-root FILE\n"
        "           (--certificate-identity ID --certificate-oidc-issuer URL | --key PUB)\n"
        "           ARTIFACT|sha256:DIGEST\n"
        "       coding-agents release sums DIR\n"
        "       coding-agents release bundle --version V --stage DIR --out FILE.tar.gz\n"
        "\n"
        "Detached Ed25519 signatures in minisign's format: `minisign -Vm FILE -p KEY.pub`\n"
        "verifies what `sign` writes (FILE.minisig by default), and `verify` accepts\n"
        "signatures made by minisign. The secret key is written 0600 and never overwritten;\n"
        "keep it offline. The trusted comment (default: timestamp and file name) is signed.\n"
        "`sums` writes DIR/SHA256SUMS: every regular file, sorted by path, sha256sum -c\n"
        "compatible (symlinks and other file types are refused).\n"
        "`bundle` writes DIR/SHA256SUMS, then a reproducible tarball of DIR under\n"
        "coding-agents-V/: sorted entries, mtime SOURCE_DATE_EPOCH (default 0), uid/gid 0,\n"
        "normalised modes, no gzip timestamp.\n"
        "`verify-sigstore` verifies a Sigstore bundle offline (see its --help).\n";

struct release_opts {
        const char *version;
        const char *stage;
        const char *out;
        const char *pub;
        const char *sec;
        const char *sig;
        const char *comment;
};

static int parse(int argc, char **argv, struct cli_ctx *ctx, struct release_opts *o, int nargs)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"public", required_argument, NULL, 'p'},
                {"secret", required_argument, NULL, 's'},
                {"sig", required_argument, NULL, 'g'},
                {"comment", required_argument, NULL, 'c'},
                {"version", required_argument, NULL, 'v'},
                {"stage", required_argument, NULL, 'd'},
                {"out", required_argument, NULL, 'o'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'p':
                        o->pub = optarg;
                        break;
                case 's':
                        o->sec = optarg;
                        break;
                case 'g':
                        o->sig = optarg;
                        break;
                case 'c':
                        o->comment = optarg;
                        break;
                case 'v':
                        o->version = optarg;
                        break;
                case 'd':
                        o->stage = optarg;
                        break;
                case 'o':
                        o->out = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != nargs)
                return cli_usage_error(ctx, "%s takes %s", argv[0],
                                       nargs ? "one FILE" : "no arguments");
        return -1;
}

int cmd_release(int argc, char **argv, struct cli_ctx *ctx)
{
        struct release_opts o = {0};
        struct ca_error err = {0};
        _cleanup_free_ char *sig = NULL;
        _cleanup_free_ char *comment = NULL;
        const char *sub;
        const char *file;
        int r;

        if (argc < 2)
                return cli_usage_error(ctx, "missing subcommand (keygen, sign or verify)");
        sub = argv[1];
        if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)
                return cli_help(usage);
        if (strcmp(sub, "verify-sigstore") == 0)
                return release_verify_sigstore(argc - 1, argv + 1, ctx);
        if (strcmp(sub, "keygen") == 0) {
                r = parse(argc - 1, argv + 1, ctx, &o, 0);
                if (r >= 0)
                        return r;
                if (!o.pub || !o.sec)
                        return cli_usage_error(ctx, "keygen needs --public and --secret");
                if (sign_keygen(o.pub, o.sec, &err) < 0)
                        return cli_fail(&err);
                (void) printf("public key %s\nsecret key %s (0600; keep it offline)\n", o.pub,
                              o.sec);
                return cli_finish(CLI_OK);
        }
        if (strcmp(sub, "bundle") == 0) {
                const char *epoch = secure_getenv("SOURCE_DATE_EPOCH");
                uint64_t mtime = 0;
                char top[128];

                r = parse(argc - 1, argv + 1, ctx, &o, 0);
                if (r >= 0)
                        return r;
                if (!o.version || !o.stage || !o.out)
                        return cli_usage_error(ctx, "bundle needs --version, --stage and --out");
                for (const char *v = o.version; *v; v++) {
                        if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || *v == '.' ||
                              *v == '-' || *v == '+'))
                                return cli_usage_error(ctx, "bad --version '%s'", o.version);
                }
                if (epoch && parse_uint(epoch, 0, (uint64_t) INT64_MAX, &mtime) < 0)
                        return cli_usage_error(ctx, "bad SOURCE_DATE_EPOCH '%s'", epoch);
                if (snprintf(top, sizeof(top), "coding-agents-%s", o.version) >= (int) sizeof(top))
                        return cli_usage_error(ctx, "--version too long");
                if (sums_write_dir(o.stage, NULL, 0, &err) < 0 ||
                    bundle_write(o.stage, top, (int64_t) mtime, o.out, &err) < 0)
                        return cli_fail(&err);
                (void) printf("bundle %s\n", o.out);
                return cli_finish(CLI_OK);
        }
        if (strcmp(sub, "sums") == 0) {
                r = parse(argc - 1, argv + 1, ctx, &o, 1);
                if (r >= 0)
                        return r;
                if (sums_write_dir(argv[optind + 1], NULL, 0, &err) < 0)
                        return cli_fail(&err);
                (void) printf("wrote %s/%s\n", argv[optind + 1], SUMS_FILE);
                return cli_finish(CLI_OK);
        }
        if (strcmp(sub, "sign") != 0 && strcmp(sub, "verify") != 0)
                return cli_usage_error(ctx, "unknown subcommand '%s'", sub);
        r = parse(argc - 1, argv + 1, ctx, &o, 1);
        if (r >= 0)
                return r;
        file = argv[optind + 1];
        if (!o.sig) {
                if (asprintf(&sig, "%s.minisig", file) < 0) {
                        sig = NULL;
                        return cli_error("out of memory");
                }
                o.sig = sig;
        }
        if (strcmp(sub, "sign") == 0) {
                char def[512];
                const char *slash = strrchr(file, '/');

                if (!o.sec)
                        return cli_usage_error(ctx, "sign needs --secret");
                if (!o.comment) {
                        (void) snprintf(def, sizeof(def), "timestamp:%lld\tfile:%s",
                                        (long long) time(NULL), slash ? slash + 1 : file);
                        o.comment = def;
                }
                if (sign_file(o.sec, file, o.comment, o.sig, &err) < 0)
                        return cli_fail(&err);
                (void) printf("signed %s -> %s\n", file, o.sig);
                return cli_finish(CLI_OK);
        }
        if (!o.pub)
                return cli_usage_error(ctx, "verify needs --public");
        if (sign_verify(o.pub, file, o.sig, &comment, &err) < 0)
                return cli_fail(&err);
        (void) printf("signature ok\ntrusted comment: %s\n", comment);
        return cli_finish(CLI_OK);
}
