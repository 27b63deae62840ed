/* SPDX-License-Identifier: MIT */
/*
 * A read-only client of an OCI distribution registry (https only), for `coding-agents image
 * pull`: manifests and blobs of one repository, anonymous or with the bearer token the
 * registry's challenge points to (the token endpoint must be https too). Sizes are capped,
 * blobs are checked against their digest, redirects (blob storage) are followed over https
 * only, and the token is never sent to another host. The parsing is host/lib/oci.h.
 */
#pragma once

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "macro.h"
#include "oci.h"

struct registry;

/* A client of `ref`'s registry and repository; `ca_file` (PEM, may be NULL) replaces the
 * system's certificate authorities. Contacts nothing yet. */
int registry_open(const struct oci_ref *ref, const char *ca_file, struct registry **ret,
                  struct ca_error *err) CA_MUST_CHECK;
void registry_close(struct registry *r);
static inline void registry_closep(struct registry **r)
{
        registry_close(*r);
        *r = NULL;
}
#define _cleanup_registry_ __attribute__((cleanup(registry_closep)))

/* The manifest tagged or digested `reference`, as the registry stores it (at most
 * OCI_MANIFEST_MAX bytes). -ENOENT when the registry has none; -EACCES when it refuses. */
int registry_manifest(struct registry *r, const char *reference, struct buf *out,
                      struct ca_error *err) CA_MUST_CHECK;

/* The blob `digest` ("sha256:..."), at most `max` bytes, whose SHA-256 must be `digest`:
 * -EBADMSG otherwise. */
int registry_blob(struct registry *r, const char *digest, size_t max, struct buf *out,
                  struct ca_error *err) CA_MUST_CHECK;
