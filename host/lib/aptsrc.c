/* SPDX-License-Identifier: MIT */
/* The Debian mirror named by apt's sources (aptsrc.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "aptsrc.h"

#define MAX_WORD 512

/* The next whitespace-separated word of [*p, end) into w; one with a NUL or too long for w
 * comes out unusable (it contains \001), so it matches nothing. */
static bool next_word(const char **p, const char *end, char *w, size_t size)
{
        size_t n = 0;
        bool cut = false;

        while (*p < end && (**p == ' ' || **p == '\t'))
                (*p)++;
        if (*p >= end)
                return false;
        while (*p < end && **p != ' ' && **p != '\t') {
                if (n + 1 < size)
                        w[n++] = **p ? **p : '\001'; /* a NUL must not end the word early */
                else
                        cut = true;
                (*p)++;
        }
        w[n] = '\0';
        if (cut)
                w[0] = '\001'; /* a truncated word matches nothing */
        return n > 0;
}

bool aptsrc_uri_valid(const char *u)
{
        size_t len = strlen(u), skip = 0;

        if (len > 7 && strncmp(u, "http://", 7) == 0)
                skip = 7;
        else if (len > 8 && strncmp(u, "https://", 8) == 0)
                skip = 8;
        if (!skip || u[skip] == '/')
                return false;
        for (; *u; u++)
                if ((unsigned char) *u <= 0x20 || (unsigned char) *u >= 0x7f)
                        return false;
        return true;
}

/* Does the space-separated list [p, end) contain `word`? */
static bool list_has(const char *p, const char *end, const char *word)
{
        char w[MAX_WORD] = {0};

        while (next_word(&p, end, w, sizeof(w)))
                if (strcmp(w, word) == 0)
                        return true;
        return false;
}

static int store(const char *uri, size_t n, char *out, size_t size)
{
        while (n > 0 && uri[n - 1] == '/')
                n--;
        if (n == 0)
                return -ENOENT;
        if (n + 1 > size)
                return -ENAMETOOLONG;
        memcpy(out, uri, n);
        out[n] = '\0';
        return 0;
}

/* One-line format. */
static int one_line(const char *p, const char *end, const char *suite, char *out, size_t size)
{
        char w[MAX_WORD] = {0}, uri[MAX_WORD] = {0};

        if (!next_word(&p, end, w, sizeof(w)) || strcmp(w, "deb") != 0)
                return -ENOENT;
        if (!next_word(&p, end, w, sizeof(w)))
                return -ENOENT;
        if (w[0] == '[') { /* options: skip to the closing bracket */
                while (!strchr(w, ']'))
                        if (!next_word(&p, end, w, sizeof(w)))
                                return -ENOENT;
                if (!next_word(&p, end, w, sizeof(w)))
                        return -ENOENT;
        }
        memcpy(uri, w, strlen(w) + 1);
        if (!aptsrc_uri_valid(uri) || !next_word(&p, end, w, sizeof(w)) || strcmp(w, suite) != 0 ||
            !list_has(p, end, "main"))
                return -ENOENT;
        return store(uri, strlen(uri), out, size);
}

struct stanza {
        bool deb, suite, main, enabled;
        char uri[MAX_WORD];
};

static int finish(const struct stanza *s, char *out, size_t size)
{
        if (!s->deb || !s->suite || !s->main || !s->enabled || !aptsrc_uri_valid(s->uri))
                return -ENOENT;
        return store(s->uri, strlen(s->uri), out, size);
}

int aptsrc_mirror(const char *text, size_t len, const char *suite, char *out, size_t size)
{
        const char *p = text, *end = text + len;
        struct stanza s = {.enabled = true};
        bool in_stanza = false;
        int r;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                const char *q = p, *colon;

                while (q < le && (*q == ' ' || *q == '\t'))
                        q++;
                if (q == le) { /* blank line ends a deb822 stanza */
                        r = in_stanza ? finish(&s, out, size) : -ENOENT;
                        if (r != -ENOENT)
                                return r;
                        s = (struct stanza){.enabled = true};
                        in_stanza = false;
                } else if (*q != '#') {
                        r = one_line(q, le, suite, out, size);
                        if (r != -ENOENT)
                                return r;
                        colon = memchr(q, ':', (size_t) (le - q));
                        if (colon && q != p) {
                                /* continuation line of a field: ignored */
                        } else if (colon) {
                                size_t klen = (size_t) (colon - q);
                                const char *v = colon + 1;
                                char w[MAX_WORD] = {0};

                                in_stanza = true;
                                if (klen == 5 && strncasecmp(q, "Types", 5) == 0)
                                        s.deb = list_has(v, le, "deb");
                                else if (klen == 4 && strncasecmp(q, "URIs", 4) == 0) {
                                        const char *vv = v;

                                        while (next_word(&vv, le, w, sizeof(w)))
                                                if (!s.uri[0] && aptsrc_uri_valid(w))
                                                        memcpy(s.uri, w, sizeof(s.uri));
                                } else if (klen == 6 && strncasecmp(q, "Suites", 6) == 0)
                                        s.suite = list_has(v, le, suite);
                                else if (klen == 10 && strncasecmp(q, "Components", 10) == 0)
                                        s.main = list_has(v, le, "main");
                                else if (klen == 7 && strncasecmp(q, "Enabled", 7) == 0)
                                        s.enabled = !list_has(v, le, "no");
                        }
                }
                p = nl ? nl + 1 : end;
        }
        return in_stanza ? finish(&s, out, size) : -ENOENT;
}
