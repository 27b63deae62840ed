/* SPDX-License-Identifier: MIT */
#include "capability.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "names.h"

/* Fixed part of the record: version, id, flags, max_uses, not_before, expiry, binary hash. */
#define FIXED_LEN (1 + CAP_ID_LEN + 1 + 2 + 8 + 8 + CAP_HASH_LEN)
#define RECORD_MAX                                                                          \
        (FIXED_LEN + 1 + CAP_SESSION_MAX + 1 + CAP_STUB_MAX + 1 +                           \
         CAP_MAX_SECRETS * (1 + CAP_SECRET_NAME_MAX))
#define FLAG_BINARY 0x01

const char *capability_status_name(enum cap_status status)
{
        switch (status) {
        case CAP_OK:
                return "ok";
        case CAP_MALFORMED:
                return "malformed";
        case CAP_BAD_VERSION:
                return "unknown-version";
        case CAP_BAD_MAC:
                return "bad-mac";
        case CAP_NOT_YET_VALID:
                return "not-yet-valid";
        case CAP_EXPIRED:
                return "expired";
        }
        return "unknown";
}

static bool valid_chars(const char *s, size_t max, bool upper_and_dot)
{
        size_t n = 0;

        for (; s[n]; n++) {
                char c = s[n];
                bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                if (upper_and_dot)
                        ok = ok || (c >= 'A' && c <= 'Z') || c == '.';
                if (!ok || n >= max)
                        return false;
        }
        return n > 0;
}

bool capability_valid_session(const char *s)
{
        return valid_chars(s, CAP_SESSION_MAX, true) && s[0] != '.';
}

bool capability_valid_stub(const char *s)
{
        return valid_chars(s, CAP_STUB_MAX, false);
}

/* KDF subkey `subkey_id`/`context` of the master, then keyed BLAKE2b over `parts`. */
static int derive(const uint8_t master[CAP_KEY_LEN], uint64_t subkey_id, const char *context,
                  const void *const *parts, const size_t *lens, size_t nparts,
                  uint8_t out[CAP_KEY_LEN])
{
        uint8_t root[CAP_KEY_LEN];
        crypto_generichash_state st;
        int r = 0;

        if (crypto_kdf_derive_from_key(root, sizeof(root), subkey_id, context, master) != 0 ||
            crypto_generichash_init(&st, root, sizeof(root), CAP_KEY_LEN) != 0)
                r = -EIO;
        for (size_t i = 0; r == 0 && i < nparts; i++) {
                if (crypto_generichash_update(&st, parts[i], lens[i]) != 0)
                        r = -EIO;
        }
        if (r == 0 && crypto_generichash_final(&st, out, CAP_KEY_LEN) != 0)
                r = -EIO;
        sodium_memzero(root, sizeof(root));
        sodium_memzero(&st, sizeof(st));
        return r;
}

int capability_mac_key(const uint8_t master[CAP_KEY_LEN], const char *session,
                       uint8_t out[CAP_KEY_LEN])
{
        const void *parts[] = {session};
        const size_t lens[] = {strlen(session)};

        if (!capability_valid_session(session))
                return -EINVAL;
        return derive(master, 2, "cacapmac", parts, lens, 1, out);
}

int capability_proof_key(const uint8_t master[CAP_KEY_LEN], const char *session,
                         const char *stub, const uint8_t id[CAP_ID_LEN], uint8_t out[CAP_KEY_LEN])
{
        /* NUL-separated: no (session, stub) pair can be confused with another. */
        const void *parts[] = {session, stub, id};
        const size_t lens[] = {strlen(session) + 1, strlen(stub) + 1, CAP_ID_LEN};

        if (!capability_valid_session(session) || !capability_valid_stub(stub))
                return -EINVAL;
        return derive(master, 3, "caproof2", parts, lens, 3, out);
}

