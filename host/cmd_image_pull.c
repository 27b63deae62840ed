/* SPDX-License-Identifier: MIT */
/*
 * coding-agents image pull: the published agent image, checked before the engine may use it.
 *
 *   1. the manifest the reference names, fetched from the registry (https); its digest D is
 *      computed here, and must be the one the reference gives when it gives one;
 *   2. D's cosign signatures (the manifest tagged sha256-<hex>.sig): one of them must be a
 *      simple-signing payload naming D and this repository, signed by the expected identity
 *      (image.yml of this release's repository, at this version's tag), with
 *      its certificate and transparency-log entry verified offline against the trusted root;
 *   3. the engine pulls REPOSITORY@D (never the tag: what it fetches is checked against D);
 *   4. the image must carry this install's agent-init (its label), and only then is it tagged
 *      coding-agents-agent:current.
 * Each outcome is an event: image-pulled, or image-refused with the reason.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cleanup.h"
#include "cli.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"
#include "image.h"
#include "json.h"
#include "oci.h"
#include "registry.h"
#include "runtime/preflight.h"
#include "session.h"
#include "sigverify.h"

#define IMAGE_ISSUER "https://token.actions.githubusercontent.com"

struct pull {
        const char *endpoint;
        const char *root;
        const char *identity;
        const char *issuer;
        const char *ca_file;
        bool quiet;
        struct oci_ref ref;
        char ref_text[OCI_HOST_MAX + OCI_REPO_MAX + OCI_TAG_MAX + OCI_DIGEST_LEN + 4];
        char name[OCI_HOST_MAX + OCI_REPO_MAX + 2]; /* HOST/REPO */
        char digest[OCI_DIGEST_LEN + 1];
        char default_identity[256];
        char root_path[PATH_MAX];
        struct sigroot trusted;
};

static int parse_opts(int argc, char **argv, struct cli_ctx *ctx, struct pull *p)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"endpoint", required_argument, NULL, 'e'},
                {"trusted-root", required_argument, NULL, 't'},
                {"certificate-identity", required_argument, NULL, 'i'},
                {"certificate-oidc-issuer", required_argument, NULL, 'o'},
                {"ca-file", required_argument, NULL, 'c'},
                {"quiet", no_argument, NULL, 'q'},
                {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return cli_help(image_usage);
                case 'e':
                        p->endpoint = optarg;
                        break;
                case 't':
                        p->root = optarg;
                        break;
                case 'i':
                        p->identity = optarg;
                        break;
                case 'o':
                        p->issuer = optarg;
                        break;
                case 'c':
                        p->ca_file = optarg;
                        break;
                case 'q':
                        p->quiet = true;
                        break;
                default:
                        return cli_usage_error(ctx, "unknown option");
                }
        }
        if (argc - optind > 1)
                return cli_usage_error(ctx, "image pull takes at most one REFERENCE");
        return -1;
}

/* The reference: the one given, else this release's image on GHCR. */
static int reference(struct pull *p, const char *arg, struct ca_error *err)
{
        if (arg) {
                (void) snprintf(p->ref_text, sizeof(p->ref_text), "%s", arg);
        } else {
                size_t n = (size_t) snprintf(p->ref_text, sizeof(p->ref_text),
                                             "ghcr.io/%s/agent:v%s", CA_RELEASE_REPOSITORY,
                                             CA_VERSION);

                /* Registries take lower-case repositories (GHCR lowers the owner's name). */
                for (size_t i = 8; i < n && p->ref_text[i] != ':'; i++)
                        if (p->ref_text[i] >= 'A' && p->ref_text[i] <= 'Z')
                                p->ref_text[i] = (char) (p->ref_text[i] - 'A' + 'a');
        }
        if (strlen(arg ? arg : "") >= sizeof(p->ref_text))
                return ca_error_input(err, "the reference is too long");
        if (oci_ref_parse(p->ref_text, &p->ref, err) < 0)
                return -EINVAL;
        (void) snprintf(p->name, sizeof(p->name), "%s/%s", p->ref.host, p->ref.repo);
        (void) snprintf(p->default_identity, sizeof(p->default_identity),
                        "https://github.com/%s/.github/workflows/image.yml@refs/tags/v%s",
                        CA_RELEASE_REPOSITORY, CA_VERSION);
        if (!p->identity)
                p->identity = p->default_identity;
        if (!p->issuer)
                p->issuer = IMAGE_ISSUER;
        return 0;
}

static void progress(const char *line, void *userdata)
{
        const struct pull *p = userdata;

        if (!p->quiet)
                (void) fprintf(stderr, "  | %s\n", line);
}

