/* SPDX-License-Identifier: MIT */
#include "execguard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

const struct guard_entry guard_list[] = {
        {IMAGE_AGENTS_DIR, true, false},
        {"/usr/local/bin/node", false, false},
        {"/usr/bin/env", false, false},
        /* Codex asks it for system limits. */
        {"/usr/bin/getconf", false, false},
        {IMAGE_BIN_DIR "/exec-guard", false, false},
        /* The stdio MCP servers' stubs (IMAGE_STUB_BIN's links to it). */
        {IMAGE_BIN_DIR "/mcp-stub", false, false},
        {"/usr/bin/git", false, false},
        {"/usr/lib/git-core", true, false},
        {"/usr/bin/bash", false, true},
        {"/usr/bin/dash", false, true},
};
const size_t guard_list_len = sizeof(guard_list) / sizeof(guard_list[0]);

/* Whether `path` is absolute and has no empty, "." or ".." component (what readlink gives). */
static bool canonical_form(const char *path)
{
        if (path[0] != '/')
                return false;
        for (const char *c = path + 1;; c++) {
                const char *end = strchr(c, '/');
                size_t n = end ? (size_t) (end - c) : strlen(c);

                if ((n == 0 && end) || (n == 1 && c[0] == '.') ||
                    (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!end)
                        return true;
                c = end;
        }
}

enum guard_verdict guard_decide(const char *canonical)
{
        if (!canonical_form(canonical))
                return GUARD_DENY;
        for (size_t i = 0; i < guard_list_len; i++) {
                const struct guard_entry *e = &guard_list[i];
                size_t n = strlen(e->path);

                if (strncmp(canonical, e->path, n) != 0)
                        continue;
                if (canonical[n] == '\0' || (e->dir && canonical[n] == '/'))
                        return e->routed ? GUARD_ROUTE : GUARD_ALLOW;
        }
        return GUARD_DENY;
}

/* "/proc/self/x", "/proc/thread-self/x", "/dev/fd/N" name the caller's own: rewritten to pid's. */
static const char *own_rest(const char *path, const char **ret_kind)
{
        static const struct {
                const char *prefix, *kind;
        } own[] = {{"/proc/self", ""}, {"/proc/thread-self", ""}, {"/dev/fd", "/fd"}};

        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
                size_t n = strlen(own[i].prefix);

                if (strncmp(path, own[i].prefix, n) == 0 && (path[n] == '/' || path[n] == '\0')) {
                        *ret_kind = own[i].kind;
                        return path + n;
                }
        }
        return NULL;
}

int guard_target(pid_t pid, bool at, int dirfd, const char *path, int flags, char *out,
                 size_t size)
{
        const char *kind = NULL, *rest;
        int n;

        if (*path == '\0' && !(at && (flags & AT_EMPTY_PATH)))
                return -ENOENT;
        if (*path == '/') {
                rest = own_rest(path, &kind);
                n = rest ? snprintf(out, size, "/proc/%d%s%s", (int) pid, kind, rest)
                         : snprintf(out, size, "%s", path);
        } else if (!at || dirfd == AT_FDCWD)
                n = snprintf(out, size, "/proc/%d/cwd/%s", (int) pid, path);
        else if (*path == '\0')
                n = snprintf(out, size, "/proc/%d/fd/%d", (int) pid, dirfd);
        else
                n = snprintf(out, size, "/proc/%d/fd/%d/%s", (int) pid, dirfd, path);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

ssize_t guard_read_string(int memfd, uint64_t addr, char *buf, size_t size)
{
        const uint64_t page = 4096;
        size_t got = 0;

        while (got < size) {
                uint64_t at = addr + got;
                size_t want = (size_t) (page - at % page);
                ssize_t r;
                char *nul;

                if (want > size - got)
                        want = size - got;
                r = pread(memfd, buf + got, want, (off_t) at);
                if (r <= 0)
                        return -EFAULT;
                nul = memchr(buf + got, '\0', (size_t) r);
                if (nul)
                        return (ssize_t) (nul - buf);
                got += (size_t) r;
        }
        return -ENAMETOOLONG;
}

void guard_program_name(const char *path, char *out, size_t size)
{
        const char *slash = strrchr(path, '/');
        const char *base = slash && slash[1] ? slash + 1 : path;

        (void) snprintf(out, size, "%.64s", base);
}
