/* SPDX-License-Identifier: MIT */
#include "dsse.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "error.h"
#include "fileio.h"

#define SEED_LEN crypto_sign_SEEDBYTES
#define MAX_PAYLOAD ((size_t) 64 << 20)

int dsse_pae(const char *type, const void *body, size_t len, struct buf *out)
{
        buf_reset(out);
        if (buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, len) < 0 ||
            buf_append(out, body, len) < 0)
                return -ENOMEM;
        return 0;
}

void dsse_keyid(const uint8_t pub[DSSE_PUBKEY_LEN], char out[DSSE_KEYID_HEX_LEN + 1])
{
        uint8_t md[DIGEST_SHA256_LEN];

        if (digest_sha256(pub, DSSE_PUBKEY_LEN, md) < 0)
                memset(md, 0, sizeof(md));
        digest_hex(md, sizeof(md), out);
}

/* Makes a new seed at `path` (O_EXCL: never replaces one). */
static int key_create(const char *path, uint8_t seed[SEED_LEN], struct ca_error *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                      0600);

        if (fd < 0)
                return ca_error_set(err, errno, "cannot create the audit key '%s'", path);
        randombytes_buf(seed, SEED_LEN);
        if (fileio_write_all(fd, seed, SEED_LEN) < 0 || fsync(fd) < 0) {
                int e = errno;

                (void) unlink(path);
                return ca_error_set(err, e, "cannot write the audit key '%s'", path);
        }
        return 0;
}

/* Reads the seed at `path`: a regular file of ours, 0600 or stricter, of exactly 32 bytes. */
static int key_read(const char *path, uint8_t seed[SEED_LEN], struct ca_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return ca_error_set(err, errno, "cannot open the audit key '%s'", path);
        if (fstat(fd, &st) < 0)
                return ca_error_set(err, errno, "cannot stat the audit key '%s'", path);
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
                return ca_error_setx(err, EPERM,
                                     "the audit key '%s' must be a regular file of this user, "
                                     "mode 0600 (it is %04o)",
                                     path, (unsigned) (st.st_mode & 07777));
        n = read(fd, seed, SEED_LEN);
        if (n != (ssize_t) SEED_LEN || st.st_size != (off_t) SEED_LEN)
                return ca_error_setx(err, EINVAL, "the audit key '%s' is not 32 bytes", path);
        return 0;
}

/* The key pair of the key at `path` (made when missing and `create`). */
static int key_pair(const char *path, bool create, uint8_t pub[DSSE_PUBKEY_LEN],
                    uint8_t sec[crypto_sign_SECRETKEYBYTES], struct ca_error *err)
{
        uint8_t seed[SEED_LEN];
        int r = key_read(path, seed, err);

        if (r == -ENOENT && create) {
                ca_error_clear(err);
                r = key_create(path, seed, err);
        }
        if (r == 0 && crypto_sign_seed_keypair(pub, sec, seed) != 0)
                r = ca_error_setx(err, EINVAL, "cannot derive the audit key pair");
        sodium_memzero(seed, sizeof(seed));
        return r;
}

int dsse_key_public(const char *path, bool create, uint8_t pub[DSSE_PUBKEY_LEN],
                    struct ca_error *err)
{
        uint8_t sec[crypto_sign_SECRETKEYBYTES];
        int r = key_pair(path, create, pub, sec, err);

        sodium_memzero(sec, sizeof(sec));
        return r;
}