/* One signature layer: its payload fetched and checked, its bundle verified. */
static int verify_layer(struct pull *p, struct registry *reg, const struct oci_sig_layer *l,
                        struct ca_error *err)
{
        _cleanup_buf_ struct buf payload = BUF_INIT, bundle = BUF_INIT;
        uint8_t md[DIGEST_SHA256_LEN];
        int r;

        if (l->size > (int64_t) OCI_PAYLOAD_MAX)
                return ca_error_setx(err, EMSGSIZE, "its payload is larger than %zu bytes",
                                     OCI_PAYLOAD_MAX);
        r = registry_blob(reg, l->digest, OCI_PAYLOAD_MAX, &payload, err);
        if (r < 0)
                return r;
        r = oci_payload_check(payload.data ? payload.data : "", payload.len, p->digest, p->name,
                              err);
        if (r < 0)
                return r;
        if (digest_sha256(payload.data ? payload.data : "", payload.len, md) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        r = oci_cosign_bundle(l, md, &bundle, err);
        if (r < 0)
                return r;
        {
                const struct sigverify_policy policy = {{p->identity, p->issuer}, NULL};
                struct sigbundle b;

                r = sigbundle_parse(bundle.data, bundle.len, &b, err);
                if (r < 0)
                        return r;
                r = sigverify_bundle(&p->trusted, &b, md, &policy, (int64_t) time(NULL), err);
                sigbundle_clear(&b);
                return r;
        }
}

/* The trusted root, read before anything is fetched: a file the user names that cannot be
 * read or parsed is bad input (exit 2). */
static int load_root(struct pull *p, struct ca_error *err)
{
        _cleanup_buf_ struct buf json = BUF_INIT;
        const char *path = p->root ? p->root : p->root_path;
        int r;

        if (!p->root && session_trusted_root(p->root_path, sizeof(p->root_path), err) < 0)
                return -ENOENT;
        r = fileio_read_path(path, SIGROOT_MAX, &json, err);
        if (r < 0)
                err->bad_input = true;
        else
                r = sigroot_parse(json.data ? json.data : "", json.len, &p->trusted, err);
        return r < 0 ? ca_error_prefix(err, "%s", path) : 0;
}

/* Steps 1 and 2: D, and a signature of D that verifies. */
static int verify(struct pull *p, struct ca_error *err)
{
        _cleanup_registry_ struct registry *reg = NULL;
        _cleanup_buf_ struct buf manifest = BUF_INIT, sigs = BUF_INIT;
        struct oci_sig_layer *layers = NULL;
        char sig_tag[OCI_DIGEST_LEN + 8];
        size_t n = 0;
        int r = registry_open(&p->ref, p->ca_file, &reg, err);

        if (r == 0)
                r = registry_manifest(reg, p->ref.digest[0] ? p->ref.digest : p->ref.tag,
                                      &manifest, err);
        if (r == -ENOENT)
                return ca_error_setx(err, ENOENT, "registry %s has no %s", p->ref.host,
                                     p->ref_text);
        if (r < 0)
                return r;
        if (oci_digest(manifest.data ? manifest.data : "", manifest.len, p->digest) < 0)
                return ca_error_setx(err, EIO, "SHA-256 failed");
        if (p->ref.digest[0] && strcmp(p->digest, p->ref.digest) != 0)
                return ca_error_setx(err, EBADMSG, "the registry served a manifest whose digest "
                                                   "is %s, not the %s asked for",
                                     p->digest, p->ref.digest);
        (void) snprintf(sig_tag, sizeof(sig_tag), "sha256-%s.sig", p->digest + 7);
        r = registry_manifest(reg, sig_tag, &sigs, err);
        if (r == -ENOENT)
                return ca_error_setx(err, EPERM, "%s (%s) is not signed: the registry has no "
                                                 "signature for it (%s)",
                                     p->ref_text, p->digest, sig_tag);
        if (r < 0)
                return r;
        r = oci_sig_layers(sigs.data ? sigs.data : "", sigs.len, &layers, &n, err);
        if (r < 0)
                return ca_error_prefix(err, "the signature of %s", p->digest);
        if (n == 0)
                r = ca_error_setx(err, EPERM, "%s (%s) is not signed: its signature manifest "
                                              "holds no signature",
                                  p->ref_text, p->digest);
        for (size_t i = 0; i < n; i++) {
                struct ca_error one = {0};

                r = verify_layer(p, reg, &layers[i], &one);
                if (r == 0)
                        break;
                /* The first signature's reason is the one reported. */
                if (i == 0)
                        *err = one;
        }
        oci_sig_layers_free(layers, n);
        if (r < 0 && n > 0)
                return ca_error_prefix(err, "no signature of %s verifies (%zu tried); the first",
                                       p->digest, n);
        return r;
}

/* Steps 3 and 4. `image_id` receives the engine's id. */
static int engine_pull(struct pull *p, struct runtime *rt, char *image_id, size_t size,
                       struct ca_error *err)
{
        _cleanup_free_ char *agent_init = cli_sibling("agent-init");
        _cleanup_json_ json_t *image = NULL;
        char ours[DIGEST_SHA256_HEX_LEN + 1], pinned[sizeof(p->name) + OCI_DIGEST_LEN + 2];
        const char *label, *id;
        int r;

