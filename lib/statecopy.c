/* SPDX-License-Identifier: MIT */
/* Copying an agent CLI's state across a trust boundary (statecopy.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "statecopy.h"

/* What each CLI keeps of a conversation, and nothing else: never its login (.credentials.json,
 * auth.json, Copilot's config.json with its tokens), the configuration rendered for the session,
 * logs, caches, or shell snapshots (the CLI's environment, helper tokens included). */
static const char *const claude_top[] = {"projects", "todos", "history.jsonl", "file-history",
                                         "plans", NULL};
/* Codex 0.171 finds the last thread (resume --last) in its thread_history database. */
static const char *const codex_top[] = {"sessions",
                                        "archived_sessions",
                                        "history.jsonl",
                                        "thread_history_1.sqlite",
                                        "thread_history_1.sqlite-wal",
                                        NULL};
static const char *const copilot_top[] = {"session-state",   "history-session-state",
                                          "session-store.db", "session-store.db-wal",
                                          "command-history-state.json", NULL};

const char *const *statecopy_agent_top(const char *agent)
{
        if (!agent)
                return NULL;
        if (strcmp(agent, "claude") == 0)
                return claude_top;
        if (strcmp(agent, "codex") == 0)
                return codex_top;
        if (strcmp(agent, "copilot") == 0)
                return copilot_top;
        return NULL;
}

bool statecopy_name_ok(const char *name)
{
        if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                if (*p == '/' || *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

struct walk {
        const struct statecopy_opts *o;
        struct statecopy_result *res;
        struct ca_error *err;
        uint32_t entries;
        char path[4096]; /* the current entry, relative to the top */
};

/* The source is read with the reader's file-system UID, the destination written with ours. */
static void as_reader(const struct walk *w)
{
        if (w->o->read_fsuid >= 0)
                (void) setfsuid((uid_t) w->o->read_fsuid);
}

static void as_writer(const struct walk *w)
{
        if (w->o->read_fsuid >= 0)
                (void) setfsuid(geteuid());
}

static int refuse(struct walk *w, const char *why)
{
        w->res->refused++;
        if (w->o->refused)
                w->o->refused(w->o->ctx, w->path, why);
        return 0;
}

/* Appends "/name" (or "name" at the top) to w->path; returns the old length, or -1 when the
 * path would not fit. */
static int push(struct walk *w, const char *name)
{
        size_t len = strlen(w->path);
        int n = snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len ? "/" : "", name);

        if (n < 0 || (size_t) n >= sizeof(w->path) - len) {
                w->path[len] = '\0';
                return -1;
        }
        return (int) len;
}

static int hand_over(const struct walk *w, int fd)
{
        if (w->o->owner >= 0 && fchown(fd, (uid_t) w->o->owner, (gid_t) w->o->owner) < 0)
                return -errno;
        return 0;
}

static int copy_file(struct walk *w, int sdfd, const char *name, int ddfd)
{
        _cleanup_buf_ struct buf data = BUF_INIT;
        _cleanup_close_ int in = -1, out = -1;
        const char *why = NULL;
        struct ca_error e = {0};
        struct stat st = {0};
        int r;

        as_reader(w);
        /* O_NONBLOCK: a FIFO that appeared since the stat must not hang the copy. */
        in = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        r = in < 0 ? -errno : fstat(in, &st) < 0 ? -errno : 0;
        if (r == 0 && !S_ISREG(st.st_mode))
                why = "not a regular file";
        else if (r == 0 && (uint64_t) st.st_size > w->o->lim.file_max)
                why = "larger than the limit for one file";
        else if (r == 0 && w->res->bytes + (uint64_t) st.st_size > w->o->lim.total_max)
                why = "over the limit for the whole state";
        else if (r == 0 && fileio_read_fd(in, (size_t) w->o->lim.file_max, &data, &e) < 0)
                why = e.code == EFBIG ? "larger than the limit for one file" : "unreadable";
        as_writer(w);
        if (r == -ELOOP)
                return refuse(w, "a symbolic link");
        if (r < 0)
                return refuse(w, "unreadable");
        if (!why && w->res->bytes + data.len > w->o->lim.total_max)
                why = "over the limit for the whole state";
        if (!why && w->o->check && w->o->check(w->o->ctx, data.data ? (const uint8_t *) data.data
                                                                    : (const uint8_t *) "",
                                               data.len, &why) != 0 && !why)
                why = "refused by the content check";
        if (why)
                return refuse(w, why);
        out = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0 && errno == EEXIST)
                return refuse(w, "already there");
        if (out < 0)
                return ca_error_set(w->err, errno, "cannot create %s", w->path);
        r = fileio_write_all(out, data.data, data.len);
        if (r == 0)
                r = hand_over(w, out);
        if (r < 0)
                return ca_error_set(w->err, -r, "cannot write %s", w->path);
        w->res->files++;
        w->res->bytes += data.len;
        return 0;
}

