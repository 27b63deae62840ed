/* SPDX-License-Identifier: MIT */
#include "wslargs.h"

#include <errno.h>
#include <string.h>

static bool is_sep(char c)
{
        return c == '\\' || c == '/';
}

static char lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool is_alpha(char c)
{
        return lower(c) >= 'a' && lower(c) <= 'z';
}

/* Case-insensitive (ASCII) comparison of `s[0..n)` with the whole of `word`. */
static bool same_word(const char *s, size_t n, const char *word)
{
        if (strlen(word) != n)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (lower(s[i]) != lower(word[i]))
                        return false;
        }
        return true;
}

/* Appends `s` with every backslash a slash. */
static int append_slashed(struct buf *out, const char *s)
{
        size_t start = out->len;

        if (buf_append_str(out, s) < 0)
                return -ENOMEM;
        for (size_t i = start; i < out->len; i++) {
                if (out->data[i] == '\\')
                        out->data[i] = '/';
        }
        return 0;
}

/* `\\host\...` (either separator): the distribution's own files, or a refusal. */
static int translate_unc(const struct wsl_paths *p, const char *s, struct buf *out,
                         const char **why)
{
        const char *host = s + 2, *distro, *rest;
        size_t host_len = strcspn(host, "\\/");
        bool wsl_host = same_word(host, host_len, "wsl$") || same_word(host, host_len, "wsl.localhost");

        if (!wsl_host) {
                /* `//name` is also a valid POSIX path: only the backslash form is a share. */
                if (s[0] == '/' && s[1] == '/')
                        return 0;
                *why = "is a network path, which the WSL distribution cannot reach";
                return -EINVAL;
        }
        distro = host + host_len;
        while (is_sep(*distro))
                distro++;
        rest = distro + strcspn(distro, "\\/");
        if (!same_word(distro, (size_t) (rest - distro), p->distro)) {
                *why = "names another WSL distribution's files";
                return -EINVAL;
        }
        while (is_sep(*rest))
                rest++;
        if (buf_append_char(out, '/') < 0 || append_slashed(out, rest) < 0)
                return -ENOMEM;
        return 1;
}

int wsl_translate_path(const struct wsl_paths *p, const char *win, struct buf *out,
                       const char **why)
{
        const char *s = win;

        /* `\\?\` (and `//?/`): a long path written out; `\\?\UNC\host\...` is `\\host\...`. */
        if (is_sep(s[0]) && is_sep(s[1]) && s[2] == '?' && is_sep(s[3])) {
                s += 4;
                if (same_word(s, 3, "UNC") && is_sep(s[3])) {
                        char unc[4] = {'\\', '\\', '\0', '\0'};
                        _cleanup_buf_ struct buf full = BUF_INIT;

                        if (buf_append_str(&full, unc) < 0 || buf_append_str(&full, s + 4) < 0)
                                return -ENOMEM;
                        return translate_unc(p, full.data, out, why);
                }
                if (!(is_alpha(s[0]) && s[1] == ':' && is_sep(s[2]))) {
                        *why = "is a Windows device or volume path, which WSL cannot reach";
                        return -EINVAL;
                }
        } else if (is_sep(s[0]) && is_sep(s[1]) && s[2] == '.' && is_sep(s[3])) {
                *why = "is a Windows device path, which WSL cannot reach";
                return -EINVAL;
        }
        if (is_alpha(s[0]) && s[1] == ':' && is_sep(s[2])) {
                char drive[3] = {lower(s[0]), '/', '\0'};

                if (buf_append_str(out, p->mount_root) < 0 || buf_append_str(out, drive) < 0 ||
                    append_slashed(out, s + 3) < 0)
                        return -ENOMEM;
                return 1;
        }
        if (is_sep(s[0]) && is_sep(s[1]) && s[2] != '\0' && !is_sep(s[2]))
                return translate_unc(p, s, out, why);
        return 0;
}

/* A relative path in Windows' spelling: holds a backslash, and is plainly one or exists. */
static bool relative_path(const struct wsl_paths *p, const char *s)
{
        if (!strchr(s, '\\') || is_sep(s[0]))
                return false;
        if (strncmp(s, ".\\", 2) == 0 || strncmp(s, "..\\", 3) == 0)
                return true;
        return p->exists && p->exists(s, p->ctx);
}

static int translate_value(const struct wsl_paths *p, const char *s, struct buf *out,
                           const char **why)
{
        int r = wsl_translate_path(p, s, out, why);

        if (r != 0)
                return r < 0 ? r : 0;
        if (relative_path(p, s))
                return append_slashed(out, s);
        return buf_append_str(out, s) < 0 ? -ENOMEM : 0;
}

