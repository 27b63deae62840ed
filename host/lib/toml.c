/* SPDX-License-Identifier: MIT */
#include "toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "error.h"
#include "fileio.h"
#include "parse.h"

/* Definition state of tables and arrays (struct toml_value.flags). */
enum {
        F_HEADER = 1 << 0, /* table defined by a [header] (or an element of [[header]]) */
        F_INLINE = 1 << 1, /* inline table: sealed, including everything under it */
        F_AOT = 1 << 2,    /* array created by [[header]]: may be appended to */
};

/* ---- arena ---------------------------------------------------------------------------- */

struct arena_block {
        struct arena_block *next;
        size_t used;
        size_t cap;
        uint64_t data[];
};

struct toml_doc {
        struct arena_block *blocks;
        struct toml_value *root;
        char *name;
};

/* Blocks start small (configs are a few KB) and double up to the maximum, so both a tiny
 * config and a 1 MB one cost few allocations. */
#define ARENA_FIRST_BLOCK ((size_t) 4 << 10)
#define ARENA_MAX_BLOCK ((size_t) 1 << 20)

/*
 * Large blocks come straight from mmap with MAP_POPULATE: the kernel maps every page in one
 * call instead of one fault per 4 KB page as the parser first writes it (in a VM, each fault
 * is an exit: faults were a third of the parse time on a 1 MB file). Freed large blocks are
 * kept, zeroed, for the next document of the process (a command parses several: the user's
 * config, the workspace's, the defaults), up to ARENA_CACHE_MAX: fresh memory, not parsing,
 * is what a large document costs (a 1 MB file parses 4x faster into warm blocks).
 */
#define ARENA_MMAP_MIN ((size_t) 128 << 10)
#define ARENA_CACHE_MAX ((size_t) 16 << 20)

static struct {
        pthread_mutex_t lock;
        struct arena_block *blocks;
        size_t bytes;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static struct arena_block *block_new(size_t cap)
{
        struct arena_block *b = NULL;

        if (cap >= ARENA_MMAP_MIN) {
                (void) pthread_mutex_lock(&cache.lock);
                for (struct arena_block **pp = &cache.blocks; *pp; pp = &(*pp)->next) {
                        if ((*pp)->cap == cap) {
                                b = *pp;
                                *pp = b->next;
                                cache.bytes -= cap;
                                break;
                        }
                }
                (void) pthread_mutex_unlock(&cache.lock);
                if (!b) {
                        b = mmap(NULL, sizeof(*b) + cap, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
                        if (b == MAP_FAILED)
                                return NULL;
                }
        } else {
                b = malloc(sizeof(*b) + cap);
                if (!b)
                        return NULL;
        }
        b->cap = cap;
        b->used = 0;
        return b;
}

static void block_free(struct arena_block *b)
{
        if (b->cap < ARENA_MMAP_MIN) {
                free(b);
                return;
        }
        (void) pthread_mutex_lock(&cache.lock);
        if (cache.bytes + b->cap <= ARENA_CACHE_MAX) {
                memset(b->data, 0, b->used);
                b->next = cache.blocks;
                cache.blocks = b;
                cache.bytes += b->cap;
                b = NULL;
        }
        (void) pthread_mutex_unlock(&cache.lock);
        if (b)
                (void) munmap(b, sizeof(*b) + b->cap);
}

/* `align`: 8 for the document's structures (no member needs more), 1 for text. */
static void *arena_alloc_aligned(struct toml_doc *doc, size_t n, size_t align)
{
        struct arena_block *b = doc->blocks;
        size_t off = b ? (b->used + align - 1) & ~(align - 1) : 0;
        size_t cap;

        if (!b || off > b->cap || b->cap - off < n) {
                cap = !b ? ARENA_FIRST_BLOCK : b->cap < ARENA_MAX_BLOCK ? b->cap * 2 : b->cap;
                if (cap < n) {
                        /* One oversized item: its own block, a whole number of words. */
                        if (__builtin_add_overflow(n, sizeof(uint64_t) - 1, &cap))
                                return NULL;
                        cap &= ~(sizeof(uint64_t) - 1);
                }
                b = block_new(cap);
                if (!b)
                        return NULL;
                b->next = doc->blocks;
                doc->blocks = b;
                off = 0;
        }
        b->used = off + n;
        return (char *) b->data + off;
}

static void *arena_alloc(struct toml_doc *doc, size_t n)
{
        return arena_alloc_aligned(doc, n, sizeof(uint64_t));
}

static char *arena_strndup(struct toml_doc *doc, const char *s, size_t n)
{
        char *p;

        if (n == SIZE_MAX)
                return NULL;
        p = arena_alloc_aligned(doc, n + 1, 1);
        if (!p)
                return NULL;
        if (n)
                memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

/* Grows an arena array of `size`-byte items to hold at least `need`. Old storage is abandoned
 * to the arena; doubling bounds the waste to the size of the final array. */
static int arena_grow(struct toml_doc *doc, void **items, size_t *cap, size_t need, size_t size)
{
        size_t ncap = *cap ? *cap : 4;
        size_t bytes;
        void *p;

        if (need <= *cap)
                return 0;
        while (ncap < need) {
                if (__builtin_mul_overflow(ncap, 2, &ncap))
                        return -ENOMEM;
        }
        if (__builtin_mul_overflow(ncap, size, &bytes))
                return -ENOMEM;
        p = arena_alloc(doc, bytes);
        if (!p)
                return -ENOMEM;
        if (*cap)
                memcpy(p, *items, *cap * size);
        *items = p;
        *cap = ncap;
        return 0;
}

struct toml_doc *toml_doc_free(struct toml_doc *doc)
{
        if (!doc)
                return NULL;
        while (doc->blocks) {
                struct arena_block *next = doc->blocks->next;
                block_free(doc->blocks);
                doc->blocks = next;
        }
        free(doc->name);
        free(doc);
        return NULL;
}

/* ---- tables --------------------------------------------------------------------------- */

/* Tables switch from a linear scan to a hash index at this many keys. */
#define INDEX_THRESHOLD 8

static uint64_t hash_key(const char *k, size_t n)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) k[i];
                h *= 1099511628211ULL;
        }
        return h;
}

static bool key_eq(const struct toml_kv *kv, const char *k, size_t n)
{
        return kv->key_len == n && memcmp(kv->key, k, n) == 0;
}