bool capability_equal(const struct capability *a, const struct capability *b)
{
        if (sodium_memcmp(a->id, b->id, CAP_ID_LEN) != 0 || strcmp(a->session, b->session) != 0 ||
            strcmp(a->stub, b->stub) != 0 || a->nsecrets != b->nsecrets ||
            a->has_binary != b->has_binary || a->not_before != b->not_before ||
            a->expiry != b->expiry || a->max_uses != b->max_uses)
                return false;
        if (a->has_binary && memcmp(a->binary_sha256, b->binary_sha256, CAP_HASH_LEN) != 0)
                return false;
        for (size_t i = 0; i < a->nsecrets; i++) {
                if (strcmp(a->secrets[i], b->secrets[i]) != 0)
                        return false;
        }
        return true;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v = v << 8 | p[i];
        return v;
}

static int put_str(uint8_t *rec, size_t *len, const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max || *len + 1 + n > RECORD_MAX)
                return -EINVAL;
        rec[(*len)++] = (uint8_t) n;
        /* A length-prefixed field of a binary record: no terminator belongs here. */
        memcpy(rec + *len, s, n); /* NOLINT(bugprone-not-null-terminated-result) */
        *len += n;
        return 0;
}

static int build_record(const struct capability *cap, uint8_t *rec, size_t *ret_len)
{
        size_t len = 0;

        if (!capability_valid_session(cap->session) || !capability_valid_stub(cap->stub) ||
            cap->nsecrets > CAP_MAX_SECRETS || cap->max_uses == 0 ||
            cap->expiry <= cap->not_before)
                return -EINVAL;
        rec[len++] = CAP_VERSION;
        memcpy(rec + len, cap->id, CAP_ID_LEN);
        len += CAP_ID_LEN;
        rec[len++] = cap->has_binary ? FLAG_BINARY : 0;
        put_be(rec + len, cap->max_uses, 2);
        len += 2;
        put_be(rec + len, cap->not_before, 8);
        len += 8;
        put_be(rec + len, cap->expiry, 8);
        len += 8;
        if (cap->has_binary)
                memcpy(rec + len, cap->binary_sha256, CAP_HASH_LEN);
        else
                memset(rec + len, 0, CAP_HASH_LEN);
        len += CAP_HASH_LEN;
        if (put_str(rec, &len, cap->session, CAP_SESSION_MAX) < 0 ||
            put_str(rec, &len, cap->stub, CAP_STUB_MAX) < 0)
                return -EINVAL;
        rec[len++] = (uint8_t) cap->nsecrets;
        for (size_t i = 0; i < cap->nsecrets; i++) {
                const char *name = cap->secrets[i];
                if (!names_secret_ok(name, strnlen(name, CAP_SECRET_NAME_MAX + 1)) ||
                    put_str(rec, &len, name, CAP_SECRET_NAME_MAX) < 0)
                        return -EINVAL;
        }
        *ret_len = len;
        return 0;
}

int capability_encode(const struct capability *cap, const uint8_t key[CAP_KEY_LEN], char *out,
                      size_t outlen)
{
        uint8_t buf[RECORD_MAX + CAP_MAC_LEN];
        size_t len = 0;
        size_t prefix = strlen(CAP_PREFIX);
        size_t need;
        int r;

        r = build_record(cap, buf, &len);
        if (r < 0)
                return r;
        if (crypto_auth_hmacsha256(buf + len, buf, len, key) != 0)
                return -EIO;
        len += CAP_MAC_LEN;
        need = prefix + sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        if (need > outlen)
                return -ENOBUFS;
        memcpy(out, CAP_PREFIX, sizeof(CAP_PREFIX)); /* base64 follows, over the NUL */
        sodium_bin2base64(out + prefix, outlen - prefix, buf, len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        return (int) strlen(out);
}

/* Reads a length-prefixed string into `out` (max `max` bytes). */
static bool get_str(const uint8_t *rec, size_t len, size_t *pos, char *out, size_t max)
{
        size_t n;

        if (*pos >= len)
                return false;
        n = rec[(*pos)++];
        if (n == 0 || n > max || n > len - *pos)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (rec[*pos + i] == 0)
                        return false;
                out[i] = (char) rec[*pos + i];
        }
        out[n] = '\0';
        *pos += n;
        return true;
}

