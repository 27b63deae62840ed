/* SPDX-License-Identifier: MIT */
/*
 * coding-agents release verify-sigstore: a Sigstore bundle verified offline, by identity or by
 * a managed key, against a trusted root (host/lib/sigverify.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "session.h"
#include "sigverify.h"

static const char usage[] =
        "usage: coding-agents release verify-sigstore --bundle FILE [--trusted-root FILE]\n"
        "           (--certificate-identity ID --certificate-oidc-issuer URL | --key PUB)\n"
        "           ARTIFACT|sha256:DIGEST\n"
        "\n"
        "Verifies a Sigstore bundle (v0.1-v0.3, a message signature or a DSSE envelope with an\n"
        "in-toto statement) offline: the signing certificate chains to a certificate authority\n"
        "of the trusted root valid at the signing time, a CT log signed a timestamp for it, it\n"
        "names the identity (its SAN, exactly) and the OIDC issuer given; the transparency-log\n"
        "entries (their signed entry timestamps, inclusion proofs and signed checkpoints) and\n"
        "RFC 3161 timestamps hold; the entries are of this signature and artifact; the\n"
        "signature verifies over ARTIFACT (or the SHA-256 given). With --key, the same for a\n"
        "managed key (PEM) instead of a certificate. Each failure says which check failed.\n"
        "The trusted root is Sigstore's public-good one that this release ships (from the TUF\n"
        "seeds of @sigstore/tuf, see docs/releasing.md) unless --trusted-root names another.\n"
        "Exit status: 0 verified, 1 not verified, 2 usage or malformed input.\n";

struct sigstore_opts {
        const char *bundle;
        const char *root;
        const char *identity;
        const char *issuer;
        const char *key;
};

static int parse_opts(int argc, char **argv, struct cli_ctx *ctx, struct sigstore_opts *o)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"bundle", required_argument, NULL, 'b'},
                {"trusted-root", required_argument, NULL, 't'},
                {"certificate-identity", required_argument, NULL, 'i'},
                {"certificate-oidc-issuer", required_argument, NULL, 'o'},
                {"key", required_argument, NULL, 'k'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(usage);
                case 'b':
                        o->bundle = optarg;
                        break;
                case 't':
                        o->root = optarg;
                        break;
                case 'i':
                        o->identity = optarg;
                        break;
                case 'o':
                        o->issuer = optarg;
                        break;
                case 'k':
                        o->key = optarg;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error(ctx, "verify-sigstore takes one ARTIFACT or sha256:DIGEST");
        if (!o->bundle)
                return cli_usage_error(ctx, "verify-sigstore needs --bundle");
        if (o->key ? o->identity || o->issuer : !o->identity || !o->issuer)
                return cli_usage_error(ctx, "give --certificate-identity and "
                                            "--certificate-oidc-issuer, or --key");
        return -1;
}

/* The artifact's SHA-256: sha256:HEX, or the file's. */
static int artifact_digest(const char *arg, uint8_t out[32], struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        size_t got = 0;
        const char *end = NULL;
        char hex[DIGEST_SHA256_HEX_LEN + 1];
        int r;

        if (strncmp(arg, "sha256:", 7) == 0) {
                if (strlen(arg + 7) != 64 ||
                    sodium_hex2bin(out, 32, arg + 7, 64, NULL, &got, &end) != 0 || got != 32 ||
                    *end != '\0')
                        return ca_error_input(err, "'%s' is not sha256: and 64 hex digits", arg);
                return 0;
        }
        r = digest_file_hex(arg, hex, err);
        if (r < 0) {
                err->bad_input = true;
                return r;
        }
        return sodium_hex2bin(out, 32, hex, 64, NULL, NULL, NULL) == 0
                       ? 0
                       : ca_error_setx(err, EIO, "SHA-256 of '%s' failed", arg);
}

/* A PEM public key file as DER SubjectPublicKeyInfo. */
static int read_key(const char *path, struct sig_bytes *out, struct ca_error *err)
{
        _cleanup_buf_ struct buf pem = BUF_INIT;
        int r = fileio_read_path(path, (size_t) 1 << 20, &pem, err);

        if (r < 0) {
                err->bad_input = true;
                return r;
        }
        r = sigverify_pem_key(pem.data ? pem.data : "", pem.len, out);
        if (r == -ENOMEM)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return r < 0 ? ca_error_input(err, "'%s' is not a PEM public key", path) : 0;
}

int release_verify_sigstore(int argc, char **argv, struct cli_ctx *ctx)
{
        struct sigstore_opts o = {0};
        struct ca_error err = {0};
        struct sig_bytes key = {0};
        _cleanup_buf_ struct buf json = BUF_INIT;
        char root_path[PATH_MAX];
        uint8_t digest[32];
        int r = parse_opts(argc, argv, ctx, &o);

        if (r >= 0)
                return r;
        if (artifact_digest(argv[optind], digest, &err) < 0 ||
            (o.key && read_key(o.key, &key, &err) < 0)) {
                free(key.data);
                return cli_fail(&err);
        }
        if (!o.root && session_trusted_root(root_path, sizeof(root_path), &err) < 0) {
                free(key.data);
                return cli_fail(&err);
        }
        r = fileio_read_path(o.bundle, SIGBUNDLE_MAX, &json, &err);
        if (r < 0) {
                err.bad_input = true;
                (void) ca_error_prefix(&err, "%s", o.bundle);
        } else {
                const struct sigverify_policy policy = {{o.identity, o.issuer},
                                                        o.key ? &key : NULL};

                r = sigverify_json(o.root ? o.root : root_path, json.data ? json.data : "",
                                   json.len, o.bundle, digest, &policy, (int64_t) time(NULL),
                                   &err);
        }
        free(key.data);
        if (r < 0 && err.bad_input)
                return cli_fail(&err);
        if (r < 0) {
                (void) cli_error("not verified: %s", err.msg);
                return r == -EOPNOTSUPP ? CLI_USAGE : CLI_FAIL;
        }
        if (o.key)
                (void) printf("verified: %s, signed by the key in %s\n", argv[optind], o.key);
        else
                (void) printf("verified: %s, signed by %s (issuer %s)\n", argv[optind],
                              o.identity, o.issuer);
        return cli_finish(CLI_OK);
}
