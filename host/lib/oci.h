/* SPDX-License-Identifier: MIT */
/*
 * Images in OCI registries, and the cosign signatures beside them: what `coding-agents image
 * pull` reads before it lets the engine fetch anything. Pure parsing; the HTTP client is
 * host/registry.c.
 *
 *   a reference   REGISTRY/REPOSITORY[:TAG][@sha256:HEX]; the registry is explicit (a host with
 *                 a dot or a port, or localhost): no implied Docker Hub.
 *   a challenge   a registry's `WWW-Authenticate: Bearer realm=...,service=...,scope=...`.
 *   a signature   cosign's (v2) layout: the image manifest's digest D has its signatures in
 *                 the manifest tagged `sha256-<hex of D>.sig` of the same repository, one layer
 *                 per signature. Each layer's blob is a "simple signing" payload naming D and
 *                 the repository; its annotations carry the signature over the payload, the
 *                 Fulcio certificate (PEM) and Rekor's promise (the signed entry timestamp
 *                 over the hashedrekord entry). oci_cosign_bundle() turns one layer into a
 *                 Sigstore v0.1 bundle, which sigverify checks like any other.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "macro.h"

#define OCI_HOST_MAX 256
#define OCI_REPO_MAX 256
#define OCI_TAG_MAX 128
#define OCI_DIGEST_LEN 71 /* "sha256:" and 64 hex digits */
#define OCI_MANIFEST_MAX ((size_t) 4 << 20)
#define OCI_PAYLOAD_MAX ((size_t) 64 << 10)
#define OCI_SIGNATURES_MAX 32

#define OCI_MEDIA_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
/* What a manifest request accepts: an image manifest or an index, OCI or Docker. */
#define OCI_ACCEPT                                                                              \
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                          \
        "application/vnd.docker.distribution.manifest.v2+json"

struct oci_ref {
        char host[OCI_HOST_MAX];   /* "ghcr.io", "127.0.0.1:5000" */
        char repo[OCI_REPO_MAX];   /* "owner/project/agent" (lower case, as registries require) */
        char tag[OCI_TAG_MAX + 1]; /* "" when none */
        char digest[OCI_DIGEST_LEN + 1]; /* "sha256:<hex>", "" when none */
};

/* Parses `s` into `out`: -EINVAL (a bad-input error saying what is wrong) otherwise. A
 * reference with neither tag nor digest gets the tag "latest". */
int oci_ref_parse(const char *s, struct oci_ref *out, struct ca_error *err) CA_MUST_CHECK;

/* "HOST/REPO" (what a signature's docker-reference names) into `out`. */
int oci_ref_name(const struct oci_ref *ref, struct buf *out) CA_MUST_CHECK;

/* A Bearer challenge's parameters (quoted strings, unescaped); each "" when absent. -EINVAL
 * for another scheme, a malformed header, or a realm that is not https://. */
struct oci_challenge {
        char realm[512];
        char service[256];
        char scope[512];
};
int oci_challenge_parse(const char *header, size_t len, struct oci_challenge *out) CA_MUST_CHECK;

/* The token of a token endpoint's answer ({"token": ...} or {"access_token": ...}), printable
 * ASCII, into fresh memory. -EINVAL otherwise. */
int oci_token_parse(const char *json, size_t len, char **token) CA_MUST_CHECK;

/* Whether `s` is "sha256:" and 64 lower-case hex digits. */
bool oci_digest_valid(const char *s);
/* "sha256:<hex>" of `len` bytes. */
int oci_digest(const void *data, size_t len, char out[OCI_DIGEST_LEN + 1]) CA_MUST_CHECK;

/* One signature layer of a cosign signature manifest. Strings are NUL-terminated copies. */
struct oci_sig_layer {
        char digest[OCI_DIGEST_LEN + 1]; /* of the payload blob */
        int64_t size;
        char *signature;   /* base64 */
        char *certificate; /* PEM, or NULL (a managed key's signature: not verified here) */
        char *bundle;      /* Rekor's promise (JSON), or NULL */
};

/* The simple-signing layers of the signature manifest `json` (an OCI image manifest; other
 * layers are skipped). -EINVAL with a bad-input error for a malformed manifest or layer; 0
 * with *n == 0 when none is a signature. */
int oci_sig_layers(const char *json, size_t len, struct oci_sig_layer **out, size_t *n,
                   struct ca_error *err) CA_MUST_CHECK;
void oci_sig_layers_free(struct oci_sig_layer *l, size_t n);

/*
 * The payload signs the image whose manifest digest is `digest` in the repository `name`
 * ("HOST/REPO"): it is a cosign container image signature whose critical section names
 * exactly them. -EBADMSG (error says which) otherwise, -EINVAL when it is not such JSON.
 */
int oci_payload_check(const char *payload, size_t len, const char *digest, const char *name,
                      struct ca_error *err) CA_MUST_CHECK;

/*
 * The Sigstore v0.1 bundle (JSON) of one signature layer whose payload's SHA-256 is
 * `payload_sha256`: its certificate, Rekor's promise as the log entry (kind and version from
 * the entry's body), the message signature. -EINVAL with a bad-input error when the layer
 * lacks what a bundle needs (a certificate: keyless signatures only; Rekor's promise) or
 * carries it malformed.
 */
int oci_cosign_bundle(const struct oci_sig_layer *l, const uint8_t payload_sha256[32],
                      struct buf *out, struct ca_error *err) CA_MUST_CHECK;
