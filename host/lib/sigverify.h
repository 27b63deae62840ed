/* SPDX-License-Identifier: MIT */
/*
 * Sigstore verification against a trusted root, in parts: a log entry's signed entry timestamp
 * (the log's promise to include it) and its inclusion proof with the checkpoint that signs the
 * proof's root, each by the log's key; the signing certificate (its chain to a certificate
 * authority valid at the signing time, code signing, a certificate-transparency log's
 * signed timestamp, and whose identity it is). OpenSSL does the signatures and the chain;
 * tlog.c the Merkle and note logic.
 *
 * Each check returns 0, or a negative errno with the reason in `err`: -ENOENT when the trusted
 * root knows no log by the entry's log id (or the checkpoint carries no signature by it),
 * -EKEYEXPIRED when the entry was integrated outside the key's window, -EBADMSG when a
 * signature, a proof or a checkpoint does not hold, -EINVAL when an entry lacks what the check
 * needs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "sigbundle.h"
#include "sigroot.h"

/* `sig` over `msg` by the DER SubjectPublicKeyInfo `key` under `scheme`: 0, -EBADMSG, or
 * -EINVAL when the key is not one of that scheme. */
int sigverify_signature(enum sigroot_scheme scheme, const struct sig_bytes *key, const void *msg,
                        size_t len, const uint8_t *sig, size_t sig_len,
                        struct ca_error *err) CA_MUST_CHECK;

/* The log of the trusted root whose key id is `log_id`, or NULL. */
const struct sigroot_log *sigverify_find_log(const struct sigroot_log *logs, size_t n,
                                             const struct sig_bytes *log_id);

/* The entry's signed entry timestamp, by its log's key, over the canonical JSON of
 * {body, integratedTime, logID, logIndex}. */
int sigverify_set(const struct sigroot *root, const struct sigbundle_tlog *t,
                  struct ca_error *err) CA_MUST_CHECK;

/* The entry's inclusion proof folds its body to the proof's root, and the checkpoint states
 * that root and size and carries a valid signature by the log's key. */
int sigverify_inclusion(const struct sigroot *root, const struct sigbundle_tlog *t,
                        struct ca_error *err) CA_MUST_CHECK;

/* Who must have signed: the certificate's subject alternative name (a URI or an e-mail
 * address) and the OIDC issuer Fulcio recorded, compared exactly. */
struct sigverify_identity {
        const char *san;
        const char *issuer;
};

/*
 * The bundle's leaf certificate at time `when` (a verified signing time): it chains to a
 * certificate authority of the trusted root whose window holds `when` and was valid then
 * (the bundle's own chain, when it has one, may not carry a root: only the trusted root
 * supplies those), it is for code signing, a CT log of the trusted root signed a timestamp
 * for it, and it names `id`. -EBADMSG for a failed check, -EACCES for another identity.
 */
int sigverify_certificate(const struct sigroot *root, const struct sigbundle *b, int64_t when,
                          const struct sigverify_identity *id, struct ca_error *err) CA_MUST_CHECK;

/*
 * A message-signature bundle's content: its digest is `digest` (the artifact's SHA-256), its
 * signature over the artifact verifies with the key of the leaf certificate (or `key`, a managed
 * key's DER SubjectPublicKeyInfo, when not NULL), and the log entry `t` (hashedrekord 0.0.1) is
 * of exactly that: the same digest, signature and certificate or key. -EBADMSG otherwise;
 * -EOPNOTSUPP for an entry kind or key this verifier does not know yet.
 */
int sigverify_message(const struct sigbundle *b, const struct sigbundle_tlog *t,
                      const uint8_t digest[32], const struct sig_bytes *key,
                      struct ca_error *err) CA_MUST_CHECK;

/*
 * A DSSE bundle's content: one signature over the envelope's pre-authentication encoding, by
 * the leaf certificate's key (or `key`); an in-toto statement one of whose subjects has the
 * SHA-256 `digest`; and the log entry `t` (dsse 0.0.1 or intoto 0.0.2) of exactly that payload,
 * signature and certificate or key. -EBADMSG otherwise.
 */
int sigverify_dsse(const struct sigbundle *b, const struct sigbundle_tlog *t,
                   const uint8_t digest[32], const struct sig_bytes *key,
                   struct ca_error *err) CA_MUST_CHECK;

/* What a bundle must prove: a certificate for `identity`, or (when `key` is not NULL) a
 * signature by that managed key (DER SubjectPublicKeyInfo). */
struct sigverify_policy {
        struct sigverify_identity identity;
        const struct sig_bytes *key;
};

/*
 * The whole of a bundle against `root`, for the artifact whose SHA-256 is
 * `digest`, at `now`: every log entry verifies (a v0.1 bundle's by its signed entry timestamp,
 * a later one's by its inclusion proof and checkpoint, both when both are there), was
 * integrated no later than `now` plus a minute, and is of this content; at each entry's
 * integration time the certificate held (sigverify_certificate); the signature verifies.
 * A DSSE bundle's content is checked by sigverify_dsse instead of sigverify_message.
 * Each RFC 3161 timestamp must be by a timestamp authority of the root over the signature,
 * and the certificate must hold at its time as well. -EOPNOTSUPP for what this verifier does
 * not check yet (Rekor v2 entries), so that nothing unchecked passes.
 */
int sigverify_bundle(const struct sigroot *root, const struct sigbundle *b,
                     const uint8_t digest[32], const struct sigverify_policy *policy, int64_t now,
                     struct ca_error *err) CA_MUST_CHECK;

/*
 * The trusted root in the file `root_path` and the bundle `bundle_json` (`len` bytes of the file
 * `bundle_name`), verified as by sigverify_bundle. A root or bundle that cannot be read or
 * parsed is a bad-input error (exit 2) naming its file.
 */
int sigverify_json(const char *root_path, const char *bundle_json, size_t len,
                   const char *bundle_name, const uint8_t digest[32],
                   const struct sigverify_policy *policy, int64_t now,
                   struct ca_error *err) CA_MUST_CHECK;

/* A PEM public key (`len` bytes) as DER SubjectPublicKeyInfo in `out` (the caller frees
 * out->data): 0, or -EINVAL when it is not one. */
int sigverify_pem_key(const char *pem, size_t len, struct sig_bytes *out) CA_MUST_CHECK;