        if (!agent_init)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = digest_file_hex(agent_init, ours, err);
        if (r < 0)
                return r;
        if (!p->quiet)
                (void) fprintf(stderr, "image: pulling %s@%s\n", p->name, p->digest);
        r = runtime_image_pull(rt, p->name, p->digest, progress, p, err);
        if (r < 0)
                return r;
        (void) snprintf(pinned, sizeof(pinned), "%s@%s", p->name, p->digest);
        r = runtime_image_inspect(rt, pinned, &image, err);
        if (r == 0)
                return ca_error_setx(err, EIO, "the engine pulled %s but does not have it",
                                     pinned);
        if (r < 0)
                return r;
        id = json_string_value(json_object_get(image, "Id"));
        (void) snprintf(image_id, size, "%s", id ? id : "");
        label = json_string_value(json_object_get(
                json_object_get(json_object_get(image, "Config"), "Labels"),
                IMAGE_LABEL_AGENT_INIT));
        if (!label || strcmp(label, ours) != 0) {
                struct ca_error ignored = {0};

                /* Signed, but not for this install: it must not linger as if usable. */
                if (runtime_image_remove(rt, pinned, &ignored) < 0)
                        (void) fprintf(stderr, "image: cannot remove %s: %s\n", pinned,
                                       ignored.msg);
                return ca_error_setx(err, EPERM, "%s is signed but carries another agent-init "
                                                 "(%.16s, this install's is %.16s): pull the "
                                                 "image of this version (v%s), or build it "
                                                 "with 'coding-agents image build'",
                                     p->ref_text, label ? label : "none", ours, CA_VERSION);
        }
        return runtime_image_tag(rt, pinned, IMAGE_AGENT_REPO, IMAGE_CURRENT_TAG, err);
}

static void record(const struct cli_ctx *ctx, const struct pull *p, const char *image_id,
                   const struct ca_error *err)
{
        json_t *fields = json_pack("{s:s, s:s}", "ref", p->ref_text, "digest",
                                   p->digest[0] ? p->digest : "");

        if (!fields)
                return;
        if (err) {
                (void) json_object_set_new(fields, "reason", json_string(err->msg));
                (void) session_emit(ctx->config_root, AUDIT_IMAGE_REFUSED, NULL, fields);
                return;
        }
        (void) json_object_set_new(fields, "signer", json_string(p->identity));
        (void) json_object_set_new(fields, "image_id", json_string(image_id));
        (void) session_emit(ctx->config_root, AUDIT_IMAGE_PULLED, NULL, fields);
}

int image_pull(int argc, char **argv, struct cli_ctx *ctx)
{
        _cleanup_runtime_ struct runtime *rt = NULL;
        struct pull p = {0};
        struct ca_error err = {0};
        char image_id[80] = "";
        int r = parse_opts(argc, argv, ctx, &p);

        if (r >= 0)
                return r;
        if (reference(&p, optind < argc ? argv[optind] : NULL, &err) < 0)
                return cli_fail(&err);
        if (load_root(&p, &err) < 0)
                return cli_fail(&err);
        /* The engine first: nothing is fetched for an engine that would be refused. */
        r = runtime_gate(ctx->config_root, p.endpoint, NULL, &rt, NULL, &err);
        if (r < 0) {
                sigroot_clear(&p.trusted);
                return cli_fail(&err);
        }
        r = verify(&p, &err);
        if (r == 0)
                r = engine_pull(&p, rt, image_id, sizeof(image_id), &err);
        sigroot_clear(&p.trusted);
        /* What the registry serves is not the user's input: any failure is a refusal (1). */
        if (r < 0) {
                record(ctx, &p, NULL, &err);
                return cli_error("image refused: %s", err.msg);
        }
        record(ctx, &p, image_id, NULL);
        (void) printf("%s@%s (%s), signed by %s\n", p.name, p.digest, IMAGE_CURRENT,
                      p.identity);
        return cli_finish(CLI_OK);
}