int wsl_translate_arg(const struct wsl_paths *p, const char *arg, struct buf *out,
                      const char **why)
{
        const char *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;

        if (eq) {
                if (buf_append(out, arg, (size_t) (eq - arg) + 1) < 0)
                        return -ENOMEM;
                return translate_value(p, eq + 1, out, why);
        }
        return translate_value(p, arg, out, why);
}

static bool needs_quotes(const char *arg)
{
        return arg[0] == '\0' || strpbrk(arg, " \t\n\v\"") != NULL;
}

int wsl_quote_arg(struct buf *cmdline, const char *arg)
{
        if (cmdline->len > 0 && buf_append_char(cmdline, ' ') < 0)
                return -ENOMEM;
        if (!needs_quotes(arg))
                return buf_append_str(cmdline, arg) < 0 ? -ENOMEM : 0;
        if (buf_append_char(cmdline, '"') < 0)
                return -ENOMEM;
        for (const char *s = arg;; s++) {
                size_t slashes = 0;

                while (*s == '\\') {
                        slashes++;
                        s++;
                }
                /* Backslashes are literal unless a quote follows them: the closing quote
                 * included, so before it and before a quote in the argument they double. */
                if (*s == '\0' || *s == '"')
                        slashes = slashes * 2 + (*s == '"');
                for (size_t i = 0; i < slashes; i++) {
                        if (buf_append_char(cmdline, '\\') < 0)
                                return -ENOMEM;
                }
                if (*s == '\0')
                        break;
                if (buf_append_char(cmdline, *s) < 0)
                        return -ENOMEM;
        }
        return buf_append_char(cmdline, '"') < 0 ? -ENOMEM : 0;
}

static bool name_char(char c)
{
        return is_alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

/* One row: `[*] NAME STATE... VERSION`. */
static int parse_row(const char *s, const char *end, struct wsl_distro *d)
{
        size_t n = 0;

        memset(d, 0, sizeof(*d));
        while (s < end && is_space(*s))
                s++;
        if (s < end && *s == '*') {
                d->is_default = true;
                s++;
        }
        while (s < end && is_space(*s))
                s++;
        while (s < end && name_char(*s)) {
                if (n + 1 >= sizeof(d->name))
                        return -EINVAL;
                d->name[n++] = *s++;
        }
        if (n == 0 || s == end || !is_space(*s))
                return -EINVAL;
        while (end > s && is_space(end[-1]))
                end--;
        if (end - s < 2 || !is_space(end[-2]) || (end[-1] != '1' && end[-1] != '2'))
                return -EINVAL;
        d->version = end[-1] - '0';
        return 0;
}

int wsl_parse_list(const char *text, size_t len, struct wsl_distro *out, size_t max)
{
        const char *s = text, *end = text + len;
        bool header = true;
        size_t n = 0;

        while (s < end) {
                const char *eol = memchr(s, '\n', (size_t) (end - s));
                const char *line_end = eol ? eol : end;
                const char *t = s;

                while (t < line_end && is_space(*t))
                        t++;
                if (t < line_end) {
                        if (memchr(s, '\0', (size_t) (line_end - s)))
                                return -EINVAL;
                        if (header) {
                                header = false;
                        } else if (n < max) {
                                if (parse_row(s, line_end, &out[n]) < 0)
                                        return -EINVAL;
                                n++;
                        }
                }
                s = eol ? eol + 1 : end;
        }
        return (int) n;
}

int wsl_installer_field(const char *script, size_t len, const char *name, char *value,
                        size_t size)
{
        size_t name_len = strlen(name);
        const char *s = script, *end = script + len;

        while (s < end) {
                const char *eol = memchr(s, '\n', (size_t) (end - s));
                const char *line_end = eol ? eol : end;

                if ((size_t) (line_end - s) > name_len + 1 && memcmp(s, name, name_len) == 0 &&
                    s[name_len] == '=' && s[name_len + 1] == '\'') {
                        const char *v = s + name_len + 2;
                        const char *q = memchr(v, '\'', (size_t) (line_end - v));

                        if (!q || q + 1 != line_end || (size_t) (q - v) >= size ||
                            memchr(v, '\0', (size_t) (q - v)))
                                return -EINVAL;
                        memcpy(value, v, (size_t) (q - v));
                        value[q - v] = '\0';
                        return 0;
                }
                s = eol ? eol + 1 : end;
        }
        return -ENOENT;
}
