/* SPDX-License-Identifier: MIT */
/*
 * Transparency logs as Sigstore's Rekor publishes them (the Merkle and checkpoint half of a
 * Sigstore bundle's verification; the keys and the cryptography of the log's signatures are
 * the caller's, from the trusted root).
 *
 * Merkle trees (RFC 9162, section 2.1): a leaf's hash is SHA-256(0x00 || entry), an interior
 * node's SHA-256(0x01 || left || right). An inclusion proof of the leaf at `index` in a tree of
 * `size` leaves is the list of sibling hashes from the leaf up; it proves the leaf when folding
 * it up gives the tree's root hash.
 *
 * Checkpoints (C2SP tlog-checkpoint in a C2SP signed note): the log's signed statement of a
 * tree's size and root hash.
 *
 *   <origin>\n                   the log's identity, e.g. "rekor.sigstore.dev - 2605736670972794746"
 *   <size>\n                     decimal, no leading zero
 *   <root hash, base64>\n        32 bytes
 *   [<extension line>\n]...
 *   \n
 *   — <name> <base64(key hint[4] || signature)>\n    one or more; — is U+2014
 *
 * The signatures sign the text up to and including the newline of the last body line
 * (`signed_len`). A key's hint is the first 4 bytes of its key id: for an Ed25519 note key
 * SHA-256(name || "\n" || 0x01 || public key); for a Rekor v1 log key (ECDSA), SHA-256 of its
 * DER SubjectPublicKeyInfo (the log id of the trusted root).
 *
 * The parser is strict: anything a careful log would not write (a carriage return, an empty
 * body line, a size with a leading zero or past 2^63, a root that is not 32 bytes of standard
 * base64, a signature line without its dash, space and name) is refused with the line it is
 * on.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

#define TLOG_HASH_LEN 32
/* A tree of 2^63 leaves is 63 levels deep: a longer proof proves nothing. */
#define TLOG_PROOF_MAX 63
#define TLOG_NOTE_MAX ((size_t) 64 << 10)
#define TLOG_ORIGIN_MAX 256
#define TLOG_NAME_MAX 256
#define TLOG_HINT_LEN 4
/* An ECDSA P-384 signature in DER is at most 104 bytes, Ed25519 64, RSA-4096 512. */
#define TLOG_SIG_MAX 512
#define TLOG_SIGS_MAX 16

/* SHA-256(0x00 || data): the hash of the leaf that logs `data`. */
void tlog_leaf_hash(const void *data, size_t len, uint8_t out[TLOG_HASH_LEN]);

/*
 * The root hash that `proof` (nproof sibling hashes, leaf to root) gives for the leaf whose
 * hash is `leaf`, at `index` in a tree of `size` leaves: 0 with *root set, or -EINVAL when no
 * proof of that length can exist for that index and size (index >= size, too few or too many
 * hashes).
 */
int tlog_inclusion_root(const uint8_t leaf[TLOG_HASH_LEN], uint64_t index, uint64_t size,
                        const uint8_t (*proof)[TLOG_HASH_LEN], size_t nproof,
                        uint8_t root[TLOG_HASH_LEN]) CA_MUST_CHECK;

/* 0 when the proof takes the leaf to `root`; -EBADMSG when it gives another root; -EINVAL
 * as above. Compared in constant time. */
int tlog_verify_inclusion(const uint8_t leaf[TLOG_HASH_LEN], uint64_t index, uint64_t size,
                          const uint8_t (*proof)[TLOG_HASH_LEN], size_t nproof,
                          const uint8_t root[TLOG_HASH_LEN]) CA_MUST_CHECK;

struct tlog_note_sig {
        char name[TLOG_NAME_MAX + 1];
        uint8_t hint[TLOG_HINT_LEN];
        uint8_t sig[TLOG_SIG_MAX];
        size_t sig_len;
};

struct tlog_checkpoint {
        char origin[TLOG_ORIGIN_MAX + 1];
        uint64_t size;
        uint8_t root[TLOG_HASH_LEN];
        size_t nextensions;      /* body lines after the root hash */
        size_t signed_len;       /* bytes of the note's text that the signatures sign */
        size_t nsigs;
        struct tlog_note_sig sigs[TLOG_SIGS_MAX];
};

/* Parses a checkpoint note (`len` bytes, not NUL-terminated). -EINVAL with a bad-input error
 * naming the line for anything malformed. */
int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *out,
                          struct ca_error *err) CA_MUST_CHECK;

/* The first signature by `name` whose hint is `hint`, or NULL. */
const struct tlog_note_sig *tlog_checkpoint_find(const struct tlog_checkpoint *cp,
                                                 const char *name,
                                                 const uint8_t hint[TLOG_HINT_LEN]);

/* The hint of an Ed25519 note key. */
void tlog_ed25519_hint(const char *name, const uint8_t pub[32], uint8_t hint[TLOG_HINT_LEN]);

/*
 * 0 when `text` (the note `cp` was parsed from) carries a valid Ed25519 signature by the key
 * `pub` under `name`; -ENOENT when no signature of that name and key hint is there; -EBADMSG
 * when there is one and it does not verify.
 */
int tlog_checkpoint_verify_ed25519(const struct tlog_checkpoint *cp, const char *text,
                                   const char *name, const uint8_t pub[32]) CA_MUST_CHECK;
