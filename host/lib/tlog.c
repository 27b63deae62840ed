/* SPDX-License-Identifier: MIT */
#include "tlog.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#define EM_DASH "\xE2\x80\x94"

void tlog_leaf_hash(const void *data, size_t len, uint8_t out[TLOG_HASH_LEN])
{
        static const uint8_t prefix = 0x00;
        crypto_hash_sha256_state st;

        (void) crypto_hash_sha256_init(&st);
        (void) crypto_hash_sha256_update(&st, &prefix, 1);
        (void) crypto_hash_sha256_update(&st, data, len);
        (void) crypto_hash_sha256_final(&st, out);
}

/* SHA-256(0x01 || left || right) */
static void node_hash(const uint8_t left[TLOG_HASH_LEN], const uint8_t right[TLOG_HASH_LEN],
                      uint8_t out[TLOG_HASH_LEN])
{
        uint8_t in[1 + 2 * TLOG_HASH_LEN] = {0x01};

        memcpy(in + 1, left, TLOG_HASH_LEN);
        memcpy(in + 1 + TLOG_HASH_LEN, right, TLOG_HASH_LEN);
        (void) crypto_hash_sha256(out, in, sizeof(in));
}

/* RFC 9162, 2.1.3.2: fn is the leaf's position on the current level, sn the last position. */
int tlog_inclusion_root(const uint8_t leaf[TLOG_HASH_LEN], uint64_t index, uint64_t size,
                        const uint8_t (*proof)[TLOG_HASH_LEN], size_t nproof,
                        uint8_t root[TLOG_HASH_LEN])
{
        uint8_t r[TLOG_HASH_LEN];
        uint64_t fn = index;
        uint64_t sn;

        if (index >= size || nproof > TLOG_PROOF_MAX)
                return -EINVAL;
        sn = size - 1;
        memcpy(r, leaf, TLOG_HASH_LEN);
        for (size_t i = 0; i < nproof; i++) {
                if (sn == 0)
                        return -EINVAL; /* more hashes than levels */
                if ((fn & 1) || fn == sn) {
                        node_hash(proof[i], r, r);
                        /* A right edge with no sibling on these levels: climb past them. */
                        while (!(fn & 1) && fn != 0) {
                                fn >>= 1;
                                sn >>= 1;
                        }
                } else {
                        node_hash(r, proof[i], r);
                }
                fn >>= 1;
                sn >>= 1;
        }
        if (sn != 0)
                return -EINVAL; /* fewer hashes than levels */
        memcpy(root, r, TLOG_HASH_LEN);
        return 0;
}