/* Decodes `text` into record bytes + MAC, and the record into `out`. */
static enum cap_status decode(const char *text, struct capability *out, uint8_t *buf,
                              size_t *ret_reclen)
{
        size_t prefix = strlen(CAP_PREFIX);
        size_t tlen;
        size_t len = 0;
        size_t pos = 0;
        const char *end = NULL;
        uint8_t flags;

        memset(out, 0, sizeof(*out));
        tlen = strnlen(text, CAP_TEXT_MAX + 1);
        if (tlen > CAP_TEXT_MAX || tlen <= prefix)
                return CAP_MALFORMED;
        /* "cap1." (a holder could re-sign those) and any other version: not ours. */
        if (strncmp(text, "cap", 3) == 0 && text[3] != CAP_PREFIX[3] && text[3] >= '0' &&
            text[3] <= '9')
                return CAP_BAD_VERSION;
        if (strncmp(text, CAP_PREFIX, prefix) != 0)
                return CAP_MALFORMED;
        if (sodium_base642bin(buf, RECORD_MAX + CAP_MAC_LEN, text + prefix, tlen - prefix, NULL,
                              &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
            end != text + tlen)
                return CAP_MALFORMED;
        if (len < 1)
                return CAP_MALFORMED;
        if (buf[0] != CAP_VERSION)
                return CAP_BAD_VERSION;
        if (len < FIXED_LEN + CAP_MAC_LEN)
                return CAP_MALFORMED;
        len -= CAP_MAC_LEN;

        pos = 1;
        memcpy(out->id, buf + pos, CAP_ID_LEN);
        pos += CAP_ID_LEN;
        flags = buf[pos++];
        if (flags & ~FLAG_BINARY)
                return CAP_MALFORMED;
        out->has_binary = flags & FLAG_BINARY;
        out->max_uses = (uint16_t) get_be(buf + pos, 2);
        pos += 2;
        out->not_before = get_be(buf + pos, 8);
        pos += 8;
        out->expiry = get_be(buf + pos, 8);
        pos += 8;
        memcpy(out->binary_sha256, buf + pos, CAP_HASH_LEN);
        pos += CAP_HASH_LEN;
        if (out->max_uses == 0 || out->expiry <= out->not_before)
                return CAP_MALFORMED;
        if (!get_str(buf, len, &pos, out->session, CAP_SESSION_MAX) ||
            !capability_valid_session(out->session) ||
            !get_str(buf, len, &pos, out->stub, CAP_STUB_MAX) ||
            !capability_valid_stub(out->stub) || pos >= len)
                return CAP_MALFORMED;
        out->nsecrets = buf[pos++];
        if (out->nsecrets > CAP_MAX_SECRETS)
                return CAP_MALFORMED;
        for (size_t i = 0; i < out->nsecrets; i++) {
                if (!get_str(buf, len, &pos, out->secrets[i], CAP_SECRET_NAME_MAX) ||
                    !names_secret_ok(out->secrets[i], strlen(out->secrets[i])))
                        return CAP_MALFORMED;
        }
        if (pos != len)
                return CAP_MALFORMED;
        *ret_reclen = len;
        return CAP_OK;
}

enum cap_status capability_parse(const char *text, struct capability *out)
{
        uint8_t buf[RECORD_MAX + CAP_MAC_LEN];
        size_t len = 0;

        return decode(text, out, buf, &len);
}

enum cap_status capability_verify(const char *text, const uint8_t key[CAP_KEY_LEN], uint64_t now,
                                  struct capability *out)
{
        uint8_t buf[RECORD_MAX + CAP_MAC_LEN];
        size_t len = 0;
        enum cap_status st = decode(text, out, buf, &len);

        if (st != CAP_OK)
                return st;
        /* Constant-time comparison inside libsodium. */
        if (crypto_auth_hmacsha256_verify(buf + len, buf, len, key) != 0)
                return CAP_BAD_MAC;
        if (now < out->not_before)
                return CAP_NOT_YET_VALID;
        if (now >= out->expiry)
                return CAP_EXPIRED;
        return CAP_OK;
}

void capability_id_hex(const uint8_t id[CAP_ID_LEN], char out[2 * CAP_ID_LEN + 1])
{
        sodium_bin2hex(out, 2 * CAP_ID_LEN + 1, id, CAP_ID_LEN);
}