static struct toml_kv *table_lookup(const struct toml_table *t, const char *k, size_t n)
{
        if (!t->index) {
                for (size_t i = 0; i < t->len; i++) {
                        if (key_eq(&t->items[i], k, n))
                                return &t->items[i];
                }
                return NULL;
        }
        for (size_t slot = hash_key(k, n) & (t->index_cap - 1);; slot = (slot + 1) & (t->index_cap - 1)) {
                uint32_t ix = t->index[slot];
                if (ix == 0)
                        return NULL;
                if (key_eq(&t->items[ix - 1], k, n))
                        return &t->items[ix - 1];
        }
}

static void index_put(struct toml_table *t, size_t item)
{
        const struct toml_kv *kv = &t->items[item];
        size_t slot = hash_key(kv->key, kv->key_len) & (t->index_cap - 1);

        while (t->index[slot] != 0)
                slot = (slot + 1) & (t->index_cap - 1);
        t->index[slot] = (uint32_t) (item + 1);
}

static int table_add(struct toml_doc *doc, struct toml_table *t, const char *k, size_t n,
                     struct toml_pos pos, struct toml_value *v)
{
        int r;

        if (t->len >= UINT32_MAX - 1)
                return -ENOMEM;
        r = arena_grow(doc, (void **) &t->items, &t->cap, t->len + 1, sizeof(*t->items));
        if (r < 0)
                return r;
        t->items[t->len] = (struct toml_kv) {.key = k, .key_len = n, .pos = pos, .value = v};
        t->len++;

        if (t->len < INDEX_THRESHOLD)
                return 0;
        /* Keep the load factor at or below 1/2. */
        if (t->len * 2 > t->index_cap) {
                size_t ncap = t->index_cap ? t->index_cap : 16;
                while (ncap < t->len * 2)
                        ncap *= 2;
                t->index = arena_alloc(doc, ncap * sizeof(*t->index));
                if (!t->index)
                        return -ENOMEM;
                memset(t->index, 0, ncap * sizeof(*t->index));
                t->index_cap = ncap;
                for (size_t i = 0; i < t->len; i++)
                        index_put(t, i);
        } else {
                index_put(t, t->len - 1);
        }
        return 0;
}

const struct toml_kv *toml_table_find(const struct toml_value *t, const char *key, size_t key_len)
{
        if (!t || t->type != TOML_TABLE)
                return NULL;
        return table_lookup(&t->u.table, key, key_len);
}

const struct toml_value *toml_table_get(const struct toml_value *t, const char *key)
{
        const struct toml_kv *kv = toml_table_find(t, key, strlen(key));

        return kv ? kv->value : NULL;
}

const struct toml_value *toml_doc_root(const struct toml_doc *doc)
{
        return doc->root;
}

const char *toml_doc_name(const struct toml_doc *doc)
{
        return doc->name;
}

const char *toml_type_name(enum toml_type type)
{
        switch (type) {
        case TOML_TABLE:
                return "table";
        case TOML_ARRAY:
                return "array";
        case TOML_STRING:
                return "string";
        case TOML_INTEGER:
                return "integer";
        case TOML_FLOAT:
                return "float";
        case TOML_BOOL:
                return "bool";
        case TOML_DATETIME:
                return "datetime";
        case TOML_DATETIME_LOCAL:
                return "datetime-local";
        case TOML_DATE_LOCAL:
                return "date-local";
        case TOML_TIME_LOCAL:
                return "time-local";
        }
        return "unknown";
}

/* ---- parser state ------------------------------------------------------------------- */

struct key_part {
        const char *ptr; /* in the arena */
        size_t len;
        struct toml_pos pos;
};

struct parser {
        const char *s;
        size_t len;
        size_t i;
        uint32_t line;
        uint32_t col;
        struct toml_doc *doc;
        struct ca_error *err;
        uint32_t section;          /* incremented by every [header] and [[header]] */
        struct toml_value *current; /* table that key/value pairs go into */
        struct buf scratch;
        struct key_part keys[TOML_MAX_KEY_PARTS];
        size_t nkeys;
};