static char *base64(const void *data, size_t len)
{
        size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *out = malloc(n);

        if (out)
                sodium_bin2base64(out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
        return out;
}

int dsse_sign(const char *key_path, const char *type, const void *body, size_t len, json_t **ret,
              struct ca_error *err)
{
        uint8_t pub[DSSE_PUBKEY_LEN], sec[crypto_sign_SECRETKEYBYTES];
        uint8_t sig[crypto_sign_BYTES];
        char keyid[DSSE_KEYID_HEX_LEN + 1];
        _cleanup_buf_ struct buf pae = BUF_INIT;
        _cleanup_free_ char *payload = NULL, *sig64 = NULL;
        int r = key_pair(key_path, true, pub, sec, err);

        if (r < 0)
                return r;
        if (dsse_pae(type, body, len, &pae) < 0) {
                sodium_memzero(sec, sizeof(sec));
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        r = crypto_sign_detached(sig, NULL, (const uint8_t *) pae.data, pae.len, sec);
        sodium_memzero(sec, sizeof(sec));
        if (r != 0)
                return ca_error_setx(err, EINVAL, "cannot sign");
        dsse_keyid(pub, keyid);
        payload = base64(body, len);
        sig64 = base64(sig, sizeof(sig));
        *ret = payload && sig64 ? json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payload", payload,
                                            "payloadType", type, "signatures", "keyid", keyid,
                                            "sig", sig64)
                                : NULL;
        return *ret ? 0 : ca_error_setx(err, ENOMEM, "out of memory");
}

/* Decodes standard base64 (with padding) into `out` (reset first). */
static int unbase64(const char *text, struct buf *out)
{
        size_t len = strlen(text), got = 0;

        buf_reset(out);
        if (len / 4 * 3 > MAX_PAYLOAD || buf_reserve(out, len / 4 * 3 + 3) < 0)
                return -EINVAL;
        if (sodium_base642bin((unsigned char *) out->data, out->cap, text, len, NULL, &got, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
                return -EINVAL;
        out->len = got;
        return 0;
}

int dsse_verify(const json_t *envelope, const char *type, const uint8_t pub[DSSE_PUBKEY_LEN],
                struct buf *payload, struct ca_error *err)
{
        const char *p64 = json_string_value(json_object_get(envelope, "payload"));
        const char *ptype = json_string_value(json_object_get(envelope, "payloadType"));
        const json_t *sigs = json_object_get(envelope, "signatures");
        char keyid[DSSE_KEYID_HEX_LEN + 1];
        _cleanup_buf_ struct buf pae = BUF_INIT;
        _cleanup_buf_ struct buf sig = BUF_INIT;
        bool named = false;
        const json_t *s;
        size_t i;

        if (!json_is_object(envelope) || !p64 || !ptype || !json_is_array(sigs) ||
            json_array_size(sigs) == 0)
                return ca_error_input(err,
                                           "not a DSSE envelope (payload, payloadType and "
                                           "signatures are required)");
        if (strcmp(ptype, type) != 0)
                return ca_error_input(err, "payload type is not %s", type);
        if (unbase64(p64, payload) < 0)
                return ca_error_input(err, "the payload is not valid base64");
        if (dsse_pae(ptype, payload->data, payload->len, &pae) < 0)
                return ca_error_setx(err, ENOMEM, "out of memory");
        dsse_keyid(pub, keyid);
        json_array_foreach(sigs, i, s) {
                const char *id = json_string_value(json_object_get(s, "keyid"));
                const char *sig64 = json_string_value(json_object_get(s, "sig"));

                if (!sig64 || (id && id[0] && strcmp(id, keyid) != 0))
                        continue;
                named = true;
                if (unbase64(sig64, &sig) == 0 && sig.len == crypto_sign_BYTES &&
                    crypto_sign_verify_detached((const uint8_t *) sig.data,
                                                (const uint8_t *) pae.data, pae.len, pub) == 0)
                        return 0;
        }
        return ca_error_setx(err, EBADMSG,
                             named ? "the signature does not verify with key %s"
                                   : "no signature by key %s",
                             keyid);
}

int dsse_parse_public(const char *text, uint8_t pub[DSSE_PUBKEY_LEN])
{
        size_t got = 0;
        const char *end = NULL;

        while (*text == ' ' || *text == '\t' || *text == '\n')
                text++;
        if (sodium_hex2bin(pub, DSSE_PUBKEY_LEN, text, strlen(text), NULL, &got, &end) != 0 ||
            got != DSSE_PUBKEY_LEN)
                return -EINVAL;
        for (; *end; end++) {
                if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
                        return -EINVAL;
        }
        return 0;
}
