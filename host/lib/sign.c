/* SPDX-License-Identifier: MIT */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"

#define PK_LEN (2 + SIGN_KEYID_LEN + crypto_sign_PUBLICKEYBYTES)
#define SK_LEN (2 + SIGN_KEYID_LEN + crypto_sign_SECRETKEYBYTES)
#define SIG_LEN (2 + SIGN_KEYID_LEN + crypto_sign_BYTES)
#define KEY_FILE_MAX 4096

static int b64_line(struct buf *b, const uint8_t *bin, size_t len)
{
        char out[256];

        if (sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) > sizeof(out))
                return -EINVAL;
        sodium_bin2base64(out, sizeof(out), bin, len, sodium_base64_VARIANT_ORIGINAL);
        return buf_printf(b, "%s\n", out);
}

/* Splits a key/signature file into its lines (at most `max`), in place. */
static size_t split_lines(char *s, char **lines, size_t max)
{
        size_t n = 0;

        while (*s && n < max) {
                char *nl = strchr(s, '\n');
                lines[n++] = s;
                if (!nl)
                        break;
                *nl = '\0';
                if (nl > s && nl[-1] == '\r')
                        nl[-1] = '\0';
                s = nl + 1;
        }
        return n;
}

static bool b64_exact(const char *line, uint8_t *out, size_t len)
{
        size_t got = 0;
        const char *end = NULL;
        size_t l = strlen(line);

        return sodium_base642bin(out, len, line, l, NULL, &got, &end,
                                 sodium_base64_VARIANT_ORIGINAL) == 0 &&
               got == len && end == line + l;
}

static int read_small(const char *path, struct buf *b, struct ca_error *err)
{
        return fileio_read_path(path, KEY_FILE_MAX, b, err);
}

int sign_hash_file(const char *file, uint8_t out[64], struct ca_error *err)
{
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        crypto_generichash_state st;
        uint8_t chunk[65536];

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open '%s'", file);
        crypto_generichash_init(&st, NULL, 0, 64);
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return ca_error_set(err, errno, "cannot read '%s'", file);
                if (n == 0)
                        break;
                crypto_generichash_update(&st, chunk, (size_t) n);
        }
        crypto_generichash_final(&st, out, 64);
        return 0;
}