static int copy_entry(struct walk *w, int sdfd, const char *name, int ddfd, uint32_t depth);

static int copy_dir(struct walk *w, int sdfd, const char *name, int ddfd, uint32_t depth)
{
        _cleanup_close_ int dst = -1;
        DIR *d = NULL;
        struct dirent *e;
        int src, r = 0;

        if (depth > w->o->lim.depth_max)
                return refuse(w, "deeper than the limit");
        as_reader(w);
        src = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = src < 0 ? -errno : 0;
        as_writer(w);
        if (r < 0)
                return refuse(w, r == -ELOOP || r == -ENOTDIR ? "a symbolic link" : "unreadable");
        if (mkdirat(ddfd, name, 0700) < 0 && errno != EEXIST)
                r = ca_error_set(w->err, errno, "cannot create %s", w->path);
        else if ((dst = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = ca_error_set(w->err, errno, "cannot open %s", w->path);
        else if (!(d = fdopendir(src))) /* the DIR owns src from here */
                r = ca_error_set(w->err, errno, "cannot read %s", w->path);
        if (r < 0 || !d) {
                (void) close(src);
                return r < 0 ? r : -EIO;
        }
        while (r >= 0 && (errno = 0, e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                r = copy_entry(w, dirfd(d), e->d_name, dst, depth + 1);
        }
        if (r >= 0 && errno != 0)
                r = ca_error_set(w->err, errno, "cannot read %s", w->path);
        (void) closedir(d);
        /* Handed over once filled: the writer may have no right to write into it after. */
        if (r >= 0 && (r = hand_over(w, dst)) < 0)
                r = ca_error_set(w->err, -r, "cannot hand %s over", w->path);
        return r;
}

/* One entry: a directory (walked), a regular file (copied), anything else refused. */
static int copy_entry(struct walk *w, int sdfd, const char *name, int ddfd, uint32_t depth)
{
        struct stat st;
        int at = push(w, statecopy_name_ok(name) ? name : "?");
        int r;

        if (at < 0)
                return refuse(w, "a path too long");
        if (!statecopy_name_ok(name)) {
                r = refuse(w, "a name with a control character");
        } else if (++w->entries > w->o->lim.files_max) {
                r = refuse(w, "over the limit of entries");
        } else {
                as_reader(w);
                r = fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
                as_writer(w);
                if (r == -ENOENT)
                        r = 0;
                else if (r < 0)
                        r = refuse(w, "unreadable");
                else if (S_ISLNK(st.st_mode))
                        r = refuse(w, "a symbolic link");
                else if (S_ISDIR(st.st_mode))
                        r = copy_dir(w, sdfd, name, ddfd, depth);
                else if (S_ISREG(st.st_mode))
                        r = copy_file(w, sdfd, name, ddfd);
                else
                        r = refuse(w, "a special file (device, FIFO or socket)");
        }
        w->path[at] = '\0';
        return r;
}

int statecopy_tree(int src_dfd, int dst_dfd, const struct statecopy_opts *o,
                   struct statecopy_result *res, struct ca_error *err)
{
        struct walk w = {.o = o, .res = res, .err = err};
        int r = 0;

        *res = (struct statecopy_result){0};
        for (size_t i = 0; o->top && o->top[i] && r >= 0; i++)
                r = copy_entry(&w, src_dfd, o->top[i], dst_dfd, 0);
        as_writer(&w);
        return r;
}
