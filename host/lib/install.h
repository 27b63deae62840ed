/* SPDX-License-Identifier: MIT */
/*
 * Immutable blue/green installs (ARCHITECTURE §11):
 *
 *   <prefix>/releases/<version>/   unpacked, verified release: root-owned, files 0444/0555
 *   <prefix>/current  -> releases/<version>     switched by rename(2) of a new symlink
 *   <prefix>/previous -> releases/<version>     kept for rollback
 *
 * A release is unpacked into a temporary directory, checked against its SHA256SUMS, and only
 * then renamed into releases/ and made current, so a kill -9 at any moment leaves `current`
 * pointing at a complete release. The prefix and every directory above it must be owned by
 * root and writable by nobody else.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct ca_error;

#define INSTALL_DEFAULT_PREFIX "/opt/coding-agents"
#define INSTALL_VERSION_MAX 64
#define INSTALL_IDENTITY_MAX 512

struct install_request {
        const char *prefix;
        const char *bundle;
        const char *pubkey;        /* minisign public key (required) */
        const char *sig;           /* signature (default: <bundle>.minisig) */
        const char *sha256;        /* expected SHA-256 of the bundle (hex), or NULL */
        const char *sigstore;      /* Sigstore bundle (default: <bundle>.sigstore.json if any) */
        const char *trusted_root;  /* Sigstore trusted root to verify it against */
        bool require_sigstore;     /* refuse a bundle without a Sigstore bundle */
        bool allow_downgrade;
};

struct install_result {
        char version[INSTALL_VERSION_MAX + 1];
        char previous[INSTALL_VERSION_MAX + 1]; /* "" when there was none */
        char signer[17];                        /* the key id that signed it (minisign's form) */
        char sha256[65];                        /* the bundle's SHA-256, hex */
        char identity[INSTALL_IDENTITY_MAX];    /* the Sigstore signer verified, or "" */
        bool downgrade;
};

/* Beside each installed release, <prefix>/releases/<version>.signer (0444) records the key id
 * whose signature the install verified: "key id <16 hex digits>\n". */
#define INSTALL_SIGNER_SUFFIX ".signer"

/*
 * Releases are signed keyless by the release workflow (Sigstore). When a Sigstore bundle comes
 * with the release bundle (or --require-sigstore asks for one), it must verify offline against
 * the trusted root, for the bundle's SHA-256, by the identity of the workflow at the release's
 * tag: SAN https://github.com/<CA_RELEASE_REPOSITORY>/.github/workflows/release.yml@refs/tags/v<version>
 * and OIDC issuer https://token.actions.githubusercontent.com. Beside the installed release:
 * <version>.sigstore.json (the Sigstore bundle verified, 0444; absent when there was none) and
 * <version>.sha256 (the release bundle's SHA-256 and name, sha256sum's format, 0444), so that
 * `doctor` can verify it again.
 */
/* In the prefix of a Debian package's install (packaging/make-deb.sh): install and uninstall
 * refuse to touch it (apt owns those releases); rollback still switches current/previous. */
#define INSTALL_DPKG_MARKER "managed-by-dpkg"

#define INSTALL_SIGSTORE_SUFFIX ".sigstore.json"
#define INSTALL_SHA256_SUFFIX ".sha256"
#define INSTALL_RELEASE_ISSUER "https://token.actions.githubusercontent.com"

/* The SAN of the release workflow's certificate for `version`: 0, or -ENAMETOOLONG. */
int install_release_identity(const char *version, char out[INSTALL_IDENTITY_MAX]) CA_MUST_CHECK;


/* Compares dotted numeric versions ("0.10.1" > "0.9"). */
int install_version_cmp(const char *a, const char *b);

/* The version `link` (current or previous) points at, or "" when absent. */
int install_link_version(const char *prefix, const char *link, char out[INSTALL_VERSION_MAX + 1],
                         struct ca_error *err) CA_MUST_CHECK;

int install_bundle(const struct install_request *req, struct install_result *res,
                   struct ca_error *err) CA_MUST_CHECK;

/* Makes `previous` current (and the current one previous). */
int install_rollback(const char *prefix, struct install_result *res,
                     struct ca_error *err) CA_MUST_CHECK;

/* Removes current, previous and every release under the prefix. */
int install_uninstall(const char *prefix, struct ca_error *err) CA_MUST_CHECK;