int tlog_verify_inclusion(const uint8_t leaf[TLOG_HASH_LEN], uint64_t index, uint64_t size,
                          const uint8_t (*proof)[TLOG_HASH_LEN], size_t nproof,
                          const uint8_t root[TLOG_HASH_LEN])
{
        uint8_t got[TLOG_HASH_LEN];
        int r = tlog_inclusion_root(leaf, index, size, proof, nproof, got);

        if (r < 0)
                return r;
        return sodium_memcmp(got, root, TLOG_HASH_LEN) == 0 ? 0 : -EBADMSG;
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

struct cursor {
        const char *text;
        size_t len;
        size_t pos;
        unsigned line;
        struct ca_error *err;
};

static int bad(const struct cursor *c, const char *what)
{
        return ca_error_input(c->err, "checkpoint:%u: %s", c->line, what);
}

/* Valid UTF-8 (shortest forms, no surrogates) without control characters but newline. */
static int check_text(struct cursor *c)
{
        const unsigned char *s = (const unsigned char *) c->text;

        c->line = 1;
        for (size_t i = 0; i < c->len;) {
                unsigned char b = s[i];
                size_t n;
                uint32_t cp;

                if (b == '\n') {
                        c->line++;
                        i++;
                        continue;
                }
                if (b < 0x20 || b == 0x7f)
                        return bad(c, "a control character (only newlines may end lines)");
                if (b < 0x80) {
                        i++;
                        continue;
                }
                if (b >= 0xC2 && b <= 0xDF) {
                        n = 1;
                        cp = b & 0x1F;
                } else if (b >= 0xE0 && b <= 0xEF) {
                        n = 2;
                        cp = b & 0x0F;
                } else if (b >= 0xF0 && b <= 0xF4) {
                        n = 3;
                        cp = b & 0x07;
                } else {
                        return bad(c, "text that is not UTF-8");
                }
                if (c->len - i <= n)
                        return bad(c, "text that is not UTF-8");
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return bad(c, "text that is not UTF-8");
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return bad(c, "text that is not UTF-8");
                if (cp >= 0x80 && cp < 0xA0)
                        return bad(c, "a control character (only newlines may end lines)");
                i += n + 1;
        }
        c->line = 1;
        return 0;
}

/* The next line (without its newline) in *line and *n; the cursor moves past the newline. */
static int next_line(struct cursor *c, const char **line, size_t *n)
{
        const char *nl;

        if (c->pos >= c->len)
                return bad(c, "the note ends early");
        nl = memchr(c->text + c->pos, '\n', c->len - c->pos);
        if (!nl)
                return bad(c, "the last line has no newline");
        *line = c->text + c->pos;
        *n = (size_t) (nl - *line);
        c->pos += *n + 1;
        return 0;
}

static int parse_size(const struct cursor *c, const char *s, size_t n, uint64_t *out)
{
        uint64_t v = 0;

        if (n == 0 || (n > 1 && s[0] == '0'))
                return bad(c, "the tree size is not a decimal number without leading zeros");
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return bad(c, "the tree size is not a decimal number");
                if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t) (s[i] - '0')) / 10)
                        return bad(c, "the tree size is past 2^63");
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *out = v;
        return 0;
}

/* Standard base64 with padding, exactly: `n` characters to at most `max` bytes. */
static int base64_exact(const char *s, size_t n, uint8_t *out, size_t max, size_t *got)
{
        const char *end = NULL;

        if (n == 0 || n % 4 != 0)
                return -EINVAL;
        if (sodium_base642bin(out, max, s, n, NULL, got, &end, sodium_base64_VARIANT_ORIGINAL) !=
                    0 ||
            end != s + n)
                return -EINVAL;
        return 0;
}

static int parse_sig(const struct cursor *c, const char *s, size_t n, struct tlog_note_sig *sig)
{
        static const char dash[] = EM_DASH " ";
        uint8_t raw[TLOG_HINT_LEN + TLOG_SIG_MAX];
        const char *space;
        size_t name_len;
        size_t got;

        if (n < sizeof(dash) - 1 || memcmp(s, dash, sizeof(dash) - 1) != 0)
                return bad(c, "a signature line must start with an em dash and a space");
        s += sizeof(dash) - 1;
        n -= sizeof(dash) - 1;
        space = memchr(s, ' ', n);
        if (!space)
                return bad(c, "a signature line has no key name and signature");
        name_len = (size_t) (space - s);
        if (name_len == 0 || name_len > TLOG_NAME_MAX || memchr(s, '+', name_len))
                return bad(c, "a key name must be 1-256 characters without '+' or spaces");
        memcpy(sig->name, s, name_len);
        sig->name[name_len] = '\0';
        s = space + 1;
        n -= name_len + 1;
        if (memchr(s, ' ', n) || base64_exact(s, n, raw, sizeof(raw), &got) < 0)
                return bad(c, "a signature is not standard base64");
        if (got <= TLOG_HINT_LEN)
                return bad(c, "a signature is shorter than its key hint");
        memcpy(sig->hint, raw, TLOG_HINT_LEN);
        sig->sig_len = got - TLOG_HINT_LEN;
        memcpy(sig->sig, raw + TLOG_HINT_LEN, sig->sig_len);
        return 0;
}