static void perr_record(struct parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
        CA_PRINTF(4, 5);

static void perr_record(struct parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
{
        char msg[CA_ERROR_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap); /* truncation is acceptable here */
        va_end(ap);
        (void) ca_error_input(p->err, "%s:%u:%u: %s", p->doc->name, line, col, msg);
}

/* Records a syntax error and evaluates to -EINVAL (a macro, so analysers see the value). */
#define perr_at(p, line, col, ...) (perr_record((p), (line), (col), __VA_ARGS__), -EINVAL)
#define perr(p, ...) perr_at((p), (p)->line, (p)->col, __VA_ARGS__)

static void oom_record(struct parser *p)
{
        (void) ca_error_setx(p->err, ENOMEM, "%s: out of memory", p->doc->name);
}

#define oom(p) (oom_record(p), -ENOMEM)

static struct toml_pos here(const struct parser *p)
{
        return (struct toml_pos) {.line = p->line, .col = p->col};
}

static bool eof(const struct parser *p)
{
        return p->i >= p->len;
}

/* Current byte, or 0 at the end (callers check eof() where a NUL byte matters). */
static unsigned char cur(const struct parser *p)
{
        return p->i < p->len ? (unsigned char) p->s[p->i] : 0;
}

static unsigned char peek_at(const struct parser *p, size_t off)
{
        return p->i + off < p->len ? (unsigned char) p->s[p->i + off] : 0;
}

/* Advances one byte; columns count code points, so continuation bytes do not move them. */
static void adv(struct parser *p)
{
        p->col += ((unsigned char) p->s[p->i] & 0xC0) != 0x80;
        p->i++;
}

static void advn(struct parser *p, size_t n)
{
        while (n-- > 0)
                adv(p);
}

static bool is_ws(unsigned char c)
{
        return c == ' ' || c == '\t';
}

static bool is_digit(unsigned char c)
{
        return c >= '0' && c <= '9';
}

static bool is_bare_key_char(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
               c == '-';
}

/* Control characters that may never appear raw (tab is allowed everywhere text is). */
static bool is_control(unsigned char c)
{
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void skip_ws(struct parser *p)
{
        while (!eof(p) && is_ws(cur(p)))
                adv(p);
}

/* Consumes LF or CRLF. Returns 1 when a newline was consumed, 0 when none is here, or an
 * error for a bare CR (TOML allows CR only as part of CRLF). */
static int take_newline(struct parser *p)
{
        if (cur(p) == '\n') {
                p->i++;
                p->line++;
                p->col = 1;
                return 1;
        }
        if (cur(p) == '\r' && !eof(p)) {
                if (peek_at(p, 1) != '\n')
                        return perr(p, "carriage return not followed by a line feed");
                p->i += 2;
                p->line++;
                p->col = 1;
                return 1;
        }
        return 0;
}

/* Skips a comment starting at '#', up to (not including) the end of the line. */
static int skip_comment(struct parser *p)
{
        adv(p);
        while (!eof(p)) {
                unsigned char c = cur(p);
                if (c == '\n' || c == '\r')
                        return 0;
                if (is_control(c))
                        return perr(p, "control character U+%04X in comment", c);
                adv(p);
        }
        return 0;
}

/* Skips whitespace, newlines and comments (inside arrays). */
static int skip_ws_nl_comments(struct parser *p)
{
        for (;;) {
                int r;

                skip_ws(p);
                if (eof(p))
                        return 0;
                if (cur(p) == '#') {
                        r = skip_comment(p);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = take_newline(p);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;
        }
}

/* ---- UTF-8 -------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is invalid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
        if (c >= 0xE0 && c <= 0xEF) {
                unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
                unsigned char hi = c == 0xED ? 0x9F : 0xBF;
                if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
                        return 0;
                return 3;
        }
        if (c >= 0xF0 && c <= 0xF4) {
                unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
                unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
                if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
                    (s[3] & 0xC0) != 0x80)
                        return 0;
                return 4;
        }
        return 0;
}

/* Validates the whole input up front, so later stages may treat bytes >= 0x80 as text. */
static int validate_utf8(struct parser *p)
{
        const unsigned char *s = (const unsigned char *) p->s;
        size_t i = 0;

        while (i < p->len) {
                size_t n;

                if (s[i] < 0x80) {
                        i++;
                        continue;
                }
                n = utf8_seq_len(s + i, p->len - i);
                if (n == 0) {
                        /* Report the position of the bad byte (a plain walk: a bare CR
                         * before it is not this error's business). */
                        while (p->i < i) {
                                if (p->s[p->i] == '\n') {
                                        p->i++;
                                        p->line++;
                                        p->col = 1;
                                } else {
                                        adv(p);
                                }
                        }
                        return perr(p, "invalid UTF-8 byte 0x%02X", s[i]);
                }
                i += n;
        }
        return 0;
}

static int utf8_encode(struct buf *b, uint32_t cp)
{
        char out[4];
        size_t n;

        if (cp < 0x80) {
                out[0] = (char) cp;
                n = 1;
        } else if (cp < 0x800) {
                out[0] = (char) (0xC0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3F));
                n = 2;
        } else if (cp < 0x10000) {
                out[0] = (char) (0xE0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                n = 3;
        } else {
                out[0] = (char) (0xF0 | (cp >> 18));
                out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
                out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[3] = (char) (0x80 | (cp & 0x3F));
                n = 4;
        }
        return buf_append(b, out, n);
}

/* ---- strings -------------------------------------------------------------------------- */

/* Parses an escape sequence at '\' into p->scratch. */
static int parse_escape(struct parser *p)
{
        uint32_t line = p->line;
        uint32_t col = p->col;
        unsigned char c = peek_at(p, 1);
        char out;
        int r;

        switch (c) {
        case 'b':
                out = '\b';
                break;
        case 't':
                out = '\t';
                break;
        case 'n':
                out = '\n';
                break;
        case 'f':
                out = '\f';
                break;
        case 'r':
                out = '\r';
                break;
        case '"':
                out = '"';
                break;
        case '\\':
                out = '\\';
                break;
        case 'u':
        case 'U': {
                size_t digits = c == 'u' ? 4 : 8;
                uint32_t cp = 0;

                for (size_t k = 0; k < digits; k++) {
                        int h = p->i + 2 + k < p->len ? parse_hex_digit(peek_at(p, 2 + k)) : -1;
                        if (h < 0)
                                return perr_at(p, line, col,
                                               "\\%c escape needs %zu hexadecimal digits", c,
                                               digits);
                        cp = cp << 4 | (uint32_t) h;
                }
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return perr_at(p, line, col,
                                       "\\%c%0*X is not a Unicode scalar value", c, (int) digits,
                                       cp);
                r = utf8_encode(&p->scratch, cp);
                if (r < 0)
                        return oom(p);
                advn(p, 2 + digits);
                return 0;
        }
        default:
                if (c >= 0x20 && c < 0x7f)
                        return perr(p, "invalid escape sequence '\\%c'", c);
                return perr(p, "invalid escape sequence");
        }
        if (buf_append_char(&p->scratch, out) < 0)
                return oom(p);
        advn(p, 2);
        return 0;
}

/* Appends the raw bytes from `start` to the current position to scratch. */
static int flush_run(struct parser *p, size_t start)
{
        if (p->i > start && buf_append(&p->scratch, p->s + start, p->i - start) < 0)
                return oom(p);
        return 0;
}

/*
 * Parses a string of any kind starting at the current quote. `allow_multi` is false for keys.
 * The decoded text lands in p->scratch (reset first).
 */
static int parse_string(struct parser *p, bool allow_multi)
{
        unsigned char q = cur(p);
        bool literal = q == '\'';
        bool multi = allow_multi && peek_at(p, 1) == q && peek_at(p, 2) == q;
        uint32_t line = p->line;
        uint32_t col = p->col;
        size_t run;
        int r;

        buf_reset(&p->scratch);
        advn(p, multi ? 3 : 1);
        if (multi) {
                /* A newline right after the opening delimiter is trimmed. */
                r = take_newline(p);
                if (r < 0)
                        return r;
        }

        run = p->i;
        for (;;) {
                unsigned char c;

                if (eof(p))
                        return perr_at(p, line, col, "unterminated string");
                c = cur(p);
                if (c == q) {
                        size_t n = 0;

                        if (!multi) {
                                r = flush_run(p, run);
                                if (r < 0)
                                        return r;
                                adv(p);
                                return 0;
                        }
                        while (peek_at(p, n) == q && p->i + n < p->len)
                                n++;
                        if (n < 3) {
                                advn(p, n);
                                continue;
                        }
                        if (n > 5)
                                return perr(p, "too many quotes at the end of a multi-line string");
                        /* Up to two quotes may sit right before the closing delimiter. */
                        advn(p, n - 3);
                        r = flush_run(p, run);
                        if (r < 0)
                                return r;
                        advn(p, 3);
                        return 0;
                }
                if (c == '\\' && !literal) {
                        r = flush_run(p, run);
                        if (r < 0)
                                return r;
                        if (multi && (is_ws(peek_at(p, 1)) || peek_at(p, 1) == '\n' ||
                                      peek_at(p, 1) == '\r')) {
                                /* Line-ending backslash: trim whitespace and newlines up to the
                                 * next other character. Only whitespace may follow it. */
                                bool saw_newline = false;

                                adv(p);
                                for (;;) {
                                        skip_ws(p);
                                        r = take_newline(p);
                                        if (r < 0)
                                                return r;
                                        if (r == 0)
                                                break;
                                        saw_newline = true;
                                }
                                if (!saw_newline)
                                        return perr(p, "a backslash followed by whitespace must "
                                                       "end the line");
                        } else {
                                r = parse_escape(p);
                                if (r < 0)
                                        return r;
                        }
                        run = p->i;
                        continue;
                }
                if (c == '\n' || c == '\r') {
                        if (!multi)
                                return perr(p, "newline in single-line string");
                        r = flush_run(p, run);
                        if (r < 0)
                                return r;
                        r = take_newline(p);
                        if (r < 0)
                                return r;
                        /* CRLF is normalised to LF. */
                        if (buf_append_char(&p->scratch, '\n') < 0)
                                return oom(p);
                        run = p->i;
                        continue;
                }
                if (is_control(c))
                        return perr(p, "control character U+%04X in string", c);
                adv(p);
        }
}

/* ---- keys ----------------------------------------------------------------------------- */

static int parse_simple_key(struct parser *p, struct key_part *out)
{
        struct toml_pos pos = here(p);
        unsigned char c = cur(p);
        char *k;
        int r;

        if (c == '"' || c == '\'') {
                r = parse_string(p, false);
                if (r < 0)
                        return r;
                k = arena_strndup(p->doc, p->scratch.data ? p->scratch.data : "",
                                  p->scratch.len);
                if (!k)
                        return oom(p);
                *out = (struct key_part) {.ptr = k, .len = p->scratch.len, .pos = pos};
                return 0;
        }
        if (eof(p) || !is_bare_key_char(c)) {
                if (eof(p) || c == '\n' || c == '\r')
                        return perr(p, "expected a key");
                if (c >= 0x20 && c < 0x7f)
                        return perr(p, "invalid character '%c' in key", c);
                return perr(p, "invalid character in key");
        }
        {
                size_t start = p->i;

                while (!eof(p) && is_bare_key_char(cur(p)))
                        adv(p);
                k = arena_strndup(p->doc, p->s + start, p->i - start);
                if (!k)
                        return oom(p);
                *out = (struct key_part) {.ptr = k, .len = p->i - start, .pos = pos};
        }
        return 0;
}

/* Parses a (possibly dotted) key into p->keys. */
static int parse_key(struct parser *p)
{
        int r;

        p->nkeys = 0;
        for (;;) {
                if (p->nkeys == TOML_MAX_KEY_PARTS)
                        return perr(p, "key has more than %d parts", TOML_MAX_KEY_PARTS);
                r = parse_simple_key(p, &p->keys[p->nkeys]);
                if (r < 0)
                        return r;
                p->nkeys++;
                skip_ws(p);
                if (cur(p) != '.' || eof(p))
                        return 0;
                adv(p);
                skip_ws(p);
        }
}

/* ---- nodes ---------------------------------------------------------------------------- */

static struct toml_value *new_value(struct parser *p, enum toml_type type, struct toml_pos pos,
                                    unsigned depth)
{
        struct toml_value *v = arena_alloc(p->doc, sizeof(*v));

        if (!v)
                return NULL;
        memset(v, 0, sizeof(*v));
        v->type = type;
        v->pos = pos;
        v->depth = (uint16_t) depth;
        return v;
}

static int check_depth(struct parser *p, unsigned depth, struct toml_pos pos)
{
        if (depth > TOML_MAX_DEPTH)
                return perr_at(p, pos.line, pos.col, "nesting deeper than %d levels",
                               TOML_MAX_DEPTH);
        return 0;
}

/* Quotes a key for messages: printable ASCII as is, anything else elided. */
static const char *key_for_msg(const struct key_part *k, char *out, size_t outlen)
{
        size_t n = 0;

        for (size_t i = 0; i < k->len && n + 4 < outlen; i++) {
                unsigned char c = (unsigned char) k->ptr[i];
                out[n++] = c >= 0x20 && c < 0x7f ? (char) c : '?';
        }
        if (n + 4 >= outlen && k->len > n) {
                memcpy(out + n, "...", 3);
                n += 3;
        }
        out[n] = '\0';
        return out;
}

/* A key that names something of another type: "<before>'<key>'<after> already defined as a
 * table", at the key. */
static int defined_as(struct parser *p, const struct key_part *k, const char *before,
                      const char *after, const struct toml_value *v)
{
        char kb[64];

        return perr_at(p, k->pos.line, k->pos.col, "%s'%s'%s already defined as %s %s", before,
                       key_for_msg(k, kb, sizeof(kb)), after, v->type == TOML_ARRAY ? "an" : "a",
                       toml_type_name(v->type));
}

/* A table is "defined" (closed to dotted keys and to a [header]) once a header named it, or
 * once dotted keys in an earlier section did (TOML 1.0 "Table" and "Keys" rules). */
static bool table_is_defined(const struct parser *p, const struct toml_value *t)
{
        return (t->flags & F_HEADER) || (t->section != 0 && t->section != p->section);
}

/*
 * Walks the first p->nkeys - 1 parts of a dotted key below `base`, creating tables as
 * needed, and returns the table that receives the last part.
 */
static int walk_dotted(struct parser *p, struct toml_value *base, struct toml_value **ret)
{
        struct toml_value *t = base;
        char kb[64];

        for (size_t i = 0; i + 1 < p->nkeys; i++) {
                const struct key_part *k = &p->keys[i];
                struct toml_kv *kv = table_lookup(&t->u.table, k->ptr, k->len);
                struct toml_value *next;
                int r;

                if (!kv) {
                        r = check_depth(p, t->depth + 1u, k->pos);
                        if (r < 0)
                                return r;
                        next = new_value(p, TOML_TABLE, k->pos, t->depth + 1u);
                        if (!next)
                                return oom(p);
                        next->section = p->section;
                        if (table_add(p->doc, &t->u.table, k->ptr, k->len, k->pos, next) < 0)
                                return oom(p);
                        t = next;
                        continue;
                }
                next = kv->value;
                if (next->type != TOML_TABLE)
                        return defined_as(p, k, "key ", " is", next);
                if (next->flags & F_INLINE)
                        return perr_at(p, k->pos.line, k->pos.col,
                                       "cannot add keys to inline table '%s'",
                                       key_for_msg(k, kb, sizeof(kb)));
                if (table_is_defined(p, next))
                        return perr_at(p, k->pos.line, k->pos.col,
                                       "cannot use dotted keys to add to table '%s' defined "
                                       "elsewhere",
                                       key_for_msg(k, kb, sizeof(kb)));
                next->section = p->section;
                t = next;
        }
        *ret = t;
        return 0;
}

static int parse_value(struct parser *p, unsigned depth, struct toml_value **ret);

/* Parses `key = value` and inserts it below `base`. */
static int parse_keyval(struct parser *p, struct toml_value *base)
{
        struct toml_value *t = base;
        struct toml_value *v = NULL;
        struct key_part last;
        char kb[64];
        int r;

        r = parse_key(p);
        if (r < 0)
                return r;
        if (cur(p) != '=' || eof(p))
                return perr(p, "expected '=' after key");
        adv(p);
        skip_ws(p);

        r = walk_dotted(p, base, &t);
        if (r < 0)
                return r;
        last = p->keys[p->nkeys - 1];
        if (table_lookup(&t->u.table, last.ptr, last.len))
                return perr_at(p, last.pos.line, last.pos.col, "duplicate key '%s'",
                               key_for_msg(&last, kb, sizeof(kb)));
        r = parse_value(p, t->depth + 1u, &v);
        if (r < 0)
                return r;
        if (table_add(p->doc, &t->u.table, last.ptr, last.len, last.pos, v) < 0)
                return oom(p);
        return 0;
}

/* ---- numbers and dates ---------------------------------------------------------------- */

static bool is_token_char(unsigned char c)
{
        return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

/* Digits of `base` with single underscores between digits; returns the number of bytes used,
 * or 0 when the run is malformed or empty. */
static size_t scan_digits(const char *s, size_t n, int base)
{
        size_t i = 0;
        bool prev_digit = false;

        while (i < n) {
                int d = parse_hex_digit((char) s[i]);
                if (d >= 0 && d < base && (base == 16 || is_digit((unsigned char) s[i]))) {
                        prev_digit = true;
                } else if (s[i] == '_') {
                        if (!prev_digit || i + 1 >= n)
                                return 0;
                        d = parse_hex_digit((char) s[i + 1]);
                        if (d < 0 || d >= base)
                                return 0;
                        prev_digit = false;
                } else {
                        break;
                }
                i++;
        }
        return prev_digit ? i : 0;
}

static int parse_integer_digits(const char *s, size_t n, int base, bool negative, int64_t *ret)
{
        uint64_t limit = negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++) {
                int d;
                if (s[i] == '_')
                        continue;
                d = parse_hex_digit((char) s[i]);
                if (__builtin_mul_overflow(v, (uint64_t) base, &v) ||
                    __builtin_add_overflow(v, (uint64_t) d, &v) || v > limit)
                        return -ERANGE;
        }
        if (negative)
                *ret = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
        else
                *ret = (int64_t) v;
        return 0;
}

static int parse_number(struct parser *p, const char *s, size_t n, struct toml_value *v)
{
        const char *t = s;
        size_t m = n;
        bool negative = false;
        bool signed_ = false;
        bool is_float = false;
        size_t k;

        if (m > 0 && (t[0] == '+' || t[0] == '-')) {
                negative = t[0] == '-';
                signed_ = true;
                t++;
                m--;
        }
        if (m == 3 && (memcmp(t, "inf", 3) == 0 || memcmp(t, "nan", 3) == 0)) {
                v->type = TOML_FLOAT;
                if (t[0] == 'i')
                        v->u.flt = negative ? -INFINITY : INFINITY;
                else
                        v->u.flt = negative ? -NAN : NAN;
                return 0;
        }
        if (m >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
                int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;

                if (signed_)
                        return perr(p, "a sign is not allowed on hexadecimal, octal or binary "
                                       "integers");
                k = scan_digits(t + 2, m - 2, base);
                if (k == 0 || k != m - 2)
                        return perr(p, "invalid %s integer",
                                    base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary");
                v->type = TOML_INTEGER;
                if (parse_integer_digits(t + 2, k, base, false, &v->u.integer) < 0)
                        return perr(p, "integer does not fit in 64 bits");
                return 0;
        }

        /* Decimal integer part. */
        k = scan_digits(t, m, 10);
        if (k == 0)
                return perr(p, "invalid value");
        if (t[0] == '0' && k > 1)
                return perr(p, "leading zeros are not allowed");
        {
                size_t i = k;

                if (i < m && t[i] == '.') {
                        size_t f = scan_digits(t + i + 1, m - i - 1, 10);
                        if (f == 0)
                                return perr(p, "a decimal point must be followed by digits");
                        i += 1 + f;
                        is_float = true;
                }
                if (i < m && (t[i] == 'e' || t[i] == 'E')) {
                        size_t e = i + 1;
                        size_t d;
                        if (e < m && (t[e] == '+' || t[e] == '-'))
                                e++;
                        d = scan_digits(t + e, m - e, 10);
                        if (d == 0)
                                return perr(p, "an exponent needs digits");
                        i = e + d;
                        is_float = true;
                }
                if (i != m)
                        return perr(p, "invalid number");
        }
        if (!is_float) {
                v->type = TOML_INTEGER;
                if (parse_integer_digits(t, k, 10, negative, &v->u.integer) < 0)
                        return perr(p, "integer does not fit in 64 bits");
                return 0;
        }
        {
                char tmp[512];
                size_t o = 0;
                char *end = NULL;
                double d;

                if (n >= sizeof(tmp))
                        return perr(p, "float literal too long");
                for (size_t i = 0; i < n; i++) {
                        if (s[i] != '_')
                                tmp[o++] = s[i];
                }
                tmp[o] = '\0';
                errno = 0;
                d = strtod(tmp, &end);
                if (end != tmp + o)
                        return perr(p, "invalid float");
                if (errno == ERANGE && isinf(d))
                        return perr(p, "float out of range");
                v->type = TOML_FLOAT;
                v->u.flt = d;
        }
        return 0;
}

static bool digits_at(const char *s, size_t n, size_t at, size_t count)
{
        if (at + count > n)
                return false;
        for (size_t i = 0; i < count; i++) {
                if (!is_digit((unsigned char) s[at + i]))
                        return false;
        }
        return true;
}

static unsigned num_at(const char *s, size_t at, size_t count)
{
        unsigned v = 0;

        for (size_t i = 0; i < count; i++)
                v = v * 10 + (unsigned) (s[at + i] - '0');
        return v;
}

static bool is_leap(unsigned y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
        static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Parses HH:MM:SS[.frac] at s[at]; returns the index after it, or 0 when malformed. */
static size_t parse_time_part(const char *s, size_t n, size_t at, struct toml_datetime *dt)
{
        size_t i = at;

        if (!digits_at(s, n, i, 2) || i + 2 >= n || s[i + 2] != ':' || !digits_at(s, n, i + 3, 2) ||
            i + 5 >= n || s[i + 5] != ':' || !digits_at(s, n, i + 6, 2))
                return 0;
        dt->hour = (uint8_t) num_at(s, i, 2);
        dt->minute = (uint8_t) num_at(s, i + 3, 2);
        dt->second = (uint8_t) num_at(s, i + 6, 2);
        /* Second 60 (a leap second) is rejected: RFC 3339 allows it, but nothing we consume
         * can represent it and toml-test treats it as malformed. */
        if (dt->hour > 23 || dt->minute > 59 || dt->second > 59)
                return 0;
        i += 8;
        if (i < n && s[i] == '.') {
                size_t digits = 0;
                uint32_t ns = 0;

                i++;
                while (i < n && is_digit((unsigned char) s[i])) {
                        /* Extra precision is truncated, not rounded (TOML 1.0). */
                        if (digits < 9)
                                ns = ns * 10 + (uint32_t) (s[i] - '0');
                        digits++;
                        i++;
                }
                if (digits == 0)
                        return 0;
                for (size_t d = digits; d < 9; d++)
                        ns *= 10;
                dt->nanosecond = ns;
        }
        return i;
}

static int parse_datetime(struct parser *p, const char *s, size_t n, struct toml_value *v)
{
        struct toml_datetime *dt = &v->u.datetime;
        size_t i;

        memset(dt, 0, sizeof(*dt));
        if (n >= 3 && s[2] == ':') {
                i = parse_time_part(s, n, 0, dt);
                if (i == 0 || i != n)
                        return perr(p, "invalid local time");
                v->type = TOML_TIME_LOCAL;
                return 0;
        }
        if (!digits_at(s, n, 0, 4) || n < 10 || s[4] != '-' || !digits_at(s, n, 5, 2) ||
            s[7] != '-' || !digits_at(s, n, 8, 2))
                return perr(p, "invalid date");
        dt->year = (int32_t) num_at(s, 0, 4);
        dt->month = (uint8_t) num_at(s, 5, 2);
        dt->day = (uint8_t) num_at(s, 8, 2);
        if (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
            dt->day > days_in_month((unsigned) dt->year, dt->month))
                return perr(p, "invalid date");
        if (n == 10) {
                v->type = TOML_DATE_LOCAL;
                return 0;
        }
        if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
                return perr(p, "invalid date-time");
        i = parse_time_part(s, n, 11, dt);
        if (i == 0)
                return perr(p, "invalid date-time");
        if (i == n) {
                v->type = TOML_DATETIME_LOCAL;
                return 0;
        }
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
                v->type = TOML_DATETIME;
                return 0;
        }
        if ((s[i] == '+' || s[i] == '-') && i + 6 == n && digits_at(s, n, i + 1, 2) &&
            s[i + 3] == ':' && digits_at(s, n, i + 4, 2)) {
                unsigned oh = num_at(s, i + 1, 2);
                unsigned om = num_at(s, i + 4, 2);
                int off;

                if (oh > 23 || om > 59)
                        return perr(p, "invalid time offset");
                off = (int) (oh * 60 + om);
                dt->offset_minutes = (int16_t) (s[i] == '-' ? -off : off);
                v->type = TOML_DATETIME;
                return 0;
        }
        return perr(p, "invalid date-time");
}

/* Numbers, booleans and date/times: scanned as one token, then classified. */
static int parse_scalar(struct parser *p, struct toml_value *v)
{
        size_t start = p->i;
        size_t n;

        while (!eof(p) && is_token_char(cur(p)))
                adv(p);
        n = p->i - start;
        /* A date followed by ' ' and a time: the space is the date-time separator. */
        if (n == 10 && p->s[start + 4] == '-' && cur(p) == ' ' && is_digit(peek_at(p, 1)) &&
            is_digit(peek_at(p, 2)) && peek_at(p, 3) == ':') {
                adv(p);
                while (!eof(p) && is_token_char(cur(p)))
                        adv(p);
                n = p->i - start;
        }
        if (n == 0) {
                unsigned char c = cur(p);
                if (eof(p) || c == '\n' || c == '\r' || c == '#')
                        return perr(p, "expected a value");
                if (c >= 0x20 && c < 0x7f)
                        return perr(p, "unexpected character '%c' where a value was expected",
                                    c);
                return perr(p, "unexpected character where a value was expected");
        }
        if ((n == 4 && memcmp(p->s + start, "true", 4) == 0) ||
            (n == 5 && memcmp(p->s + start, "false", 5) == 0)) {
                v->type = TOML_BOOL;
                v->u.boolean = n == 4;
                return 0;
        }
        {
                /* Report problems at the start of the token. */
                uint32_t line = p->line;
                uint32_t col = p->col;
                const char *s = p->s + start;
                int r;

                p->col = v->pos.col;
                if ((n >= 10 && s[4] == '-' && digits_at(s, n, 0, 4)) ||
                    (n >= 3 && s[2] == ':' && digits_at(s, n, 0, 2)))
                        r = parse_datetime(p, s, n, v);
                else
                        r = parse_number(p, s, n, v);
                p->line = line;
                p->col = col;
                return r;
        }
}

/* ---- arrays and inline tables --------------------------------------------------------- */

static int parse_array(struct parser *p, struct toml_value *arr)
{
        int r;

        adv(p); /* '[' */
        for (;;) {
                struct toml_value *item = NULL;

                r = skip_ws_nl_comments(p);
                if (r < 0)
                        return r;
                if (cur(p) == ']' && !eof(p)) {
                        adv(p);
                        return 0;
                }
                r = parse_value(p, arr->depth + 1u, &item);
                if (r < 0)
                        return r;
                r = arena_grow(p->doc, (void **) &arr->u.array.items, &arr->u.array.cap,
                               arr->u.array.len + 1, sizeof(struct toml_value *));
                if (r < 0)
                        return oom(p);
                arr->u.array.items[arr->u.array.len++] = item;
                r = skip_ws_nl_comments(p);
                if (r < 0)
                        return r;
                if (eof(p))
                        return perr(p, "unterminated array");
                if (cur(p) == ',') {
                        adv(p);
                        continue;
                }
                if (cur(p) == ']') {
                        adv(p);
                        return 0;
                }
                return perr(p, "expected ',' or ']' in array");
        }
}

/* Seals an inline table and every table created inside it. Depth is bounded by
 * TOML_MAX_DEPTH, so the recursion is too. */
static void freeze(struct toml_value *t)
{
        t->flags |= F_INLINE;
        for (size_t i = 0; i < t->u.table.len; i++) {
                struct toml_value *v = t->u.table.items[i].value;
                if (v->type == TOML_TABLE && !(v->flags & F_INLINE))
                        freeze(v);
        }
}

static int parse_inline_table(struct parser *p, struct toml_value *t)
{
        int r;

        adv(p); /* '{' */
        skip_ws(p);
        if (cur(p) == '}' && !eof(p)) {
                adv(p);
                freeze(t);
                return 0;
        }
        for (;;) {
                r = parse_keyval(p, t);
                if (r < 0)
                        return r;
                skip_ws(p);
                if (eof(p))
                        return perr(p, "unterminated inline table");
                if (cur(p) == ',') {
                        adv(p);
                        skip_ws(p);
                        if (cur(p) == '}')
                                return perr(p, "trailing comma not allowed in inline table");
                        continue;
                }
                if (cur(p) == '}') {
                        adv(p);
                        freeze(t);
                        return 0;
                }
                if (cur(p) == '\n' || cur(p) == '\r')
                        return perr(p, "newline not allowed in inline table");
                return perr(p, "expected ',' or '}' in inline table");
        }
}

static int parse_value(struct parser *p, unsigned depth, struct toml_value **ret)
{
        struct toml_pos pos = here(p);
        struct toml_value *v;
        unsigned char c = cur(p);
        char *str;
        int r;

        r = check_depth(p, depth, pos);
        if (r < 0)
                return r;
        v = new_value(p, TOML_STRING, pos, depth);
        if (!v)
                return oom(p);
        if (!eof(p) && (c == '"' || c == '\'')) {
                r = parse_string(p, true);
                if (r < 0)
                        return r;
                str = arena_strndup(p->doc, p->scratch.data ? p->scratch.data : "",
                                    p->scratch.len);
                if (!str)
                        return oom(p);
                v->u.string.ptr = str;
                v->u.string.len = p->scratch.len;
        } else if (!eof(p) && c == '[') {
                v->type = TOML_ARRAY;
                r = parse_array(p, v);
        } else if (!eof(p) && c == '{') {
                v->type = TOML_TABLE;
                r = parse_inline_table(p, v);
        } else {
                r = parse_scalar(p, v);
        }
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

/* ---- table headers -------------------------------------------------------------------- */

/* A header's intermediate parts: existing tables (however created, unless inline) are
 * entered, arrays of tables resolve to their last element, missing ones are created. *ret gets
 * the table the last part goes into. */
static int header_parent(struct parser *p, struct toml_value **ret)
{
        struct toml_value *t = p->doc->root;
        struct toml_kv *kv;
        char kb[64];
        int r;

        for (size_t i = 0; i + 1 < p->nkeys; i++) {
                const struct key_part *k = &p->keys[i];

                kv = table_lookup(&t->u.table, k->ptr, k->len);
                if (!kv) {
                        struct toml_value *next;

                        r = check_depth(p, t->depth + 1u, k->pos);
                        if (r < 0)
                                return r;
                        next = new_value(p, TOML_TABLE, k->pos, t->depth + 1u);
                        if (!next)
                                return oom(p);
                        if (table_add(p->doc, &t->u.table, k->ptr, k->len, k->pos, next) < 0)
                                return oom(p);
                        t = next;
                        continue;
                }
                if (kv->value->type == TOML_ARRAY && (kv->value->flags & F_AOT)) {
                        t = kv->value->u.array.items[kv->value->u.array.len - 1];
                        continue;
                }
                if (kv->value->type != TOML_TABLE)
                        return defined_as(p, k, "key ", " is", kv->value);
                if (kv->value->flags & F_INLINE)
                        return perr_at(p, k->pos.line, k->pos.col,
                                       "cannot extend inline table '%s'",
                                       key_for_msg(k, kb, sizeof(kb)));
                t = kv->value;
        }
        *ret = t;
        return 0;
}

/* [[a.b]]: a new element of the array of tables `last` in `t` (`kv`: what is there now). */
static int header_aot(struct parser *p, struct toml_value *t, const struct toml_kv *kv,
                      const struct key_part *last, struct toml_pos pos)
{
        struct toml_value *arr;
        struct toml_value *elem;

        if (!kv) {
                arr = new_value(p, TOML_ARRAY, pos, t->depth + 1u);
                if (!arr)
                        return oom(p);
                arr->flags = F_AOT;
                if (table_add(p->doc, &t->u.table, last->ptr, last->len, last->pos, arr) < 0)
                        return oom(p);
        } else if (kv->value->type == TOML_ARRAY && (kv->value->flags & F_AOT)) {
                arr = kv->value;
        } else {
                return defined_as(p, last, "cannot define ", " as an array of tables:",
                                  kv->value);
        }
        elem = new_value(p, TOML_TABLE, pos, arr->depth + 1u);
        if (!elem)
                return oom(p);
        elem->flags = F_HEADER;
        if (arena_grow(p->doc, (void **) &arr->u.array.items, &arr->u.array.cap,
                       arr->u.array.len + 1, sizeof(struct toml_value *)) < 0)
                return oom(p);
        arr->u.array.items[arr->u.array.len++] = elem;
        p->current = elem;
        return 0;
}

/* [a.b]: the table `last` in `t`, new or implicitly created before, never defined twice. */
static int header_table(struct parser *p, struct toml_value *t, const struct toml_kv *kv,
                        const struct key_part *last, struct toml_pos pos)
{
        struct toml_value *target;
        char kb[64];

        if (!kv) {
                target = new_value(p, TOML_TABLE, pos, t->depth + 1u);
                if (!target)
                        return oom(p);
                if (table_add(p->doc, &t->u.table, last->ptr, last->len, last->pos, target) < 0)
                        return oom(p);
        } else {
                target = kv->value;
                if (target->type != TOML_TABLE)
                        return defined_as(p, last, "cannot define table ", ":", target);
                if (target->flags & F_INLINE)
                        return perr_at(p, last->pos.line, last->pos.col,
                                       "cannot redefine inline table '%s'",
                                       key_for_msg(last, kb, sizeof(kb)));
                if (table_is_defined(p, target))
                        return perr_at(p, last->pos.line, last->pos.col,
                                       "table '%s' is defined more than once",
                                       key_for_msg(last, kb, sizeof(kb)));
                /* An implicitly created table takes the position of its definition. */
                target->pos = pos;
        }
        target->flags |= F_HEADER;
        p->current = target;
        return 0;
}

static int parse_header(struct parser *p)
{
        struct toml_pos pos = here(p);
        bool aot = peek_at(p, 1) == '[';
        struct toml_value *t = p->doc->root;
        const struct key_part *last;
        const struct toml_kv *kv;
        int r;

        advn(p, aot ? 2 : 1);
        skip_ws(p);
        r = parse_key(p);
        if (r < 0)
                return r;
        if (aot) {
                if (cur(p) != ']' || peek_at(p, 1) != ']' || p->i + 1 >= p->len)
                        return perr(p, "expected ']]' to close the array-of-tables header");
                advn(p, 2);
        } else {
                if (cur(p) != ']' || eof(p))
                        return perr(p, "expected ']' to close the table header");
                adv(p);
        }
        p->section++;
        r = header_parent(p, &t);
        if (r < 0)
                return r;
        last = &p->keys[p->nkeys - 1];
        kv = table_lookup(&t->u.table, last->ptr, last->len);
        r = check_depth(p, t->depth + 1u + (aot ? 1u : 0u), last->pos);
        if (r < 0)
                return r;
        return aot ? header_aot(p, t, kv, last, pos) : header_table(p, t, kv, last, pos);
}

/* ---- document ------------------------------------------------------------------------- */

static int parse_document(struct parser *p)
{
        int r;

        if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
                p->i = 3;
        r = validate_utf8(p);
        if (r < 0)
                return r;

        for (;;) {
                unsigned char c;

                skip_ws(p);
                c = cur(p);
                if (!eof(p) && c != '#' && c != '\n' && c != '\r') {
                        if (c == '[')
                                r = parse_header(p);
                        else
                                r = parse_keyval(p, p->current);
                        if (r < 0)
                                return r;
                        skip_ws(p);
                }
                if (cur(p) == '#' && !eof(p)) {
                        r = skip_comment(p);
                        if (r < 0)
                                return r;
                }
                if (eof(p))
                        return 0;
                r = take_newline(p);
                if (r < 0)
                        return r;
                if (r == 0) {
                        c = cur(p);
                        if (is_control(c))
                                return perr(p, "control character U+%04X", c);
                        return perr(p, "expected a newline or the end of the file");
                }
        }
}

int toml_parse(const char *src, size_t len, const char *name, struct toml_doc **ret_doc,
               struct ca_error *err)
{
        struct parser p = {
                .s = src,
                .len = len,
                .line = 1,
                .col = 1,
                .err = err,
                .scratch = BUF_INIT,
        };
        struct toml_doc *doc;
        int r;

        doc = calloc(1, sizeof(*doc));
        if (!doc)
                return ca_error_setx(err, ENOMEM, "out of memory");
        doc->name = strdup(name ? name : "<input>");
        if (!doc->name) {
                toml_doc_free(doc);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        p.doc = doc;
        doc->root = new_value(&p, TOML_TABLE, (struct toml_pos) {1, 1}, 0);
        if (!doc->root) {
                toml_doc_free(doc);
                return ca_error_setx(err, ENOMEM, "out of memory");
        }
        doc->root->flags = F_HEADER;
        p.current = doc->root;

        r = parse_document(&p);
        buf_clear(&p.scratch);
        if (r < 0) {
                toml_doc_free(doc);
                return r;
        }
        *ret_doc = doc;
        return 0;
}

int toml_parse_file(const char *path, struct toml_doc **ret_doc, struct ca_error *err)
{
        _cleanup_buf_ struct buf b = BUF_INIT;
        int r;

        r = fileio_read_path(path, TOML_MAX_FILE_SIZE, &b, err);
        if (r < 0)
                return r;
        return toml_parse(b.data ? b.data : "", b.len, strcmp(path, "-") == 0 ? "<stdin>" : path,
                          ret_doc, err);
}

int toml_datetime_format(const struct toml_value *v, char *out, size_t outlen)
{
        const struct toml_datetime *dt = &v->u.datetime;
        char frac[16] = "";
        int n = 0;

        if (dt->nanosecond) {
                size_t fl;
                n = snprintf(frac, sizeof(frac), ".%09u", dt->nanosecond);
                if (n < 0 || (size_t) n >= sizeof(frac))
                        return -EINVAL;
                fl = (size_t) n;
                while (fl > 1 && frac[fl - 1] == '0')
                        frac[--fl] = '\0';
        }
        switch (v->type) {
        case TOML_DATE_LOCAL:
                n = snprintf(out, outlen, "%04d-%02u-%02u", dt->year, dt->month, dt->day);
                break;
        case TOML_TIME_LOCAL:
                n = snprintf(out, outlen, "%02u:%02u:%02u%s", dt->hour, dt->minute, dt->second,
                             frac);
                break;
        case TOML_DATETIME_LOCAL:
                n = snprintf(out, outlen, "%04d-%02u-%02uT%02u:%02u:%02u%s", dt->year, dt->month,
                             dt->day, dt->hour, dt->minute, dt->second, frac);
                break;
        case TOML_DATETIME: {
                int off = dt->offset_minutes;
                char sign = off < 0 ? '-' : '+';

                if (off < 0)
                        off = -off;
                if (off == 0)
                        n = snprintf(out, outlen, "%04d-%02u-%02uT%02u:%02u:%02u%sZ", dt->year,
                                     dt->month, dt->day, dt->hour, dt->minute, dt->second, frac);
                else
                        n = snprintf(out, outlen, "%04d-%02u-%02uT%02u:%02u:%02u%s%c%02d:%02d",
                                     dt->year, dt->month, dt->day, dt->hour, dt->minute,
                                     dt->second, frac, sign, off / 60, off % 60);
                break;
        }
        default:
                return -EINVAL;
        }
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= outlen)
                return -ENOBUFS;
        return n;
}