int sign_keygen(const char *pub_path, const char *sec_path, struct ca_error *err)
{
        uint8_t pk[PK_LEN];
        uint8_t *sk = sodium_malloc(SK_LEN);
        _cleanup_buf_ struct buf pub = BUF_INIT;
        struct buf sec = BUF_INIT;
        _cleanup_close_ int fd = -1;
        char id[2 * SIGN_KEYID_LEN + 1];
        int r;

        if (!sk)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        /* Algorithm tags: "Ed" (minisign's Ed25519 public key), "CA" (our secret key). */
        pk[0] = 'E';
        pk[1] = 'd';
        sk[0] = 'C';
        sk[1] = 'A';
        randombytes_buf(pk + 2, SIGN_KEYID_LEN);
        memcpy(sk + 2, pk + 2, SIGN_KEYID_LEN);
        crypto_sign_keypair(pk + 2 + SIGN_KEYID_LEN, sk + 2 + SIGN_KEYID_LEN);
        /* minisign prints the key id as the little-endian 64-bit number, in hex. */
        for (size_t i = 0; i < SIGN_KEYID_LEN; i++)
                (void) snprintf(id + 2 * i, 3, "%02X", pk[2 + SIGN_KEYID_LEN - 1 - i]);
        r = buf_printf(&pub, "untrusted comment: minisign public key %s\n", id);
        if (r >= 0)
                r = b64_line(&pub, pk, sizeof(pk));
        if (r >= 0)
                r = buf_printf(&sec, "untrusted comment: coding-agents release secret key %s\n",
                               id);
        if (r >= 0)
                r = b64_line(&sec, sk, SK_LEN);
        sodium_free(sk);
        if (r < 0) {
                sodium_memzero(sec.data, sec.len);
                buf_clear(&sec);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        /* The secret key never replaces an existing file. */
        fd = open(sec_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                sodium_memzero(sec.data, sec.len);
                buf_clear(&sec);
                return ca_error_set(err, errno, "cannot create secret key '%s'", sec_path);
        }
        r = fileio_write_all(fd, sec.data, sec.len);
        sodium_memzero(sec.data, sec.len);
        buf_clear(&sec);
        if (r < 0 || fsync(fd) < 0) {
                (void) unlink(sec_path);
                return ca_error_set(err, r < 0 ? -r : errno, "cannot write '%s'", sec_path);
        }
        r = fileio_write_atomic(pub_path, pub.data, pub.len, 0644, err);
        if (r < 0)
                (void) unlink(sec_path);
        return r;
}

static int load_secret(const char *sec_path, uint8_t *sk, struct ca_error *err)
{
        struct buf b = BUF_INIT;
        char *lines[3];
        size_t n;
        int r;

        r = read_small(sec_path, &b, err);
        if (r < 0)
                return r;
        n = split_lines(b.data ? b.data : (char *) "", lines, 3);
        r = n >= 2 && b64_exact(lines[1], sk, SK_LEN) && memcmp(sk, "CA", 2) == 0
                    ? 0
                    : ca_error_input(err, "'%s' is not a coding-agents release secret key",
                                     sec_path);
        sodium_memzero(b.data, b.len);
        buf_clear(&b);
        return r;
}

int sign_file(const char *sec_path, const char *file, const char *trusted_comment,
              const char *sig_path, struct ca_error *err)
{
        uint8_t *sk = sodium_malloc(SK_LEN);
        uint8_t hash[64];
        uint8_t sig[SIG_LEN];
        uint8_t global[crypto_sign_BYTES];
        _cleanup_buf_ struct buf out = BUF_INIT;
        _cleanup_free_ uint8_t *msg = NULL;
        size_t clen = strlen(trusted_comment);
        int r;

        if (!sk)
                return ca_error_setx(err, ENOMEM, "cannot allocate secure memory");
        for (const char *c = trusted_comment; *c; c++) {
                if ((unsigned char) *c < 0x20 && *c != '\t') {
                        sodium_free(sk);
                        return ca_error_input(err, "the trusted comment must be one line");
                }
        }
        if (clen > SIGN_COMMENT_MAX) {
                sodium_free(sk);
                return ca_error_input(err, "the trusted comment is too long");
        }
        r = load_secret(sec_path, sk, err);
        if (r >= 0)
                r = sign_hash_file(file, hash, err);
        if (r < 0) {
                sodium_free(sk);
                return r;
        }
        sig[0] = 'E'; /* "ED": Ed25519 over the BLAKE2b-512 prehash */
        sig[1] = 'D';
        memcpy(sig + 2, sk + 2, SIGN_KEYID_LEN);
        crypto_sign_detached(sig + 2 + SIGN_KEYID_LEN, NULL, hash, sizeof(hash),
                             sk + 2 + SIGN_KEYID_LEN);
        /* The global signature covers the file signature and the trusted comment. */
        msg = malloc(crypto_sign_BYTES + clen + 1);
        if (!msg) {
                sodium_free(sk);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        memcpy(msg, sig + 2 + SIGN_KEYID_LEN, crypto_sign_BYTES);
        memcpy(msg + crypto_sign_BYTES, trusted_comment, clen + 1); /* the NUL is not signed */
        crypto_sign_detached(global, NULL, msg, crypto_sign_BYTES + clen,
                             sk + 2 + SIGN_KEYID_LEN);
        sodium_free(sk);
        r = buf_append_str(&out, "untrusted comment: signature from coding-agents secret key\n");
        if (r >= 0)
                r = b64_line(&out, sig, sizeof(sig));
        if (r >= 0)
                r = buf_printf(&out, "trusted comment: %s\n", trusted_comment);
        if (r >= 0)
                r = b64_line(&out, global, sizeof(global));
        if (r < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        return fileio_write_atomic(sig_path, out.data, out.len, 0644, err);
}

int sign_key_id(const char *pub_path, char out[2 * SIGN_KEYID_LEN + 1], struct ca_error *err)
{
        _cleanup_buf_ struct buf pubf = BUF_INIT;
        uint8_t pk[PK_LEN];
        char *pl[3];
        int r = read_small(pub_path, &pubf, err);

        if (r < 0)
                return r;
        if (split_lines(pubf.data ? pubf.data : (char *) "", pl, 3) < 2 ||
            !b64_exact(pl[1], pk, sizeof(pk)) || memcmp(pk, "Ed", 2) != 0)
                return ca_error_input(err, "'%s' is not a minisign public key", pub_path);
        /* minisign prints the id as a little-endian 64-bit number. */
        for (size_t i = 0; i < SIGN_KEYID_LEN; i++)
                (void) snprintf(out + 2 * i, 3, "%02X", pk[2 + SIGN_KEYID_LEN - 1 - i]);
        return 0;
}

int sign_verify(const char *pub_path, const char *file, const char *sig_path, char **ret_comment,
                struct ca_error *err)
{
        _cleanup_buf_ struct buf pubf = BUF_INIT;
        _cleanup_buf_ struct buf sigf = BUF_INIT;
        _cleanup_free_ uint8_t *msg = NULL;
        uint8_t pk[PK_LEN];
        uint8_t sig[SIG_LEN];
        uint8_t global[crypto_sign_BYTES];
        uint8_t hash[64];
        char *pl[3];
        char *sl[5];
        const char *comment;
        size_t clen;
        int r;

        r = read_small(pub_path, &pubf, err);
        if (r >= 0)
                r = read_small(sig_path, &sigf, err);
        if (r < 0)
                return r;
        if (split_lines(pubf.data ? pubf.data : (char *) "", pl, 3) < 2 ||
            !b64_exact(pl[1], pk, sizeof(pk)) || memcmp(pk, "Ed", 2) != 0)
                return ca_error_input(err, "'%s' is not a minisign public key", pub_path);
        if (split_lines(sigf.data ? sigf.data : (char *) "", sl, 5) < 4 ||
            !b64_exact(sl[1], sig, sizeof(sig)) ||
            strncmp(sl[2], "trusted comment: ", 17) != 0 || !b64_exact(sl[3], global, sizeof(global)))
                return ca_error_input(err, "'%s' is not a minisign signature", sig_path);
        if (memcmp(sig + 2, pk + 2, SIGN_KEYID_LEN) != 0)
                return ca_error_setx(err, EBADMSG, "'%s' was made with another key", sig_path);
        if (memcmp(sig, "ED", 2) == 0) {
                r = sign_hash_file(file, hash, err);
                if (r < 0)
                        return r;
                r = crypto_sign_verify_detached(sig + 2 + SIGN_KEYID_LEN, hash, sizeof(hash),
                                                pk + 2 + SIGN_KEYID_LEN);
        } else {
                /* Legacy, non-prehashed "Ed" signatures are refused: they need the whole file
                 * in memory and minisign itself deprecates them. */
                return ca_error_setx(err, EBADMSG, "'%s' uses a legacy signature algorithm",
                                     sig_path);
        }
        if (r != 0)
                return ca_error_setx(err, EBADMSG, "signature of '%s' does not verify", file);
        comment = sl[2] + 17;
        clen = strlen(comment);
        msg = malloc(crypto_sign_BYTES + clen + 1);
        if (!msg)
                return ca_error_setx(err, ENOMEM, "out of memory");
        memcpy(msg, sig + 2 + SIGN_KEYID_LEN, crypto_sign_BYTES);
        memcpy(msg + crypto_sign_BYTES, comment, clen + 1); /* the NUL is not signed */
        if (crypto_sign_verify_detached(global, msg, crypto_sign_BYTES + clen,
                                        pk + 2 + SIGN_KEYID_LEN) != 0)
                return ca_error_setx(err, EBADMSG, "the trusted comment of '%s' does not verify",
                                     sig_path);
        if (ret_comment) {
                *ret_comment = strdup(comment);
                if (!*ret_comment)
                        return ca_error_setx(err, ENOMEM, "out of memory");
        }
        return 0;
}