static int parse_body(struct cursor *c, struct tlog_checkpoint *out)
{
        const char *line;
        size_t n, got;
        int r;

        r = next_line(c, &line, &n);
        if (r < 0)
                return r;
        if (n == 0 || n > TLOG_ORIGIN_MAX)
                return bad(c, "the origin must be 1-256 characters");
        memcpy(out->origin, line, n);
        out->origin[n] = '\0';
        c->line++;
        r = next_line(c, &line, &n);
        if (r < 0)
                return r;
        r = parse_size(c, line, n, &out->size);
        if (r < 0)
                return r;
        c->line++;
        r = next_line(c, &line, &n);
        if (r < 0)
                return r;
        if (base64_exact(line, n, out->root, sizeof(out->root), &got) < 0 || got != TLOG_HASH_LEN)
                return bad(c, "the root hash is not 32 bytes in standard base64");
        /* Extension lines, up to the blank line that ends the body. */
        for (;;) {
                c->line++;
                r = next_line(c, &line, &n);
                if (r < 0)
                        return r;
                if (n == 0)
                        break;
                out->nextensions++;
        }
        out->signed_len = c->pos - 1;
        return 0;
}

int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *out,
                          struct ca_error *err)
{
        struct cursor c = {.text = text, .len = len, .err = err};
        int r;

        memset(out, 0, sizeof(*out));
        if (len > TLOG_NOTE_MAX)
                return ca_error_input(err, "checkpoint: larger than %zu bytes", TLOG_NOTE_MAX);
        r = check_text(&c);
        if (r < 0)
                return r;
        r = parse_body(&c, out);
        if (r < 0)
                return r;
        if (c.pos >= c.len)
                return bad(&c, "the note has no signature");
        while (c.pos < c.len) {
                const char *line;
                size_t n;

                c.line++;
                r = next_line(&c, &line, &n);
                if (r < 0)
                        return r;
                if (out->nsigs == TLOG_SIGS_MAX)
                        return bad(&c, "more than 16 signatures");
                r = parse_sig(&c, line, n, &out->sigs[out->nsigs]);
                if (r < 0)
                        return r;
                out->nsigs++;
        }
        return 0;
}

const struct tlog_note_sig *tlog_checkpoint_find(const struct tlog_checkpoint *cp,
                                                 const char *name,
                                                 const uint8_t hint[TLOG_HINT_LEN])
{
        for (size_t i = 0; i < cp->nsigs; i++) {
                if (strcmp(cp->sigs[i].name, name) == 0 &&
                    memcmp(cp->sigs[i].hint, hint, TLOG_HINT_LEN) == 0)
                        return &cp->sigs[i];
        }
        return NULL;
}

void tlog_ed25519_hint(const char *name, const uint8_t pub[32], uint8_t hint[TLOG_HINT_LEN])
{
        static const uint8_t sep[2] = {'\n', 0x01}; /* 0x01: the Ed25519 key type */
        crypto_hash_sha256_state st;
        uint8_t md[crypto_hash_sha256_BYTES];

        (void) crypto_hash_sha256_init(&st);
        (void) crypto_hash_sha256_update(&st, (const uint8_t *) name, strlen(name));
        (void) crypto_hash_sha256_update(&st, sep, sizeof(sep));
        (void) crypto_hash_sha256_update(&st, pub, 32);
        (void) crypto_hash_sha256_final(&st, md);
        memcpy(hint, md, TLOG_HINT_LEN);
}

int tlog_checkpoint_verify_ed25519(const struct tlog_checkpoint *cp, const char *text,
                                   const char *name, const uint8_t pub[32])
{
        uint8_t hint[TLOG_HINT_LEN];
        const struct tlog_note_sig *sig;

        tlog_ed25519_hint(name, pub, hint);
        sig = tlog_checkpoint_find(cp, name, hint);
        if (!sig)
                return -ENOENT;
        if (sig->sig_len != crypto_sign_BYTES ||
            crypto_sign_verify_detached(sig->sig, (const uint8_t *) text, cp->signed_len, pub) != 0)
                return -EBADMSG;
        return 0;
}
